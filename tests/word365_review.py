"""A reviewer's copy as Word 365 writes it, built from a 征求意见稿 by editing its WordprocessingML.

Word 365 stores what a reviewer does this way (ECMA-376 and [MS-DOCX]):

* a comment: ``w:commentRangeStart``/``w:commentRangeEnd`` around the text it marks and a run with
  ``w:commentReference``; the comment in ``word/comments.xml`` (``w:author``, ``w:initials``,
  ``w:date`` in UTC), its paragraph carrying ``w14:paraId``; a reply is one more comment over the
  same range whose ``w15:commentEx`` in ``word/commentsExtended.xml`` names the parent's paragraph
  (``w15:paraIdParent``); ``word/commentsIds.xml`` gives each a durable id
  (``w16cid:commentId``); ``word/people.xml`` lists each author (``w15:person`` with
  ``w15:presenceInfo``);
* a tracked change: ``w:del`` (with ``w:delText``) and ``w:ins`` around runs, each with
  ``w:id``, ``w:author`` and ``w:date``, the runs carrying ``w:rsidDel``/``w:rsidR``, the session's
  rsid listed in ``word/settings.xml``; an edit of the header the same inside ``word/header*.xml``.

:func:`word365_review` takes the bytes of a review copy and returns the bytes of the reviewed copy.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
W16CID = "http://schemas.microsoft.com/office/word/2016/wordml/cid"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RSID = "00A1B2C3"
_W = f"{{{W}}}"
DATE = "2026-06-02T03:15:00Z"

_PARTS = {
    "comments": ("comments.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml",
                 "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"),
    "commentsExtended": ("commentsExtended.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml",
                         "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"),
    "commentsIds": ("commentsIds.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.commentsIds+xml",
                    "http://schemas.microsoft.com/office/2016/09/relationships/commentsIds"),
    "people": ("people.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
               "http://schemas.microsoft.com/office/2011/relationships/people"),
}  # fmt: skip


@dataclass(frozen=True)
class Comment:
    find: str  # the text it marks (inside one w:t)
    author: str
    text: str
    reply_author: str = ""
    reply_text: str = ""


@dataclass(frozen=True)
class Replace:
    find: str  # a text inside one w:t
    old: str  # the part of it deleted (empty: an insertion after ``find``)
    new: str  # what is inserted in its place (empty: a deletion)
    author: str


def _w(tag: str) -> str:
    return f"{_W}{tag}"


def _split(t: etree._Element, start: int, end: int) -> etree._Element:
    """Split the run of ``t`` so that ``t.text[start:end]`` is a run of its own; return that run."""
    run = t.getparent()
    assert run is not None and run.tag == _w("r")
    text = t.text or ""
    pieces = [(text[:start], "before"), (text[start:end], "middle"), (text[end:], "after")]
    parent = run.getparent()
    assert parent is not None
    at = parent.index(run)
    middle = None
    made = []
    for piece, name in pieces:
        if not piece:
            continue
        new = copy.deepcopy(run)
        new_t = new.find(_w("t"))
        assert new_t is not None
        new_t.text = piece
        new_t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        made.append(new)
        if name == "middle":
            middle = new
    parent.remove(run)
    for offset, new in enumerate(made):
        parent.insert(at + offset, new)
    assert middle is not None
    return middle


def _find_t(root: etree._Element, text: str) -> tuple[etree._Element, int]:
    for t in root.iter(_w("t")):
        if t.text and text in t.text:
            return t, t.text.index(text)
    raise LookupError(text)


class _Ids:
    def __init__(self) -> None:
        self.n = 5000

    def next(self) -> str:
        self.n += 1
        return str(self.n)


def _tracked(tag: str, ids: _Ids, author: str) -> etree._Element:
    element = etree.Element(_w(tag))
    element.set(_w("id"), ids.next())
    element.set(_w("author"), author)
    element.set(_w("date"), DATE)
    return element


def _replace(root: etree._Element, change: Replace, ids: _Ids) -> None:
    t, at = _find_t(root, change.find)
    offset = change.find.index(change.old) if change.old else len(change.find)
    middle = _split(t, at + offset, at + offset + len(change.old)) if change.old else None
    if middle is not None:
        parent = middle.getparent()
        assert parent is not None
        position = parent.index(middle)
        deleted = _tracked("del", ids, change.author)
        parent.remove(middle)
        middle.set(_w("rsidDel"), RSID)
        mt = middle.find(_w("t"))
        assert mt is not None
        mt.tag = _w("delText")
        deleted.append(middle)
        parent.insert(position, deleted)
        anchor = deleted
    else:
        run = _split(t, at, at + offset)
        anchor = run
    if change.new:
        inserted = _tracked("ins", ids, change.author)
        run = copy.deepcopy(anchor.find(_w("r")) if anchor.tag == _w("del") else anchor)
        for d in run.iter(_w("delText")):
            d.tag = _w("t")
        text = run.find(_w("t"))
        assert text is not None
        text.text = change.new
        run.set(_w("rsidR"), RSID)
        if run.get(_w("rsidDel")):
            del run.attrib[_w("rsidDel")]
        inserted.append(run)
        parent = anchor.getparent()
        assert parent is not None
        parent.insert(parent.index(anchor) + 1, inserted)


def _comment_xml(cid: str, para: str, author: str, text: str) -> str:
    initials = author[:1]
    return (
        f'<w:comment w:id="{cid}" w:author={quoteattr(author)} w:date="{DATE}" w:initials={quoteattr(initials)}>'
        f'<w:p w14:paraId="{para}" w14:textId="77777777" w:rsidR="{RSID}" w:rsidRDefault="{RSID}">'
        '<w:pPr><w:pStyle w:val="CommentText"/></w:pPr>'
        '<w:r><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:annotationRef/></w:r>'
        f"<w:r><w:t>{escape(text)}</w:t></w:r></w:p></w:comment>"
    )


def _comment(root: etree._Element, c: Comment, number: int) -> tuple[list[str], list[tuple[str, str, str]], set[str]]:
    """Mark ``c.find``; return the comments' XML, (paraId, parent paraId, durable id) and authors."""
    t, at = _find_t(root, c.find)
    run = _split(t, at, at + len(c.find))
    parent = run.getparent()
    assert parent is not None
    cids = [str(number)] + ([str(number + 1)] if c.reply_text else [])
    for cid in cids:
        start = etree.Element(_w("commentRangeStart"))
        start.set(_w("id"), cid)
        parent.insert(parent.index(run), start)
    position = parent.index(run) + 1
    for cid in cids:
        end = etree.Element(_w("commentRangeEnd"))
        end.set(_w("id"), cid)
        parent.insert(position, end)
        position += 1
        ref = etree.fromstring(f'<w:r xmlns:w="{W}"><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:commentReference w:id="{cid}"/></w:r>')
        parent.insert(position, ref)
        position += 1
    paras = [f"{0x1A2B3C00 + number:08X}", f"{0x1A2B3C00 + number + 1:08X}"]
    xml = [_comment_xml(cids[0], paras[0], c.author, c.text)]
    ext = [(paras[0], "", f"{0x6D5E4F00 + number:08X}")]
    if c.reply_text:
        xml.append(_comment_xml(cids[1], paras[1], c.reply_author, c.reply_text))
        ext.append((paras[1], paras[0], f"{0x6D5E4F00 + number + 1:08X}"))
    return xml, ext, {c.author, c.reply_author} - {""}


