"""What changed between two versions of the manual, section by section, as HTML redlines.

Sections are paired as :mod:`manualkit.manual_diff` pairs them (``manual diff`` and the site agree
on what was added, removed, modified or moved). A section body is Markdown in the manual's subset,
one block per line (a paragraph, a list item, a
table row, a quote, a sub-heading). Blocks of the two versions are aligned with :mod:`difflib`;
blocks that were edited are compared with :func:`manualkit.redline.inline_diff`, which cuts
Chinese text into single characters and keeps Latin words and numbers whole, so "30 日" → "15 日"
shows as exactly that. The result is HTML with ``<del>``/``<ins>``; every text is escaped.
Pure functions over :class:`~manualkit.manual.Manual` values.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from manualkit.manual import Manual
from manualkit.manual_diff import STATUS_TEXT, Status, match_sections, section_texts
from manualkit.redline import Segment, inline_diff, to_html

State = Literal["same", "changed", "added", "removed"]  # of one block
PAIR_SIMILARITY = 0.3  # below this, an edited block reads better as one deleted and one added

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s*\{#[^}]*\})?\s*$")
_BULLET = re.compile(r"^( *)[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^( *)(\d+)[.)]\s+(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

_CODE = re.compile(r"`([^`]*)`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_STRONG = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_EMPHASIS = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?!\*)")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>])")


@dataclass(frozen=True)
class Block:
    """One Markdown block as a reader sees it: kind, list depth, and its text (or a row's cells)."""

    kind: Literal["p", "li", "ol", "quote", "h", "tr"]
    level: int
    cells: tuple[str, ...]
    header: bool = False  # a table's header row

    @property
    def text(self) -> str:
        return " | ".join(self.cells)


def display_text(markdown: str) -> str:
    """Inline Markdown as plain text: ``**粗体**`` → 粗体, ``[3.2](03-execution.md#sec-3-2)`` → 3.2."""
    text = _CODE.sub(lambda m: m.group(1), markdown)
    text = _IMAGE.sub(lambda m: f"〔图片：{m.group(1)}〕", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _STRONG.sub(lambda m: m.group(1) or m.group(2), text)
    text = _EMPHASIS.sub(lambda m: m.group(1), text)
    return _ESCAPED.sub(lambda m: m.group(1), text).strip()


def blocks(body: str) -> list[Block]:
    """The blocks of a section body, in order; wrapped lines join the block they continue."""
    out: list[Block] = []
    lines = body.split("\n")
    previous_blank = True
    for index, line in enumerate(lines):
        if not line.strip():
            previous_blank = True
            continue
        if _TABLE_RULE.match(line) and "-" in line:
            previous_blank = False
            continue
        block = _block(line, lines[index + 1] if index + 1 < len(lines) else "")
        if block is None:  # a continuation line
            if out and not previous_blank and out[-1].kind != "tr":
                last = out[-1]
                joined = _join(last.cells[0], display_text(line))
                out[-1] = Block(last.kind, last.level, (joined,), last.header)
            else:
                out.append(Block("p", 0, (display_text(line),)))
        else:
            out.append(block)
        previous_blank = False
    return out


def _block(line: str, following: str) -> Block | None:
    m = _HEADING.match(line)
    if m:
        return Block("h", len(m.group(1)), (display_text(m.group(2)),))
    m = _TABLE_ROW.match(line)
    if m:
        cells = tuple(display_text(c) for c in _CELL_SPLIT.split(m.group(1)))
        return Block("tr", 0, cells, header=bool(_TABLE_RULE.match(following)) and "-" in following)
    m = _BULLET.match(line)
    if m:
        return Block("li", len(m.group(1)) // 4, (display_text(m.group(2)),))
    m = _ORDERED.match(line)
    if m:
        return Block("ol", len(m.group(1)) // 4, (f"{m.group(2)}. {display_text(m.group(3))}",))
    m = _QUOTE.match(line)
    if m:
        return Block("quote", 0, (display_text(m.group(1)),))
    if line.startswith((" ", "\t")):
        return None
    return Block("p", 0, (display_text(line),))


def _join(head: str, tail: str) -> str:
    """Join a wrapped line: no space between Chinese characters, one between Latin words."""
    if head and tail and head[-1].isascii() and tail[0].isascii() and head[-1].isalnum() and tail[0].isalnum():
        return f"{head} {tail}"
    return head + tail


@dataclass(frozen=True)
class Row:
    state: State
    old: Block | None
    new: Block | None


def align(old: Sequence[Block], new: Sequence[Block]) -> list[Row]:
    """Pair the blocks of two versions: unchanged, edited (paired), deleted, added."""
    matcher = difflib.SequenceMatcher(None, [_key(b) for b in old], [_key(b) for b in new], autojunk=False)
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows += [Row("same", a, b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True)]
            continue
        removed, added = list(old[i1:i2]), list(new[j1:j2])
        while removed or added:
            a = removed[0] if removed else None
            b = added[0] if added else None
            if a is not None and b is not None and _pairable(a, b):
                rows.append(Row("changed", a, b))
                removed.pop(0)
                added.pop(0)
            elif a is not None and (b is None or len(removed) >= len(added)):
                rows.append(Row("removed", a, None))
                removed.pop(0)
            else:
                rows.append(Row("added", None, b))
                added.pop(0)
    return rows


def _key(block: Block) -> str:
    return f"{block.kind}\x1f{block.level}\x1f" + "\x1e".join(block.cells)


def _pairable(a: Block, b: Block) -> bool:
    if (a.kind == "tr") != (b.kind == "tr"):
        return False
    return difflib.SequenceMatcher(None, a.text, b.text, autojunk=False).ratio() >= PAIR_SIMILARITY


def _inline(row: Row, old: str | None, new: str | None) -> str:
    if row.state == "same" or old == new:
        return html.escape(new if new is not None else old or "")
    if old is None or row.state == "added":
        return to_html([Segment("insert", new or "")]) if new else ""
    if new is None or row.state == "removed":
        return to_html([Segment("delete", old)]) if old else ""
    return to_html(inline_diff(old, new))


def render(rows: Sequence[Row]) -> str:
    """The rows as HTML: paragraphs, list items and quotes as ``<p>``, table rows grouped in tables."""
    parts: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            parts.append('<div class="mk-rl-table"><table><tbody>' + "".join(table) + "</tbody></table></div>")
            table.clear()

    for row in rows:
        block = row.new or row.old
        assert block is not None
        if block.kind == "tr":
            table.append(_table_row(row))
            continue
        flush()
        text = _inline(row, row.old.cells[0] if row.old else None, row.new.cells[0] if row.new else None)
        classes = f"mk-rl mk-rl--{row.state} mk-rl-{block.kind}"
        if block.kind in ("li", "ol"):
            classes += f" mk-rl-level-{min(block.level, 3)}"
        parts.append(f'<p class="{classes}">{text}</p>')
    flush()
    return "".join(parts)


def _table_row(row: Row) -> str:
    old, new = row.old, row.new
    only = new or old
    assert only is not None
    tag = "th" if only.header else "td"
    if old is not None and new is not None and len(old.cells) == len(new.cells):
        cells = [_inline(row, a, b) for a, b in zip(old.cells, new.cells, strict=True)]
    elif old is not None and new is not None:
        cells = [_inline(row, old.text, new.text)]
    else:
        cells = [_inline(row, c if old is not None else None, c if new is not None else None) for c in only.cells]
    return f'<tr class="mk-rl--{row.state}">' + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


@dataclass(frozen=True)
class SectionRedline:
    """One section (or a chapter's opening text) that differs between two versions, as HTML."""

    section_id: str  # "3.2"; "3.0" for the text between a chapter's title and its first section
    title: str  # the heading as it reads in the newer version (the older one when removed)
    anchor: str  # sec-3-2
    status: Status  # added | removed | modified | moved (manualkit.manual_diff)
    old_title: str | None  # when the title changed
    from_id: str | None  # the older number of a moved section
    html: str

    def as_json(self) -> dict[str, str | None]:
        return {
            "section_id": self.section_id,
            "title": self.title,
            "anchor": self.anchor,
            "status": self.status,
            "old_title": self.old_title,
            "from_id": self.from_id,
            "html": self.html,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, str | None]) -> SectionRedline:
        status = str(data["status"])
        if status not in STATUS_TEXT:
            raise ValueError(status)
        return cls(
            str(data["section_id"]), str(data["title"]), str(data["anchor"]), status,  # type: ignore[arg-type]
            data["old_title"], data["from_id"], str(data["html"]),
        )  # fmt: skip


def manual_changes(old: Manual, new: Manual) -> list[SectionRedline]:
    """Every section that differs, paired as ``manual diff`` pairs them (by text, number, title,
    similarity), in the newer version's order with removed sections where they stood."""
    out: list[SectionRedline] = []
    for status, before, after in match_sections(section_texts(old), section_texts(new)):
        shown = after or before
        if status == "unchanged" or shown is None:
            continue
        rows = align(blocks(before.body if before else ""), blocks(after.body if after else ""))
        preamble = shown.id.endswith(".0")
        title = shown.title if preamble else f"{shown.id} {shown.title}"
        old_title = before.title if before is not None and after is not None and before.title != after.title else None
        from_id = before.id if status == "moved" and before is not None else None
        anchor = "sec-" + shown.id.replace(".", "-")
        out.append(SectionRedline(shown.id, title, anchor, status, old_title, from_id, render(rows)))
    return out
