"""Every command that writes or prints a date, with the clock really moved (issue 27, point 4).

``tests/test_run_context.py`` runs nine commands (propose, approve, release, status, show,
history, review, audit, remind) under ``faketime`` at 23:30 UTC. This module runs the others the
same way, at 2026-12-07 23:30 UTC: in China, the company's zone, it is already 07:30 on
2026-12-08, the date each must say; the UTC date (2026-12-07) must appear nowhere it speaks of
today. The repository holds A/0 in force and A/1 (an 编辑性修改) published 2026-12-01 and
effective 2026-12-08, so a command that took the UTC date would also pick the wrong version:
A/1 is in force on the company's today, not yet on the UTC one.

- ``return``, ``training``, ``review-copy``, ``import-review``, ``answer``, ``summary`` and
  ``revoke-key``: the record each writes (or the text it prints), one shared repository;
- ``distribute`` and ``recall``; ``docx``, ``pdf`` and ``verify`` (the release in force, its status,
  the signing time of the DOCX's XAdES and the PDF's PAdES signature); these lay out with
  LibreOffice, present in CI;
- ``build`` (the site's date and the version it shows in force; ``publish`` is check + build);
- the desk's pages (``manual desk`` itself under faketime: 待办's 今天 and a request's page).

Not here, because they print or write no date of today: ``check`` (its findings' dates are those
of the records; only whether a review is overdue depends on today, and its text gives the due
date), ``obligations``, ``codes``, ``allowed-signers``, ``init`` (the policy it writes has no date),
``export-approval`` (the approval's own ``signed-at``, written when it was signed), ``diff`` and
``show`` (the releases' own dates; the documents' times are covered in test_company_zone.py),
``history`` and the audit's witnesses (covered in test_run_context.py with ``audit``).
``comment`` posts ``summary``'s text (covered here) to a forge, and ``serve`` previews the working
tree with the same 今日 as ``build`` (site/draft.py asks ``base/clock.today`` with the zone).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from desk_support import free_port, running_desk
from faketime_support import late, ok, require_faketime, unpinned_env
from revision_repo import SIGNER, RevisionRepo, shared_history

MOMENT = "2026-12-07 23:30:00"  # UTC
CHINA_DAY = "2026-12-08"
UTC_DAY = "2026-12-07"
CHINA_PROSE = "2026年12月8日"
UTC_PROSE = "2026年12月7日"
SIGNED_LATE = re.compile(rf"{CHINA_DAY}T07:3\d:\d\d\+08:00")  # faketime's clock runs on from 07:30


def has_libreoffice() -> bool:
    return shutil.which("soffice") is not None or shutil.which("libreoffice") is not None


def require_libreoffice() -> None:
    if not has_libreoffice():
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required when CI=true (.ci/run installs it)")
        pytest.skip("LibreOffice lays out the release documents")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A/0 in force; A/1 (editorial) published 2026-12-01, effective 2026-12-08 (the company's today)."""
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("faketime") / "h")
    repo.prepared("editorial", ["3.3"], day="2026-11-25", text="本节所称“报价单”包括电子报价单。")
    ok(repo.release("2026-12-01", "2026-12-08"))
    return repo


