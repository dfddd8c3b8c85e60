"""``manual audit``: the whole chain verified, in real git repositories.

The demo history (A/0, A/1, B/0, B/1 built with the real commands and real SSH keys by
:class:`revision_repo.RevisionRepo`) passes; each kind of tampering an auditor must catch fails
with its own finding: released text edited in a later commit without a release, a release record
edited, a signature replaced (in a later commit, and in a rewritten release commit), a notice
period cut short, overlapping versions, a deleted record, a review record altered, an overdue
review. This repository's own history passes too.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, base_env, run_manual
from revision_repo import Result, RevisionRepo, shared_history

CHECKS = ["records", "signatures", "digests", "dates", "timeline", "text", "reviews", "obligations"]
A1_MINOR = "CR-2026-001"  # A/1: 3.2 (minor, signed 编制, 审核, 批准)
B1_REQUEST = "CR-2026-004"  # B/1: 2.2 and 4.3


class Templates:
    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self._demo: RevisionRepo | None = None

    @property
    def demo(self) -> RevisionRepo:
        """The session's demo history (only copied, never changed)."""
        if self._demo is None:
            self._demo = shared_history(self.factory, "demo")
        return self._demo


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory)


@pytest.fixture
def demo(templates: Templates, tmp_path: Path) -> RevisionRepo:
    return templates.demo.copy_to(tmp_path / "copy")


def audit_json(repo: RevisionRepo, **env: str) -> tuple[Result, dict[str, object]]:
    result = repo.manual("audit", "--json", env=env or None)
    assert "Traceback" not in result.stderr, result.stderr
    return result, json.loads(result.stdout)


def failed_checks(data: dict[str, object]) -> dict[str, list[str]]:
    """Failed check key → the codes of its findings."""
    return {c["key"]: sorted({f["code"] for f in c["findings"]}) for c in data["checks"] if not c["passed"]}  # type: ignore[attr-defined]


def messages(data: dict[str, object]) -> str:
    return "\n".join(f["message"] for c in data["checks"] for f in c["findings"])  # type: ignore[attr-defined]


def rewrite_last_release(repo: RevisionRepo, change: Callable[[], None]) -> None:
    """Rewrite history: redo the last release commit with ``change`` applied, and move its tag."""
    message = repo.git("log", "-1", "--format=%B").strip()
    tag = next(t for t in repo.tags() if repo.git("rev-list", "-n", "1", t).strip() == repo.head())
    repo.git("reset", "--soft", "HEAD~1")
    change()
    repo.commit(message)
    repo.git("tag", "-f", tag)


def swap_signature(path: Path) -> None:
    """Replace the last approval's signature with the first one's (a valid signature of another text)."""
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"    signature: \|\n(?:      .*\n)+", text)
    assert len(blocks) >= 2
    path.write_text(text.replace(blocks[-1], blocks[0]), encoding="utf-8")


# --- the clean chain -----------------------------------------------------------------------------


def test_the_demo_history_passes_every_check(demo: RevisionRepo) -> None:
    result, data = audit_json(demo)
    assert result.code == 0, result.output
    assert data["passed"] is True
    assert [c["key"] for c in data["checks"]] == CHECKS  # type: ignore[attr-defined]
    assert all(c["passed"] and not c["findings"] for c in data["checks"] if c["key"] != "obligations")  # type: ignore[attr-defined]
    # The demo history records no training: the major versions A/0 and B/0 took effect without one
    # (warnings; see test_procedure.py for the records that clear them).
    obligations = next(c for c in data["checks"] if c["key"] == "obligations")  # type: ignore[attr-defined]
    assert obligations["passed"] and {(f["code"], f["severity"]) for f in obligations["findings"]} == {("MAN818", "warning")}
    assert [r["version"] for r in data["releases"]] == ["A/0", "A/1", "B/0", "B/1"]  # type: ignore[attr-defined]


def test_the_report_in_markdown_and_html(demo: RevisionRepo, tmp_path: Path) -> None:
    md = demo.manual("audit")
    assert md.code == 0 and md.stdout.startswith("# 审计报告：销售业务流程规范手册（标准版）（XS-QM-01）")
    assert "结论：**通过" in md.stdout and "| B/1 | 2026-11-27 | 2027-01-15 | — |" in md.stdout
    target = tmp_path / "audit.html"
    html = demo.manual("audit", "--format", "html", "-o", str(target))
    assert html.code == 0
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "版本时间线" in page


