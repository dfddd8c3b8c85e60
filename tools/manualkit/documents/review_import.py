"""Reading a returned review copy (征求意见稿): a reviewer's comments, replies and tracked changes,
each placed by the paragraph bookmarks the copy carries (:mod:`manualkit.documents.docx.review_copy`).

The file is hostile input: it is read by :func:`manualkit.documents.ooxml_package.read_package`
(entry count, part and total size, compression ratio bounded) and every XML part by its
``parse_xml`` (no DTD, no entities, no network). Word writes replies in ``commentsExtended.xml``
(``w15:paraIdParent``); LibreOffice and WPS may write a reply as a second comment on the same
range, which is read as a reply to the first. The copy's own tracked changes (their author is the
change request) are the proposed text; every other author's are the reviewer's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from manualkit.base.diagnostics import fail
from manualkit.documents.docx.review_copy import PROPERTY_NAMES, key_of_bookmark
from manualkit.documents.ooxml_package import Package, PackageLimits, parse_xml, read_package, resolve_target

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
_W = f"{{{W}}}"
MAX_COMMENTS = 10_000
MAX_CHANGES = 20_000
MAX_COMMENT_CHARS = 20_000  # one comment's text: an opinion, not a document
LIMITS = PackageLimits(max_entries=1000, max_part_size=48 * 1024 * 1024, max_total_size=96 * 1024 * 1024)
_HEADING_RE = re.compile(r"sec_(\d+(?:_\d+)*)|chap_(\d+)")


@dataclass
class Comment:
    id: str
    author: str
    date: str
    text: str
    section: str = ""
    paragraph: int = 0
    marked: str = ""
    para_id: str = ""  # w14:paraId of its last paragraph (Word's thread key)
    parent_para_id: str = ""  # w15:paraIdParent from commentsExtended
    position: tuple[int, int] = (-1, -1)  # (paragraph ordinal, offset) of its range start
    end: tuple[int, int] = (-1, -1)
    reply_to: str = ""  # id of the comment it answers


@dataclass
class Change:
    """One tracked change of the reviewer: inserted and deleted text inside one paragraph."""

    kind: str  # insertion | deletion | replacement | unmapped
    section: str
    paragraph: int
    author: str
    date: str
    old: str = ""
    new: str = ""
    before: str = ""  # the proposed text of the paragraph before the change
    after: str = ""  # and after it
    where: str = "word/document.xml"
    reason: str = ""


@dataclass
class ReviewedCopy:
    properties: dict[str, str]
    comments: list[Comment] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    anchors: int = 0  # paragraph bookmarks found


def _text(node: Any) -> str:
    return "".join(t.text or "" for t in node.iter(f"{_W}t", f"{_W}delText"))


def _main_part(package: Package) -> str:
    for rel in package.relationships(""):
        if rel.type.endswith("/officeDocument") and not rel.external:
            name = resolve_target("", rel.target)
            if name is not None and package.find(name) is not None:
                return package.find(name) or name
    raise fail("DOCX", 0, 0, "MAN921", "文件中没有 Word 正文部件（word/document.xml）；这不是征求意见稿")


def _related(package: Package, source: str, suffix: str) -> list[str]:
    out = []
    for rel in package.relationships(source):
        if rel.external or not rel.type.endswith("/" + suffix):
            continue
        name = resolve_target(source, rel.target)
        found = package.find(name) if name is not None else None
        if found is not None:
            out.append(found)
    return out


def _properties(package: Package) -> dict[str, str]:
    out: dict[str, str] = {}
    for rel in package.relationships(""):
        if rel.type.endswith("/custom-properties"):
            name = resolve_target("", rel.target)
            found = package.find(name) if name is not None else None
            if found is None:
                continue
            root = parse_xml(package.parts[found], found)
            for prop in root:
                name_attr = prop.get("name")
                if isinstance(name_attr, str) and name_attr in PROPERTY_NAMES:
                    out[name_attr] = "".join(prop.itertext())
    return out


class _Walker:
    """Walks the body in document order, tracking the paragraph anchor and the reviewer's runs."""

    def __init__(self, own_prefix: str, copy: ReviewedCopy, comments: dict[str, Comment]) -> None:
        self.own = own_prefix
        self.copy = copy
        self.comments = comments
        self.open_comments: dict[str, list[str]] = {}
        self.section = ""
        self.paragraph = 0
        self.ordinal = 0

    def mine(self, node: Any) -> bool:
        return (node.get(f"{_W}author") or "").startswith(self.own)

    def body(self, root: Any) -> None:
        for p in root.iter(f"{_W}p"):
            if p.getparent() is not None and p.getparent().tag == f"{_W}comment":
                continue
            self.paragraph_of(p)

    def paragraph_of(self, p: Any) -> None:
        self.ordinal += 1
        for mark in p.iter(f"{_W}bookmarkStart"):
            name = mark.get(f"{_W}name") or ""
            found = key_of_bookmark(name)
            if found is not None:
                self.copy.anchors += 1
                self.section, self.paragraph = found
                break
            heading = _HEADING_RE.fullmatch(name)
            if heading is not None:
                self.section = heading.group(1).replace("_", ".") if heading.group(1) else f"ch{heading.group(2)}"
                self.paragraph = 0
                break
        # (state, text, author, date) per piece, in order; state: base | ins | del | gone
        pieces: list[tuple[str, str, str, str]] = []
        structural = ""
        for node in p.iter():
            tag = node.tag
            if tag in (f"{_W}moveFrom", f"{_W}moveTo") and not self.mine(node):
                self.unmapped(node, "段落或文字的移动无法对应到 Markdown，须由编辑人处理")
                moved = _text(node)
                self.copy.changes[-1].old, self.copy.changes[-1].new = (moved, "") if tag == f"{_W}moveFrom" else ("", moved)
            elif tag in (f"{_W}rPrChange", f"{_W}pPrChange") and not self.mine(node):
                self.unmapped(node, "仅格式修改（Markdown 不保存字体、字号等格式）")
            elif tag in (f"{_W}ins", f"{_W}del") and node.getparent() is not None and node.getparent().tag == f"{_W}rPr" and not self.mine(node):
                structural = "新增、删除或拆分整个段落（段落标记的修订）无法对应到 Markdown"
            elif tag == f"{_W}commentRangeStart":
                cid = node.get(f"{_W}id") or ""
                offset = sum(len(t) for s, t, _, _ in pieces if s in ("base", "del"))
                if cid in self.comments:
                    c = self.comments[cid]
                    c.section, c.paragraph, c.position = self.section, self.paragraph, (self.ordinal, offset)
                    self.open_comments[cid] = []
            elif tag == f"{_W}commentRangeEnd":
                cid = node.get(f"{_W}id") or ""
                if cid in self.open_comments:
                    c = self.comments[cid]
                    c.marked = "".join(self.open_comments.pop(cid))
                    c.end = (self.ordinal, sum(len(t) for s, t, _, _ in pieces if s in ("base", "del")))
            elif tag in (f"{_W}t", f"{_W}delText"):
                state, author, date = self.state_of(node)
                text = node.text or ""
                pieces.append((state, text, author, date))
                if state in ("base", "del"):
                    for marked in self.open_comments.values():
                        marked.append(text)
        self.changes_of(pieces, structural)

    def state_of(self, t: Any) -> tuple[str, str, str]:
        """base: in the proposed text; ins: the reviewer inserted it; del: the reviewer deleted
        it (it was proposed); gone: the copy's own deletion (not in the proposed text)."""
        reviewer_del = reviewer_ins = own_del = None
        for ancestor in t.iterancestors():
            if ancestor.tag == f"{_W}p":
                break
            if ancestor.tag == f"{_W}del":
                if self.mine(ancestor):
                    own_del = ancestor
                elif reviewer_del is None:
                    reviewer_del = ancestor
            elif ancestor.tag == f"{_W}ins" and not self.mine(ancestor) and reviewer_ins is None:
                reviewer_ins = ancestor
            elif ancestor.tag == f"{_W}moveTo" and not self.mine(ancestor):
                return "gone", "", ""  # the moved text's new place: listed as a move, not proposed text
        if own_del is not None:
            return "gone", "", ""
        if reviewer_del is not None:
            if reviewer_ins is not None:  # inserted and deleted again by reviewers: no change
                return "gone", "", ""
            return "del", reviewer_del.get(f"{_W}author") or "", reviewer_del.get(f"{_W}date") or ""
        if reviewer_ins is not None:
            return "ins", reviewer_ins.get(f"{_W}author") or "", reviewer_ins.get(f"{_W}date") or ""
        return "base", "", ""

    def changes_of(self, pieces: list[tuple[str, str, str, str]], structural: str) -> None:
        i = 0
        while i < len(pieces):
            state, _, author, date = pieces[i]
            if state not in ("ins", "del"):
                i += 1
                continue
            j = i
            old, new = [], []
            while j < len(pieces) and pieces[j][0] in ("ins", "del", "gone"):
                if pieces[j][0] == "del":
                    old.append(pieces[j][1])
                elif pieces[j][0] == "ins":
                    new.append(pieces[j][1])
                j += 1
            before = "".join(t for s, t, _, _ in pieces[:i] if s in ("base", "del"))
            after = "".join(t for s, t, _, _ in pieces[j:] if s in ("base", "del"))
            o, n = "".join(old), "".join(new)
            kind = "replacement" if o and n else "deletion" if o else "insertion"
            change = Change(kind, self.section, self.paragraph, author, date, o, n, before, after)
            if structural or not self.section:
                change.kind, change.reason = "unmapped", structural or "不在手册正文中（封面或说明）"
            self.copy.changes.append(change)
            if len(self.copy.changes) > MAX_CHANGES:
                raise fail("DOCX", 0, 0, "MAN925", f"修订超过 {MAX_CHANGES} 处；拒绝导入")
            i = j

    def unmapped(self, node: Any, reason: str, where: str = "word/document.xml") -> None:
        self.copy.changes.append(
            Change("unmapped", self.section, self.paragraph, node.get(f"{_W}author") or "", node.get(f"{_W}date") or "", where=where, reason=reason)
        )


