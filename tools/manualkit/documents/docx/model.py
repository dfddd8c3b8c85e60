"""What a fragment of the manual's Markdown is as a document: a sequence of units (paragraphs
with their style, list numbering and inline segments; tables with rows and cells).

Built from the same markdown-it tokens that ``manual check`` inspects. The release DOCX renders
the units of one text; the redline renders the units of two texts, matched and compared unit by
unit, so both documents show the manual in exactly the same form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from markdown_it.token import Token

from manualkit.documents.docx.xml import LIST_HANG, LIST_STEP

LIST_LEVELS = 9


class Segment(NamedTuple):
    """A stretch of inline content. ``kind``: text, code, break (a line break), image (``text``
    is its alt text, ``target`` its source), link_open (``target`` is the href), link_close."""

    kind: str
    text: str
    bold: bool = False
    italic: bool = False
    target: str = ""


class Paragraph(NamedTuple):
    style: str  # BodyText, Heading3, Heading4, Quote, Figure, ListParagraph, TableCaption
    segments: tuple[Segment, ...]
    num: tuple[int, int] | None = None  # (numId, level) of a list item's first paragraph
    left: int = 0  # left indent of a list item's later paragraphs (twips)
    line: int = 0  # first line in the parsed Markdown (1-based; 0 unknown), for text.clause


class Cell(NamedTuple):
    segments: tuple[Segment, ...]
    align: str  # "", "center" or "right"


class Row(NamedTuple):
    header: bool
    cells: tuple[Cell, ...]
    line: int = 0  # its line in the parsed Markdown (1-based; 0 unknown)


class Table(NamedTuple):
    rows: tuple[Row, ...]
    columns: int
    line: int = 0  # its first line in the parsed Markdown (1-based; 0 unknown)


Unit = Paragraph | Table


def segments(children: Sequence[Token] | None) -> tuple[Segment, ...]:
    """The inline tokens of a paragraph, heading or cell as segments. A soft line break inside
    Chinese text is nothing; between Latin words it is a space."""
    out: list[Segment] = []
    bold = italic = 0
    last = ""
    tokens = list(children or [])
    for index, tok in enumerate(tokens):
        t = tok.type
        if t == "text" or t == "html_inline":  # html: outside the subset (the check reports it), shown as text
            if tok.content:
                out.append(Segment("text", tok.content, bold > 0, italic > 0))
                last = tok.content
        elif t == "softbreak":
            nxt = next((c.content for c in tokens[index + 1 :] if c.content), "")
            if last and nxt and last[-1].isascii() and nxt[0].isascii() and not last[-1].isspace():
                out.append(Segment("text", " ", bold > 0, italic > 0))
        elif t == "hardbreak":
            out.append(Segment("break", ""))
        elif t == "strong_open":
            bold += 1
        elif t == "strong_close":
            bold -= 1
        elif t == "em_open":
            italic += 1
        elif t == "em_close":
            italic -= 1
        elif t == "code_inline":
            if tok.content:
                out.append(Segment("code", tok.content, bold > 0, italic > 0))
                last = tok.content
        elif t == "link_open":
            out.append(Segment("link_open", "", target=str(tok.attrs.get("href", ""))))
        elif t == "link_close":
            out.append(Segment("link_close", ""))
        elif t == "image":
            out.append(Segment("image", tok.content, target=str(tok.attrs.get("src", ""))))
    return tuple(out)


def plain(segs: Sequence[Segment]) -> str:
    """The text a reader sees (an image counts as its alt text)."""
    return "".join(s.text if s.kind != "break" else "\n" for s in segs if s.kind in ("text", "code", "break", "image"))


def unit_text(unit: Unit) -> str:
    """What two units are compared by: style and text (a table: its cells, row by row)."""
    if isinstance(unit, Table):
        return "\x1e".join("\x1f".join(plain(c.segments) for c in row.cells) for row in unit.rows)
    return f"{unit.style}\x1d{plain(unit.segments)}"


class _ListLevel:
    __slots__ = ("level", "num_id", "numbered")

    def __init__(self, num_id: int, level: int) -> None:
        self.num_id = num_id
        self.level = level
        self.numbered = False  # the current item already has its numbered paragraph


def units(tokens: Sequence[Token], lists: list[tuple[bool, int, int]], chapter: int = 0, tables: list[int] | None = None) -> list[Unit]:
    """The units of a parsed Markdown fragment. Each list gets a numbering instance appended to
    ``lists`` ((ordered, level, start); its numId is its position + 1). Each table is preceded by
    its caption, 表 ``chapter``-N, N counted in ``tables`` (one counter per chapter)."""
    counter = tables if tables is not None else [0]
    out: list[Unit] = []
    open_lists: list[_ListLevel] = []
    quote = 0
    i = 0
    n = len(tokens)

    def paragraph(segs: tuple[Segment, ...], line: int = 0) -> None:
        if open_lists:
            current = open_lists[-1]
            left = LIST_STEP * (current.level + 1) + LIST_HANG
            if not current.numbered:
                current.numbered = True
                out.append(Paragraph("ListParagraph", segs, num=(current.num_id, current.level), left=left, line=line))
            else:
                out.append(Paragraph("ListParagraph", segs, left=left, line=line))
        elif quote:
            out.append(Paragraph("Quote", segs, line=line))
        elif len(segs) == 1 and segs[0].kind == "image":
            out.append(Paragraph("Figure", segs, line=line))
        else:
            out.append(Paragraph("BodyText", segs, line=line))

    def line_of(tok: Token) -> int:
        return tok.map[0] + 1 if tok.map else 0

    while i < n:
        tok = tokens[i]
        t = tok.type
        if t == "paragraph_open":
            paragraph(segments(tokens[i + 1].children), line_of(tok))
            i += 3
            continue
        if t == "heading_open":
            level = min(max(int(tok.tag[1:]), 3), 4)  # sections own levels 1 and 2
            out.append(Paragraph(f"Heading{level}", segments(tokens[i + 1].children), line=line_of(tok)))
            i += 3
            continue
        if t in ("bullet_list_open", "ordered_list_open"):
            ordered = t == "ordered_list_open"
            start = int(tok.attrs.get("start", 1) or 1) if ordered else 1
            level = min(len(open_lists), LIST_LEVELS - 1)
            lists.append((ordered, level, start))
            open_lists.append(_ListLevel(len(lists), level))
        elif t in ("bullet_list_close", "ordered_list_close"):
            open_lists.pop()
        elif t == "list_item_open":
            open_lists[-1].numbered = False
        elif t == "list_item_close":
            if not open_lists[-1].numbered:  # an empty item still shows its number
                paragraph(())
        elif t == "blockquote_open":
            quote += 1
        elif t == "blockquote_close":
            quote -= 1
        elif t == "table_open":
            j = i
            while tokens[j].type != "table_close":
                j += 1
            table = _table(tokens[i : j + 1])
            if table is not None:
                counter[0] += 1
                label = f"表 {chapter}-{counter[0]}" if chapter else f"表 {counter[0]}"
                out.append(Paragraph("TableCaption", (Segment("text", label),), line=line_of(tok)))
                out.append(table._replace(line=line_of(tok)))
            i = j + 1
            continue
        elif t in ("fence", "code_block", "html_block"):
            # Outside the subset (the check reports them); shown as text rather than lost.
            for line in tok.content.rstrip("\n").split("\n"):
                out.append(Paragraph("BodyText", (Segment("code", line),) if line else ()))
        i += 1
    return out


def _table(tokens: Sequence[Token]) -> Table | None:
    rows: list[tuple[bool, list[Cell], int]] = []
    head = False
    align = ""
    for tok in tokens:
        t = tok.type
        if t == "thead_open":
            head = True
        elif t == "thead_close":
            head = False
        elif t == "tr_open":
            rows.append((head, [], tok.map[0] + 1 if tok.map else 0))
        elif t in ("th_open", "td_open"):
            style = str(tok.attrs.get("style", ""))
            align = {"text-align:center": "center", "text-align:right": "right"}.get(style, "")
        elif t == "inline" and rows:
            rows[-1][1].append(Cell(segments(tok.children), align))
    columns = max((len(cells) for _, cells, _ in rows), default=0)
    if columns == 0:
        return None
    return Table(tuple(Row(header, tuple(cells), line) for header, cells, line in rows), columns)
