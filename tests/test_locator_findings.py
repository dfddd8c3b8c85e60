"""One locator everywhere (issue 24, point 2's remainder): ``manual obligations``, the site's page
of obligations and the audit's findings name a clause as a reader finds it in the manual
(``8.3 一、第 3 项``, ``8.4 表 8-2 第 2 行``, ``3.2 一、第 3 项``), never a line of the Markdown
source.

Read from the project's own manual and history (a clone); the expected numbers are taken from the
DOCX renderer's own list numbering and 表 captions (as tests/test_comparison_marks.py does), not
written here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_manual
from test_comparison_marks import _chapter_units, _env, _item_number, _table_row

from manualkit.records.obligation_map import obligation_report
from manualkit.records.repository import worktree_snapshot
from manualkit.site.procedure_pages import obligations_markdown
from manualkit.text.clause import ChapterLines, changed_clause_note, changed_clauses, line_clause

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SUBSIDIARY = "子公司应通过其内部决策程序采纳本手册"
NOTICE_ROW = "施行前须完成对受影响岗位人员的培训"


def _obligations(clone: Path, tmp_path: Path) -> tuple[str, list[dict[str, object]]]:
    code, text, err = run_manual(["obligations"], clone, _env(tmp_path))
    assert code == 0, err
    code, out, err = run_manual(["obligations", "--json"], clone, _env(tmp_path))
    assert code == 0, err
    return text, json.loads(out)["obligations"]


def test_obligations_name_the_item_and_the_table_row_the_manual_prints(project_clone: Path, tmp_path: Path) -> None:
    units = _chapter_units(project_clone, "B/1", 8)  # the working tree holds B/1's text
    item = _item_number(units, SUBSIDIARY)
    caption, row = _table_row(units, NOTICE_ROW)
    text, rows = _obligations(project_clone, tmp_path)
    by_text = {str(r["text"]): r for r in rows}
    subsidiary = next(r for t, r in by_text.items() if SUBSIDIARY in t)
    assert subsidiary["clause"] == f"8.3 一、第 {item} 项" and item == 3
    notice = next(r for t, r in by_text.items() if NOTICE_ROW in t)
    assert notice["clause"] == f"8.4 {caption} 第 {row} 行"
    assert f"8.3 一、第 {item} 项 [{subsidiary['fingerprint']}] " in text
    # every obligation named by a clause of its section, never by a source line
    for r in rows:
        assert str(r["clause"]).startswith(f"{r['section']} "), r
    assert not re.search(r"第 \d+ 行(?!\S)", re.sub(r"表 \d+-\d+ 第 \d+ 行", "", text)), text


def test_the_sites_obligations_page_names_clauses(project_clone: Path) -> None:
    snap = worktree_snapshot(project_clone)
    manual, _ = snap.require()
    page = obligations_markdown(obligation_report(manual, snap.files.contents))
    assert "8.3 一、第 3 项" in page and "5.1 四、制定与变更程序" in page


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _messages(out: str, code: str) -> list[str]:
    return [str(f["message"]) for c in json.loads(out)["checks"] for f in c["findings"] if f["code"] == code]


def test_the_audit_names_the_clause_changed_outside_a_release(project_clone: Path, tmp_path: Path) -> None:
    clone = tmp_path / "repo"
    shutil.copytree(project_clone, clone, symlinks=True)
    item = _item_number(_chapter_units(clone, "B/1", 3), "报价单经审批后发送客户")
    caption, row = _table_row(_chapter_units(clone, "B/1", 5), "销售额目标完成率")
    _edit(clone / "manual" / "03-execution.md", "报价有效期一般为 15 日", "报价有效期一般为 10 日")
    five = (clone / "manual" / "05-assessment.md").read_text(encoding="utf-8")
    line = next(x for x in five.splitlines() if "销售额目标完成率" in x)
    _edit(clone / "manual" / "05-assessment.md", line, line.replace("销售额目标完成率", "销售额目标达成率"))
    code, out, err = run_manual(["audit", "--json"], clone, _env(tmp_path))
    assert code == 1, out + err
    found = _messages(out, "MAN710")
    assert any("第 3.2 节" in m and f"被修改（改动处：3.2 一、第 {item} 项）" in m for m in found), found
    assert any("第 5.1 节" in m and f"被修改（改动处：5.1 {caption} 第 {row} 行）" in m for m in found), found
    assert not any(re.search(r"第 \d+ 行(?!\S)", re.sub(r"表 \d+-\d+ 第 \d+ 行", "", m)) for m in found), found
    # and committed, the same clause is named for the commit that changed it
    who = ["-c", "user.name=测试", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "-C", str(clone), *who, "commit", "-qam", "edit outside a release"], check=True, env=_env(tmp_path))
    code, out, err = run_manual(["audit", "--json"], clone, _env(tmp_path))
    found = _messages(out, "MAN710")
    assert any("在提交" in m and f"（改动处：3.2 一、第 {item} 项）" in m for m in found), found


def test_changed_clauses_in_order_and_removed_lines_named_in_the_old_text() -> None:
    before = {"3.1": ("", "前言。\n"), "3.2": ("", "### 一、询价\n\n1. 甲。\n2. 乙。\n3. 丙。\n\n| 列 | 值 |\n|---|---|\n| a | 1 |\n")}
    after = {"3.1": ("", "前言。\n"), "3.2": ("", "### 一、询价\n\n1. 甲。\n2. 乙乙。\n\n| 列 | 值 |\n|---|---|\n| a | 2 |\n")}
    assert changed_clauses("3.2", before, after) == ["3.2 一、第 2 项", "3.2 一、第 3 项", "3.2 表 3-1 第 2 行"]
    assert changed_clause_note("3.2", before, after) == "（改动处：3.2 一、第 2 项、3.2 一、第 3 项、3.2 表 3-1 第 2 行）"
    assert changed_clause_note("3.1", before, after) == ""  # unchanged body: nothing to add
    assert changed_clauses("9.front", before, after) == []


def test_a_line_of_a_chapter_file_is_named_by_its_clause() -> None:
    body = "### 一、适用组织\n\n本手册适用于：\n\n- 甲；\n- 乙。\n\n> 注：不另行规定。\n"
    lines = ChapterLines(8, [("8.3", 10, body, 11)], "引言。\n")
    assert line_clause(lines, 15) == "8.3 一、第 1 项"
    assert line_clause(lines, 16) == "8.3 一、第 2 项"
    assert line_clause(lines, 18) == "8.3 一、适用组织"  # a note: named by its subheading
    assert line_clause(lines, 10) == "8.3" and line_clause(lines, 3) == "第8章章首"
