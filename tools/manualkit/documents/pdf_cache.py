"""The PDF/A LibreOffice makes of a release DOCX, kept by the DOCX's digest.

The 下载 page offers the PDF/A of every release, and laying one out costs LibreOffice several
seconds. The PDF depends only on the unsigned DOCX (deterministic: the same release, status and
history give the same bytes), the filter options, the fonts, the LibreOffice installation and,
for reproducible builds, the moment LibreOffice's clock is frozen at: the unsigned PDF is kept
under those by :func:`manualkit.documents.layout.cached_pdf` (the same store ``manual verify``
uses) in the layout cache's ``pdf/`` (beside the page numbers of
:func:`manualkit.documents.toc.laid_out_pages`), and each build signs it anew with its own key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

FOLDER = "pdf"


def kept_pdfs(env: Mapping[str, str]) -> Path | None:
    """The folder of the laid-out PDFs kept in the layout cache; None with ``MANUAL_NO_CACHE=1``."""
    from manualkit.documents.toc import layout_cache_dir
    from manualkit.records.repository import caches_enabled

    return layout_cache_dir(env) / FOLDER if caches_enabled(env) else None


def release_pdf_of(docx: bytes, *, frozen_at: dt.datetime | None, env: Mapping[str, str]) -> bytes:
    """The PDF/A of ``docx`` (:func:`manualkit.documents.layout.docx_to_pdf`, its user profile kept
    in the layout cache), from :func:`kept_pdfs` when it was laid out before."""
    from manualkit.documents.layout import PDFA_OPTIONS, docx_to_pdf, require_engine
    from manualkit.documents.toc import layout_cache_dir

    # A kept PDF needs no layout engine, but a machine without one (or, for a reproducible build,
    # without faketime) is told so all the same: the answer never depends on the cache.
    require_engine(reproducible=frozen_at is not None)
    return docx_to_pdf(docx, PDFA_OPTIONS, frozen_at=frozen_at, profile_cache=layout_cache_dir(env), pdf_cache=kept_pdfs(env))
