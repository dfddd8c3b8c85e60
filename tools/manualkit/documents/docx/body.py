"""The body of a controlled copy: front matter, then the chapters, each section under its
heading (with its bookmark for the table of contents and cross-references), then the end mark.

:class:`Body` is assembled from the mixins that render each kind of thing: :mod:`paragraphs`,
:mod:`inline` runs, :mod:`model` units with lists and :mod:`tables`, :mod:`notes`, :mod:`changes`
(change bars and tracked changes) and the :mod:`front` matter. The redline
(:mod:`manualkit.documents.docx.redline`) is a :class:`Body` too, so the release DOCX and the
redline look the same.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import NamedTuple

from manualkit.documents.docx.blocks import Blocks
from manualkit.documents.docx.front import FrontMatter, chapter_heading, section_heading
from manualkit.documents.docx.notes import Notes
from manualkit.documents.docx.opc import DocumentPart
from manualkit.documents.docx.xml import (
    ALL_DECLS,
    CHANGE_BAR_SPACE_PT,
    FOOTER_DISTANCE,
    HEADER_DISTANCE,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    bookmark_name,
    chapter_bookmark,
    run,
)  # fmt: skip
from manualkit.records.edition import Edition
from manualkit.text.manual import Manual
from manualkit.text.markup import parse

SECTION_PROPERTIES = (
    f'<w:sectPr><w:pgSz w:w="{PAGE_WIDTH}" w:h="{PAGE_HEIGHT}"/>'
    f'<w:pgMar w:top="{MARGIN}" w:right="{MARGIN}" w:bottom="{MARGIN}" w:left="{MARGIN}" '
    f'w:header="{HEADER_DISTANCE}" w:footer="{FOOTER_DISTANCE}" w:gutter="0"/>'
    '<w:cols w:space="425"/><w:titlePg/><w:docGrid w:linePitch="360"/></w:sectPr>'
)

#: A4 across, for wide tables (the 修订对照表).
LANDSCAPE_SECTION_PROPERTIES = (
    f'<w:sectPr><w:pgSz w:w="{PAGE_HEIGHT}" w:h="{PAGE_WIDTH}" w:orient="landscape"/>'
    f'<w:pgMar w:top="{MARGIN}" w:right="{MARGIN}" w:bottom="{MARGIN}" w:left="{MARGIN}" '
    f'w:header="{HEADER_DISTANCE}" w:footer="{FOOTER_DISTANCE}" w:gutter="0"/>'
    '<w:cols w:space="425"/><w:titlePg/><w:docGrid w:linePitch="360"/></w:sectPr>'
)
LANDSCAPE_TEXT_WIDTH = PAGE_HEIGHT - 2 * MARGIN


class Appendix(NamedTuple):
    """An appendix after the chapters (附录), listed in the table of contents: its heading and
    what writes its content into the body."""

    title: str
    write: Callable[[Body], None]


APPENDIX_BOOKMARK = "appendix_1"


class Body(FrontMatter, Blocks, Notes):
    """Writes the document body as WordprocessingML text, one block at a time."""

    appendix: Appendix | None = None

    def __init__(self, manual: Manual, edition: Edition, part: DocumentPart, images: Mapping[str, bytes]) -> None:
        self.manual = manual
        self.edition = edition
        self.part = part
        self.images = images
        self.out = []
        self.lists = []  # (ordered, level, start) per numId - 1
        self._bookmark_id = 0
        self._drawing_id = 0
        self._revision_id = 0
        self.path = ""
        self.bar = None
        self._rpr_cache = {}
        self.chapter_bookmarks = {posixpath.basename(c.path): chapter_bookmark(c.number) for c in manual.chapters}

    def chapters(self) -> None:
        changed = self.edition.changed_sections
        for chapter in self.manual.chapters:
            self.path = chapter.path
            self.bar = None
            tables = [0]
            self.para("Heading1", self.bookmark(chapter_bookmark(chapter.number), run(chapter_heading(chapter))))
            if chapter.preamble:
                self.blocks(parse(chapter.preamble), chapter.number, tables)
            for section in chapter.sections:
                self.bar = CHANGE_BAR_SPACE_PT if section.id in changed else None
                self.para("Heading2", self.bookmark(bookmark_name(section.anchor), run(section_heading(section))))
                if self.bar is not None:
                    self.revision_note(self.edition.version)
                self.blocks(parse(section.body), chapter.number, tables)
            self.bar = None

    def appendix_entries(self) -> list[tuple[str, str, str]]:
        return [("TOC1", self.appendix.title, APPENDIX_BOOKMARK)] if self.appendix is not None else []

    def document(self) -> str:
        self.cover()
        self.signoff_page()
        self.revision_page()
        self.toc()
        self.chapters()
        if self.appendix is not None:
            self.para("Heading1", self.bookmark(APPENDIX_BOOKMARK, run(self.appendix.title)), bar=None)
            self.appendix.write(self)
        self.end_mark()
        return self.body_xml()

    def body_xml(self, *, landscape: bool = False) -> str:
        section = LANDSCAPE_SECTION_PROPERTIES if landscape else SECTION_PROPERTIES
        xml = f"<w:body {ALL_DECLS}>{''.join(self.out)}{section}</w:body>"
        self.out.clear()  # the pieces weigh as much as the text; free them before lxml parses it
        return xml
