"""The company's zone everywhere the clock is read (issue 27, point 4).

Three defects, each shown by a test that failed before its fix:

- ``MANUAL_NOW`` with an offset (``2026-12-07T23:30:00+00:00``) was returned as written, so
  ``now().date()`` was the UTC date (the desk's 今天, a return's day) and a record signed in that
  run carried ``+00:00``; it is now the same instant told in the company's zone.
- the date of a signature (``signed_at``) was the date its own offset tells, not the company's
  (the day a request waits since, in ``status`` and ``summary``);
- ``start_of_day`` and ``noon`` (the time a release's documents are dated: the DOCX's created
  time, the redline's and the 修订对照表's) were China time whatever the policy said; they now
  take the zone (the one of the policy the release was made under), and mypy strict refuses a
  call without it.

The company in Los Angeles is chosen so that China time gives the wrong date, not only the wrong
hour: at 02:00 UTC on 2026-12-08 it is 18:00 on 2026-12-07 there and 10:00 on 2026-12-08 in China.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from pathlib import Path

import pytest
from desk_support import running_desk
from faketime_support import late, ok
from revision_repo import RevisionRepo, shared_history
from typecheck_support import strict_mypy

UTC_EVENING = "2026-12-07T23:30:00+00:00"  # 2026-12-08 07:30 in China
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


# --- the clock itself ------------------------------------------------------------------------------


def test_manual_now_with_an_offset_is_told_in_the_company_zone() -> None:
    from manualkit.base.clock import CST, now, today

    moment = now({"MANUAL_NOW": UTC_EVENING}, CST)
    assert moment.isoformat() == "2026-12-08T07:30:00+08:00"
    assert moment.date().isoformat() == "2026-12-08"  # what the desk computed its 今天 from
    assert today({"MANUAL_NOW": UTC_EVENING}, CST).isoformat() == "2026-12-08"
    assert now({"MANUAL_NOW": UTC_EVENING}, LOS_ANGELES).isoformat() == "2026-12-07T15:30:00-08:00"
    # without an offset: the company's wall clock, as before
    assert now({"MANUAL_NOW": "2026-12-07T23:30:00"}, LOS_ANGELES).isoformat() == "2026-12-07T23:30:00-08:00"
    # an offset equal to the company's gives the same text: the demo's records (+08:00) are unchanged
    assert now({"MANUAL_NOW": "2026-11-28T09:00:00+08:00"}, CST).isoformat() == "2026-11-28T09:00:00+08:00"


def test_start_of_day_and_noon_are_in_the_zone_given() -> None:
    from manualkit.base.clock import CST, noon, start_of_day

    day = dt.date(2026, 12, 8)
    assert start_of_day(day, LOS_ANGELES).astimezone(dt.UTC).isoformat() == "2026-12-08T08:00:00+00:00"
    assert noon(day, LOS_ANGELES).astimezone(dt.UTC).isoformat() == "2026-12-08T20:00:00+00:00"
    assert start_of_day(day, CST).astimezone(dt.UTC).isoformat() == "2026-12-07T16:00:00+00:00"


def test_mypy_strict_refuses_start_of_day_and_noon_without_the_zone(tmp_path: Path) -> None:
    fine, status = strict_mypy(tmp_path, """
        import datetime as dt
        from manualkit.base.clock import CST, noon, start_of_day
        a = start_of_day(dt.date(2026, 1, 1), CST)
        b = noon(dt.date(2026, 1, 1), CST)
    """)
    assert status == 0, fine
    for call in ("start_of_day(dt.date(2026, 1, 1))", "noon(dt.date(2026, 1, 1))"):
        text, status = strict_mypy(tmp_path, f"import datetime as dt\nfrom manualkit.base.clock import noon, start_of_day\nvalue = {call}\n")
        assert status == 1 and 'Missing positional argument "company_zone"' in text, text


# --- a company in China, MANUAL_NOW given in UTC ------------------------------------------------------


@pytest.fixture
def china(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released").copy_to(tmp_path / "china")


@pytest.mark.xdist_group("desk")
def test_the_desk_today_is_the_company_date_when_manual_now_is_in_utc(china: RevisionRepo) -> None:
    with running_desk(china, env={"MANUAL_NOW": UTC_EVENING}) as desk:
        status, _, page = desk.request("GET", "/")
    assert status == 200, page
    assert "今天：2026-12-08" in page and "2026-12-07" not in page, page


def test_a_record_signed_at_a_utc_now_carries_the_company_offset(china: RevisionRepo) -> None:
    cr = china.propose("minor", ["3.2"], today="2026-12-07")
    china.append_to_section("3.2", "报价单应注明有效期。")
    signed = ok(china.manual("approve", cr, "--role", "编制", "--key", str(china.key("zhang")), env={"MANUAL_NOW": UTC_EVENING}))
    assert "2026-12-08T07:30:00+08:00" in signed.stdout, signed.stdout
    text = china.request_path(cr).read_text(encoding="utf-8")
    assert re.search(r"signed_at: '?2026-12-08T07:30:00\+08:00", text) and "+00:00" not in text, text


def test_a_request_waits_since_the_company_day_of_its_last_signature(china: RevisionRepo) -> None:
    """A signature written at 07:30 China time (+08:00) in a company that then keeps Los Angeles
    time was made on the 7th there: the request waits for 审核 since 2026-12-07, not the 8th."""
    cr = china.propose("minor", ["3.2"], today="2026-12-01")
    china.append_to_section("3.2", "报价单应注明有效期。")
    ok(china.manual("approve", cr, "--role", "编制", "--key", str(china.key("zhang")), env={"MANUAL_NOW": "2026-12-08T07:30:00+08:00"}))
    china.replace_in_manual("policy.yml", "signing_namespace:", "time_zone: America/Los_Angeles\nsigning_namespace:")
    answer = json.loads(ok(china.manual("status", "--format", "json", env={"MANUAL_TODAY": "2026-12-09"})).stdout)
    waiting = [r for r in answer["requests"] if r["id"] == cr]
    assert waiting and waiting[0]["waiting_for"] == "审核" and waiting[0]["since"] == "2026-12-07", answer["requests"]


# --- a company in Los Angeles, the clock really moved ---------------------------------------------------


@pytest.fixture(scope="module")
def los_angeles(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A/1 released under a policy that declares America/Los_Angeles (a ``policy`` change
    request signed under A/0), published 2026-01-15."""
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("zone") / "la")
    repo.replace_in_manual("policy.yml", "signing_namespace:", "time_zone: America/Los_Angeles\nsigning_namespace:")
    cr = repo.propose("minor", ["policy"], title="公司时区改为洛杉矶时间", today="2026-01-10")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr}: the company keeps Los Angeles time")
    ok(repo.release("2026-01-15", "2026-01-22"))
    return repo