def test_this_repository_passes(tmp_path: Path) -> None:
    if subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True).stdout.strip() == "true":
        pytest.skip("the project checkout is a shallow clone")
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
    code, out, err = run_manual(["audit", "--json"], clone, base_env(tmp_path / "home", MANUAL_TODAY="2026-11-27"))
    data = json.loads(out)
    assert code == 0 and data["passed"], messages(data) + err
    reviews = next(c for c in data["checks"] if c["key"] == "reviews")
    assert reviews["scope"].startswith("1 份评审记录")


def test_work_in_progress_under_an_open_request_is_not_a_finding(demo: RevisionRepo) -> None:
    demo.propose("minor", ["3.2"], title="再次调整报价有效期", today="2026-11-28")
    demo.replace_in_manual("03-execution.md", "报价单的有效期为 15 日", "报价单的有效期为 10 日")
    demo.commit("CR-2026-005: draft")
    result, data = audit_json(demo)
    assert result.code == 0, messages(data)


# --- tampering ------------------------------------------------------------------------------------


def test_released_text_edited_in_a_later_commit_without_a_release(demo: RevisionRepo) -> None:
    demo.replace_in_manual("03-execution.md", "报价单的有效期为 15 日", "报价单的有效期为 20 日")
    demo.commit("悄悄放宽报价有效期")
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"text": ["MAN710"]}
    assert "已发布的第 3.2 节（B/1 版）在提交" in messages(data) and "悄悄放宽报价有效期" in messages(data)


def test_released_text_edited_between_two_releases_is_caught_even_if_reverted(demo: RevisionRepo) -> None:
    """An edit of 7.1 after the last release, undone in the next commit: for a while the text on
    main was not the released one, and no change request covered it."""
    chapter = demo.chapter_path("7.1")
    original = chapter.read_text(encoding="utf-8")
    demo.replace_in_manual(chapter.name, "即 CRM 系统", "即 SCRM 系统")
    demo.commit("临时改名")
    chapter.write_text(original, encoding="utf-8")
    demo.commit("改回")
    _, data = audit_json(demo)
    assert failed_checks(data) == {"text": ["MAN710"]}
    assert "第 7.1 节（B/1 版）在提交" in messages(data) and "临时改名" in messages(data)


def test_released_text_edited_in_the_working_tree(demo: RevisionRepo) -> None:
    demo.replace_in_manual("04-records.md", "保存期限与纸质合同相同", "保存期限为 1 年")
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"text": ["MAN710"]}
    assert "工作区中已发布的第 4.3 节（B/1 版）被修改" in messages(data)


def test_a_release_record_edited_after_the_release(demo: RevisionRepo) -> None:
    demo.replace_in_manual("changelog/releases/A-1.yml", "effective: 2026-03-16", "effective: 2026-03-10")
    demo.commit("更正 A/1 实施日期")
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"records": ["MAN681", "MAN748"]}  # at the tip, and in history
    assert "A/1 的发布记录在发布" in messages(data)


def test_a_signature_replaced_in_a_later_commit(demo: RevisionRepo) -> None:
    swap_signature(demo.request_path(A1_MINOR))
    demo.commit("整理签名格式")
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"records": ["MAN748"], "signatures": ["MAN650", "MAN673"]}
    assert f"{A1_MINOR} 已随 A/1 发布" in messages(data) and "（当前文件）批准签署（陈刚）的电子签名无效" in messages(data)


def test_a_signature_replaced_in_a_rewritten_release_commit(demo: RevisionRepo) -> None:
    rewrite_last_release(demo, lambda: swap_signature(demo.request_path(B1_REQUEST)))
    result, data = audit_json(demo)
    assert result.code == 1
    failed = failed_checks(data)
    assert set(failed) == {"signatures"} and {"MAN650", "MAN660"} <= set(failed["signatures"])
    assert "B/1：批准签署（陈刚）的电子签名无效" in messages(data)


def test_an_effective_date_inside_the_notice_period(demo: RevisionRepo) -> None:
    rewrite_last_release(demo, lambda: demo.replace_in_manual("changelog/releases/B-1.yml", "effective: 2027-01-15", "effective: 2026-11-30"))
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"dates": ["MAN663"]}
    assert "短于 7 日的最短公告期（最早 2026-12-04）" in messages(data)


