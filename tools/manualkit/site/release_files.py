"""The signed files of every release, as the 下载 and 验证 pages offer them.

The files of a release (its signed DOCX and PDF/A) are made by the same code that makes the
version in force (``manual docx``/``manual pdf``: the maker :func:`manualkit.site.build.build_site`
is given). A file says its release's status on its cover (a superseded copy is marked 已作废), so
it is made for one status. Laying out a PDF costs LibreOffice several seconds, and a file signed
anew on every build would have another SHA-256 each time (its signing time): each release's files
are made once and kept in the site cache (``<git dir>/manualkit/site-cache/files-<key>/``), the key
holding everything the file depends on (:func:`files_key`). So the digests the 验证 page knows stay
those of the files staff downloaded, until the release's status changes or the tool does.

:func:`published_list` is the list of every file with its digest and its release's status on the
build's day: the site writes it as ``downloads/releases.json`` and the 验证 page carries the same
bytes, from which its script (``assets/manualkit/verify.js``) recognises a dropped file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
class ReleaseFiles:
    """One release and its signed files."""

    version: SiteVersion
    files: tuple[DownloadFile, ...]


def files_key(versions: Sequence[SiteVersion], index: int, fingerprint: str, signer: str, epoch: str) -> str:
    """The cache key of the files of ``versions[index]``: its release commit (text, policy, records),
    the status and successor its cover states, the 修订记录 of the versions up to it, the validity
    of each signature (a key revoked since voids one), the signing identity (``signer``: the
    certificate's digest), ``SOURCE_DATE_EPOCH`` (``epoch``) and the code that makes the files
    (``fingerprint``)."""
    version = versions[index]
    payload = {
        "fingerprint": fingerprint,
        "signer": signer,
        "epoch": epoch,
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
    make: Callable[[SiteVersion], Sequence[DownloadFile]],
    *,
    cache: Path | None,
    fingerprint: str,
    signer: str | None,
    epoch: str,
) -> tuple[tuple[ReleaseFiles, ...], set[str]]:
    """The files of every version (oldest first), each taken from the cache or made by ``make``,
    and the names of the cache entries used (for :func:`prune`). Without a ``signer`` (the signing
    key could not be read: ``make`` then says why) nothing is cached."""
    made: list[ReleaseFiles] = []
    used: set[str] = set()
    for index, version in enumerate(versions):
        entry = None
        if cache is not None and signer is not None:
            entry = cache / (FILES_PREFIX + files_key(versions, index, fingerprint, signer, epoch))
            used.add(entry.name)
            kept = _read_entry(entry)
            if kept is not None:
                made.append(ReleaseFiles(version, kept))
                continue
        files = tuple(make(version))
        if entry is not None:
            files = _keep(entry, files)
        made.append(ReleaseFiles(version, files))
    return tuple(made), used


def signer_identity(env: Mapping[str, str]) -> str | None:
    """The digest of the signing certificate the files are signed with, or None when the key cannot
    be read (the maker then reports why, with its own diagnostic)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from manualkit.documents.signing_key import SigningKeyError, load_signing_key

    try:
        key = load_signing_key(env)
    except SigningKeyError:
        return None
    return hashlib.sha256(key.certificate.public_bytes(Encoding.DER)).hexdigest()
