"""One redline engine (issue 27, point 5): the DOCX redline (read back with python-docx), the HTML
redline of ``manual diff --format html`` and the site's redline mark the same characters for the
same change, because all three render :func:`manualkit.text.redline.edit_ops`; and no module of
records/ writes HTML.

The change is made to this project's own manual (read from the working tree, changed in memory):
审批 → 批准 in 3.2 一、第 3 项, where a character-by-character comparison would mark 审 and 准 alone
around an unchanged 批, and 1 → 2 in a cell of 表 3-1.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import lxml.html
import pytest
from revision_repo import PROJECT_ROOT

from manualkit.documents.docx.changes import Author
from manualkit.documents.docx.redline import render_redline
from manualkit.documents.html_redline import section_bodies
from manualkit.site.redlines import manual_changes
from manualkit.text.manual import Manual, ManualFiles, load_manual
from manualkit.text.redline import edit_ops, inline_diff
from manualkit.text.worktree import read_manual_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHAPTER = "manual/03-execution.md"
ITEM = ("报价单经审批后发送客户", "报价单经批准后发送客户")
CELL = ("| 1 | 询价与报价 | 销售管理部 | 收到询价后 1 个工作日内 | 报价单 |", "| 1 | 询价与报价 | 销售管理部 | 收到询价后 2 个工作日内 | 报价单 |")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _manuals() -> tuple[Manual, Manual]:
    files = read_manual_files(PROJECT_ROOT)
    old = load_manual(files).manual
    text = files.contents[CHAPTER].decode("utf-8")
    for before, after in (ITEM, CELL):
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    new = load_manual(ManualFiles({**files.contents, CHAPTER: text.encode("utf-8")}, files.names)).manual
    assert old is not None and new is not None
    return old, new


def _marks_html(html: str) -> list[tuple[str, str]]:
    tree = lxml.html.fromstring(f"<div>{html}</div>")
    return [(el.tag, el.text_content()) for el in tree.iter("del", "ins") if el.text_content()]


def _marks_docx(data: bytes) -> list[tuple[str, str]]:
    body = docx.Document(io.BytesIO(data)).element.body
    out = []
    for el in body.iter(f"{W}del", f"{W}ins"):
        text = "".join(t.text or "" for t in el.iter(f"{W}t", f"{W}delText"))
        if text:
            out.append(("del" if el.tag == f"{W}del" else "ins", text))
    return out


def _in(marks: list[tuple[str, str]], *needles: str) -> list[tuple[str, str]]:
    return [m for m in marks if any(n in m[1] or m[1] in n for n in needles)]


def test_the_three_renderers_mark_the_same_characters_for_the_same_change() -> None:
    old, new = _manuals()
    site = "".join(r.html for r in manual_changes(old, new) if r.section_id in ("3.1", "3.2"))
    html = "".join(section_bodies(old, new, [("3.1", "3.1", "modified"), ("3.2", "3.2", "modified")]).values())
    docx_marks = _marks_docx(
        render_redline(
            old, new, from_version="B/1", to_version="草稿", intro=[], authors={}, steps={},
            fallback=Author("测试", dt.datetime(2026, 12, 7, 12, 0)), created=dt.datetime(2026, 12, 7, 12, 0),
        )
    )  # fmt: skip
    expected = [("del", "审批"), ("ins", "批准")]
    for name, marks in (("site", _marks_html(site)), ("html", _marks_html(html)), ("docx", docx_marks)):
        assert [m for m in marks if m[1] in ("审", "准", "审批", "批准")] == expected, (name, marks)
        assert ("del", "1") in marks and ("ins", "2") in marks, (name, marks)
        assert len(marks) == 4, (name, marks)  # nothing else of chapter 3 is marked


def test_one_unchanged_character_between_two_edits_is_part_of_the_change() -> None:
    assert [s for s in inline_diff("经审批后", "经批准后") if s.kind != "equal"] == [("delete", "审批"), ("insert", "批准")]
    tokens_a, tokens_b = list("经审批后"), list("经批准后")
    assert edit_ops(tokens_a, tokens_b) == [("equal", 0, 1, 0, 1), ("edit", 1, 3, 1, 3), ("equal", 3, 4, 3, 4)]
    # a space between two edits stays unmarked
    assert [s.text for s in inline_diff("甲 乙", "丙 丁") if s.kind == "equal"] == [" "]


def test_no_module_of_records_writes_html() -> None:
    tag = re.compile(r"<(?:html|head|body|style|p|div|span|table|tr|td|th|del|ins|h[1-6]|br)\b[^>]*>|</(?:p|div|table|del|ins)>")
    offenders = {p.name: tag.findall(p.read_text(encoding="utf-8")) for p in sorted((PROJECT_ROOT / "tools" / "manualkit" / "records").glob("*.py"))}
    assert {name: found for name, found in offenders.items() if found} == {}