def created_utc(path: Path) -> dt.datetime:
    import docx

    created = docx.Document(str(path)).core_properties.created
    assert created is not None
    return created.replace(tzinfo=dt.UTC) if created.tzinfo is None else created.astimezone(dt.UTC)


def test_a_company_in_los_angeles_dates_by_its_own_clock(los_angeles: RevisionRepo, tmp_path: Path) -> None:
    repo = los_angeles.copy_to(tmp_path / "la")
    moment = "2026-12-08 02:00:00"  # UTC: 2026-12-07 18:00 in Los Angeles, 2026-12-08 10:00 in China
    proposed = ok(late(repo, moment, "propose", "--class", "minor", "--sections", "3.2", "--title", "更正报价表述", "--reason", "文字更正",
                       "--applicant", "张伟"))  # fmt: skip
    cr = re.search(r"CR-\d{4}-\d{3}", proposed.stdout)
    assert cr
    request = repo.request_path(cr.group())
    assert re.search(r"^date: 2026-12-07\b", request.read_text(encoding="utf-8"), re.M)
    repo.append_to_section("3.2", "报价单应注明有效期。")
    signed = ok(late(repo, moment, "approve", cr.group(), "--role", "编制", "--key", str(repo.key("zhang"))))
    assert re.search(r"时间 2026-12-07T18:0\d:\d\d-08:00", signed.stdout), signed.stdout
    status = json.loads(ok(late(repo, moment, "status", "--format", "json")).stdout)
    assert status["today"] == "2026-12-07", status
    # The documents of A/1 (published 2026-01-15 under the Los Angeles policy) are dated in Los Angeles.
    noon_la = dt.datetime(2026, 1, 15, 12, 0, tzinfo=LOS_ANGELES).astimezone(dt.UTC)
    table, redline = tmp_path / "table.docx", tmp_path / "redline.docx"
    ok(late(repo, moment, "diff", "--from", "A/0", "--to", "A/1", "--layout", "table", "--format", "docx", "-o", str(table)))
    ok(late(repo, moment, "diff", "--from", "A/0", "--to", "A/1", "--format", "docx", "-o", str(redline)))
    assert created_utc(table) == noon_la, created_utc(table)
    assert created_utc(redline) == noon_la, created_utc(redline)
