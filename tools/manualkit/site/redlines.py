"""What changed between two versions of the manual, section by section, as HTML redlines.

Sections are paired as :mod:`manualkit.records.manual_diff` pairs them (``manual diff`` and the site agree
on what was added, removed, modified or moved). A section body is Markdown in the manual's subset,
read with the one shared markdown-it configuration (:func:`manualkit.text.markup.parse`, as ``manual
check`` and the DOCX writer read it) into blocks: a paragraph, a list item, a table row, a quote, a
sub-heading. Blocks of the two versions are aligned with :mod:`difflib`;
blocks that were edited are compared with :func:`manualkit.text.redline.inline_diff`, which cuts
Chinese text into single characters and keeps Latin words and numbers whole, so "30 日" → "15 日"
shows as exactly that. The result is HTML with ``<del>``/``<ins>``; every text is escaped.
Pure functions over :class:`~manualkit.text.manual.Manual` values.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from manualkit.records.manual_diff import STATUS_TEXT, Status, match_sections, section_texts
from manualkit.text import markup
from manualkit.text.manual import Manual
from manualkit.text.redline import Segment, inline_diff, to_html

if TYPE_CHECKING:
    from markdown_it.token import Token

State = Literal["same", "changed", "added", "removed"]  # of one block
PAIR_SIMILARITY = 0.3  # below this, an edited block reads better as one deleted and one added

_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")  # a heading's trailing {#anchor}


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
    tokens = markup.parser().parseInline(markdown)
    return _text(tokens[0].children if tokens else None)


def _parts(children: Sequence[Token] | None) -> list[str | None]:
    """What a reader sees of an inline token's children, a line break as ``None``: text and code
    as written, a link or emphasis as its text, an image as 〔图片：alt〕."""
    parts: list[str | None] = []
    for child in children or []:
        t = child.type
        if t in ("text", "text_special", "code_inline", "html_inline"):
            parts.append(child.content)
        elif t == "image":
            parts.append(f"〔图片：{_text(child.children)}〕")
        elif t in ("softbreak", "hardbreak"):
            parts.append(None)
        # strong/em/link open and close: only their text shows
    return parts


def _joined(parts: Sequence[str | None]) -> str:
    text = ""
    wrapped = False
    for part in parts:
        if part is None:
            wrapped = True
        elif wrapped and part.strip():  # the first text of the next line
            text, wrapped = _join(text.rstrip(), part.lstrip()), False
        else:
            text += part
    return text.strip()


def _text(children: Sequence[Token] | None) -> str:
    return _joined(_parts(children))


def _heading_text(children: Sequence[Token] | None) -> str:
    """A sub-heading's text without its ``{#anchor}``."""
    parts = _parts(children)
    last = parts[-1] if parts else None
    if children and children[-1].type == "text" and last is not None:
        parts[-1] = _ANCHOR.sub("", last)
    return _joined(parts)


def _join(head: str, tail: str) -> str:
    """Join a wrapped line: no space between Chinese characters, one between Latin words."""
    if head and tail and head[-1].isascii() and tail[0].isascii() and head[-1].isalnum() and tail[0].isalnum():
        return f"{head} {tail}"
    return head + tail


@dataclass
class _Item:
    """An open list item: its list's kind and depth, the number written, whether its text was read."""

    kind: Literal["li", "ol"]
    level: int
    number: str
    read: bool = False

    def block(self, text: str) -> Block:
        self.read = True
        return Block(self.kind, self.level, (f"{self.number}. {text}" if self.kind == "ol" else text,))


def blocks(body: str) -> list[Block]:
    """The blocks of a section body, in order, read from the tokens of :func:`manualkit.text.markup.parse`.

    A paragraph is one block (its wrapped lines joined); a list item's first paragraph is the item,
    at its list depth (ordered items keep their number); a later paragraph of the item is a plain
    paragraph; a paragraph in a quote is a quote; each table row is one block of cells.
    """
    out: list[Block] = []
    lists: list[Literal["li", "ol"]] = []
    containers: list[_Item | None] = []  # open list items and quotes (None), innermost last
    row: list[str] | None = None
    in_head = False
    tokens = markup.parse(body)
    for index, token in enumerate(tokens):
        t = token.type
        inline = tokens[index + 1] if t in ("paragraph_open", "heading_open") else None
        item = containers[-1] if containers else None
        if t in ("bullet_list_open", "ordered_list_open"):
            if item is not None and not item.read:  # an item whose first line is empty
                out.append(item.block(""))
            lists.append("ol" if t == "ordered_list_open" else "li")
        elif t in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t == "list_item_open":
            containers.append(_Item(lists[-1], len(lists) - 1, token.info))
        elif t == "list_item_close":
            if item is not None and not item.read:
                out.append(item.block(""))
            containers.pop()
        elif t == "blockquote_open":
            containers.append(None)
        elif t == "blockquote_close":
            containers.pop()
        elif t == "paragraph_open" and inline is not None:
            text = _text(inline.children)
            if item is not None and not item.read:
                out.append(item.block(text))
            else:
                kind: Literal["p", "quote"] = "quote" if containers and item is None else "p"
                out.append(Block(kind, 0, (text,)))
        elif t == "heading_open" and inline is not None:
            out.append(Block("h", int(token.tag[1:]), (_heading_text(inline.children),)))
        elif t == "thead_open":
            in_head = True
        elif t == "thead_close":
            in_head = False
        elif t == "tr_open":
            row = []
        elif t == "inline" and row is not None:
            row.append(_text(token.children))
        elif t == "tr_close" and row is not None:
            out.append(Block("tr", 0, tuple(row), header=in_head))
            row = None
        elif t in ("fence", "code_block", "html_block"):  # outside the subset: its lines as text
            out += [Block("p", 0, (line.strip(),)) for line in token.content.split("\n") if line.strip()]
    return out


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
            parts.append('<div class="mk-rl-table mk-fit"><table><tbody>' + "".join(table) + "</tbody></table></div>")
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
    status: Status  # added | removed | modified | moved (manualkit.records.manual_diff)
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
