"""The signed files of every release, as the 下载 and 验证 pages offer them.

The files of a release (its signed DOCX and PDF/A) are made by the same code that makes the
version in force (``manual docx``/``manual pdf``: the maker :func:`manualkit.site.build.build_site`
is given). A file says its release's status on its cover (a superseded copy is marked 已作废), so
it is made for one status: a :class:`StatusPeriod`.

**The same file on every build.** A file depends only on its release (commit, the 修订记录 of the
versions up to it, the validity of each signature), the status its cover states, the signing
key and the code: it is signed at the moment that status began (:func:`signing_moment`: the
publication for 即将生效, the effective date for 现行有效, the successor's effective date for
已作废, at 00:00 in the company's zone, never before the certificate's notBefore), and its PDF is
laid out with LibreOffice's clock frozen at that moment and made canonical. So a CI build on a
fresh machine with the same key gives the bytes staff downloaded last month. Without faketime the
layout engine's clock cannot be frozen: each build then signs anew (:func:`reproducible_signing`
is False), and the 验证 page says that copies of earlier builds cannot be recognised.

**Every status a release has had.** Besides its files as they stand on the build's day, each
release's files in its EARLIER statuses (即将生效 when it was published before taking effect,
现行有效 when it has been superseded) are made too: only their digests are published (in
``downloads/releases.json``), so that a copy downloaded while the release was in force is
recognised once it is superseded; they are not offered for download.

Laying out a PDF costs LibreOffice several seconds: each status's files are made once and kept in
the site cache (``<git dir>/manualkit/site-cache/files-<key>/``), the key holding everything the
file depends on (:func:`files_key`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from manualkit.records.edition import Status
from manualkit.site.cache import COMPLETE  # the same mark as the archived builds: cache.prune reads it
from manualkit.site.model import SiteVersion

FILES_PREFIX = "files-"
MANIFEST = "manifest.json"
RELEASES_JSON = "releases.json"  # under downloads/: the published list of files and digests


@dataclass(frozen=True)
class DownloadFile:
    """A file offered on the 下载 page (and, for the version in force, written to ``dist/``)."""

    name: str
    description: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class StatusPeriod:
    """A status a release has had, or has on the build's day: the release as it stood then (its
    status and successor, as its cover states them), the day that status began, and the moment
    its files are signed at (None: the build's own moment, when no reproducible layout is at hand)."""

    version: SiteVersion
    since: dt.date
    signed_at: dt.datetime | None


@dataclass(frozen=True)
class EarlierFiles:
    """The files a release had in an earlier status: recognised by the 验证 page, not offered."""

    period: StatusPeriod
    files: tuple[DownloadFile, ...]


@dataclass(frozen=True)
class ReleaseFiles:
    """One release, its signed files as they stand on the build's day, and those of its earlier
    statuses (oldest first)."""

    version: SiteVersion
    files: tuple[DownloadFile, ...]
    earlier: tuple[EarlierFiles, ...] = ()
    signed_at: dt.datetime | None = None  # the moment ``files`` were signed at; None: the build's own


@dataclass(frozen=True)
class Signer:
    """The certificate the files are signed with: its digest (in the cache key) and notBefore
    (no file is signed before it)."""

    digest: str
    not_before: dt.datetime


def status_since(version: SiteVersion) -> dt.date:
    """The day ``version``'s status began: its publication (即将生效), its effective date (现行有效),
    its successor's effective date (已作废)."""
    if version.status is Status.APPROVED:
        return version.published
    if version.status is Status.SUPERSEDED and version.effective_to is not None:
        return version.effective_to
    return version.effective


def status_periods(version: SiteVersion) -> list[SiteVersion]:
    """``version`` in each status it has had up to the build's day, oldest first, the last being
    its status on that day: 即将生效 if it was published before taking effect, 现行有效 if it has
    been superseded (and was in force for a day at least)."""
    periods = []
    if version.status is not Status.APPROVED and version.published < version.effective:
        periods.append(replace(version, status=Status.APPROVED, superseded_by=None))
    if version.status is Status.SUPERSEDED and (version.effective_to is None or version.effective < version.effective_to):
        periods.append(replace(version, status=Status.IN_FORCE, superseded_by=None))
    return [*periods, version]


def signing_moment(since: dt.date, zone: dt.tzinfo, not_before: dt.datetime) -> dt.datetime:
    """00:00 of ``since`` in the company's zone, or the certificate's notBefore when later (a
    signature made before its certificate was valid would not verify)."""
    from manualkit.base.clock import start_of_day

    return max(start_of_day(since, zone), not_before.astimezone(zone))


def reproducible_signing() -> bool:
    """Whether the files can be made alike on every build: LibreOffice's clock is frozen with
    faketime (the reproducible layout of ``SOURCE_DATE_EPOCH``)."""
    from manualkit.documents.layout import clock_can_be_frozen

    return clock_can_be_frozen()


def files_key(versions: Sequence[SiteVersion], index: int, fingerprint: str, signer: str, epoch: str, signed_at: dt.datetime | None = None) -> str:
    """The cache key of the files of ``versions[index]``: its release commit (text, policy, records),
    the status and successor its cover states, the 修订记录 of the versions up to it, the validity
    of each signature (a key revoked since voids one), the signing identity (``signer``: the
    certificate's digest), ``SOURCE_DATE_EPOCH`` (``epoch``), the moment it is signed at
    (``signed_at``; None: the build's) and the code that makes the files (``fingerprint``)."""
    version = versions[index]
    payload = {
        "fingerprint": fingerprint,
        "signer": signer,
        "epoch": epoch,
        "signed_at": None if signed_at is None else signed_at.astimezone(dt.UTC).isoformat(),
        "status": version.status.value,
        "superseded_by": version.superseded_by,
        "until": str(version.effective_to) if version.status is Status.SUPERSEDED else None,
        "history": [[v.name, v.commit] for v in versions[: index + 1]],
        "signatures": sorted([a.change_request, a.role, a.signer, a.valid] for a in version.approvals),
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


def _read_entry(entry: Path) -> tuple[DownloadFile, ...] | None:
    """The files kept in ``entry``, or None when it is incomplete, unreadable or altered."""
    try:
        if not (entry / COMPLETE).is_file():
            return None
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        files = []
        for item in manifest:
            name, description, digest = str(item["name"]), str(item["description"]), str(item["sha256"])
            if "/" in name or name.startswith("."):
                return None
            made = DownloadFile(name, description, (entry / name).read_bytes())
            if made.sha256 != digest:
                return None
            files.append(made)
        os.utime(entry / COMPLETE)
        return tuple(files)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _keep(entry: Path, files: Sequence[DownloadFile]) -> tuple[DownloadFile, ...]:
    """Keep ``files`` at ``entry`` (written aside, then renamed into place); the files now kept
    there: another build's when it kept its own first (theirs are as good, and the digests the
    site publishes are then the same for both)."""
    aside = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        shutil.rmtree(aside, ignore_errors=True)
        aside.mkdir(parents=True)
        for f in files:
            (aside / f.name).write_bytes(f.data)
        manifest = [{"name": f.name, "description": f.description, "sha256": f.sha256} for f in files]
        (aside / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        (aside / COMPLETE).write_text("", encoding="utf-8")
        aside.rename(entry)
    except OSError:  # a read-only cache, a full disk, or kept meanwhile by another build
        shutil.rmtree(aside, ignore_errors=True)
        return _read_entry(entry) or tuple(files)
    return tuple(files)


def release_files(
    versions: Sequence[SiteVersion],
    make: Callable[[StatusPeriod], Sequence[DownloadFile]],
    *,
    cache: Path | None,
    fingerprint: str,
    signer: Signer | None,
    epoch: str,
    zone: dt.tzinfo | None,
) -> tuple[tuple[ReleaseFiles, ...], set[str]]:
    """The files of every version (oldest first), each taken from the cache or made by ``make``,
    and the names of the cache entries used (for :func:`prune`). With a ``zone`` (the company's:
    the files are made reproducibly, :func:`reproducible_signing`) each file is signed at the
    moment its status began and the files of the earlier statuses are made too; without, only
    the current files, signed at the build's moment. Without a ``signer`` (the signing key could
    not be read: ``make`` then says why) nothing is cached."""
    made: list[ReleaseFiles] = []
    used: set[str] = set()
    for index, version in enumerate(versions):
        periods = status_periods(version) if zone is not None and signer is not None else [version]
        kept: list[tuple[StatusPeriod, tuple[DownloadFile, ...]]] = []
        for as_then in periods:
            since = status_since(as_then)
            moment = signing_moment(since, zone, signer.not_before) if zone is not None and signer is not None else None
            period = StatusPeriod(as_then, since, moment)
            kept.append((period, _files(versions, index, period, make, cache, fingerprint, signer, epoch, used)))
        *earlier, (current, files) = kept
        made.append(ReleaseFiles(version, files, tuple(EarlierFiles(p, f) for p, f in earlier), current.signed_at))
    return tuple(made), used


def _files(
    versions: Sequence[SiteVersion],
    index: int,
    period: StatusPeriod,
    make: Callable[[StatusPeriod], Sequence[DownloadFile]],
    cache: Path | None,
    fingerprint: str,
    signer: Signer | None,
    epoch: str,
    used: set[str],
) -> tuple[DownloadFile, ...]:
    """The files of ``versions[index]`` in ``period``: kept, or made and kept."""
    entry = None
    if cache is not None and signer is not None:
        as_then = [*versions[:index], period.version]
        entry = cache / (FILES_PREFIX + files_key(as_then, index, fingerprint, signer.digest, epoch, period.signed_at))
        used.add(entry.name)
        found = _read_entry(entry)
        if found is not None:
            return found
    files = tuple(make(period))
    return _keep(entry, files) if entry is not None else files


def signer_identity(env: Mapping[str, str]) -> Signer | None:
    """The certificate the files are signed with, or None when the key cannot be read (the maker
    then reports why, with its own diagnostic)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from manualkit.documents.signing_key import SigningKeyError, load_signing_key

    try:
        key = load_signing_key(env)
    except SigningKeyError:
        return None
    certificate = key.certificate
    return Signer(hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest(), certificate.not_valid_before_utc)
