"""One writer at a time: the commands that write chapter 8's records hold an exclusive lock.

A minimal advisory lock (``fcntl.flock`` on ``.git/manualkit/records.lock``, or on
``.manualkit-records.lock`` outside git) taken for the whole read-check-write of a command, so two
people returning, revoking or distributing at once cannot both pass a check that only one of them
may pass (two copies with the same number, a copy recalled twice). A second writer waits up to
``timeout`` seconds and is then refused with MAN841.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from manualkit.base.diagnostics import fail


def _lock_path(root: Path) -> Path:
    git_dir = root / ".git"
    if git_dir.is_dir():
        return git_dir / "manualkit" / "records.lock"
    if git_dir.is_file():  # a worktree: .git is a file naming the real git dir
        text = git_dir.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            return Path(text[7:].strip()) / "manualkit" / "records.lock"
    return root / ".manualkit-records.lock"


@contextmanager
def records_lock(root: Path, timeout: float = 30.0) -> Iterator[None]:
    import fcntl

    path = _lock_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        waited = 0.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited >= timeout:
                    raise fail(str(path), 0, 0, "MAN841", "另一个写入命令正在修改记录；请稍后重试") from None
                time.sleep(0.05)
                waited += 0.05
        yield
    finally:
        os.close(fd)
