"""Kept release DOCX: the unsigned DOCX of a release, kept by what it is made from.

A release's unsigned DOCX (:func:`manualkit.documents.release_document.render_release`) is a
function of exactly these: the release commit (the manual, the policy, the images, the 文件编号,
all read from it), the release's status on the day (and, when 作废, the version that replaced it),
the history its 修订记录 and 签署页 show (every release up to it, as verified, with its
approvals), whether the 修订对照表 is appended (``--with-comparison``, against the release before
it, which the history names), whether the key that will sign it is the development key (the
cover says 开发签名（非正式）), a controlled copy's 分发号, and the code of this tool. The key of
an entry is a SHA-256 over exactly those (:func:`release_key`), so a second ``manual docx`` of
the same release parses no Markdown, renders nothing and only signs.

Entries live under ``<git common dir>/manualkit/kept-docx-<code fingerprint>/`` (the caches of
``docs/release-model.md``): one file per key, its first line naming the format, its second the
document number and the SHA-256 of the DOCX that follows. An entry that is not a regular file,
too large, of another format, or whose bytes do not match its digest is ignored (and replaced
by the next render). ``MANUAL_NO_CACHE=1`` turns the store off; a folder that cannot be written
only costs the render. An entry is written atomically, and only while no writer holds the
repository's lock (a reader never waits for a release; the next run keeps it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from manualkit.records.edition import Status
    from manualkit.records.history import ReleaseEntry

FORMAT = b"manualkit-kept-docx/1\n"
FOLDER = "kept-docx"
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # the 25x manual's DOCX is some 5 MiB
MAX_ENTRIES = 64  # the oldest used beyond these are removed when one is kept


class KeptDocx(NamedTuple):
    """An unsigned release DOCX and the 文件编号 its file is named by."""

    docx: bytes
    document_number: str


def release_key(
    entries: Sequence[ReleaseEntry],
    index: int,
    status: Status,
    *,
    development: bool,
    with_comparison: bool,
    copy_number: str = "",
) -> str:
    """The key of release ``entries[index]``'s unsigned DOCX as ``status``: a digest of every
    input of its rendering (see the module's documentation). Each entry is taken whole, every
    field of it, so a field added to the history later is part of the key without a change here."""
    from manualkit.records.edition import Status

    successor = entries[index + 1] if index + 1 < len(entries) else None
    inputs = [
        FORMAT.decode(),
        entries[index].commit,
        _plain(tuple(entries[: index + 1])),
        status.value,
        _plain(successor) if successor is not None and status is Status.SUPERSEDED else None,
        development,
        with_comparison,
        copy_number,
    ]
    text = json.dumps(inputs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """``value`` as JSON data, each named tuple with its type's name and every field; an
    unexpected type is an error, never a guess (a key must never miss an input)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return [type(value).__name__, *(_plain(v) for v in value)]
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value)
    raise TypeError(f"no key form for {type(value).__name__}")


def store(root: Path, env: Mapping[str, str]) -> Path | None:
    """The folder of the kept DOCX files, None when caches are off or there is no git directory."""
    from manualkit.records.repository import ShardedCache, caches_enabled

    if not caches_enabled(env):
        return None
    cache = ShardedCache.open(root, FOLDER)
    return cache.directory if cache is not None else None


def recall(folder: Path | None, key: str) -> KeptDocx | None:
    """The entry kept under ``key``, None when there is none or it is not whole."""
    if folder is None:
        return None
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.files import read_regular

    path = folder / f"{key}.docx"
    try:
        data = read_regular(path, MAX_ENTRY_BYTES, follow=False)  # a symlink is never followed
    except ManualError:  # absent, a symlink, not a regular file, too large, unreadable
        return None
    entry = _parse(data)
    if entry is not None:
        try:
            os.utime(path)  # used: kept when older ones are removed
        except OSError:
            pass
    return entry


def _parse(data: bytes) -> KeptDocx | None:
    if not data.startswith(FORMAT):
        return None
    head_end = data.find(b"\n", len(FORMAT))
    if head_end < 0:
        return None
    try:
        head = json.loads(data[len(FORMAT) : head_end])
    except ValueError:
        return None
    body = data[head_end + 1 :]
    if not isinstance(head, dict) or not isinstance(head.get("document_number"), str) or not isinstance(head.get("sha256"), str):
        return None
    if not body.startswith(b"PK\x03\x04") or hashlib.sha256(body).hexdigest() != head["sha256"]:
        return None
    return KeptDocx(body, head["document_number"])


def keep(root: Path, folder: Path | None, key: str, entry: KeptDocx) -> None:
    """Keep ``entry`` under ``key`` (atomically; skipped while a writer holds the repository's
    lock, or when the folder cannot be written: a cache only saves time)."""
    if folder is None or len(entry.docx) > MAX_ENTRY_BYTES - 4096:
        return
    from manualkit.base.atomic import write_atomic
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.lock import lock_if_free

    head = json.dumps({"document_number": entry.document_number, "sha256": hashlib.sha256(entry.docx).hexdigest()}, ensure_ascii=True)
    try:
        with lock_if_free(root, "docx") as held:
            if not held:
                return
            _prune_stale(folder)
            write_atomic(folder / f"{key}.docx", FORMAT + head.encode("ascii") + b"\n" + entry.docx, mode=0o644)
            _prune_oldest(folder, key)
    except (OSError, ManualError):
        pass


def _prune_stale(folder: Path) -> None:
    """Remove the stores written by other code (another fingerprint), once, when this one is made."""
    if folder.exists():
        return
    import shutil

    stem = folder.name.rsplit("-", 1)[0]
    for stale in folder.parent.glob(f"{stem}-*"):
        if stale.is_dir() and not stale.is_symlink() and stale != folder:
            shutil.rmtree(stale, ignore_errors=True)


def _prune_oldest(folder: Path, kept: str) -> None:
    """Keep at most :data:`MAX_ENTRIES` entries: the least recently used go first."""
    with os.scandir(folder) as it:
        entries = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in it if e.name.endswith(".docx")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort()
    for _, name in entries[: len(entries) - MAX_ENTRIES]:
        if name != f"{kept}.docx":
            (folder / name).unlink(missing_ok=True)