def _read_comments(package: Package, main: str) -> dict[str, Comment]:
    comments: dict[str, Comment] = {}
    for name in _related(package, main, "comments"):
        data = package.parts[name]
        root = parse_xml(data, name)
        items = root.findall(f"{_W}comment")
        if len(items) > MAX_COMMENTS:
            raise fail("DOCX", 0, 0, "MAN925", f"批注有 {len(items)} 条，超过上限 {MAX_COMMENTS} 条；拒绝导入，未写入任何文件")
        for c in items:
            paragraphs = c.findall(f"{_W}p")
            text = "\n".join(_text(p) for p in paragraphs)
            para_id = paragraphs[-1].get(f"{{{W14}}}paraId") or "" if paragraphs else ""
            cid = c.get(f"{_W}id") or ""
            if len(text) > MAX_COMMENT_CHARS:
                raise fail("DOCX", 0, 0, "MAN925", f"第 {cid} 条批注有 {len(text)} 个字符，超过上限 {MAX_COMMENT_CHARS}；拒绝导入，未写入任何文件")
            comments[cid] = Comment(cid, c.get(f"{_W}author") or "", c.get(f"{_W}date") or "", text, para_id=para_id)
    for name in _related(package, main, "commentsExtended"):
        root = parse_xml(package.parts[name], name)
        parents = {e.get(f"{{{W15}}}paraId"): e.get(f"{{{W15}}}paraIdParent") for e in root.iter(f"{{{W15}}}commentEx")}
        for c in comments.values():
            parent = parents.get(c.para_id)
            if parent:
                c.parent_para_id = parent
    return comments