def _ns(root_tag: str, inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<{root_tag} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:w="{W}" '
        f'xmlns:w14="{W14}" xmlns:w15="{W15}" xmlns:w16cid="{W16CID}" mc:Ignorable="w14 w15 w16cid">{inner}</{root_tag}>'
    ).encode()


def word365_review(
    data: bytes, comments: Iterable[Comment], changes: Iterable[Replace], header: tuple[str, str] | None, *, extended: bool = True
) -> bytes:
    """The review copy ``data`` as Word 365 saves it after the reviewer's ``comments``, tracked
    ``changes`` and (``header``: author, text) a tracked insertion at the end of the body pages' header.
    ``extended=False`` leaves out commentsExtended, commentsIds and people, and the comments'
    ``w14:paraId``, as WPS Office and LibreOffice write a reply: one more comment on the same range."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    root = etree.fromstring(parts["word/document.xml"])
    ids = _Ids()
    xml: list[str] = []
    ext: list[tuple[str, str, str]] = []
    authors: set[str] = set()
    number = 0
    for c in comments:
        more, more_ext, who = _comment(root, c, number)
        xml += more
        ext += more_ext
        authors |= who
        number += len(more)
    for change in changes:
        _replace(root, change, ids)
        authors.add(change.author)
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    if header is not None:
        name = _body_header(parts)
        hdr = etree.fromstring(parts[name])
        paragraph = hdr.findall(_w("p"))[-1]
        inserted = _tracked("ins", ids, header[0])
        inserted.append(etree.fromstring(f'<w:r xmlns:w="{W}" w:rsidR="{RSID}"><w:t>{header[1]}</w:t></w:r>'))
        paragraph.append(inserted)
        parts[name] = etree.tostring(hdr, xml_declaration=True, encoding="UTF-8", standalone=True)
        authors.add(header[0])
    settings = etree.fromstring(parts["word/settings.xml"])
    rsids = etree.SubElement(settings, _w("rsids"))
    etree.SubElement(rsids, _w("rsidRoot")).set(_w("val"), RSID)
    etree.SubElement(rsids, _w("rsid")).set(_w("val"), RSID)
    parts["word/settings.xml"] = etree.tostring(settings, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["word/comments.xml"] = _ns("w:comments", "".join(xml))
    parts["word/commentsExtended.xml"] = _ns(
        "w15:commentsEx",
        "".join(f'<w15:commentEx w15:paraId="{p}"{f" w15:paraIdParent={chr(34)}{q}{chr(34)}" if q else ""} w15:done="0"/>' for p, q, _ in ext),
    )
    parts["word/commentsIds.xml"] = _ns("w16cid:commentsIds", "".join(f'<w16cid:commentId w16cid:paraId="{p}" w16cid:durableId="{d}"/>' for p, _, d in ext))
    parts["word/people.xml"] = _ns(
        "w15:people",
        "".join(f'<w15:person w15:author={quoteattr(a)}><w15:presenceInfo w15:providerId="AD" w15:userId="S::{i}@example.com::0"/></w15:person>' for i, a in enumerate(sorted(authors))),
    )
    rels = etree.fromstring(parts["word/_rels/document.xml.rels"])
    types = etree.fromstring(parts["[Content_Types].xml"])
    if not extended:
        for name in ("word/commentsExtended.xml", "word/commentsIds.xml", "word/people.xml"):
            del parts[name]
        parts["word/comments.xml"] = re.sub(rb' w14:(paraId|textId)="[0-9A-F]+"', b"", parts["word/comments.xml"])
    for n, (target, content_type, rel_type) in enumerate(_PARTS.values() if extended else [_PARTS["comments"]], start=900):
        rel = etree.SubElement(rels, "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship")
        rel.set("Id", f"rId{n}")
        rel.set("Type", rel_type)
        rel.set("Target", target)
        override = etree.SubElement(types, "{http://schemas.openxmlformats.org/package/2006/content-types}Override")
        override.set("PartName", f"/word/{target}")
        override.set("ContentType", content_type)
    parts["word/_rels/document.xml.rels"] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8", standalone=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return buffer.getvalue()


def _body_header(parts: dict[str, bytes]) -> str:
    """The header part the body's section names as its default header."""
    document = etree.fromstring(parts["word/document.xml"])
    rels = etree.fromstring(parts["word/_rels/document.xml.rels"])
    targets = {r.get("Id"): r.get("Target") for r in rels}
    for ref in document.iter(_w("headerReference")):
        if ref.get(_w("type")) == "default":
            return "word/" + str(targets[ref.get(f"{{{R_NS}}}id")])
    raise LookupError("no default header")
