"""The review copy (征求意见稿) of a change request: the proposed text laid out as the release is,
with the changes against the version in force as tracked changes (the redline's renderer), and
every paragraph of every chapter preamble and section carrying a bookmark ``p_<key>_<n>`` (``key``
the section id with ``_`` for ``.``, or ``ch<N>`` for a chapter's preamble; ``n`` counts the
paragraphs after the heading, table cells included, from 1) so that what a reviewer writes in
Word, WPS or LibreOffice can be placed back. The copy says which request it belongs to in its
custom document properties (:data:`PROPERTY_NAMES`), which ``manual import-review`` checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from typing import NamedTuple

from lxml import etree

from manualkit.base.clock import prose_date
from manualkit.documents.docx.changes import Author
from manualkit.documents.docx.package import custom_xml, finish, new_document, set_authorship
from manualkit.documents.docx.redline import _Redline, blocks_of
from manualkit.documents.docx.xml import run
from manualkit.records.edition import Edition, Status
from manualkit.text.manual import Manual

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W}}}"

#: The custom properties that identify a review copy.
PROPERTY_REQUEST = "manual_review_request"
PROPERTY_BASE = "manual_review_base_version"
PROPERTY_DIGEST = "manual_review_digest"
PROPERTY_NAMES = (PROPERTY_REQUEST, PROPERTY_BASE, PROPERTY_DIGEST)

PARAGRAPH_BOOKMARK_RE = re.compile(r"p_(ch\d+|\d+(?:_\d+)*)_(\d+)")
_FIRST_ANCHOR_ID = 900000  # above every bookmark id the body itself gives


class ReviewCover(NamedTuple):
    request: str  # CR-2026-005
    title: str
    base_version: str  # the version in force the changes are shown against
    deadline: dt.date  # 5 working days after the copy was made
    made: dt.date


def paragraph_bookmark(key: str, index: int) -> str:
    return f"p_{key.replace('.', '_')}_{index}"


def key_of_bookmark(name: str) -> tuple[str, int] | None:
    """``("3.2", 4)`` for ``p_3_2_4``; None for any other bookmark."""
    m = PARAGRAPH_BOOKMARK_RE.fullmatch(name)
    if m is None:
        return None
    key = m.group(1)
    return (key if key.startswith("ch") else key.replace("_", ".")), int(m.group(2))


def proposed_digest(manual: Manual) -> str:
    """The digest of the proposed text a review copy shows (every heading and body, in order)."""
    h = hashlib.sha256()
    for block in blocks_of(manual):
        for part in (block.key, block.heading, block.body):
            h.update(part.encode("utf-8") + b"\x00")
    return "sha256:" + h.hexdigest()


def _anchor_paragraphs(body_xml: str, manual: Manual) -> str:
    """``body_xml`` with a bookmark around the content of every paragraph after a heading."""
    headings = {b.anchor: b.key for b in blocks_of(manual)}
    root = etree.fromstring(body_xml.encode("utf-8"))
    key: str | None = None
    count = 0
    next_id = _FIRST_ANCHOR_ID
    for p in list(root.iter(f"{_W}p")):
        names = [b.get(f"{_W}name") for b in p.findall(f"{_W}bookmarkStart")]
        heading = next((headings[n] for n in names if n in headings), None)
        if heading is not None:
            key, count = heading, 0
            continue
        if key is None:
            continue
        count += 1
        start = etree.Element(f"{_W}bookmarkStart")
        start.set(f"{_W}id", str(next_id))
        start.set(f"{_W}name", paragraph_bookmark(key, count))
        end = etree.Element(f"{_W}bookmarkEnd")
        end.set(f"{_W}id", str(next_id))
        next_id += 1
        ppr = p.find(f"{_W}pPr")
        p.insert(0 if ppr is None else list(p).index(ppr) + 1, start)
        p.append(end)
    text: str = etree.tostring(root, encoding="unicode")
    return text


def render_review_copy(old: Manual, new: Manual, cover: ReviewCover, *, created: dt.datetime) -> bytes:
    """The review copy of ``new`` (the proposed text) against ``old`` (the version in force)."""
    meta = new.metadata
    document = new_document(meta.company)
    edition = Edition(version=f"{cover.base_version} → {cover.request}", status=Status.DRAFT, published=None, effective=None)
    body = _Redline(new, edition, document.part, {})
    author = Author(f"{cover.request} {cover.title}", created)
    body.para("Title", run(meta.title), bar=None)
    body.para("CoverMark", run("征求意见稿"), bar=None)
    intro: Sequence[str] = (
        f"文件编号：{meta.document_number}　修订申请单：{cover.request}（{cover.title}）",
        f"基准版本：{cover.base_version}（最新发布版本）；修订处以修订标记显示。",
        f"请于 {prose_date(cover.deadline)}（5 个工作日内）前反馈意见。",
        "请在本文件中以批注和修订（修订模式）提出意见，勿删除书签；反馈的文件由 manual import-review 导入修订申请单。",
        f"生成日期：{prose_date(cover.made)}",
    )
    for line in intro:
        body.para("FrontNote", run(line), bar=None)
    body.compare(old, new, {}, {}, author)
    body.end_mark()
    xml = _anchor_paragraphs(body.body_xml(), new)
    props = document.core_properties
    props.title = f"{meta.title}征求意见稿 {cover.request}"
    props.subject = f"{meta.document_number} {cover.request} 基准版本 {cover.base_version}"
    set_authorship(document, meta.company, created)
    custom = (
        (PROPERTY_REQUEST, cover.request),
        (PROPERTY_BASE, cover.base_version),
        (PROPERTY_DIGEST, proposed_digest(new)),
        ("manual_review_deadline", cover.deadline.isoformat()),
    )
    document.add_custom_properties(custom_xml(custom))
    return finish(
        document, xml, body.lists, header_text=_header_text(new, cover.request), marks=list(MARKS), watermark_text=None, track_revisions=True,
    )  # fmt: skip


MARKS = ("征求意见稿", "非受控")


def _header_text(manual: Manual, request: str) -> str:
    return f"{manual.metadata.title} · {manual.metadata.document_number} · 征求意见稿 {request}"


def header_texts(manual: Manual, request: str) -> frozenset[str]:
    """The paragraph texts of the review copy's headers (the body pages', the cover's), as
    :func:`~manualkit.documents.docx.package.header_xml` writes them."""
    return frozenset({_header_text(manual, request) + "　【" + " · ".join(MARKS) + "】", "　".join(MARKS)})
