"""``manual summary --base REF`` and ``manual check --format gitlab`` on a real signed history
(A/0 released), with a pull request's branch made by the real CLI: the change requests, the
sections, the 修订对照表 rows, verified signatures, the roles still waiting with their working-day
due dates (China's statutory calendar: the National Day holiday of 2026), the check's findings,
and the earliest publication and effective dates."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from revision_repo import RevisionRepo, shared_history

from manualkit.base.markdown_text import MARKER


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> RevisionRepo:
    copy = shared_history(tmp_path_factory, "released").copy_to(tmp_path / "r")
    copy.git("checkout", "--quiet", "-b", "request")
    return copy


def _half_signed(repo: RevisionRepo, title: str = "缩短报价有效期", reason: str = "市场价格波动加快") -> str:
    """A minor request proposed on 2026-09-28, 3.2 edited, signed 编制 on 2026-09-29 only."""
    cr = repo.propose("minor", ["3.2"], title=title, reason=reason, today="2026-09-28")
    repo.append_to_section("3.2", "报价单的有效期为 15 日；超过有效期的报价须重新审批。")
    repo.approve(cr, "编制", now="2026-09-29T10:00:00+08:00")
    repo.commit(f"{cr}: proposed")
    return cr


def test_the_summary_says_who_must_still_sign_by_when(repo: RevisionRepo) -> None:
    cr = _half_signed(repo)
    result = repo.manual("summary", "--base", "main", "--format", "json", env={"MANUAL_TODAY": "2026-10-09"})
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["base_commit"] == repo.git("rev-parse", "main").strip()
    [request] = data["requests"]
    assert (request["id"], request["title"], request["class"], request["sections"], request["status"]) == (cr, "缩短报价有效期", "一般修订", ["3.2"], "waiting")
    assert [(s["role"], s["signer"], s["valid"]) for s in request["signatures"]] == [("编制", "zhang.wei", True)]
    # 审核 has 5 working days from 09-29: 09-30, 10-08, 10-09, 10-10 (a make-up Saturday), 10-12
    # (1-7 October are the National Day holiday); then 批准 has 5 more: 10-13 … 10-19.
    assert request["waiting"] == [
        {"role": "审核", "since": "2026-09-29", "due": "2026-10-12", "overdue": False},
        {"role": "批准", "since": "2026-10-12", "due": "2026-10-19", "overdue": False},
    ]
    assert (request["published"], request["effective"]) == ("2026-10-19", "2026-10-26")  # minor: 7 days' notice
    assert data["sections"] == [{"id": "3.2", "kind": "modified", "title": data["sections"][0]["title"], "requests": [cr]}]
    [row] = data["comparison"]
    assert row["after"] == "报价单的有效期为 15 日；超过有效期的报价须重新审批。" and row["before"] == "新增"
    assert (row["explanation"], row["requests"]) == ("市场价格波动加快", cr)
    assert data["findings"] == []
    late = json.loads(repo.manual("summary", "--base", "main", "--format", "json", env={"MANUAL_TODAY": "2026-10-13"}).stdout)
    assert late["requests"][0]["waiting"][0]["overdue"] is True
    after = json.loads(repo.manual("summary", "--base", "main", "--format", "json", env={"MANUAL_TODAY": "2026-10-21"}).stdout)
    assert (after["requests"][0]["published"], after["requests"][0]["effective"]) == ("2026-10-21", "2026-10-28")  # never in the past


def test_the_markdown_summary_renders_its_tables(repo: RevisionRepo) -> None:
    cr = _half_signed(repo)
    result = repo.manual("summary", "--base", "main", env={"MANUAL_TODAY": "2026-10-09"})
    assert result.code == 0, result.output
    text = result.stdout
    assert text.startswith(MARKER + "\n") and len(text) < 65_000
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert rendered.count("<table>") == 5  # requests, signatures, waiting roles, sections, 对照表
    assert "<td>2026-10-12</td>" in rendered and "<td>审核</td>" in rendered
    assert f"<td>{cr}</td>" in rendered
    assert "报价单的有效期为 15 日；超过有效期的报价须重新审批。" in rendered
    assert "manual check 未发现问题" in rendered


def test_an_uncovered_change_is_shown_and_reported_to_gitlab(repo: RevisionRepo) -> None:
    _half_signed(repo)
    repo.append_to_section("3.1", "未经修订申请而增加的段落。")
    repo.commit("edit 3.1 without a change request")
    data = json.loads(repo.manual("summary", "--base", "main", "--format", "json").stdout)
    assert [(s["id"], s["requests"]) for s in data["sections"]] == [("3.1", []), ("3.2", data["sections"][1]["requests"])]
    assert [d["code"] for d in data["findings"]] == ["MAN670"]
    markdown = repo.manual("summary", "--base", "main").stdout
    assert "✗ manual check：1 个错误" in markdown and "| 3\\.1 |" in markdown and "✗ 无" in markdown
    result = repo.manual("check", "--base", "main", "--format", "gitlab")
    assert result.code == 1
    [issue] = json.loads(result.stdout)
    assert issue["check_name"] == "MAN670" and issue["severity"] == "major"
    assert issue["location"]["path"] == "manual/03-execution.md"
    line = next(i for i, x in enumerate(repo.read("manual/03-execution.md").split("\n"), start=1) if x.startswith("## 3.1 "))
    assert issue["location"]["lines"]["begin"] == line
    again = json.loads(repo.manual("check", "--base", "main", "--format", "gitlab").stdout)
    assert again[0]["fingerprint"] == issue["fingerprint"]


def test_a_hostile_request_cannot_break_out_of_the_summary(repo: RevisionRepo) -> None:
    title = "| 伪造 | 列 | **加粗** <img src=x onerror=alert(1)> @everyone [链接](javascript:alert(2)) " + "很长" * 300
    _half_signed(repo, title=title, reason="<script>alert(3)</script> @li.na #1 !2 | 理由")
    markdown = repo.manual("summary", "--base", "main").stdout
    assert "@" not in markdown.replace(MARKER, "")
    renderers = [MarkdownIt("commonmark").enable("table").render(markdown)]
    if shutil.which("pandoc"):
        renderers.append(subprocess.run(["pandoc", "-f", "gfm", "-t", "html"], input=markdown, capture_output=True, text=True, check=True).stdout)
    for rendered in renderers:
        assert not re.search(r"<(img|script|strong|a)\b", rendered), rendered[:2000]
        rows = re.findall(r"<tr\b[^>]*>(.*?)</tr>", rendered, re.DOTALL)
        requests_table = rows[:2]  # header and the one request
        assert [len(re.findall(r"<t[hd]\b", r)) for r in requests_table] == [7, 7]
        assert "＠everyone" in rendered and "……（已截断）" in rendered  # the title is cut at 200 characters


def test_an_unknown_base_is_a_clear_error(repo: RevisionRepo) -> None:
    result = repo.manual("summary", "--base", "no-such-branch")
    assert result.code == 1 and "MAN604" in result.stderr and "Traceback" not in result.output
    usage = repo.manual("summary")
    assert usage.code == 2 and "MAN000" in usage.stderr

