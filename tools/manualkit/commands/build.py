"""``manual build``: the staff site of the version in force (``site/``) and its signed DOCX (``dist/``).

Everything is read from git, never from the working tree: the release history of HEAD says which
version is in force on the day (``--as-of``, default today) and which approved version is still to
come; every page comes from a release commit. The signed DOCX and PDF/A of every release are made by
``manualkit.commands.docx.release_docx`` and ``manualkit.commands.pdf.release_pdf`` and offered on the
下载 page with ``SHA256SUMS``; those of the version in force are also written to ``dist/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from manualkit.base.atomic import check_writable, write_atomic
from manualkit.site.build import DownloadFile, SiteBuild, build_site, checksums
from manualkit.site.model import CHECKSUMS, SiteVersion
from manualkit.text.metadata import ManualMetadata

DIST_DIR = "dist"


@dataclass(frozen=True)
class BuildResult:
    site: SiteBuild
    dist: tuple[Path, ...]  # files written to dist/


def build(root: Path, day: dt.date, env: Mapping[str, str], *, site_only: bool = False) -> BuildResult:
    """Build ``site/`` (and, unless ``site_only``, ``dist/``) as they stand on ``day``."""
    if not site_only:
        # The signed DOCX's page numbers and the PDF/A need the layout engine: stop before writing
        # anything, with the command that installs it, when it is missing; and before the seconds
        # they take when dist/ cannot be written.
        from manualkit.documents.layout import require_engine

        require_engine(reproducible=bool(env.get("SOURCE_DATE_EPOCH", "").strip()))
        check_writable(root / DIST_DIR)

    def signed_docx(version: SiteVersion, metadata: ManualMetadata) -> Sequence[DownloadFile]:
        # Imported here: the DOCX writer and the signing code load only when a DOCX is made.
        from manualkit.commands.docx import release_docx
        from manualkit.commands.pdf import release_pdf

        data = release_docx(root, version.name, day, env)
        name = f"{metadata.document_number}_{version.slug}.docx"
        pdf = release_pdf(root, version.name, day, env)
        return [
            DownloadFile(name, f"{version.name} 版 Word 文档，带数字签名", data),
            DownloadFile(f"{metadata.document_number}_{version.slug}.pdf", f"{version.name} 版 PDF/A 文档，带 PAdES 数字签名，可用任何 PDF 阅读器核验", pdf),
        ]

    site = build_site(root, day, downloads=None if site_only else signed_docx, env=env)
    written: list[Path] = []
    if site.downloads:
        dist = root / DIST_DIR
        for download in site.downloads:
            write_atomic(dist / download.name, download.data)
            written.append(dist / download.name)
        write_atomic(dist / CHECKSUMS, checksums(site.downloads))
        written.append(dist / CHECKSUMS)
    return BuildResult(site, tuple(written))
