"""The page numbers of the table of contents, as the layout engine lays the document out.

The DOCX is rendered once with :data:`~manualkit.documents.docx.front.TOC_PLACEHOLDER` as every
entry's page (a "draft": two digits, as wide as the real numbers, so the contents take the same
lines). LibreOffice converts the draft to PDF, the page of each heading bookmark is read back
from the PDF's named destinations, and :func:`fill_toc` writes the numbers into the ``PAGEREF``
field results of ``word/document.xml``. Nothing else in the package changes, so the filled
document lays out exactly as the draft did.

The layout pass costs a LibreOffice run (seconds); its answer is cached by the SHA-256 of the
draft DOCX (plus the font mapping), so an unchanged release is never laid out twice on a
machine. The cache holds only small JSON files of page numbers: a wrong or stale entry cannot
exist for a given draft, and deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from manualkit.documents.docx.front import TOC_PLACEHOLDER
from manualkit.documents.layout import destination_name, fontconfig_xml, laid_out_destinations
from manualkit.documents.ooxml_package import read_package, write_package

DOCUMENT_PART = "word/document.xml"
CACHE_FORMAT = "toc-pages-1"
_PAGEREF_RE = re.compile(
    rb'(<w:instrText xml:space="preserve"> PAGEREF ([A-Za-z0-9_]+) \\h </w:instrText></w:r>'
    rb'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>)([^<]*)(</w:t>)'
)


def layout_cache_dir(env: Mapping[str, str]) -> Path:
    """``$MANUAL_LAYOUT_CACHE``, else ``$XDG_CACHE_HOME/manualkit/layout``, else
    ``~/.cache/manualkit/layout``."""
    explicit = env.get("MANUAL_LAYOUT_CACHE", "").strip()
    if explicit:
        return Path(explicit)
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    if xdg:
        return Path(xdg) / "manualkit" / "layout"
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".cache" / "manualkit" / "layout"


def toc_page_numbers(docx: bytes) -> dict[str, int]:
    """Bookmark → page as the table of contents of ``docx`` shows it (placeholders left out)."""
    package = read_package(docx)
    name = package.find(DOCUMENT_PART)
    if name is None:
        return {}
    return {m.group(2).decode(): int(m.group(3)) for m in _PAGEREF_RE.finditer(package.parts[name]) if m.group(3).isdigit() and m.group(3) != TOC_PLACEHOLDER.encode()}


def fill_toc(draft: bytes, pages: Mapping[str, int]) -> bytes:
    """``draft`` with each TOC entry's page number set from ``pages`` (by bookmark)."""
    package = read_package(draft)
    name = package.find(DOCUMENT_PART)
    if name is None:
        return draft

    def number(m: re.Match[bytes]) -> bytes:
        page = pages.get(m.group(2).decode())
        return m.group(0) if page is None else m.group(1) + str(page).encode() + m.group(4)

    parts = dict(package.parts)
    parts[name] = _PAGEREF_RE.sub(number, parts[name])
    return write_package(parts.items())


def _bookmarks(draft: bytes) -> list[str]:
    package = read_package(draft)
    name = package.find(DOCUMENT_PART)
    return [] if name is None else [m.group(2).decode() for m in _PAGEREF_RE.finditer(package.parts[name])]


def laid_out_pages(draft: bytes, env: Mapping[str, str]) -> dict[str, int]:
    """Bookmark → page of each TOC entry's heading when LibreOffice lays out ``draft``."""
    key = hashlib.sha256(CACHE_FORMAT.encode() + fontconfig_xml().encode() + draft).hexdigest()
    cache = layout_cache_dir(env) / f"{key}.json"
    try:
        if cache.stat().st_size < 1024 * 1024:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(cached, dict) and all(isinstance(v, int) for v in cached.values()):
                return {str(k): int(v) for k, v in cached.items()}
    except (OSError, ValueError):
        pass
    found = laid_out_destinations(draft, profile_cache=layout_cache_dir(env))
    pages = {bookmark: found[destination_name(bookmark)] for bookmark in _bookmarks(draft) if destination_name(bookmark) in found}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(pages, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return pages


def with_page_numbers(draft: bytes, env: Mapping[str, str]) -> bytes:
    """The draft with the page numbers of its table of contents filled in."""
    return fill_toc(draft, laid_out_pages(draft, env))
