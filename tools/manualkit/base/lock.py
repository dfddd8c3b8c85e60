"""One writer at a time: the repository's write lock.

Every command that changes the controlled repository (``propose``, ``approve``, ``release``,
``review``, and any new command that writes a record, commits or moves a ref) runs its whole
read-check-write inside :func:`repository_lock`::

    from manualkit.base.lock import repository_lock

    def revoke_key(root: Path, ...) -> ...:
        with repository_lock(root, "revoke-key"):
            snap = worktree_snapshot(root)   # read only after the lock is held
            ...
            write_atomic(...)

The lock is ``fcntl.flock`` on ``manual-write.lock`` in git's common directory (shared by every
worktree of the repository; the repository root itself outside git). The kernel drops it when
the process ends, however it ends (kill -9 included), so a lock is never left behind and never
needs deleting by hand. A second writer waits up to ``MANUAL_LOCK_WAIT`` seconds (default 30; read
from the process's environment), then refuses with MAN760, naming the command and process that
hold the lock; it has read and written nothing. Reading commands (check, status, history, show,
diff, audit) take no lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from manualkit.base.diagnostics import fail

LOCK_NAME = "manual-write.lock"
DEFAULT_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05


def lock_path(root: Path) -> Path:
    """Where the write lock of the repository at ``root`` lives."""
    from manualkit.base import git

    found = git.facts(root)
    if found is None:
        return root / f".{LOCK_NAME}"
    git_dir = found.git_dir
    common = git_dir / "commondir"
    try:
        if common.is_file():
            return (git_dir / common.read_text(encoding="utf-8").strip()).resolve() / LOCK_NAME
    except OSError:
        pass
    return git_dir / LOCK_NAME


def wait_seconds(env: Mapping[str, str]) -> float:
    try:
        value = float(env.get("MANUAL_LOCK_WAIT", DEFAULT_WAIT_SECONDS))
    except ValueError:
        return DEFAULT_WAIT_SECONDS
    return min(max(value, 0.0), 3600.0)


# Locks this thread holds: a nested writer (release → finish) re-enters. Per thread, not per
# process: the desk serves requests from worker threads, and a second thread must wait for the
# flock (another open file description) instead of re-entering the first one's lock.
_local = threading.local()


def _held() -> set[Path]:
    held: set[Path] | None = getattr(_local, "held", None)
    if held is None:
        held = _local.held = set()
    return held


@contextmanager
def repository_lock(root: Path, command: str) -> Iterator[None]:
    """Hold the repository's write lock for the ``with`` block (see the module's documentation).
    The wait is the process's ``MANUAL_LOCK_WAIT``: no caller had another environment to give."""
    with _locked(root, command, wait_seconds(os.environ), required=True):
        yield


@contextmanager
def lock_if_free(root: Path, command: str) -> Iterator[bool]:
    """The write lock if nobody holds it (True), else False at once: for repairs that a reader
    may make in passing (finishing an interrupted release) and must leave to a running writer."""
    with _locked(root, command, 0.0, required=False) as held:
        yield held


@contextmanager
def _locked(root: Path, command: str, wait: float, *, required: bool) -> Iterator[bool]:
    import fcntl
    import time

    path = lock_path(root)
    if path in _held():
        yield True
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if not required:
            yield False
            return
        raise fail(
            str(path), 0, 0, "MAN761", f"无法创建仓库写入锁（{exc.strerror}）；请检查该目录是否存在且可写"
        ) from None
    try:
        # Waiting is counted in attempts, not read from a clock (base/clock owns the time).
        attempts = int(wait / POLL_SECONDS) + 1
        for attempt in range(attempts):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt + 1 < attempts:
                    time.sleep(POLL_SECONDS)
                elif required:
                    raise fail(
                        str(path), 0, 0, "MAN760",
                        f"仓库正被另一个 manual 命令修改（{_holder(fd)}），等待后仍未结束；本命令未读写任何记录。请待其完成后重新运行",
                    ) from None  # fmt: skip
                else:
                    yield False
                    return
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"manual {command}（进程 {os.getpid()}）".encode(), 0)
        _held().add(path)
        try:
            yield True
        finally:
            _held().discard(path)
    finally:
        os.close(fd)  # closing releases the lock


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "另一进程"
