"""The 修订对照表 marks the change and names the clause as the manual numbers it (issue 24,
points 1 and 2): in 修订前 the deleted characters struck through, in 修订后 the inserted ones
underlined (DOCX, read back with python-docx), ``<del>``/``<ins>`` on the site (Chromium), ``~~`` and
``**`` in Markdown; a changed table row as 列名：值 of the cells that changed; one locator
(text.clause) for the table, the text diff and the captions the documents print.

Read from the project's own history (A/0 → A/1 → B/0); the expected numbers are taken from the
release's own rendering (the DOCX renderer's list numbering and 表 captions), not written here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docx
import pytest
from conftest import base_env, run_manual

from manualkit.documents.docx.model import Paragraph, Table, plain, units
from manualkit.records.history import ReleaseReader, release_history
from manualkit.text.markup import parse

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path, MANUAL_TODAY="2026-12-07")


def _chapter_units(clone: Path, version: str, number: int) -> list[Any]:
    entries = release_history(clone)
    entry = next(e for e in entries if str(e.record.version) == version)
    assert entry.commit is not None
    manual = ReleaseReader(clone).manual(entry.commit)
    assert manual is not None
    chapter = next(c for c in manual.chapters if c.number == number)
    return units(parse(chapter.body), [], chapter.number, [0])


def _item_number(items: list[Any], needle: str) -> int:
    """The number the DOCX prints before the list item holding ``needle``: its place among the
    first-level items of its list (a nested list is a list of its own)."""
    lists: dict[int, int] = {}
    for u in items:
        if isinstance(u, Paragraph) and u.num is not None:
            num_id, level = u.num
            lists[num_id] = lists.get(num_id, 0) + 1
            if needle in plain(u.segments):
                assert level == 0
                return lists[num_id]
    raise AssertionError(needle)


def _table_row(items: list[Any], needle: str) -> tuple[str, int]:
    caption = ""
    for u in items:
        if isinstance(u, Paragraph) and u.style == "TableCaption":
            caption = plain(u.segments)
        if isinstance(u, Table):
            for i, row in enumerate(u.rows, start=1):
                if any(needle in plain(c.segments) for c in row.cells):
                    return caption, i
    raise AssertionError(needle)


def _markdown_rows(clone: Path, tmp_path: Path, old: str, new: str) -> dict[str, list[str]]:
    code, out, err = run_manual(["diff", "--from", old, "--to", new, "--layout", "table", "--format", "md"], clone, _env(tmp_path))
    assert code == 0, out + err
    rows = [line.strip("|").split(" | ") for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    return {r[1].strip(): [c.strip() for c in r] for r in rows}


def test_locators_are_the_numbers_the_manual_prints(project_clone: Path, tmp_path: Path) -> None:
    item = _item_number(_chapter_units(project_clone, "A/1", 3), "报价单经审批后发送客户")
    caption, row = _table_row(_chapter_units(project_clone, "B/0", 5), "销售额目标完成率")
    assert (item, caption, row) == (3, "表 5-1", 2)  # what the issue asks for, from the renderer itself
    a1 = _markdown_rows(project_clone, tmp_path, "A/0", "A/1")
    assert f"3.2 一、第 {item} 项" in a1
    b0 = _markdown_rows(project_clone, tmp_path, "A/1", "B/0")
    assert f"5.1 {caption} 第 {row} 行" in b0
    # Every 表 named in a locator is a caption the B/0 document prints for that chapter.
    for clause in b0:
        if m := re.search(r"表 (\d+)-(\d+)", clause):
            captions = [plain(u.segments) for u in _chapter_units(project_clone, "B/0", int(m.group(1))) if isinstance(u, Paragraph) and u.style == "TableCaption"]
            assert m.group(0) in captions, (clause, captions)
    # The text diff names the same clauses, never a line of the Markdown source.
    code, text, err = run_manual(["diff", "--from", "A/0", "--to", "A/1"], project_clone, _env(tmp_path))
    assert code == 0, err
    located = re.findall(r"(?m)^  (\S+ [^：]+)：", text)
    assert f"3.2 一、第 {item} 项" in located and "1.3 第 1 段" in located
    assert not [loc for loc in located if re.fullmatch(r"第 \d+ 行", loc)], located


def test_markdown_marks_the_change_without_html(project_clone: Path, tmp_path: Path) -> None:
    rows = _markdown_rows(project_clone, tmp_path, "A/0", "A/1")
    scope = rows["1.3 第 1 段"]
    assert "首尾~~相接、无缝~~衔接" in scope[2] and "首尾衔接" in scope[3] and "~~" not in scope[3]
    quote = rows["3.2 一、第 3 项"]
    assert "~~30~~" in quote[2] and "**15 日；原材料价格波动较大的产品，报价有效期不超过 7**" in quote[3]
    code, out, _ = run_manual(["diff", "--from", "A/0", "--to", "A/1", "--layout", "table", "--format", "md"], project_clone, _env(tmp_path))
    assert code == 0
    assert "<" not in out and "~~删除线~~" in out  # the legend says how


def test_a_changed_table_row_names_its_columns(project_clone: Path, tmp_path: Path) -> None:
    rows = _markdown_rows(project_clone, tmp_path, "A/1", "B/0")
    weight = rows["5.1 表 5-1 第 2 行"]
    # Chinese is compared character by character, a figure as a whole (30% → 25%), as manual diff does.
    assert weight[2] == "权重：~~30%~~" and weight[3] == "权重：**25%**"
    assert "|" not in weight[2].replace("\\|", "")


@pytest.fixture(scope="module")
def comparison_docx(project_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = {}
    for old, new in (("A/0", "A/1"), ("A/1", "B/0")):
        target = tmp_path_factory.mktemp("docx") / f"{new.replace('/', '-')}.docx"
        code, text, err = run_manual(
            ["diff", "--from", old, "--to", new, "--layout", "table", "--format", "docx", "-o", str(target)], project_clone, _env(target.parent)
        )
        assert code == 0, text + err
        out[new] = docx.Document(str(target))
    return out


def _cells(document: Any, clause: str) -> tuple[Any, Any]:
    table = document.tables[-1]
    row = next(r for r in table.rows if r.cells[1].text == clause)
    return row.cells[2], row.cells[3]


def _runs(cell: Any, marked: str) -> str:
    return "".join(r.text for p in cell.paragraphs for r in p.runs if (r.font.strike if marked == "strike" else r.font.underline))


def test_docx_strikes_and_underlines_exactly_the_changed_characters(comparison_docx: dict[str, Any]) -> None:
    before, after = _cells(comparison_docx["A/1"], "1.3 第 1 段")
    assert _runs(before, "strike") == "相接、无缝" and _runs(after, "underline") == ""
    assert _runs(before, "underline") == "" and _runs(after, "strike") == ""
    assert before.text.replace("相接、无缝", "", 1) == after.text
    before, after = _cells(comparison_docx["A/1"], "3.2 一、第 3 项")
    assert _runs(before, "strike") == "30" and _runs(after, "underline") == "15 日；原材料价格波动较大的产品，报价有效期不超过 7"
    before, after = _cells(comparison_docx["B/0"], "5.1 表 5-1 第 2 行")
    assert (before.text, after.text) == ("权重：30%", "权重：25%")
    assert (_runs(before, "strike"), _runs(after, "underline")) == ("30%", "25%")
