"""The DOCX copy of one edition of the manual (受控文件的 Word 版本).

:func:`render_docx` turns a :class:`~manualkit.text.manual.Manual` and the
:class:`~manualkit.records.edition.Edition` it belongs to into the bytes of an unsigned DOCX: cover,
sign-off page (签署页), 修订记录, a table of contents, then the chapters and the end mark. The body
is rendered from the same markdown-it tokens that ``manual check`` inspects
(:func:`manualkit.text.markup.parse`), so what the check accepts is exactly what appears in the
document. The table of contents shows :data:`~manualkit.documents.docx.front.TOC_PLACEHOLDER` as
each page until :mod:`manualkit.documents.toc` fills in the pages the layout engine found.

The output is reproducible: the same manual, edition and ``generated`` time give the same bytes
(zip entries get fixed timestamps, see :func:`manualkit.documents.ooxml_package.write_package`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from manualkit.documents.docx.body import Appendix, Body
from manualkit.documents.docx.package import Document, custom_xml, finish, new_document, set_authorship
from manualkit.documents.docx.xml import date_text, utc_naive
from manualkit.records.edition import Edition, Status
from manualkit.text.manual import Manual

__all__ = ["CUSTOM_PROPERTY_NAMES", "IDENTITY_PROPERTY_NAMES", "LAYOUT", "copy_marks", "render_docx", "signers_property"]

#: Names of the custom document properties (docProps/custom.xml) a verifier reads.
CUSTOM_PROPERTY_NAMES = ("version", "digest", "document_number", "status", "controlled", "generated", "published", "effective", "signers", "layout")
#: The edition of the document's form (cover, headers, 修订记录 columns, styles), raised whenever
#: a change of the renderer changes what a release's DOCX looks like. ``manual verify`` holds a file
#: of this form to the exact parts it renders now; a file of an earlier form (or none: before 2)
#: was made by an earlier version of the tool, and is held to its identity and its text.
LAYOUT = "2"
#: The properties that name a release (its signed identity, compared by manual verify and by
#: manual audit --witness): not the status or the moment the file was made.
IDENTITY_PROPERTY_NAMES = ("version", "digest", "document_number", "published", "effective", "signers")


def copy_marks(edition: Edition) -> list[str]:
    """The red status marks of a copy, for the header of every page: 受控 for the version in
    force (or approved and waiting), 作废 or 草稿 and 非受控 for a copy that is not controlled."""
    if edition.status is Status.SUPERSEDED:
        successor = ""
        if edition.superseded_by and edition.superseded_on:
            successor = f"（{edition.superseded_on.isoformat()} 起由 {edition.superseded_by} 替代）"
        return [f"作废{successor}", "非受控"]
    if edition.status is Status.DRAFT:
        return [Status.DRAFT.value, "非受控"]
    return ["受控"] if edition.controlled else []


def header_text(manual: Manual, edition: Edition) -> str:
    meta = manual.metadata
    if edition.status is Status.SUPERSEDED:  # the marks name the successor instead: one line
        return f"{meta.title} · {meta.document_number} · 版本 {edition.version}"
    effective = date_text(edition.effective) if edition.effective else "未定"
    return f"{meta.title} · {meta.document_number} · 版本 {edition.version} · 实施日期 {effective}"


def render_docx(
    manual: Manual,
    edition: Edition,
    *,
    generated: dt.datetime,
    images: Mapping[str, bytes] | None = None,
    appendix: Appendix | None = None,
) -> bytes:
    """The unsigned DOCX of ``manual`` as ``edition`` (table of contents pages not yet filled),
    with ``appendix`` after the chapters (the 修订对照表, :func:`manualkit.documents.comparison_table.appendix`).

    ``generated`` becomes the created/modified time of the document properties (naive times are
    taken as UTC), so equal inputs give byte-identical output. ``images`` maps repository paths
    (``manual/images/x.png``) to their bytes; an image without bytes is shown as its alt text.
    """
    document = new_document(manual.metadata.company)
    body = Body(manual, edition, document.part, images or {})
    body.appendix = appendix
    xml = body.document()
    _properties(document, manual, edition, generated)
    watermark = {Status.SUPERSEDED: "作废", Status.DRAFT: "草稿"}.get(edition.status)
    marks = copy_marks(edition) + ([f"分发号 {edition.copy_number}"] if edition.copy_number else [])
    return finish(document, xml, body.lists, header_text=header_text(manual, edition), marks=marks, watermark_text=watermark)


def _properties(document: Document, manual: Manual, edition: Edition, generated: dt.datetime) -> None:
    meta = manual.metadata
    digest = edition.content_digest
    props = document.core_properties
    moment = utc_naive(generated)
    props.title = meta.title
    props.subject = f"{meta.document_number} 版本 {edition.version} 内容摘要 {digest}"
    props.identifier = f"{meta.document_number}/{edition.version}/{digest}"
    props.keywords = f"version={edition.version}; digest={digest}; layout={LAYOUT}"
    props.version = edition.version
    props.category = "受控文件"
    props.content_status = edition.status.value
    comments = f"{meta.company}《{meta.title}》（{meta.document_number}）{edition.version} 版"
    set_authorship(document, meta.company, generated, revision=max(1, len(edition.revisions)), comments=comments)
    custom = (
        ("version", edition.version),
        ("digest", digest),
        ("document_number", meta.document_number),
        ("status", edition.status.value),
        ("controlled", "受控" if edition.controlled else "非受控"),
        ("generated", moment.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("published", edition.published.isoformat() if edition.published else ""),
        ("effective", edition.effective.isoformat() if edition.effective else ""),
        ("signers", signers_property(edition)),
        ("layout", LAYOUT),
        *((("copy_number", edition.copy_number),) if edition.copy_number else ()),
    )
    document.add_custom_properties(custom_xml(custom))




def signers_property(edition: Edition) -> str:
    """The signatures of a release as one line: ``CR 角色 姓名 时间`` joined by ``；``."""
    return "；".join(f"{s.change_request} {s.role} {s.signer} {s.signed_at.isoformat()}" for s in edition.signoffs if s.valid)
