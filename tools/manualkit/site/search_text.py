"""What the staff site's search indexes, besides what a page shows: tables as sentences, and ranks.

Material's search plugin indexes a page's text with the tags stripped, so a table's cells run
together (``申请单号CR-2026-001修订标题…``) and a search result's snippet is that run. Before the
plugin reads a page, :func:`indexable_tables` marks every table ``data-search-exclude`` (the plugin
skips it, then strips the attribute) and puts after it, for the index only, one sentence per row:

- a row of a table with a header row: ``列名：值；列名：值。`` (empty cells left out);
- a row of a two-column table, or a row with its own header cell (``<th scope="row">``):
  ``项目：值。`` — the first column names the second;
- a row of a table without any header: its cells, ``；`` between them.

:func:`drop_index_only` takes those sentences out of the page again once the plugin has read it, so
the HTML the reader gets is the page as it was. The search worker cuts each snippet at sentence
boundaries (``。！？；`` and the ends of blocks), so a row is a snippet of its own.

:func:`search_boost` ranks the chapters above the pages that talk about them: a change request
or the 修订记录 repeats the words of the rule it changed (缩短报价有效期), and without a boost its
short title outranks the rule itself.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Marks the index-only copy of a table; removed from the page by drop_index_only.
INDEX_ONLY_OPEN = '<div class="mk-search-only" hidden>'
_INDEX_ONLY = re.compile(re.escape(INDEX_ONLY_OPEN) + r".*?</div>", re.S)
_TABLE_OPEN = re.compile(r"<table\b([^>]*)>")
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
_EXCLUDE = ' data-search-exclude="table"'
_SPACE = re.compile(r"\s+")

# Search boosts (lunr multiplies a document's score by them); 1 when not named.
CHAPTER_BOOST = 4.0
RECORD_BOOST = 0.5  # change requests and 修订记录: about the rules, not the rules
_CHAPTER = re.compile(r"^\d{2}-[^/]+\.md$")
REVISIONS_SOURCE = "revisions.md"


class _Cell:
    __slots__ = ("header", "parts", "scope")

    def __init__(self, header: bool, scope: str) -> None:
        self.header = header
        self.scope = scope
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return _SPACE.sub(" ", "".join(self.parts)).strip()


class _TableReader(HTMLParser):
    """The rows of one HTML table: each a list of cells, and whether it stood in ``<thead>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[bool, list[_Cell]]] = []
        self._head = False
        self._cell: _Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "thead":
            self._head = True
        elif tag == "tr":
            self.rows.append((self._head, []))
            self._cell = None
        elif tag in ("td", "th") and self.rows:
            self._cell = _Cell(tag == "th", dict(attrs).get("scope") or "")
            self.rows[-1][1].append(self._cell)
        elif tag == "br" and self._cell is not None:
            self._cell.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._head = False
        elif tag in ("td", "th", "tr"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.parts.append(data)


def _sentence(parts: list[str]) -> str:
    text = "；".join(p for p in parts if p)
    return text + "。" if text and text[-1] not in "。！？；" else text


def table_sentences(table_html: str) -> list[str]:
    """One readable sentence per body row of ``table_html`` (plain text, not escaped)."""
    reader = _TableReader()
    reader.feed(table_html)
    reader.close()
    header: list[str] = []
    body: list[list[_Cell]] = []
    for in_head, cells in reader.rows:
        if not cells:
            continue
        if (in_head or (not header and not body and all(c.header and c.scope != "row" for c in cells))) and not header:
            header = [c.text for c in cells]
        else:
            body.append(cells)
    sentences = []
    for cells in body:
        if any(c.header and c.scope == "row" for c in cells):  # key/value pairs, several to a row
            parts, key = [], ""
            for c in cells:
                if c.header:
                    key = c.text
                elif c.text:
                    parts.append(f"{key}：{c.text}" if key else c.text)
                    key = ""
        elif len(header) == 2 and len(cells) == 2:
            first, second = cells[0].text, cells[1].text
            parts = [f"{first}：{second}" if first and second else first or second]
        elif header:
            parts = [
                f"{header[i]}：{c.text}" if i < len(header) and header[i] else c.text
                for i, c in enumerate(cells) if c.text
            ]  # fmt: skip
        else:
            parts = [c.text for c in cells]
        sentence = _sentence(parts)
        if sentence:
            sentences.append(sentence)
    return sentences


def indexable_tables(content: str) -> str:
    """``content`` with each table excluded from the search index and followed by its rows as
    sentences for the index only (see the module's docstring)."""

    def one(match: re.Match[str]) -> str:
        table = match.group(0)
        sentences = table_sentences(table)
        marked = _TABLE_OPEN.sub(lambda m: f"<table{m.group(1)}{_EXCLUDE}>", table, count=1)
        if not sentences:
            return marked
        rows = "".join(f"<p>{html.escape(s, quote=False)}</p>" for s in sentences)
        return f"{marked}{INDEX_ONLY_OPEN}{rows}</div>"

    return _TABLE.sub(one, content)


def drop_index_only(output: str) -> str:
    """A page as the reader gets it: without the index-only sentences and the exclusion marks."""
    if INDEX_ONLY_OPEN not in output and _EXCLUDE not in output:
        return output
    return _INDEX_ONLY.sub("", output).replace(_EXCLUDE, "")


def search_boost(src_uri: str) -> float | None:
    """The search boost of the page made from docs file ``src_uri`` (``None``: lunr's default 1)."""
    if _CHAPTER.match(src_uri):
        return CHAPTER_BOOST
    if src_uri.startswith("requests/") or src_uri == REVISIONS_SOURCE:
        return RECORD_BOOST
    return None
