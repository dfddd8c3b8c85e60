"""Where a clause is, as a reader finds it in the manual: the one locator (issue 24, point 2).

``3.2 一、第 3 项`` (section, the numbered subheading, the list item as the manual numbers it),
``3.2 一、第 2 项第 1 点`` (an item of a nested list), ``1.3 第 1 段`` (a paragraph, counted under
its subheading), ``5.1 表 5-1 第 2 行`` (a table by the caption the documents and the site print,
its rows counted from the header row as 第 1 行). Never a line of the Markdown source.

Computed from the section's Markdown (the lines each block spans), so the text diff, the
修订对照表, the redline and the findings that name a line name the same clause. Tables are
numbered per chapter in the order they stand, as the DOCX captions them (表 章-N).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

#: A subheading's own number: 一、 二、 … or (一) / （一）, as it opens the heading.
_SUBHEADING_NUMBER = re.compile(r"^\s*([一二三四五六七八九十百]+、|[（(][一二三四五六七八九十]+[)）]|\d+(?:\.\d+)*[、.])")


class Clause(NamedTuple):
    """One clause of a section: lines ``first``–``last`` (1-based, in the section's body)."""

    section: str  # "3.2"; "3.0" for a chapter's text before its first section
    first: int
    last: int
    where: str  # "一、第 3 项", "表 5-1 第 2 行", "第 1 段", "一、询价与报价" (a subheading)

    @property
    def text(self) -> str:
        return f"{self.section} {self.where}".strip()


def _subheading_label(text: str) -> str:
    """How a subheading is cited: its number (一、) when it has one, else its words."""
    m = _SUBHEADING_NUMBER.match(text)
    return m.group(1) if m else text.strip()


_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*(?:\{#[A-Za-z][\w-]*\})?[ \t]*$")
_ITEM = re.compile(r"^( *)(?:(\d{1,9})[.)]|[-*+])(?:[ \t]+|$)")
_TABLE_LINE = re.compile(r"^ {0,3}\|")
_TABLE_RULE = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}>")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def section_clauses(body: str, section: str, chapter: int, tables_before: int = 0) -> tuple[list[Clause], int]:
    """The clauses of one section's Markdown ``body`` (the manual's subset, docs/authoring.md),
    and the tables of the chapter so far (``tables_before`` + this section's), to number the
    next section's tables. A line scanner, not the Markdown parser: ``manual diff`` answered from
    its caches names clauses without loading markdown-it."""
    spans: list[list[int]] = []  # [first, last] per clause
    wheres: list[str] = []
    sub = ""
    paragraphs = 0
    tables = tables_before
    caption = ""
    rows = 0
    levels: list[list[int]] = []  # open list levels: [indent, next number, clause index]
    numbers: list[int] = []
    paragraph = -1  # the clause of the paragraph being read, or -1
    table = -1
    blank = True
    fence = ""

    def add(first: int, where: str) -> int:
        spans.append([first, first])
        wheres.append(where)
        return len(spans) - 1

    def extend(line: int) -> None:
        for level in levels:
            spans[level[2]][1] = line
        if paragraph >= 0:
            spans[paragraph][1] = line

    for number, text in enumerate(body.split("\n"), start=1):
        if fence:
            if _FENCE.match(text) and text.strip().startswith(fence):
                fence = ""
            continue
        if not text.strip():
            blank, paragraph, table = True, -1, -1
            continue
        if opened := _FENCE.match(text):
            fence, paragraph, levels, numbers = opened.group(1), -1, [], []
            continue
        if _TABLE_LINE.match(text) and (not levels or (blank and not text.startswith(" "))):
            levels, numbers = [], []  # a table at the margin after a blank line ends the list
            if table < 0:
                tables += 1
                caption = f"表 {chapter}-{tables}" if chapter else f"表 {tables}"
                table, rows, paragraph = add(number, caption), 0, -1
            spans[table][1] = number
            if not _TABLE_RULE.match(text):
                rows += 1
                add(number, f"{caption} 第 {rows} 行")
            blank = False
            continue
        heading = _HEADING.match(text)
        if heading and not (levels and text.startswith(" ")):
            sub = _subheading_label(heading.group(1))
            paragraphs, levels, numbers, paragraph = 0, [], [], -1
            add(number, heading.group(1).strip())
            blank = False
            continue
        item = _ITEM.match(text)
        if item and (levels or blank or paragraph < 0):
            indent = len(item.group(1))
            while levels and indent < levels[-1][0]:
                levels.pop()
                numbers.pop()
            if not levels or indent > levels[-1][0] + 1:
                start = int(item.group(2)) if item.group(2) else 1
                levels.append([indent, start, -1])
                numbers.append(start)
            level = levels[-1]
            numbers[-1] = level[1]
            level[1] += 1
            where = f"第 {numbers[0]} 项" + "".join(f"第 {n} 点" for n in numbers[1:])
            level[2] = add(number, f"{sub}{where}")
            extend(number)
            paragraph, blank = -1, False
            continue
        if levels and (text.startswith(" ") or not blank):
            extend(number)  # a continuation of the item (indented, or a lazy line)
            blank = False
            continue
        levels, numbers = [], []
        if _QUOTE.match(text):
            paragraph, blank = -1, False
            continue
        if paragraph < 0:
            paragraphs += 1
            paragraph = add(number, f"{sub}第 {paragraphs} 段")
        spans[paragraph][1] = number
        blank = False
    return [Clause(section, first, last, where) for (first, last), where in zip(spans, wheres, strict=True)], tables


class SectionBody(NamedTuple):
    id: str
    body: str
    chapter: int


def chapter_clauses(sections: Iterable[SectionBody]) -> dict[str, list[Clause]]:
    """Every section's clauses, the tables numbered per chapter in the order given (a chapter's
    text before its first section, ``N.0``, first)."""
    out: dict[str, list[Clause]] = {}
    counted: dict[int, int] = {}
    for s in sections:
        label = f"第{s.chapter}章章首" if s.id.endswith(".0") else s.id
        out[s.id], counted[s.chapter] = section_clauses(s.body, label, s.chapter, counted.get(s.chapter, 0))
    return out


def clause_at(clauses: Sequence[Clause], line: int) -> Clause | None:
    """The innermost clause holding ``line`` (1-based in the section's body): a nested item
    rather than its list item, a row rather than its table; None between clauses."""
    holding = [c for c in clauses if c.first <= line <= c.last]
    return min(holding, key=lambda c: (c.last - c.first, -c.first)) if holding else None


def locate(clauses: Sequence[Clause], line: int, section: str) -> str:
    """The locator of ``line``: its clause, or the section alone when no clause holds it."""
    found = clause_at(clauses, line)
    return found.text if found else section


# --- the locator of a changed section, and of a line of a chapter file --------------------------------

#: At most this many clauses are named for one changed section (then 等 N 处).
MAX_NAMED = 5


def _chapter_of(sid: str) -> int | None:
    head = sid.split(".")[0]
    return int(head) if head.isdigit() and "." in sid and sid.split(".")[1].isdigit() else None


def _numeric(sid: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in sid.split("."))


def _clauses_in(sections: Mapping[str, tuple[str, str]], chapter: int) -> dict[str, list[Clause]]:
    ids = sorted((s for s in sections if _chapter_of(s) == chapter), key=_numeric)
    return chapter_clauses(SectionBody(s, sections[s][1], chapter) for s in ids)


def changed_clauses(sid: str, before: Mapping[str, tuple[str, str]], after: Mapping[str, tuple[str, str]]) -> list[str]:
    """The clauses of section ``sid`` that differ between two versions, as a reader finds them
    (``3.2 一、第 3 项``, ``5.1 表 5-1 第 2 行``), in the order they stand: lines added or changed
    named in the version ``after``, lines removed in the version ``before``. ``before`` and
    ``after`` map section ids (``N.0`` a chapter's opening text) to (title, body); a section that
    is new, gone, or changed only in its title is named by itself."""
    chapter = _chapter_of(sid)
    old, new = before.get(sid), after.get(sid)
    if chapter is None or old is None or new is None or old[1] == new[1]:
        return []
    label = f"第{chapter}章章首" if sid.endswith(".0") else sid
    old_clauses = _clauses_in(before, chapter).get(sid, [])
    new_clauses = _clauses_in(after, chapter).get(sid, [])
    a, b = old[1].split("\n"), new[1].split("\n")
    found: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        # lines changed or added, named in the new text; lines removed (beyond those replaced) in the old
        spots = [(new_clauses, j + 1) for j in range(j1, j2) if b[j].strip()]
        spots += [(old_clauses, i + 1) for i in range(i1 + (j2 - j1), i2) if a[i].strip()]
        for clauses, line in spots:
            where = locate(clauses, line, label)
            if where not in found:
                found.append(where)
    return found


def changed_clause_note(sid: str, before: Mapping[str, tuple[str, str]], after: Mapping[str, tuple[str, str]]) -> str:
    """The changed clauses of ``sid`` as a note to put after the words that say it changed:
    ``（改动处：3.2 一、第 3 项）``; empty when no clause can be named (see :func:`changed_clauses`)."""
    found = changed_clauses(sid, before, after)
    if not found:
        return ""
    named = "、".join(found[:MAX_NAMED]) + (f" 等 {len(found)} 处" if len(found) > MAX_NAMED else "")
    return f"（改动处：{named}）"


class ChapterLines(NamedTuple):
    """What :func:`line_clause` needs of a chapter: its number, and each section's id, heading
    line and body (with the file line its body starts on)."""

    number: int
    sections: Sequence[tuple[str, int, str, int]]  # (id, heading line, body, body line)
    preamble: str = ""


def line_clause(chapter: ChapterLines, line: int) -> str:
    """The clause holding file ``line`` of a chapter: ``3.2 一、第 3 项``; ``3.2`` on a section's
    heading; 第3章章首 before the first section."""
    bodies = [SectionBody(f"{chapter.number}.0", chapter.preamble, chapter.number)] if chapter.preamble else []
    bodies += [SectionBody(sid, body, chapter.number) for sid, _, body, _ in chapter.sections]
    clauses = chapter_clauses(bodies)
    for sid, heading, body, body_line in reversed(chapter.sections):
        if line >= body_line:
            found = clause_at(clauses.get(sid, []), line - body_line + 1)
            return found.text if found else _under_heading(sid, body, line - body_line + 1)
        if line >= heading:
            return sid
    return f"第{chapter.number}章章首"


def _under_heading(sid: str, body: str, line: int) -> str:
    """A line no clause holds (a note, 注：…): named by the subheading it stands under."""
    for text in reversed(body.split("\n")[: max(line - 1, 0)]):
        heading = _HEADING.match(text)
        if heading:
            return f"{sid} {heading.group(1).strip()}"
    return sid
