"""The cache of archived versions: each built once, kept by content digest, linked into each site.

An archived version's site depends on its text — the git tree hash of ``manual/`` at its release
commit, its content digest — and on what its pages say about it (its dates, the version that
replaced it, the history before it) and on the builder (this package's code, the theme overrides,
the MkDocs and Material versions). :func:`archive_key` hashes all of that: an entry can only ever be
reused for a site that would be built byte for byte the same.

Entries live in ``<git dir>/manualkit/site-cache/archive-<key>/`` (``$MANUAL_SITE_CACHE`` to move
it, ``MANUAL_NO_CACHE=1`` to turn it off) and are hard-linked into the new site (copied where
links are not possible); entries unused for 30 days are removed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.base import git
from manualkit.base.clock import seconds_since_epoch
from manualkit.records.repository import caches_enabled, code_fingerprint
from manualkit.site import pages
from manualkit.site.model import SiteVersion
from manualkit.site.render import OVERRIDES

if TYPE_CHECKING:
    from manualkit.base.run import Run

CACHE_KEEP_DAYS = 30  # archived builds not used for this long are removed from the cache
COMPLETE = ".complete"  # written last: an entry without it is not used


def archive_key(versions: Sequence[SiteVersion], index: int, fingerprint: str, links: object = None) -> str:
    """The cache key of an archived (or approved, still to come) version's site: its content digest
    and everything else its pages say, ``links`` being the chapter pages of the version in force (its
    banner links to the same chapter there). The list of all versions is not part of its pages: they
    read it from the site's ``versions.js``, so a new release does not invalidate them."""
    version = versions[index]
    payload = {
        "status": version.status.value,
        "links": links,
        "fingerprint": fingerprint,
        "digest": version.digest,
        "version": version.name,
        "dates": [version.published.isoformat(), version.effective.isoformat(), str(version.effective_to)],
        "superseded_by": version.superseded_by,
        "class": version.class_name,
        "signers": [version.signers(role) for role in pages.ROLES],
        "voided": list(version.voided_requests),  # a key revoked since marks the pages 含无效签署
        "history": [
            [v.name, v.first, v.effective.isoformat(), list(v.sections), list(v.change_requests), [[r.id, list(r.sections)] for r in v.requests]]
            for v in versions[: index + 1]
        ],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


_site_fingerprint: str | None = None


def site_fingerprint() -> str:
    """The builder itself: the package's code, the theme overrides, and the MkDocs/Material versions."""
    global _site_fingerprint
    if _site_fingerprint is None:
        digest = hashlib.sha256(code_fingerprint().encode())
        for path in sorted(OVERRIDES.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(OVERRIDES).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        for dist in ("mkdocs", "mkdocs-material"):
            digest.update(f"{dist}=={importlib.metadata.version(dist)}\0".encode())
        _site_fingerprint = digest.hexdigest()[:16]
    return _site_fingerprint


def cache_root(run: Run) -> Path | None:
    """The run's ``$MANUAL_SITE_CACHE``, else ``<git dir>/manualkit/site-cache`` of ``run.root``;
    None when the run's environment turns caches off. (The run, not root and env: it needs no
    date, but both halves of its answer are the run's.)"""
    env = run.env
    if not caches_enabled(env):
        return None
    if env.get("MANUAL_SITE_CACHE"):
        return Path(env["MANUAL_SITE_CACHE"])
    try:
        return Path(git.text(run.root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / "manualkit" / "site-cache"
    except git.GitError:
        return None


def link_or_copy(src: str, dst: str) -> str:
    """Hard-link a cached file into the new site (cheap); copy when linking is not possible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def prune(cache: Path, used: set[str], prefix: str = "archive-") -> None:
    """Remove the entries named ``<prefix>…`` (archived builds; the release files of 下载 with
    :data:`manualkit.site.release_files.FILES_PREFIX`) not in ``used`` and not used for
    :data:`CACHE_KEEP_DAYS`, and those abandoned a day ago or more."""
    now = seconds_since_epoch()
    for entry in cache.glob(prefix + "*"):
        try:
            if entry.name not in used and (entry / COMPLETE).stat().st_mtime < now - CACHE_KEEP_DAYS * 86400:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # no COMPLETE: never finished
            shutil.rmtree(entry, ignore_errors=True)
    for abandoned in cache.glob(f".{prefix}*.tmp"):
        try:
            if abandoned.stat().st_mtime < now - 86400:
                shutil.rmtree(abandoned, ignore_errors=True)
        except OSError:
            pass
