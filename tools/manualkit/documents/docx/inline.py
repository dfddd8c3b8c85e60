"""Runs of one paragraph, heading or cell: text with bold, italic (楷体) and code, hyperlinks to
the manual's own headings (bookmarks) or to safe outside addresses, and inline images."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence

from manualkit.documents.docx.model import Segment
from manualkit.documents.docx.opc import RT_HYPERLINK, DocumentPart
from manualkit.documents.docx.xml import EMU_PER_TWIP, KAI, SCHEME_RE, TEXT_WIDTH, bookmark_name, esc, run
from manualkit.text.manual import MANUAL_DIR
from manualkit.text.markup import SAFE_SCHEMES


class Inline:
    """Mixin: turns :class:`~manualkit.documents.docx.model.Segment` sequences into runs."""

    part: DocumentPart
    images: Mapping[str, bytes]
    path: str  # the chapter file being rendered, for relative links and images
    chapter_bookmarks: dict[str, str]
    _rpr_cache: dict[tuple[bool, bool, bool, bool], str]
    _bookmark_id: int
    _drawing_id: int

    def bookmark(self, name: str, content: str) -> str:
        self._bookmark_id += 1
        i = self._bookmark_id
        return f'<w:bookmarkStart w:id="{i}" w:name="{name}"/>{content}<w:bookmarkEnd w:id="{i}"/>'

    def rpr(self, bold: bool, italic: bool, code: bool, link: bool) -> str:
        key = (bold, italic, code, link)
        cached = self._rpr_cache.get(key)
        if cached is None:
            style = "Hyperlink" if link else "InlineCode" if code else ""
            parts = [f'<w:rStyle w:val="{style}"/>' if style else ""]
            if italic:
                parts.append(f'<w:rFonts w:eastAsia="{KAI}"/>')
            if bold:
                parts.append("<w:b/><w:bCs/>")
            if italic:
                parts.append("<w:i/><w:iCs/>")
            inner = "".join(parts)
            cached = f"<w:rPr>{inner}</w:rPr>" if inner else ""
            self._rpr_cache[key] = cached
        return cached

    def inline(self, segs: Sequence[Segment]) -> str:
        """Runs (and hyperlinks) of one paragraph, heading or cell."""
        out: list[str] = []
        links: list[bool] = []  # per open link: whether it became a w:hyperlink
        for seg in segs:
            kind = seg.kind
            live = any(links)
            if kind == "text" or kind == "code":
                out.append(run(seg.text, self.rpr(seg.bold, seg.italic, kind == "code", live)))
            elif kind == "break":
                out.append("<w:r><w:br/></w:r>")
            elif kind == "link_open":
                opening = self.link_open(seg.target)
                out.append(opening)
                links.append(bool(opening))
            elif kind == "link_close":
                if links and links.pop():
                    out.append("</w:hyperlink>")
            elif kind == "image":
                out.append(self.image(seg.target, seg.text))
        return "".join(out)

    def link_open(self, href: str) -> str:
        m = SCHEME_RE.match(href.strip())
        if m:
            if m.group(1).lower() not in SAFE_SCHEMES:
                return ""  # never a live link to javascript: and the like (the check rejects them)
            rid = self.part.relate_to(href.strip(), RT_HYPERLINK, is_external=True)
            return f'<w:hyperlink r:id="{rid}" w:history="1">'
        target, _, anchor = href.partition("#")
        if anchor:
            bookmark = bookmark_name(anchor)
        elif target:
            bookmark = self.chapter_bookmarks.get(posixpath.basename(target), "")
        else:
            bookmark = ""
        return f'<w:hyperlink w:anchor="{bookmark}" w:history="1">' if bookmark else ""

    def image(self, src: str, alt: str) -> str:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(self.path) or MANUAL_DIR, src))
        blob = self.images.get(resolved)
        if blob is None:
            return run(f"［图：{alt or src}］")
        rid, image = self.part.get_or_add_image(blob)
        cx, cy = int(image.width), int(image.height)
        max_cx = TEXT_WIDTH * EMU_PER_TWIP
        if cx > max_cx:
            cx, cy = max_cx, int(cy * max_cx / cx)
        self._drawing_id += 1
        i = self._drawing_id
        name = esc(posixpath.basename(resolved))
        return (
            f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
            f'<wp:docPr id="{i}" name="图片 {i}" descr="{esc(alt)}"/><wp:cNvGraphicFramePr>'
            '<a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr><a:graphic>'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
            f'<pic:nvPicPr><pic:cNvPr id="0" name="{name}"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData>'
            "</a:graphic></wp:inline></w:drawing></w:r>"
        )