@pytest.fixture
def repo(history: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    return history.copy_to(tmp_path / "copy")


def yaml_record(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def only_new(folder: Path, before: set[Path]) -> Path:
    made = sorted(set(folder.glob("*.yml")) - before)
    assert len(made) == 1, made
    return made[0]


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    parts += [p.text for s in document.sections for p in (*s.header.paragraphs, *s.first_page_header.paragraphs)]
    return "\n".join(parts)


def test_the_procedure_records_carry_the_company_date(repo: RevisionRepo, tmp_path: Path) -> None:
    from word365_review import Comment

    # return: a request waiting for 审核, returned at 07:30 China time
    cr = repo.propose("minor", ["3.2"], title="缩短报价有效期", today="2026-12-02")
    repo.replace_in_manual("03-execution.md", "报价有效期一般为 15 日", "报价有效期一般为 10 日")
    repo.approve(cr, "编制", now="2026-12-03T10:00:00+08:00")
    repo.commit(f"{cr}: proposed, signed 编制")
    returns = repo.root / "changelog" / "returns"
    before = set(returns.glob("*.yml"))
    ok(late(repo, MOMENT, "return", cr, "--role", "审核", "--key", str(repo.key(SIGNER["审核"])), "--reason", "请补充依据"))
    record = yaml_record(only_new(returns, before))
    assert SIGNED_LATE.fullmatch(str(record["returned_at"])), record
    repo.commit(f"{cr}: returned")

    # training: dated the company's today, which the UTC date would refuse as a day to come
    trained = ok(late(repo, MOMENT, "training", "A/1", "--date", CHINA_DAY, "--departments", "销售管理部", "--attendees", "12",
                      "--record", "签到表 2026-12", "--key", str(repo.key(SIGNER["审核"]))))  # fmt: skip
    assert CHINA_DAY in trained.stdout
    training = repo.root / trained.stdout.split("：")[1].split("；")[0]
    fields = yaml_record(training)
    assert str(fields["date"]) == CHINA_DAY and SIGNED_LATE.fullmatch(str(fields["signed_at"])), fields
    assert UTC_DAY not in training.read_text(encoding="utf-8")

    # review-copy: its cover says today and the reply's due date counted from today
    resubmitted = repo.propose("minor", ["3.2"], title="缩短报价有效期（重新提交）", today="2026-12-04")
    repo.commit(f"{resubmitted}: proposed again")
    copy = tmp_path / "copy.docx"
    ok(late(repo, MOMENT, "review-copy", resubmitted, "-o", str(copy)))
    cover = docx_text(copy)
    assert CHINA_PROSE in cover or CHINA_DAY in cover, cover[:2000]
    assert UTC_PROSE not in cover and UTC_DAY not in cover, cover[:2000]
    import docx

    created = docx.Document(str(copy)).core_properties.created
    assert created is not None and created.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat() == CHINA_DAY

    # import-review and answer: imported_at, answered_at
    from word365_review import word365_review

    reviewed = tmp_path / "reviewed.docx"
    reviewed.write_bytes(word365_review(copy.read_bytes(), [Comment("报价单经审批后发送客户", "李娜", "建议明确审批时限。")], [], None))
    ok(late(repo, MOMENT, "import-review", str(reviewed), "--cr", resubmitted, "--reviewer", "li.na"))
    opinions = sorted((repo.root / "changelog" / "opinions").glob(f"{resubmitted}-*.yml"))
    assert len(opinions) == 1
    assert SIGNED_LATE.fullmatch(str(yaml_record(opinions[0])["imported_at"])), opinions[0].read_text(encoding="utf-8")
    ok(late(repo, MOMENT, "answer", resubmitted, "1", "--accept", "--reason", "补充为 1 个工作日", "--editor", "张伟"))
    answers = sorted((repo.root / "changelog" / "answers").glob(f"{resubmitted}-*.yml"))
    assert len(answers) == 1
    answer_text = answers[0].read_text(encoding="utf-8")
    assert SIGNED_LATE.search(answer_text) and UTC_DAY not in answer_text, answer_text
    repo.commit(f"{resubmitted}: opinions imported and answered")

    # summary: today, in the company's zone, in its text and JSON
    base = repo.git("rev-list", "--max-parents=0", "HEAD").split()[0]
    summary = ok(late(repo, MOMENT, "summary", "--base", base)).stdout
    assert f"今天 {CHINA_DAY}（公司时区）" in summary, summary[:600]
    assert json.loads(ok(late(repo, MOMENT, "summary", "--base", base, "--format", "json")).stdout)["today"] == CHINA_DAY

    # revoke-key (last: the key is no longer good): the record's signing time
    revoked = ok(late(repo, MOMENT, "revoke-key", "wang.fang", "--at", f"{CHINA_DAY}T07:00", "--reason", "遗失",
                      "--key", str(repo.key("wang.fang"))))  # fmt: skip
    assert f"{CHINA_DAY}T07:00:00+08:00" in revoked.stdout
    revocation = next((repo.root / "changelog").rglob("*wang.fang*.yml"))
    text = revocation.read_text(encoding="utf-8")
    assert SIGNED_LATE.search(text) and UTC_DAY not in text, text


@pytest.mark.libreoffice
def test_controlled_copies_are_issued_and_recalled_on_the_company_date(repo: RevisionRepo) -> None:
    require_libreoffice()
    issued = ok(late(repo, MOMENT, "distribute", "A/1", "--holder", "赵敏", "--department", "销售管理部",
                     "--key", str(repo.key(SIGNER["审核"]))))  # fmt: skip
    number = re.search(r"受控副本 (\S+)（A/1 版）", issued.stdout)
    assert number, issued.stdout
    copies = repo.root / "changelog" / "copies"
    record = yaml_record(next(p for p in copies.glob("*.yml") if number.group(1) in p.name))
    assert str(record["issued"]) == CHINA_DAY and SIGNED_LATE.fullmatch(str(record["signed_at"])), record
    recalled = ok(late(repo, MOMENT, "recall", number.group(1), "--date", CHINA_DAY, "--key", str(repo.key(SIGNER["审核"]))))
    assert CHINA_DAY in recalled.stdout
    recalls = [yaml_record(p) for p in copies.glob("*.yml") if yaml_record(p).get("kind") == "manual-copy-recall/1"]
    assert len(recalls) == 1 and str(recalls[0]["recalled"]) == CHINA_DAY and SIGNED_LATE.fullmatch(str(recalls[0]["signed_at"])), recalls


@pytest.mark.libreoffice
def test_the_release_documents_are_the_version_in_force_on_the_company_date(repo: RevisionRepo) -> None:
    require_libreoffice()
    made = ok(late(repo, MOMENT, "docx")).stdout
    assert "A/1 版（现行有效）" in made, made
    docx_path = repo.root / "dist" / "XS-QM-01_A-1.docx"
    # the XAdES signing time: the instant the command ran, 07:3x on the 8th in China
    with zipfile.ZipFile(docx_path) as z:
        signature = next(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("_xmlsignatures/sig"))
    stamp = re.search(r"<(?:\w+:)?SigningTime>([^<]+)<", signature)
    assert stamp, signature[:400]
    signed = dt.datetime.fromisoformat(stamp.group(1).replace("Z", "+00:00")).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert SIGNED_LATE.fullmatch(signed.isoformat()), signed
    verified = ok(late(repo, MOMENT, "verify", str(docx_path))).stdout
    assert f"截至 {CHINA_DAY}：现行有效" in verified and UTC_DAY not in verified, verified
    made = ok(late(repo, MOMENT, "pdf")).stdout
    assert "A/1 版（现行有效）" in made, made
    pdf = repo.root / "dist" / "XS-QM-01_A-1.pdf"
    shown = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, check=False, env={**unpinned_env(repo), "TZ": "Asia/Shanghai"})
    assert re.search(r"Signing Time: Dec 08 2026 07:3\d", shown.stdout), shown.stdout
    cover = subprocess.run(["pdftotext", "-l", "2", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "A/1" in cover and "现行有效" in cover, cover[:1500]
    verified = ok(late(repo, MOMENT, "verify", str(pdf))).stdout
    assert f"截至 {CHINA_DAY}：现行有效" in verified, verified


def test_the_site_is_built_as_of_the_company_date(repo: RevisionRepo) -> None:
    ok(late(repo, MOMENT, "build", "--site-only"))
    site = repo.root / "site"
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "A/1" in index, index[:2000]
    # A/1 is in force from the company's today (A/0 until the day before, which the page says too)
    assert re.search(rf'data-mk-version="A/1">.*?{CHINA_PROSE} 起，<span class="mk-status mk-status--in-force">现行有效', index), index[:3000]
    generated = (site / "assets" / "manualkit" / "site-date.css").read_text(encoding="utf-8")  # the print date
    assert f"网页生成日期 {CHINA_PROSE}" in generated and UTC_PROSE not in generated, generated


@pytest.mark.xdist_group("desk")
def test_the_desk_pages_say_the_company_date(repo: RevisionRepo) -> None:
    require_faketime()
    cr = repo.propose("minor", ["3.2"], title="缩短报价有效期", today="2026-12-02")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-12-03T10:00:00+08:00")
    with running_desk(repo, "--port", str(free_port()), launcher=("faketime", MOMENT), environment=unpinned_env(repo)) as desk:

        def get(path: str) -> str:
            status, _, text = desk.request("GET", path)
            assert status == 200, text
            return text

        todo = get("/")
        assert f"今天：{CHINA_DAY}" in todo and UTC_DAY not in todo, todo
        page = get(f"/cr/{cr}")
        assert cr in page and UTC_DAY not in page, page
