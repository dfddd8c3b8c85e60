"""The release document: one release of the manual as a signed file, DOCX or PDF/A.

Its name comes from the release's own 文件编号 (``manual.yml`` at the release commit), so a
company set up with ``manual init --document-number AB-QM-02`` gets ``AB-QM-02_A-0.docx``; its
text, 修订记录 and edition from git (``records.history``); its table of contents from the layout
engine; its signature from the release key. ``manual docx``, ``manual pdf``, the site's 下载
page, controlled copies, ``verify`` and the audit's witnesses all render it here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from manualkit.documents.docx.body import Appendix
    from manualkit.documents.signing_key import SigningKey
    from manualkit.records.edition import Status
    from manualkit.records.history import ReleaseEntry, ReleaseReader
    from manualkit.records.policy import Policy
    from manualkit.records.release import ReleaseRecord
    from manualkit.text.manual import Manual


class ReleaseDocument(NamedTuple):
    """A signed release file: the DOCX, or (``suffix`` "pdf") its PDF/A."""

    data: bytes
    version: str
    status: Status
    development: bool
    document_number: str  # 文件编号 of the release (manual.yml at its commit)
    suffix: str = "docx"

    @property
    def file_name(self) -> str:
        return f"{self.document_number}_{self.version.replace('/', '-')}.{self.suffix}"


def render_release(
    root: Path,
    entries: Sequence[ReleaseEntry],
    index: int,
    status: Status,
    development: bool,
    *,
    env: Mapping[str, str],
    pages: Mapping[str, int] | None = None,
    copy_number: str = "",
    with_comparison: bool = False,
    reader: ReleaseReader | None = None,
    laid_out_at: dt.datetime | None = None,
) -> bytes:
    """The unsigned DOCX of release ``index`` as ``status`` (deterministic: same input, same bytes),
    its table of contents numbered with ``pages`` (bookmark → page), or by the layout engine
    (LibreOffice, cached by the draft's digest) when ``pages`` is None; ``copy_number`` is the
    分发号 of a numbered controlled copy; ``with_comparison``: the 修订对照表 against the release
    before it as an appendix (附录). ``laid_out_at``: the moment its PDF/A will be laid out at (the
    site's files), so that the pages of the release in another status can be tried on that very
    layout (documents/toc.py) before the draft is laid out for them; the bytes are the same."""
    from manualkit.base.clock import start_of_day, zone_or_default
    from manualkit.documents.docx.release import render_docx
    from manualkit.documents.toc import fill_toc, guessed_pages, keep_guess, kept_pages, laid_out_pages
    from manualkit.records.edition import release_edition
    from manualkit.records.history import ReleaseReader

    entry = entries[index]
    reader = reader or ReleaseReader(root)
    manual, policy = release_texts(reader, entry)
    assert entry.commit is not None  # release_texts refuses a release outside git
    edition = release_edition(entries, index, status, policy, development_signature=development)
    images = release_images(reader, entry.commit)
    generated = start_of_day(entry.record.published, zone_or_default(policy.time_zone))  # the zone of the policy it was released under
    appendix = comparison_appendix(root, entries, index) if with_comparison else None

    def draft(number: str) -> bytes:
        return render_docx(manual, replace(edition, copy_number=number), generated=generated, images=images, appendix=appendix)

    # Every copy of a version is laid out alike: its 分发号 (cover and header) has one shape and
    # never wraps. Its pages are those of the draft with the number's digits set to 0, laid out
    # once for all the copies of the version (the layout cache is keyed by that draft).
    final, neutral = draft(copy_number), re.sub(r"[0-9]", "0", copy_number)
    if pages is None:
        target = final if neutral == copy_number else draft(neutral)
        family = f"{entry.commit}\0{with_comparison}\0{development}\0{neutral}"
        guess = guessed_pages(family, env)
        pages = kept_pages(target, env)
        if pages is None and laid_out_at is not None and target is final:
            pages = _confirmed(final, guess, laid_out_at, env)
        if pages is None:
            pages = laid_out_pages(target, env)
        if pages != guess:
            keep_guess(family, pages, env)
    return fill_toc(final, pages)


def _confirmed(final: bytes, guess: Mapping[str, int] | None, laid_out_at: dt.datetime, env: Mapping[str, str]) -> dict[str, int] | None:
    """``guess`` when the PDF/A of ``final`` filled with it, laid out at ``laid_out_at`` as the
    release's PDF/A will be (and kept in the layout cache, where that PDF/A then finds it), puts
    every heading on the page the guess says: then the guess is the draft's own answer, kept as
    such. None without a guess, without the layout cache (the layout would be lost), or when a
    page differs (the draft is then laid out as before)."""
    from manualkit.documents.layout import pdf_destinations
    from manualkit.documents.pdf_cache import kept_pdfs, release_pdf_of
    from manualkit.documents.toc import fill_toc, keep_pages, pages_of

    if guess is None or kept_pdfs(env) is None:
        return None
    found = pages_of(final, pdf_destinations(release_pdf_of(fill_toc(final, guess), frozen_at=laid_out_at, env=env)))
    if found != guess:
        return None
    keep_pages(final, found, env)
    return found


def release_texts(reader: ReleaseReader, entry: ReleaseEntry) -> tuple[Manual, Policy]:
    """The manual and policy of the commit that recorded ``entry``, parsed through the history's
    reader: a chapter text already parsed for verification (or cached under .git/manualkit/) is
    not parsed again."""
    from manualkit.base.diagnostics import fail

    if entry.commit is None:
        raise fail(entry.record.path, 0, 0, "MAN680", f"{entry.record.version} 的发布记录不在 git 历史中")
    manual, policy = reader.manual(entry.commit), reader.policy(entry.commit)
    if manual is None or policy is None:
        raise fail(entry.record.path, 0, 0, "MAN683", f"{entry.record.version} 发布时的手册或修订政策无法加载")
    return manual, policy


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
MAX_IMAGE_BYTES = 8 * 1024 * 1024


def release_images(reader: ReleaseReader, commit: str) -> dict[str, bytes]:
    """The images under ``manual/`` at ``commit`` (path → bytes; none over 8 MiB), found in the
    listing the reader already holds for the commit's manual (cached by commit: no ``git
    ls-tree``) and read in one batch (no process at all for a manual without images)."""
    wanted = {path: sha for path, _, sha, size in reader.listing(commit) if path.lower().endswith(IMAGE_SUFFIXES) and size <= MAX_IMAGE_BYTES}
    blobs = reader.objects.read(wanted.values()) if wanted else {}
    return {path: blobs[sha] for path, sha in wanted.items() if sha in blobs}


def comparison_appendix(root: Path, entries: Sequence[ReleaseEntry], index: int) -> Appendix:
    """附录 修订对照表 of release ``index`` against the release before it."""
    from manualkit.base.diagnostics import fail
    from manualkit.documents.comparison_table import appendix
    from manualkit.documents.release_comparison import compare_versions, comparison_table

    if index == 0:
        record = entries[0].record
        raise fail(record.path, 0, 0, "MAN780", f"{record.version} 是首次发布，没有上一版本可对照；请去掉 --with-comparison")
    old, new = str(entries[index - 1].record.version), str(entries[index].record.version)
    return appendix(comparison_table(compare_versions(root, old, new)), from_version=old, to_version=new)


class UnsignedRelease(NamedTuple):
    """A release rendered from git, with the key that will sign it."""

    docx: bytes
    record: ReleaseRecord
    status: Status
    key: SigningKey
    document_number: str


def unsigned_release(
    root: Path,
    *,
    version: str | None,
    as_of: dt.date | None,
    today: dt.date,
    env: Mapping[str, str],
    with_comparison: bool = False,
    laid_out_at: dt.datetime | None = None,
) -> UnsignedRelease:
    """The release named by ``version`` (or in force on ``as_of``, default today), rendered with
    its table of contents numbered (and ``with_comparison``, the 修订对照表 as an appendix), and
    the release (or development) key; ``laid_out_at``: see :func:`render_release`."""
    from manualkit.base.diagnostics import fail
    from manualkit.documents import kept_docx
    from manualkit.documents.signing_key import SigningKeyError, load_signing_key
    from manualkit.records.edition import status_on
    from manualkit.records.history import ReleaseReader, release_history, release_index

    entries = release_history(root)
    index = release_index(entries, version, as_of or today)
    try:
        key = load_signing_key(env)
    except SigningKeyError as exc:
        raise fail("MANUAL_SIGNING_KEY", 0, 0, exc.code, exc.message) from None
    # The copy is marked by its status today: a version exported "as of" a past date is 作废 now.
    status = status_on(entries, index, today)
    # Kept by every input of the rendering: a release rendered before is only signed again.
    store = kept_docx.store(root, env)
    kept_key = kept_docx.release_key(entries, index, status, development=key.development, with_comparison=with_comparison)
    kept = kept_docx.recall(store, kept_key)
    if kept is None:
        # One reader for the file's name (the release's own 文件编号) and its text.
        reader = ReleaseReader(root)
        manual, _ = release_texts(reader, entries[index])
        docx = render_release(root, entries, index, status, key.development, env=env, with_comparison=with_comparison, reader=reader, laid_out_at=laid_out_at)
        kept = kept_docx.KeptDocx(docx, manual.metadata.document_number)
        kept_docx.keep(root, store, kept_key, kept)
    return UnsignedRelease(kept.docx, entries[index].record, status, key, kept.document_number)


def build_release_docx(
    root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False, signed_at: dt.datetime | None = None
) -> ReleaseDocument:
    """Render the release from git (``with_comparison``: with 附录 修订对照表), then sign it with
    the release (or development) key, at ``signed_at`` when given (the site's files: the moment
    their status began), else at ``clock.signing_time``."""
    from manualkit.base.clock import signing_time
    from manualkit.documents.package_signature import sign_package

    # The site's files: their PDF/A is laid out at the signing moment (build_release_pdf).
    release = unsigned_release(root, version=version, as_of=as_of, today=today, env=env, with_comparison=with_comparison, laid_out_at=signed_at)
    signed = sign_package(release.docx, release.key, signed_at or signing_time(env))
    return ReleaseDocument(signed, str(release.record.version), release.status, release.key.development, release.document_number)


def release_docx(root: Path, version: str, today: dt.date, env: Mapping[str, str], *, signed_at: dt.datetime | None = None) -> bytes:
    """The signed DOCX bytes of ``version`` (for the site's download page)."""
    return build_release_docx(root, version=version, as_of=None, today=today, env=env, signed_at=signed_at).data


def write_docx(path: Path, document: ReleaseDocument) -> None:
    from manualkit.base.atomic import write_atomic

    write_atomic(path, document.data)


def build_release_pdf(
    root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False, signed_at: dt.datetime | None = None
) -> ReleaseDocument:
    """Render the release from git (``with_comparison``: with 附录 修订对照表), lay it out as
    PDF/A-2b, sign it with the release key. With ``signed_at`` (the site's files) the layout is
    the reproducible one (LibreOffice's clock frozen at that moment, the PDF made canonical) and
    the signature is made at that moment: the same release, status and key give the same bytes."""
    from manualkit.base.clock import reproducible, signing_time
    from manualkit.documents.pdf_cache import release_pdf_of
    from manualkit.documents.pdf_release import sign_pdf

    moment = signed_at or signing_time(env)
    frozen = signed_at is not None or reproducible(env)
    release = unsigned_release(root, version=version, as_of=as_of, today=today, env=env, with_comparison=with_comparison, laid_out_at=moment if frozen else None)
    pdf = release_pdf_of(release.docx, frozen_at=moment if frozen else None, env=env)  # kept by the DOCX's digest
    if frozen:  # LibreOffice orders the fonts it embeds by memory address
        from manualkit.documents.pdf_canonical import canonical_pdf

        pdf = canonical_pdf(pdf)
    reason = f"{release.document_number} {release.record.version} 版发布（{release.status.value}）"
    signed = sign_pdf(pdf, release.key, moment, reason=reason)
    return ReleaseDocument(signed, str(release.record.version), release.status, release.key.development, release.document_number, "pdf")


def release_pdf(root: Path, version: str, today: dt.date, env: Mapping[str, str], *, signed_at: dt.datetime | None = None) -> bytes:
    """The signed PDF bytes of ``version`` (for the site's download page)."""
    return build_release_pdf(root, version=version, as_of=None, today=today, env=env, signed_at=signed_at).data