def test_overlapping_versions(demo: RevisionRepo) -> None:
    rewrite_last_release(demo, lambda: demo.replace_in_manual("changelog/releases/B-1.yml", "effective: 2027-01-15", "effective: 2026-06-20"))
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data)["timeline"] == ["MAN664"]


def test_a_deleted_release_record(demo: RevisionRepo) -> None:
    (demo.root / "changelog" / "releases" / "B-1.yml").unlink()
    demo.commit("删除 B/1")
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"records": ["MAN672", "MAN748"]}


def test_a_moved_tag_is_reported(demo: RevisionRepo) -> None:
    demo.git("tag", "-f", "release/A-1", "release/A-0")
    result, data = audit_json(demo)
    assert result.code == 0  # a tag is a pointer, the record's commit is the evidence: a warning
    records = next(c for c in data["checks"] if c["key"] == "records")  # type: ignore[attr-defined]
    assert [f["code"] for f in records["findings"]] == ["MAN715"]


def test_reviews_signed_and_in_time(demo: RevisionRepo) -> None:
    demo.run("review", "3", "--key", str(demo.key("li.na")), env={"MANUAL_TODAY": "2026-11-30", "MANUAL_NOW": "2026-11-30T10:00:00+08:00"})
    demo.commit("第三章定期评审")
    result, data = audit_json(demo)
    assert result.code == 0, messages(data)
    review = demo.root / "changelog" / "reviews" / "2026-11-30-ch3.yml"
    review.write_text(review.read_text(encoding="utf-8").replace("无需修订", "需要修订"), encoding="utf-8")
    demo.commit("改评审结论")
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"records": ["MAN748"], "reviews": ["MAN690", "MAN721", "MAN722"]}
    assert "电子签名无效" in messages(data)


def test_an_overdue_review(demo: RevisionRepo) -> None:
    result, data = audit_json(demo, MANUAL_TODAY="2027-02-01")
    assert result.code == 1
    assert failed_checks(data) == {"reviews": ["MAN720"]}
    assert "第3章的定期评审应于 2027-01-01 前完成，至 2027-02-01 已逾期" in messages(data)


def test_a_shallow_clone_asks_for_the_full_history(demo: RevisionRepo, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{demo.root}", str(shallow)], check=True, env=demo.env())
    code, _, err = run_manual(["audit"], shallow, demo.env())
    assert code == 1 and "MAN603" in err and "git fetch --unshallow" in err


def test_a_gap_in_the_version_sequence(demo: RevisionRepo) -> None:
    rewrite_last_release(demo, lambda: demo.replace_in_manual("changelog/releases/B-1.yml", "previous: B/0", "previous: A/1"))
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"timeline": ["MAN711"]}
    assert "B/1 记录的上一版本为 A/1，但前一个发布记录是 B/0" in messages(data)


def test_a_release_recorded_out_of_order(demo: RevisionRepo) -> None:
    """B/0's record deleted and added again after B/1: the commit that added it now comes later."""
    record = demo.root / "changelog" / "releases" / "B-0.yml"
    text = record.read_bytes()
    record.unlink()
    demo.commit("移走 B/0 的记录")
    record.write_bytes(text)
    demo.commit("放回 B/0 的记录")
    result, data = audit_json(demo)
    assert result.code == 1
    assert "MAN712" in failed_checks(data)["timeline"]
    assert "MAN682" in failed_checks(data)["digests"]  # recorded where manual/ already holds B/1's text


def test_an_approval_signed_after_the_publication_date(demo: RevisionRepo) -> None:
    rewrite_last_release(demo, lambda: demo.replace_in_manual("changelog/releases/B-1.yml", "published: 2026-11-27", "published: 2026-11-05"))
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"signatures": ["MAN713"]}
    assert "晚于发布日期 2026-11-05" in messages(data)


def test_a_record_listing_other_approvals_than_the_requests_hold(demo: RevisionRepo) -> None:
    rewrite_last_release(
        demo, lambda: demo.replace_in_manual("changelog/releases/B-1.yml", 'signed_at: "2026-11-10T09:00:00+08:00"', 'signed_at: "2026-11-09T09:00:00+08:00"')
    )
    result, data = audit_json(demo)
    assert result.code == 1
    assert failed_checks(data) == {"signatures": ["MAN714"]}
