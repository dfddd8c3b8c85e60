"""The repository lock between threads of one process (the desk serves each request from a worker
thread): a second thread waits for the lock, or is refused (MAN760) when it may not wait, instead
of re-entering the first thread's lock; the thread that holds it still re-enters (release → finish)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from manualkit.base.diagnostics import ManualError
from manualkit.base.lock import repository_lock


@pytest.mark.unit
def test_another_thread_does_not_enter_a_held_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANUAL_LOCK_WAIT", "0")  # refused at once: the lock's wait is the process's
    held, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def first() -> None:
        with repository_lock(tmp_path, "first"):
            with repository_lock(tmp_path, "nested"):  # the same thread re-enters
                held.set()
                release.wait(timeout=30)

    def second() -> None:
        try:
            with repository_lock(tmp_path, "second"):
                outcome.append("entered")
        except ManualError as e:
            outcome.append(e.diagnostics[0].code)

    a = threading.Thread(target=first)
    a.start()
    assert held.wait(timeout=30)
    b = threading.Thread(target=second)
    b.start()
    b.join(timeout=30)
    release.set()
    a.join(timeout=30)
    assert outcome == ["MAN760"]
    with repository_lock(tmp_path, "after"):  # released at the end
        pass
