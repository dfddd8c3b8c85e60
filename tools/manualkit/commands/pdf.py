"""``manual pdf``: the signed PDF/A of a release, laid out by LibreOffice from the release DOCX.

The DOCX is the one ``manual docx`` makes (rendered from the release's git tree, its table of
contents numbered by the same layout engine); LibreOffice exports it as PDF/A-2b with the Noto
CJK fonts embedded, and the release key signs it (PAdES, pyHanko). See ``docs/documents.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from manualkit.commands.docx import ReleaseDocument, signing_time, unsigned_release


def build_release_pdf(
    root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False
) -> ReleaseDocument:
    """Render the release from git (``with_comparison``: with 附录 修订对照表), lay it out as
    PDF/A-2b, sign it with the release key."""
    from manualkit.documents.pdf_cache import release_pdf_of
    from manualkit.documents.pdf_release import sign_pdf

    release = unsigned_release(root, version=version, as_of=as_of, today=today, env=env, with_comparison=with_comparison)
    moment = signing_time(env)
    reproducible = bool(env.get("SOURCE_DATE_EPOCH", "").strip())
    pdf = release_pdf_of(release.docx, frozen_at=moment if reproducible else None, env=env)  # kept by the DOCX's digest
    if reproducible:  # LibreOffice orders the fonts it embeds by memory address
        from manualkit.documents.pdf_canonical import canonical_pdf

        pdf = canonical_pdf(pdf)
    reason = f"{release.document_number} {release.record.version} 版发布（{release.status.value}）"
    signed = sign_pdf(pdf, release.key, moment, reason=reason)
    return ReleaseDocument(signed, str(release.record.version), release.status, release.key.development, release.document_number, "pdf")


def release_pdf(root: Path, version: str, today: dt.date, env: Mapping[str, str]) -> bytes:
    """The signed PDF bytes of ``version`` (for the site's download page)."""
    return build_release_pdf(root, version=version, as_of=None, today=today, env=env).data
