"""The write lock of chapter 8's record commands (return, revoke-key, training, distribute, recall).

Kept for those commands' imports: it is the repository's one write lock, :mod:`manualkit.base.lock`
(``fcntl.flock`` under git's common directory), so a ``manual return`` and a ``manual approve`` of
the same request, or a ``manual distribute`` and a ``manual release``, never run at once. A second
writer waits up to ``timeout`` seconds and is then refused with MAN760.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from manualkit.base.lock import repository_lock


@contextmanager
def records_lock(root: Path, timeout: float = 30.0) -> Iterator[None]:
    with repository_lock(root, "records", {"MANUAL_LOCK_WAIT": str(timeout)}):
        yield
