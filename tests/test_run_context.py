"""One context and one clock (issue 27, point 4).

Every command that writes or prints a date is run under real ``faketime`` at 23:30 UTC on
2026-03-31, on a machine whose own zone is UTC and with no pinned clock: in China (the company's
zone) it is already 07:30 on 2026-04-01, and that is the date every record and answer must carry.
The clock's signature itself is held by mypy strict: ``today()`` and ``now()`` without the
company's zone do not type-check. The other commands that write or print a date are run the same
way in tests/test_faketime_commands.py; the zone's defects in tests/test_company_zone.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import faketime_support
import pytest
from faketime_support import ok, require_faketime
from revision_repo import PROJECT_ROOT, SIGNER, Result, RevisionRepo, shared_history
from typecheck_support import strict_mypy

MOMENT = "2026-03-31 23:30:00"  # UTC; 2026-04-01 07:30 in China
CHINA_DAY = "2026-04-01"
UTC_DAY = "2026-03-31"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("late") / "r")


def late(repo: RevisionRepo, *args: str) -> Result:
    """``manual <args>`` as a whole process under faketime at 23:30 UTC (:func:`faketime_support.late`)."""
    return faketime_support.late(repo, MOMENT, *args)


def test_every_dated_command_at_half_past_eleven_utc_says_the_company_date(repo: RevisionRepo) -> None:
    require_faketime()
    # propose: the request's date
    proposed = ok(late(repo, "propose", "--class", "editorial", "--sections", "3.2", "--title", "更正报价表述", "--reason", "文字更正",
                       "--applicant", "张伟"))  # fmt: skip
    cr = proposed.stdout.split("changelog/requests/")[1].split(".yml")[0]
    assert cr.startswith("CR-2026-")
    request = repo.request_path(cr)
    assert re.search(rf"^date: {CHINA_DAY}\b", request.read_text(encoding="utf-8"), re.M), request.read_text(encoding="utf-8")
    repo.append_to_section("3.2", "报价单应注明有效期。")
    repo.commit(f"{cr} proposed")
    # approve: the signing time, in the company's zone
    for role in repo.roles_for("editorial"):
        approved = ok(late(repo, "approve", cr, "--role", role, "--key", str(repo.key(SIGNER[role]))))
        assert re.search(rf"时间 {CHINA_DAY}T07:3\d:\d\d\+08:00，", approved.stdout), approved.stdout  # faketime's clock runs on
    signed = re.findall(r"signed_at: '?([0-9T:+-]+)", request.read_text(encoding="utf-8"))
    assert signed and all(re.fullmatch(rf"{CHINA_DAY}T07:3\d:\d\d\+08:00", s) for s in signed), signed
    repo.commit(f"{cr} approved")
    # release: published today (the company's), effective the same day (editorial: no notice)
    released = ok(late(repo, "release", "--effective", CHINA_DAY))
    assert f"发布日期 {CHINA_DAY}" in released.stdout
    assert f"published: {CHINA_DAY}" in repo.read("changelog/releases/A-1.yml")
    # status, show, history: A/1 takes effect on the company's today, so it is in force
    status = json.loads(ok(late(repo, "status", "--format", "json")).stdout)
    assert status["today"] == CHINA_DAY and status["in_force"] == "A/1", status
    assert json.loads(ok(late(repo, "status", "--json")).stdout) == status  # the older flag, same answer
    shown = ok(late(repo, "show"))
    assert "A/1" in shown.stdout.split("\n\n")[0] or "A/1" in shown.stdout[:400], shown.stdout[:400]
    history = ok(late(repo, "history")).stdout
    a1 = next(line for line in history.splitlines() if line.lstrip("│| ").startswith("A/1"))
    assert "现行有效" in a1, history
    # review: the review's date and signing time
    reviewed = ok(late(repo, "review", "3", "--key", str(repo.key(SIGNER["审核"]))))
    record = repo.root / reviewed.stdout.split("：")[1].split("；")[0]
    assert f"{CHINA_DAY}" in record.read_text(encoding="utf-8") and UTC_DAY not in record.read_text(encoding="utf-8")
    # audit and remind: as of the company's today
    audited = json.loads(late(repo, "audit", "--format", "json").stdout)
    assert CHINA_DAY in json.dumps(audited, ensure_ascii=False) and UTC_DAY not in json.dumps(audited, ensure_ascii=False)
    reminded = json.loads(ok(late(repo, "remind", "--format", "json")).stdout)
    assert reminded["as_of"] == CHINA_DAY, reminded


def test_mypy_strict_refuses_the_clock_without_the_company_zone(tmp_path: Path) -> None:
    fine, status = strict_mypy(tmp_path, """
        from manualkit.base.clock import CST, now, today
        day = today({}, CST)
        moment = now({}, CST)
    """)
    assert status == 0, fine
    for call in ("today({})", "now({})"):
        text, status = strict_mypy(tmp_path, f"from manualkit.base.clock import now, today\nvalue = {call}\n")
        assert status == 1 and 'Missing positional argument "company_zone"' in text, text


def test_the_context_reads_the_clock_once_per_run(tmp_path: Path) -> None:
    """The run's now is one moment: a command that asks twice gets the same answer."""
    from manualkit.commands.context import RunContext

    shutil.copytree(PROJECT_ROOT / "manual", tmp_path / "manual")
    context = RunContext(str(tmp_path), {"MANUAL_TODAY": "2026-05-04"})
    assert context.today.isoformat() == "2026-05-04"
    assert context.now is context.now and context.now.isoformat() == "2026-05-04T09:00:00+08:00"
    assert context.author_env() == {"GIT_AUTHOR_DATE": "2026-05-04T09:00:00+08:00", "GIT_COMMITTER_DATE": "2026-05-04T09:00:00+08:00"}
    assert RunContext(str(tmp_path), {}).author_env() == {}


def test_the_desk_makes_one_run_per_request_from_the_clock_read_once(tmp_path: Path) -> None:
    """``Run.at`` (the desk, for each request): today is the company's date of the one moment read,
    as ``RunContext`` answers it for a command."""
    import datetime as dt

    from manualkit.base.clock import CST
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext

    shutil.copytree(PROJECT_ROOT / "manual", tmp_path / "manual")
    for env in ({"MANUAL_NOW": "2026-03-31T23:30:00+00:00"}, {"MANUAL_TODAY": "2026-05-04"}, {"MANUAL_NOW": "2026-05-04T08:15:00"}):
        run = Run.at(tmp_path, env, CST)
        context = RunContext(str(tmp_path), env)
        assert (run.today, run.now, run.zone, run.env) == (context.today, context.now, CST, env), env
        assert run.now.utcoffset() == dt.timedelta(hours=8) and run.today == run.now.date()
    assert Run.at(tmp_path, {"MANUAL_NOW": "2026-03-31T23:30:00+00:00"}, CST).today.isoformat() == CHINA_DAY
    clock = Run.at(tmp_path, {}, CST)  # the real clock
    assert clock.today == clock.now.date() and clock.now.tzinfo is CST