def _threads(comments: dict[str, Comment]) -> None:
    by_para = {c.para_id: c for c in comments.values() if c.para_id}
    first_at: dict[tuple[tuple[int, int], tuple[int, int]], Comment] = {}
    for c in sorted(comments.values(), key=lambda c: (c.position, c.date, int(c.id) if c.id.isdigit() else 0)):
        if c.parent_para_id and c.parent_para_id in by_para:
            c.reply_to = by_para[c.parent_para_id].id
            continue
        # LibreOffice and WPS: a reply is a comment on exactly the same range, written later
        span = (c.position, c.end)
        if c.position != (-1, -1) and span in first_at and not c.parent_para_id:
            c.reply_to = first_at[span].id
        else:
            first_at.setdefault(span, c)


def read_review_copy(data: bytes, own_prefix: str, headers: frozenset[str] = frozenset()) -> ReviewedCopy:
    """The comments and tracked changes of a returned review copy; ``own_prefix`` begins the
    author of the copy's own tracked changes ("CR-2026-005 "); ``headers`` the paragraph texts of
    the headers the copy was made with (a header paragraph with other text and no tracked change
    was edited with track changes off, and is listed too)."""
    package = read_package(data, LIMITS)
    copy = ReviewedCopy(_properties(package))
    main = _main_part(package)
    comments = _read_comments(package, main)
    walker = _Walker(own_prefix, copy, comments)
    walker.body(parse_xml(package.parts[main], main))
    for kind in ("header", "footer"):
        what = "页眉" if kind == "header" else "页脚"
        for name in _related(package, main, kind):
            root = parse_xml(package.parts[name], name)
            tracked = list(_reviewer_changes(root, own_prefix))
            for node in tracked:
                walker.unmapped(node, f"{what}的修改不属于手册正文，须由编辑人处理", where=name)
                _furniture(copy.changes[-1], *((_text(node), "") if node.tag == f"{_W}del" else ("", _text(node))))
            if kind == "header" and headers and not tracked:
                for p in root.iter(f"{_W}p"):
                    text = "".join(t.text or "" for t in p.iter(f"{_W}t"))
                    if text.strip() and text not in headers:
                        copy.changes.append(Change("unmapped", "", 0, "", "", new=text, where=name, reason="页眉被修改（未使用修订模式），页眉不属于手册正文，须由编辑人处理"))
    _threads(comments)
    copy.comments = sorted(comments.values(), key=lambda c: (c.position, c.reply_to != "", c.date, int(c.id) if c.id.isdigit() else 0))
    return copy


def _furniture(change: Change, old: str, new: str) -> None:
    change.section, change.paragraph, change.old, change.new = "", 0, old, new


def _reviewer_changes(root: Any, own_prefix: str) -> Iterator[Any]:
    for node in root.iter(f"{_W}ins", f"{_W}del"):
        if not (node.get(f"{_W}author") or "").startswith(own_prefix):
            yield node


__all__ = ["Change", "Comment", "ReviewedCopy", "read_review_copy"]
