"""The PDF/A LibreOffice makes of a release DOCX, kept by the DOCX's digest.

The 下载 page offers the PDF/A of every release, and laying one out costs LibreOffice several
seconds. The PDF depends only on the unsigned DOCX (deterministic: the same release, status and
history give the same bytes), the filter options, the fonts (:func:`~manualkit.documents.layout.
fontconfig_xml`) and, for reproducible builds, the moment LibreOffice's clock is frozen at: the
unsigned PDF is kept under those in the layout cache (beside the page numbers of
:func:`manualkit.documents.toc.laid_out_pages`), and each build signs it anew with its own key.
Entries not used for :data:`KEEP_DAYS` are removed; a cache that cannot be read or written only
costs time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from manualkit.base.clock import seconds_since_epoch

CACHE_FORMAT = "release-pdf-1"
FOLDER = "pdf"
KEEP_DAYS = 30
MAX_BYTES = 256 * 1024 * 1024  # never read a larger file back


def cache_key(docx: bytes, options: Mapping[str, object], frozen_at: dt.datetime | None) -> str:
    from manualkit.documents.layout import fontconfig_xml

    head = f"{CACHE_FORMAT}\0{sorted((k, repr(v)) for k, v in options.items())}\0{frozen_at.isoformat() if frozen_at else ''}\0"
    return hashlib.sha256(head.encode() + fontconfig_xml().encode() + b"\0" + docx).hexdigest()


def release_pdf_of(docx: bytes, *, frozen_at: dt.datetime | None, env: Mapping[str, str]) -> bytes:
    """The PDF/A of ``docx`` (:func:`manualkit.documents.layout.docx_to_pdf`, its user profile kept
    in the layout cache), from the layout cache's ``pdf/`` when it was laid out before
    (``MANUAL_NO_CACHE=1``: laid out every time)."""
    from manualkit.documents.layout import PDFA_OPTIONS, docx_to_pdf, require_engine
    from manualkit.documents.toc import layout_cache_dir
    from manualkit.records.repository import caches_enabled

    # A kept PDF needs no layout engine, but a machine without one (or, for a reproducible build,
    # without faketime) is told so all the same: the answer never depends on the cache.
    require_engine(reproducible=frozen_at is not None)
    cache = layout_cache_dir(env)
    if not caches_enabled(env):
        return docx_to_pdf(docx, PDFA_OPTIONS, frozen_at=frozen_at, profile_cache=cache)
    folder = cache / FOLDER
    entry = folder / f"{cache_key(docx, PDFA_OPTIONS, frozen_at)}.pdf"
    try:
        if entry.stat().st_size <= MAX_BYTES:
            data = entry.read_bytes()
            if data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"):
                os.utime(entry)
                return data
    except OSError:
        pass
    data = docx_to_pdf(docx, PDFA_OPTIONS, frozen_at=frozen_at, profile_cache=cache)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        aside = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        aside.write_bytes(data)
        os.replace(aside, entry)
        _prune(folder)
    except OSError:
        pass
    return data


def _prune(folder: Path) -> None:
    limit = seconds_since_epoch() - KEEP_DAYS * 86400
    for path in folder.iterdir():
        try:
            stale = path.stat().st_mtime < limit or (path.name.startswith(".") and path.stat().st_mtime < seconds_since_epoch() - 86400)
            if stale:
                path.unlink()
        except OSError:
            pass
