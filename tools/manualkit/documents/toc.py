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

A release's site files, one per status, differ only in their cover; so the pages found for one
status are kept as the guess for the others (:func:`guessed_pages`), and the document filled
with the guess is laid out as its PDF/A is anyway: when that layout's destinations are the guess,
the guess is that draft's answer and the draft's own layout is spared (one LibreOffice run of two);
otherwise the draft is laid out as before (documents/release_document.py).
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


def _pages_entry(draft: bytes, env: Mapping[str, str]) -> Path:
    key = hashlib.sha256(CACHE_FORMAT.encode() + fontconfig_xml().encode() + draft).hexdigest()
    return layout_cache_dir(env) / f"{key}.json"


#: A kept answer's JSON is smaller than this (a few KiB for the 25× manual's 200 chapters).
MAX_PAGES_BYTES = 1024 * 1024 - 1


def _read_pages(entry: Path) -> dict[str, int] | None:
    from manualkit.base.files import read_for_cache

    try:
        kept = json.loads(read_for_cache(entry, MAX_PAGES_BYTES).decode("utf-8"))
    except (OSError, ValueError):  # absent, too large, not a regular file, not UTF-8 or not JSON
        return None
    if isinstance(kept, dict) and all(isinstance(v, int) and not isinstance(v, bool) for v in kept.values()):
        return {str(k): int(v) for k, v in kept.items()}
    return None


def _write_pages(entry: Path, pages: Mapping[str, int]) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(pages), sort_keys=True), encoding="utf-8")
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache that cannot be written only costs time


def kept_pages(draft: bytes, env: Mapping[str, str]) -> dict[str, int] | None:
    """The pages of ``draft``'s TOC entries as a layout of this draft found them before, if kept."""
    return _read_pages(_pages_entry(draft, env))


def keep_pages(draft: bytes, pages: Mapping[str, int], env: Mapping[str, str]) -> None:
    """Keep ``pages`` as the answer for ``draft`` (only ever a layout's own answer for it)."""
    _write_pages(_pages_entry(draft, env), pages)


def laid_out_pages(draft: bytes, env: Mapping[str, str]) -> dict[str, int]:
    """Bookmark → page of each TOC entry's heading when LibreOffice lays out ``draft``."""
    kept = kept_pages(draft, env)
    if kept is not None:
        return kept
    found = laid_out_destinations(draft, profile_cache=layout_cache_dir(env))
    pages = pages_of(draft, found)
    keep_pages(draft, pages, env)
    return pages


def pages_of(docx: bytes, destinations: Mapping[str, int]) -> dict[str, int]:
    """Bookmark → page of each TOC entry of ``docx``, from a layout's named destinations."""
    return {bookmark: destinations[destination_name(bookmark)] for bookmark in _bookmarks(docx) if destination_name(bookmark) in destinations}


# A release's drafts in its several statuses differ only in what their cover says: the pages one
# of them was laid out with are the likely pages of the others. They are kept under a key of the
# release (``family``) as a guess, and a guess is only ever used once a layout of the filled
# document has confirmed it (documents/release_document.py).
GUESS_FORMAT = "toc-guess-1"


def _guess_entry(family: str, env: Mapping[str, str]) -> Path:
    key = hashlib.sha256(f"{GUESS_FORMAT}\0{family}\0".encode() + fontconfig_xml().encode()).hexdigest()
    return layout_cache_dir(env) / f"guess-{key}.json"


def guessed_pages(family: str, env: Mapping[str, str]) -> dict[str, int] | None:
    """The pages last laid out for another draft of ``family``, if kept: a guess to be confirmed."""
    return _read_pages(_guess_entry(family, env))


def keep_guess(family: str, pages: Mapping[str, int], env: Mapping[str, str]) -> None:
    _write_pages(_guess_entry(family, env), pages)


def with_page_numbers(draft: bytes, env: Mapping[str, str]) -> bytes:
    """The draft with the page numbers of its table of contents filled in."""
    return fill_toc(draft, laid_out_pages(draft, env))
