"""Change bars and tracked changes.

A change bar is a red rule in the left margin beside what changed: in the release DOCX beside
every paragraph and table row of a section changed in that version; in the redline beside every
paragraph and row that holds a tracked change. Tracked changes are Word revisions (``w:ins`` and
``w:del`` around runs, on paragraph marks and on table rows) whose author is the change request
that made the change and whose date is its approval, so that Word and LibreOffice list them and
accept or reject them one by one.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from manualkit.documents.docx.model import Paragraph
from manualkit.documents.docx.xml import CHANGE_BAR_SPACE_PT, LIST_HANG, esc

_T_RE = re.compile(r"<w:t(?=[ >])")


class Author(NamedTuple):
    """Who made a change, as a tracked change records it."""

    name: str  # "CR-2026-001 缩短报价有效期"
    date: dt.datetime  # the approval


def w_date(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deleted_runs(runs: str) -> str:
    """Runs as deleted text (``w:delText`` instead of ``w:t``)."""
    return _T_RE.sub("<w:delText", runs).replace("</w:t>", "</w:delText>")


class Changes:
    """Mixin: the change bar of the section being rendered and the numbering of revisions."""

    bar: int | None  # change bar distance from the text (pt) while in a changed section
    _revision_id: int

    def revision(self, author: Author) -> str:
        """The attributes of one revision: a fresh id, the author and the date."""
        self._revision_id += 1
        return f'w:id="{self._revision_id}" w:author="{esc(author.name)}" w:date="{w_date(author.date)}"'

    def inserted(self, runs: str, author: Author) -> str:
        return f"<w:ins {self.revision(author)}>{runs}</w:ins>" if runs else ""

    def deleted(self, runs: str, author: Author) -> str:
        return f"<w:del {self.revision(author)}>{deleted_runs(runs)}</w:del>" if runs else ""

    def mark(self, kind: str, author: Author) -> str:
        """A tracked paragraph mark (inside ``w:pPr/w:rPr``) or table row (inside ``w:trPr``)."""
        tag = "w:ins" if kind == "insert" else "w:del"
        return f"<{tag} {self.revision(author)}/>"

    def bar_of(self, paragraph: Paragraph, bar: int | None) -> int | None:
        """The change bar's distance for ``paragraph``: list paragraphs are indented, so their bar
        is further from the text (at most 31 pt, Word's limit)."""
        if bar is None or paragraph.style != "ListParagraph":
            return bar
        left = paragraph.left - LIST_HANG if paragraph.num is not None else paragraph.left
        return min(31, CHANGE_BAR_SPACE_PT + left // 20)
