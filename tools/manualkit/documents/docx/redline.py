"""The redline (修订对照稿): two versions of the manual as one Word document with tracked changes,
rendered by the same :class:`~manualkit.documents.docx.body.Body` as the release DOCX (its styles,
headings, lists, tables with 表 captions, header and footer), so that a reader sees the manual as
issued, with every difference a Word revision inside the paragraph or table cell that changed.

Each revision's author is the change request that made it and its date that request's approval,
so Word and LibreOffice list the changes request by request and accept or reject them one by one.
Accepting them all gives the body text of the newer release's DOCX, rejecting them all that of the
older one. A section changed by several releases in between is attributed paragraph by paragraph
(and row by row): an inserted paragraph to the first release whose text has it, a deleted one to
the first release whose text no longer has it.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from manualkit.documents.docx.blocks import Attribution
from manualkit.documents.docx.body import Body
from manualkit.documents.docx.changes import Author
from manualkit.documents.docx.front import chapter_heading, section_heading
from manualkit.documents.docx.model import Segment, Table, Unit, plain, units
from manualkit.documents.docx.package import finish, new_document, set_authorship
from manualkit.documents.docx.xml import bookmark_name, chapter_bookmark, run
from manualkit.records.edition import Edition, Status
from manualkit.text.manual import Manual
from manualkit.text.markup import parse

__all__ = ["Author", "Step", "render_redline"]


class Step(NamedTuple):
    """One later text of a chapter preamble or section (heading line, then body) and who made it."""

    text: str
    author: Author


class Block(NamedTuple):
    key: str  # "ch3" or "3.2"
    level: int  # 1 chapter heading, 2 section
    heading: str
    body: str
    chapter: int
    anchor: str  # bookmark of the heading


def blocks_of(manual: Manual) -> list[Block]:
    out = []
    for chapter in manual.chapters:
        out.append(Block(f"ch{chapter.number}", 1, chapter_heading(chapter), chapter.preamble, chapter.number, chapter_bookmark(chapter.number)))
        out += [Block(s.id, 2, section_heading(s), s.body, chapter.number, bookmark_name(s.anchor)) for s in chapter.sections]
    return out


def block_text(manual: Manual, key: str) -> str | None:
    """The heading line and body of block ``key`` ("ch3" or "3.2") of ``manual`` (for steps)."""
    return next((f"{b.heading}\n{b.body}" for b in blocks_of(manual) if b.key == key), None)


def _texts(text: str) -> set[str]:
    """What a step's text holds, as the redline compares it: the heading, each paragraph, table,
    row and cell."""
    heading, _, body = text.partition("\n")
    found = {heading}
    for unit in units(parse(body), []):
        if isinstance(unit, Table):
            for row in unit.rows:
                found.add("\x1f".join(plain(c.segments) for c in row.cells))
                found.update(plain(c.segments) for c in row.cells)
        else:
            found.add(plain(unit.segments))
    return found


def _attribution(author: Author, steps: Sequence[Step]) -> Attribution:
    sets = [(_texts(step.text), step.author) for step in steps]

    def who(kind: str, text: str) -> Author:
        for found, step_author in sets:
            if (text in found) == (kind == "insert"):
                return step_author
        return author

    return who


class _Redline(Body):
    def compare(
        self,
        old: Manual,
        new: Manual,
        authors: Mapping[str, Author],
        steps: Mapping[str, Sequence[Step]],
        fallback: Author,
    ) -> None:
        olds, news = blocks_of(old), blocks_of(new)
        matcher = difflib.SequenceMatcher(None, [b.key for b in olds], [b.key for b in news], autojunk=False)
        old_tables: dict[int, list[int]] = {}
        new_tables: dict[int, list[int]] = {}

        def unit_list(manual: Manual, block: Block, counters: dict[int, list[int]]) -> list[Unit]:
            self.path = next((c.path for c in manual.chapters if c.number == block.chapter), "")
            return units(parse(block.body), self.lists, block.chapter, counters.setdefault(block.chapter, [0]))

        def who(block: Block) -> Attribution:
            return _attribution(authors.get(block.key, fallback), steps.get(block.key, ()))

        def heading(block: Block, content: str, mark: str = "") -> None:
            style = "Heading1" if block.level == 1 else "Heading2"
            self.para(style, self.bookmark(block.anchor, content) if not mark.startswith("<w:del") else content, mark=mark)

        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                for o, n in zip(olds[i1:i2], news[j1:j2], strict=True):
                    author = who(n)
                    old_units, new_units = unit_list(old, o, old_tables), unit_list(new, n, new_tables)
                    if o.heading == n.heading:
                        heading(n, run(n.heading))
                    else:
                        content, _ = self.tracked_runs((Segment("text", o.heading),), (Segment("text", n.heading),), author)
                        heading(n, content)
                    self.compared(old_units, new_units, author)
                continue
            # Blocks removed, then blocks added, each as a whole: heading and every unit tracked.
            for kind, manual, blocks, counters in (("delete", old, olds[i1:i2], old_tables), ("insert", new, news[j1:j2], new_tables)):
                for block in blocks:
                    author = who(block)
                    wrap = self.deleted if kind == "delete" else self.inserted
                    heading(block, wrap(run(block.heading), author(kind, block.heading)), self.mark(kind, author(kind, block.heading)))
                    for unit in unit_list(manual, block, counters):
                        self.whole(unit, kind, author)


def render_redline(
    old: Manual,
    new: Manual,
    *,
    from_version: str,
    to_version: str,
    intro: Sequence[str],
    authors: Mapping[str, Author],
    steps: Mapping[str, Sequence[Step]],
    fallback: Author,
    created: dt.datetime,
) -> bytes:
    """The redline from ``old`` to ``new``.

    ``authors`` gives, per block ("ch3", "3.2"), the change requests that changed it; ``steps``
    the block's text (heading line, then body) after each release in between that changed it, in
    order, for attributing each paragraph to the release that made it. A block without either is
    attributed to ``fallback``. The document opens with a title and the ``intro`` paragraphs.
    """
    meta = new.metadata
    document = new_document(meta.company)
    edition = Edition(version=to_version, status=Status.DRAFT, published=None, effective=None)
    body = _Redline(new, edition, document.part, {})
    title = f"{meta.title}（{meta.document_number}）"
    body.para("Title", run(meta.title), bar=None)
    body.para("CoverMark", run(f"{meta.document_number}　修订对照稿　{from_version} → {to_version}"), bar=None)
    for line in intro:
        body.para("FrontNote", run(line), bar=None)
    body.compare(old, new, authors, steps, fallback)
    body.end_mark()
    xml = body.body_xml()
    document.core_properties.title = f"{title}修订对照稿 {from_version} → {to_version}"
    set_authorship(document, meta.company, created)
    return finish(
        document, xml, body.lists, header_text=f"{meta.title} · {meta.document_number} · 修订对照稿 {from_version} → {to_version}",
        marks=["非受控"], watermark_text=None, track_revisions=True,
    )  # fmt: skip


