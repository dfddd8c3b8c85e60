"""Chapter 8's obligations beyond approvals (issue #11): returns, working-day deadlines, revoked
keys, training before effect, controlled copies and their recall. Real git repositories, keys
generated with ssh-keygen, the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pytest
from revision_repo import RevisionRepo, shared_history

from manualkit.records.workdays import load_calendar


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "demo")  # only copied, never changed


@pytest.fixture
def repo(demo: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    return demo.copy_to(tmp_path / "copy")


# --- working days ---------------------------------------------------------------------------


def test_national_day_deadline_counts_holidays_and_the_saturday_makeup_workday() -> None:
    calendar, problems = load_calendar({})
    assert problems == []
    # Tue 2026-09-29 → 9-30, 10-8, 10-9, Sat 10-10 (调休上班), Mon 10-12.
    deadline = calendar.add_workdays(dt.date(2026, 9, 29))
    assert deadline.due == dt.date(2026, 10, 12) and deadline.warnings == ()
    assert calendar.is_workday(dt.date(2026, 10, 10)) and not calendar.is_workday(dt.date(2026, 10, 7))


def test_spring_festival_deadline() -> None:
    calendar, _ = load_calendar({})
    # Fri 2026-02-13 → Sat 2-14 (调休上班), then 2-15..2-23 off, 2-24, 2-25, 2-26, 2-27.
    assert calendar.add_workdays(dt.date(2026, 2, 13)).due == dt.date(2026, 2, 27)
    assert calendar.is_workday(dt.date(2026, 2, 14)) and not calendar.is_workday(dt.date(2026, 2, 16))
    assert calendar.workdays_between(dt.date(2026, 2, 13), dt.date(2026, 2, 24)) == 2


def test_uncovered_year_is_a_warning_and_the_company_file_covers_it() -> None:
    calendar, _ = load_calendar({})
    deadline = calendar.add_workdays(dt.date(2026, 12, 28))
    assert [d.code for d in deadline.warnings] == ["MAN806"] and "2027" in deadline.warnings[0].message
    text = b"years:\n  2027:\n    holidays: [2027-01-01]\n    workdays: []\ncompany_rest_days: [2026-12-31]\n"
    calendar, problems = load_calendar({"manual/calendar.yml": text})
    assert problems == []
    deadline = calendar.add_workdays(dt.date(2026, 12, 28))
    assert deadline.due == dt.date(2027, 1, 6) and deadline.warnings == ()


def test_calendar_with_an_impossible_date_is_refused() -> None:
    _, problems = load_calendar({"manual/calendar.yml": b"years:\n  2027:\n    holidays: [2027-02-30]\n"})
    assert [(d.code, d.line) for d in problems] == [("MAN805", 3)]


def test_status_json_gives_waiting_role_and_due_date_and_audit_warns_when_overdue(repo: RevisionRepo) -> None:
    cr = repo.propose("minor", ["3.3"], today="2026-09-29")
    repo.append_to_section("3.3", "报价应经部门负责人复核。")
    repo.approve(cr, "编制", now="2026-09-29T10:00:00+08:00")
    repo.commit(f"{cr} submitted")
    result = repo.manual("status", "--json", env={"MANUAL_TODAY": "2026-10-09"})
    assert result.code == 0, result.output
    entry = next(r for r in json.loads(result.stdout)["requests"] if r["id"] == cr)
    assert entry == entry | {"status": "waiting", "waiting_for": "审核", "since": "2026-09-29", "due": "2026-10-12", "overdue": False}
    text = repo.manual("status", env={"MANUAL_TODAY": "2026-10-13"})
    assert "应于 2026-10-12（5 个工作日）前完成，已逾期" in text.stdout
    audit = repo.manual("audit", "--json", env={"MANUAL_TODAY": "2026-10-13"})
    checks = {c["key"]: c for c in json.loads(audit.stdout)["checks"]}
    assert "MAN807" in {f["code"] for f in checks["obligations"]["findings"]}
    assert all(f["severity"] == "warning" for f in checks["obligations"]["findings"] if f["code"] == "MAN807")


# --- returns --------------------------------------------------------------------------------


def _submitted(repo: RevisionRepo, day: str = "2026-11-20") -> str:
    cr = repo.propose("minor", ["3.3"], today=day)
    repo.append_to_section("3.3", "报价应经部门负责人复核。")
    repo.approve(cr, "编制", now=f"{day}T10:00:00+08:00")
    repo.commit(f"{cr} submitted")
    return cr


def test_return_by_the_awaited_role_closes_the_request(repo: RevisionRepo) -> None:
    cr = _submitted(repo)
    wrong = repo.run("return", cr, "--role", "批准", "--key", str(repo.key("chen")), "--reason", "不同意", check=False)
    assert wrong.code == 1 and "MAN801" in wrong.codes() and not (repo.root / "changelog/returns").exists()
    done = repo.run("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "与 3.2 的时限冲突，请修改后重新提交")
    assert done.code == 0
    record = repo.read(f"changelog/returns/{cr}.yml")
    assert "manual-return/1" in record and "与 3.2 的时限冲突" in record and "BEGIN SSH SIGNATURE" in record
    again = repo.run("approve", cr, "--role", "审核", "--key", str(repo.key("li")), check=False)
    assert again.code == 1 and "MAN800" in again.codes()
    twice = repo.run("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "再次", check=False)
    assert twice.code == 1 and "MAN801" in twice.codes()
    status = json.loads(repo.manual("status", "--json").stdout)
    entry = next(r for r in status["requests"] if r["id"] == cr)
    assert entry["status"] == "returned" and entry["returned"]["reason"] == "与 3.2 的时限冲突，请修改后重新提交"
    assert "已退回" in repo.manual("status").stdout
    assert f"已退回：{cr}" in repo.manual("history").stdout
    repo.commit("returned")
    # A returned request is not released; its resubmission names it.
    release = repo.release("2026-12-01", "2026-12-10", check=False)
    assert release.code == 1 and "MAN662" in release.codes()
    new = repo.run("propose", "--class", "minor", "--sections", "3.3", "--title", "重新提交", "--reason", "按审核意见修改", "--replaces", cr)
    assert new.code == 0
    resubmitted = re.search(r"CR-\d{4}-\d{3}", new.stdout)
    assert resubmitted is not None and f"replaces: {cr}" in repo.read(f"changelog/requests/{resubmitted.group()}.yml")
    assert f"已由 {resubmitted.group()} 重新提交" in repo.manual("history").stdout
    history = json.loads(repo.manual("history", "--json").stdout)
    (returned,) = history["returned_requests"]
    assert returned == returned | {
        "id": cr, "role": "审核", "reason": "与 3.2 的时限冲突，请修改后重新提交", "signer": "li.na",
        "verified": True, "replaced_by": [resubmitted.group()], "record": f"changelog/returns/{cr}.yml",
    }  # fmt: skip
    assert returned["returned_at"].startswith("20") and cr not in {c for e in history["releases"] for c in e["change_requests"]}
    bad = repo.run("propose", "--class", "minor", "--sections", "3.3", "--title", "x", "--reason", "x", "--replaces", "CR-2026-999", check=False)
    assert bad.code == 1 and "MAN803" in bad.codes()
    check = repo.manual("check")
    assert check.code == 0, check.output


def test_returning_a_released_request_is_refused_and_writes_nothing(repo: RevisionRepo) -> None:
    before = repo.state()
    released = repo.run("return", "CR-2026-001", "--role", "审核", "--key", str(repo.key("li")), "--reason", "x", check=False)
    assert released.code == 1 and "MAN801" in released.codes()
    hostile = repo.run("return", "CR-2026-001", "--role", "审核", "--key", str(repo.key("li")), "--reason", "a\u202eb", check=False)
    assert hostile.code == 1 and "MAN762" in hostile.codes()
    assert repo.state() == before


@pytest.mark.parametrize(("revoked_at", "valid"), [("2026-11-25T00:00:00+08:00", True), ("2026-11-20T00:00:00+08:00", False)])
def test_return_made_before_a_revocation_stays_valid_when_the_registry_replaces_the_key(
    repo: RevisionRepo, tmp_path: Path, revoked_at: str, valid: bool
) -> None:
    # Returned on 2026-11-21; the key revoked from 11-25 (it stays valid) or from 11-20 (the leak
    # came first: the return was made with a revoked key); then the registry gets her new key.
    cr = _submitted(repo)
    repo.run("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "请补充依据", env={"MANUAL_NOW": "2026-11-21T10:00:00+08:00"})
    repo.run("revoke-key", "li.na", "--at", revoked_at, "--reason", "遗失", "--key", str(repo.key("chen")))
    new_key = tmp_path / "li.na-2"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "li.na", "-f", str(new_key)], check=True, capture_output=True)
    repo.replace_in_manual("policy.yml", repo.public_key("li"), " ".join(Path(f"{new_key}.pub").read_text(encoding="utf-8").split()[:2]))
    (returned,) = json.loads(repo.manual("history", "--json").stdout)["returned_requests"]
    assert returned["id"] == cr and returned["verified"] is valid
    assert ("MAN802" in repo.manual("check").codes()) is not valid


def test_forged_return_is_reported_by_check(repo: RevisionRepo) -> None:
    cr = _submitted(repo)
    repo.run("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "理由")
    path = repo.root / f"changelog/returns/{cr}.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("理由", "伪造的理由"), encoding="utf-8")
    result = repo.manual("check")
    assert result.code == 1 and "MAN802" in result.codes()
    (returned,) = json.loads(repo.manual("history", "--json").stdout)["returned_requests"]
    assert returned["id"] == cr and returned["verified"] is False and returned["reason"] == "伪造的理由"
    assert "（退回记录的签名无效）" in repo.manual("history").stdout


# --- revoked keys ---------------------------------------------------------------------------


def test_revoked_key_voids_later_signatures_and_keeps_earlier_ones(repo: RevisionRepo) -> None:
    unknown = repo.run("revoke-key", "nobody", "--at", "2026-11-30T12:00", "--reason", "遗失", "--key", str(repo.key("chen")), check=False)
    assert unknown.code == 1 and "MAN810" in unknown.codes()
    outsider = repo.run("revoke-key", "li.na", "--at", "2026-11-30T12:00", "--reason", "遗失", "--key", str(repo.key("zhang")), check=False)
    assert outsider.code == 1 and "MAN811" in outsider.codes()
    assert not (repo.root / "changelog/revocations").exists()
    # 李娜 (审核) signed B/1's request on 2026-11-10; her key is revoked on 2026-11-05 (it leaked
    # before). A time before a released signature voids it: only explicitly, and only by 批准.
    args = ("revoke-key", "li.na", "--at", "2026-11-05T00:00:00+08:00", "--reason", "笔记本电脑遗失")
    unsaid = repo.run(*args, "--key", str(repo.key("li")), check=False)
    assert unsaid.code == 1 and unsaid.codes() == {"MAN856"} and "CR-" in unsaid.output and "--void-released" in unsaid.output, unsaid.output
    not_approver = repo.run(*args, "--key", str(repo.key("li")), "--void-released", check=False)
    assert not_approver.code == 1 and not_approver.codes() == {"MAN856"}, not_approver.output
    assert not (repo.root / "changelog/revocations").exists()
    result = repo.run(*args, "--key", str(repo.key("chen")), "--void-released")
    assert result.code == 0, result.output
    (record,) = (repo.root / "changelog/revocations").iterdir()
    assert 'voids_released: "true"' in record.read_text(encoding="utf-8")
    history = json.loads(repo.manual("history", "--json").stdout)["releases"]
    b1 = next(e for e in history if e["version"] == "B/1")
    a1 = next(e for e in history if e["version"] == "A/1")
    assert not b1["valid"] and "MAN812" in {p["code"] for p in b1["problems"]}
    li = next(a for a in b1["approvals"] if a["signer"] == "li.na")
    assert li["valid"] is False and li["key_revoked_at"].startswith("2026-11-05")
    earlier = next(a for a in a1["approvals"] if a["signer"] == "li.na")
    assert earlier["valid"] is True and earlier["key_revoked_at"].startswith("2026-11-05") and a1["valid"]
    audit = repo.manual("audit", "--json")
    assert audit.code == 1 and "MAN812" in audit.codes()
    # The revoked key can sign nothing more.
    cr = repo.propose("minor", ["3.3"], today="2026-12-01")
    repo.append_to_section("3.3", "报价应经部门负责人复核。")
    repo.approve(cr, "编制")
    refused = repo.approve(cr, "审核", check=False)
    assert refused.code == 1 and "MAN812" in refused.codes()


def test_revocation_by_the_approver_and_in_the_future_refused(repo: RevisionRepo) -> None:
    future = repo.run("revoke-key", "li.na", "--at", "2027-01-01T00:00", "--reason", "x", "--key", str(repo.key("chen")), check=False)
    assert future.code == 1 and "MAN813" in future.codes()
    ok = repo.run("revoke-key", "li.na", "--at", "2026-12-01T08:00", "--reason", "可能泄露", "--key", str(repo.key("chen")))
    assert ok.code == 0
    history = json.loads(repo.manual("history", "--json").stdout)["releases"]
    assert all(e["valid"] for e in history)  # every earlier signature stays valid
    again = repo.run("revoke-key", "li.na", "--at", "2026-12-01T08:30", "--reason", "x", "--key", str(repo.key("chen")), check=False)
    assert again.code == 1 and "MAN811" in again.codes()
    repo.commit("li.na's key revoked")
    repo.manual("build", "--site-only", env={"MANUAL_HOME": str(repo.base / "manual-home")}, check=True)
    page = (repo.root / "site" / "requests" / "CR-2026-002.html").read_text(encoding="utf-8")
    assert "签署在前；该密钥已于 2026-12-01 08:00:00（北京时间） 停用" in page


def test_site_shows_a_signature_voided_by_a_revoked_key_and_the_checks_report_it(repo: RevisionRepo) -> None:
    # 李娜 signed B/1's request on 2026-11-10; her key is revoked from 2026-11-05 (it leaked before).
    repo.run("revoke-key", "li.na", "--at", "2026-11-05T00:00:00+08:00", "--reason", "遗失", "--key", str(repo.key("chen")), "--void-released")
    repo.commit("revoked")
    home = {"MANUAL_HOME": str(repo.base / "manual-home")}
    # Staff must still read the manual: the site is built, the signature shown as invalid ...
    result = repo.manual("build", "--site-only", env=home | {"MANUAL_TODAY": "2027-01-20"})
    assert result.code == 0, result.output
    assert "MAN812" in result.stderr and "站点照常构建" in result.stderr
    site = repo.root / "site"
    b1_request = next(cr for cr in re.findall(r"CR-\d{4}-\d{3}", repo.read("changelog/releases/B-1.yml")))
    page = (site / "requests" / f"{b1_request}.html").read_text(encoding="utf-8")
    assert "✗ 无效（签署时密钥已于 2026-11-05 00:00:00（北京时间） 停用）" in page
    # ... and the release's metadata says so on every page of B/1 (in force on 2027-01-20), with
    # a link to the request; the pages of A/0 (archived, its signatures made before) do not.
    chapter = (site / "03-execution.html").read_text(encoding="utf-8") if (site / "03-execution.html").exists() else ""
    index = (site / "index.html").read_text(encoding="utf-8")
    for text in (index, chapter or index):
        assert 'data-mk-version="B/1"' in text and 'data-mk-signatures="invalid"' in text
        assert "<dt>签署状态</dt>" in text and "✗ 含无效签署" in text and f"requests/{b1_request}.html" in text
    archived = (site / "archive" / "A-0" / "index.html").read_text(encoding="utf-8")
    assert 'data-mk-signatures="invalid"' not in archived and "含无效签署" not in archived
    archive = (site / "archive.html").read_text(encoding="utf-8")
    table = archive[archive.index('class="mk-archive') :]
    assert table.count("✗ 含无效签署") == 1  # the row of B/1 (and the page's own header)
    # ... while check, audit and history keep reporting it as an error.
    for command in (("check",), ("audit",), ("history",)):
        found = repo.manual(*command, env={"MANUAL_TODAY": "2027-01-20"})
        assert found.code == 1 and "MAN812" in found.codes(), (command, found.output)
    # The daily publish still publishes (the error is reported, the site and DOCX are built).
    (site / "index.html").unlink()
    published = repo.manual("publish", env=home | {"MANUAL_TODAY": "2027-01-20"})
    assert published.code == 0 and "MAN812" in published.output and (site / "index.html").is_file(), published.output


def test_site_of_an_upcoming_version_with_a_voided_signature_says_so_in_its_banner(repo: RevisionRepo) -> None:
    repo.run("revoke-key", "li.na", "--at", "2026-11-05T00:00:00+08:00", "--reason", "遗失", "--key", str(repo.key("chen")), "--void-released")
    repo.commit("revoked")
    result = repo.manual("build", "--site-only", env={"MANUAL_HOME": str(repo.base / "manual-home"), "MANUAL_TODAY": "2026-12-01"})
    assert result.code == 0, result.output
    index = (repo.root / "site" / "index.html").read_text(encoding="utf-8")
    assert 'data-mk-version="B/0"' in index and 'data-mk-signatures="invalid"' not in index
    banner = index[index.index("mk-banner--upcoming") :]
    assert "B/1 版将于" in banner and "✗ 含无效签署" in banner[: banner.index("</div>")]


# --- training -------------------------------------------------------------------------------


def test_training_before_effect(repo: RevisionRepo) -> None:
    # B/0 (major, training required) took effect 2026-07-01 without a training record.
    audit = repo.manual("audit", "--json")
    findings = {f["code"]: f for c in json.loads(audit.stdout)["checks"] for f in c["findings"]}
    assert "MAN818" in findings and "B/0" in findings["MAN818"]["message"]
    assert "B/0 版已于 2026-07-01 实施，但实施前没有培训记录" in repo.manual("status").stdout
    missing = repo.run("training", "Z/9", "--date", "2026-06-20", "--departments", "销售管理部", "--attendees", "3", "--record", "x", "--key", str(repo.key("li")), check=False)
    assert missing.code == 1 and "MAN815" in missing.codes()
    dept = repo.run("training", "B/0", "--date", "2026-06-20", "--departments", "不存在部", "--attendees", "3", "--record", "x", "--key", str(repo.key("li")), check=False)
    assert dept.code == 1 and "MAN816" in dept.codes() and not (repo.root / "changelog/training").exists()
    done = repo.run(
        "training", "B/0", "--date", "2026-06-20", "--departments", "销售管理部,人力资源部", "--attendees", "42",
        "--record", "培训签到表 PX-2026-017", "--key", str(repo.key("li")),
    )  # fmt: skip
    assert done.code == 0, done.output
    status = json.loads(repo.manual("status", "--json").stdout)
    b0 = next(t for t in status["training"] if t["version"] == "B/0")
    assert b0["done"] == "2026-06-20" and b0["late"] is False
    audit = repo.manual("audit", "--json")
    late = [f["message"] for c in json.loads(audit.stdout)["checks"] for f in c["findings"] if f["code"] == "MAN818"]
    assert late and not any("B/0" in m for m in late)  # A/0 (the first, major, edition) still lacks one


# --- controlled copies ----------------------------------------------------------------------


def test_distribute_recall_and_verify_a_numbered_copy(repo: RevisionRepo, tmp_path: Path) -> None:
    env = {"MANUAL_HOME": str(tmp_path / "mh"), "MANUAL_TODAY": "2026-03-20"}
    out = tmp_path / "copies"
    result = repo.run("distribute", "A/1", "--holder", "王五", "--department", "销售管理部", "--copies", "2", "-o", str(out), "--key", str(repo.key("zhao")), env=env)
    assert result.code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["XS-QM-01_A-1-001.docx", "XS-QM-01_A-1-002.docx"]
    from docx import Document

    document = Document(str(out / files[0]))
    cover = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    header = "\n".join(p.text for s in document.sections for p in s.header.paragraphs)
    assert "A-1-001" in cover and "分发号 A-1-001" in header
    # The copies share one layout (laid out once): the contents of each list the pages that
    # LibreOffice puts that copy's headings on.
    from manualkit.documents.layout import destination_name, destination_pages, docx_to_pdf
    from manualkit.documents.toc import toc_page_numbers

    second = (out / files[1]).read_bytes()
    listed, laid_out = toc_page_numbers(second), destination_pages(docx_to_pdf(second))
    assert len(listed) == 8 + 32 and listed == {bookmark: laid_out[destination_name(bookmark)] for bookmark in listed}
    verify = repo.manual("verify", str(out / files[0]), env=env)
    assert verify.code == 0, verify.output
    assert "A-1-001" in verify.output and "王五" in verify.output
    # After B/0 took effect (2026-07-01) A/1 is superseded: copies out are listed, then overdue.
    status = json.loads(repo.manual("status", "--json", env={"MANUAL_TODAY": "2026-07-03"}).stdout)
    assert {c["number"] for c in status["copies_not_recalled"]} == {"A-1-001", "A-1-002"}
    assert {c["due"] for c in status["copies_not_recalled"]} == {"2026-07-08"}
    audit = repo.manual("audit", "--json", env={"MANUAL_TODAY": "2026-07-09"})
    assert "MAN823" in audit.codes()
    assert repo.run("recall", "A-1-001", "--date", "2026-07-02", "--key", str(repo.key("zhao")), env={"MANUAL_TODAY": "2026-07-09"}).code == 0
    assert repo.run("recall", "A-1-002", "--date", "2026-07-03", "--retained", "--key", str(repo.key("zhao")), env={"MANUAL_TODAY": "2026-07-09"}).code == 0
    twice = repo.run("recall", "A-1-001", "--date", "2026-07-04", "--key", str(repo.key("zhao")), check=False, env={"MANUAL_TODAY": "2026-07-09"})
    assert twice.code == 1 and "MAN822" in twice.codes()
    assert "MAN823" not in repo.manual("audit", "--json", env={"MANUAL_TODAY": "2026-07-09"}).codes()
    assert 'retained: "true"' in repo.read("changelog/copies/A-1-002-recall.yml")
    assert "recalled" not in repo.read("changelog/copies/A-1-002.yml")  # the copy's record is never edited


def test_distribute_bad_input_writes_nothing(repo: RevisionRepo, tmp_path: Path) -> None:
    before = repo.state()
    env = {"MANUAL_HOME": str(tmp_path / "mh")}
    for args, code in (
        (("distribute", "Z/1", "--holder", "王五", "--department", "销售管理部"), "MAN820"),
        (("distribute", "A/0", "--holder", "王五", "--department", "销售管理部"), "MAN820"),  # superseded
        (("distribute", "B/0", "--holder", "王\x07五", "--department", "销售管理部"), "MAN009"),
        (("distribute", "B/0", "--holder", "  ", "--department", "销售管理部"), "MAN840"),  # empty
        (("recall", "A-1-009", "--date", "2026-07-02"), "MAN821"),
    ):
        result = repo.run(*args, "--key", str(repo.key("zhao")), env=env, check=False)
        assert result.code == 1 and code in result.codes(), (args, result.output)
    assert repo.state() == before


# --- the obligations of chapter 8 -----------------------------------------------------------


def test_every_obligation_of_the_project_manual_is_mapped() -> None:
    from manualkit.commands.obligations import obligations

    report = obligations(Path(__file__).resolve().parent.parent)
    assert report.unmapped == [] and report.stale == [] and report.problems == []
    sections = {o.section for o, _ in report.obligations}
    assert {"5.1", "6.4", "8.1", "8.2", "8.3", "8.4"} <= sections
    kinds = {m.kind for _, m in report.obligations if m}
    assert kinds == {"check", "command", "people"}


def test_a_new_obligation_in_chapter_8_is_reported_until_mapped(repo: RevisionRepo) -> None:
    assert repo.manual("obligations").code == 0
    repo.append_to_section("8.4", "作废版本的电子文件应移入归档目录。")
    result = repo.manual("obligations", "--json")
    assert result.code == 1
    data = json.loads(result.stdout)
    new = [o for o in data["obligations"] if not o["mapped"]]
    assert [o["text"] for o in new] == ["作废版本的电子文件应移入归档目录。"]
    check = repo.manual("check")
    assert check.code == 1 and "MAN830" in check.codes()
    mapping = repo.root / "manual" / "obligations.yml"
    mapping.write_text(
        mapping.read_text(encoding="utf-8")
        + f'  - section: "8.4"\n    fingerprint: "{new[0]["fingerprint"]}"\n    enforced_by: people\n    how: 归档由质量管理部执行\n',
        encoding="utf-8",
    )
    assert repo.manual("obligations").code == 0
    assert "MAN830" not in repo.manual("check").codes()


def test_stale_and_malformed_mapping_entries(repo: RevisionRepo) -> None:
    mapping = repo.root / "manual" / "obligations.yml"
    text = mapping.read_text(encoding="utf-8")
    mapping.write_text(text + '  - section: "8.4"\n    fingerprint: "000000000000"\n    enforced_by: people\n    how: 已删除的语句\n', encoding="utf-8")
    stale = repo.manual("check")
    assert stale.code == 0 and "MAN831" in stale.codes()
    mapping.write_text(text + '  - section: "8.4"\n    enforced_by: robots\n', encoding="utf-8")
    bad = repo.manual("obligations")
    assert bad.code == 0 and "MAN832" in bad.codes()  # the entry is refused; every sentence is still mapped
    assert "MAN832" in repo.manual("check").codes()


def test_training_due_before_an_upcoming_major_version(repo: RevisionRepo) -> None:
    status = json.loads(repo.manual("status", "--json", env={"MANUAL_TODAY": "2026-06-15"}).stdout)
    b0 = next(t for t in status["training"] if t["version"] == "B/0")
    assert b0["done"] is None and b0["late"] is False
    audit = repo.manual("audit", "--json", env={"MANUAL_TODAY": "2026-06-15"})
    assert "MAN817" in audit.codes()


def test_recall_refuses_bad_dates_and_damaged_records(repo: RevisionRepo, tmp_path: Path) -> None:
    env = {"MANUAL_HOME": str(tmp_path / "mh"), "MANUAL_TODAY": "2026-07-10"}
    repo.run("distribute", "B/0", "--holder", "赵六", "--department", "财务部", "-o", str(tmp_path / "c"), "--key", str(repo.key("zhao")), env=env)
    early = repo.run("recall", "B-0-001", "--date", "2026-07-01", "--key", str(repo.key("zhao")), env=env, check=False)
    assert early.code == 1 and "MAN825" in early.codes()
    path = repo.root / "changelog/copies/B-0-001.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("赵六", "赵七"), encoding="utf-8")
    damaged = repo.run("recall", "B-0-001", "--date", "2026-07-10", "--key", str(repo.key("zhao")), env=env, check=False)
    assert damaged.code == 1 and "MAN824" in damaged.codes()


def test_a_second_writer_waits_then_is_refused(tmp_path: Path) -> None:
    """The record commands share the repository's one write lock (base/lock): a second process
    waits, then is refused with MAN760; once the first is done the lock is free again."""
    import os
    import subprocess
    import sys

    from manualkit.base.lock import repository_lock

    probe = (
        "import sys\nfrom pathlib import Path\nfrom manualkit.base.diagnostics import ManualError\n"
        "from manualkit.base.lock import repository_lock\ntry:\n"
        "    with repository_lock(Path(sys.argv[1]), 'recall'):\n        print('held')\n"
        "except ManualError as e:\n    print(e.diagnostics[0].code)\n"
    )

    def second_writer() -> str:
        env = {**os.environ, "MANUAL_LOCK_WAIT": "0.2"}
        proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], env=env, capture_output=True, text=True, check=True)
        return proc.stdout.strip()

    (tmp_path / ".git").mkdir()
    with repository_lock(tmp_path, "return"):
        assert second_writer() == "MAN760"
    assert second_writer() == "held"  # free again


# --- the staff site -------------------------------------------------------------------------


def test_site_shows_training_status_returned_requests_and_the_obligations(repo: RevisionRepo) -> None:
    import lxml.html

    env = {"MANUAL_HOME": str(repo.base / "manual-home")}

    def page(path: str) -> str:
        return " ".join(lxml.html.fromstring((repo.root / "site" / path).read_text(encoding="utf-8")).text_content().split())

    repo.manual("build", "--site-only", "--as-of", "2026-06-15", env=env, check=True)
    assert "B/0 版将于 2026年7月1日 生效" in page("index.html") and "培训完成前按现行版本执行" in page("index.html")
    training = ["training", "B/0", "--date", "2026-06-10", "--departments", "销售管理部", "--attendees", "12"]
    repo.run(*training, "--record", "签到表<script>alert(1)</script>", "--key", str(repo.key("li")), env={"MANUAL_TODAY": "2026-06-12"})
    cr = _submitted(repo)
    repo.run("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "<b>时限</b>与 3.2 冲突")
    repo.commit("training and a return")
    repo.manual("build", "--site-only", "--as-of", "2026-06-15", env=env, check=True)
    assert "培训已于 2026年6月10日 完成" in page("index.html") and "需培训部门" not in page("index.html")
    repo.manual("build", "--site-only", env=env, check=True)
    returned = page(f"requests/{cr}.html")
    assert "已退回" in returned and "<b>时限</b>与 3.2 冲突" in returned and "有效（签名已验证）" in returned
    assert "<b>" not in (repo.root / "site" / f"requests/{cr}.html").read_text(encoding="utf-8").split("退回理由")[1][:200]
    obligations = page("obligations.html")
    assert "修订须回到原批准层级批准。" in obligations and "manual revoke-key" in obligations and cr in obligations


def test_docs_list_every_obligation_with_its_evidence() -> None:
    from manualkit.commands.obligations import obligations

    root = Path(__file__).resolve().parent.parent
    readme = (root / "docs" / "obligations.md").read_text(encoding="utf-8")
    for o, m in obligations(root).obligations:
        assert m is not None
        assert f"| {o.section} | {o.text.replace('|', chr(92) + '|')} | " in readme, o.text


def test_check_and_release_refuse_an_open_request_signed_after_the_revocation(repo: RevisionRepo) -> None:
    cr = repo.propose("editorial", ["3.3"], today="2026-11-20")
    repo.append_to_section("3.3", "报价单编号规则见附录。")
    repo.approve(cr, "编制", now="2026-11-20T09:00:00+08:00")
    repo.approve(cr, "审核", now="2026-11-20T10:00:00+08:00")
    repo.commit(f"{cr} approved")
    repo.run("revoke-key", "li.na", "--at", "2026-11-20T09:30:00+08:00", "--reason", "可能泄露", "--key", str(repo.key("li")))
    repo.commit("revoked")
    check = repo.manual("check")
    assert check.code == 1 and "MAN812" in check.codes()
    release = repo.release("2026-12-01", "2026-12-01", check=False)
    assert release.code == 1 and "MAN812" in release.codes() and "B-2.yml" not in repo.porcelain()


def test_calendar_file_with_an_impossible_date_fails_check(repo: RevisionRepo) -> None:
    (repo.root / "manual" / "calendar.yml").write_text("years:\n  2027:\n    holidays: [2027-02-29]\n    workdays: []\n", encoding="utf-8")
    result = repo.manual("check")
    assert result.code == 1 and "manual/calendar.yml:3:" in result.stdout and "MAN805" in result.codes()


def test_two_distributions_at_once_get_distinct_numbers(repo: RevisionRepo, tmp_path: Path) -> None:
    import subprocess

    from revision_repo import manual_command

    env = repo.env({"MANUAL_HOME": str(tmp_path / "mh")})
    repo.manual("docx", "--version", "B/0", "-o", str(tmp_path / "warm.docx"), env={"MANUAL_HOME": str(tmp_path / "mh")}, check=True)
    procs = []
    for who in ("甲", "乙"):
        args = [*manual_command(), "distribute", "B/0", "--holder", who, "--department", "财务部", "-o", str(tmp_path / who), "--key", str(repo.key("zhao"))]
        procs.append(subprocess.Popen(args, cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    records = sorted((repo.root / "changelog" / "copies").glob("*.yml"))
    assert [r.name for r in records] == ["B-0-001.yml", "B-0-002.yml"]
    holders = {r.read_text(encoding="utf-8").split('holder: "')[1].split('"')[0] for r in records}
    assert holders == {"甲", "乙"}
