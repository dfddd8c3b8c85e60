"""The ledger of reminders sent (``manual remind --send``): what went to whom, for which rung, by
which channel, so that nothing is sent twice.

It is not a controlled record and never lives under ``changelog/``: it is operational state of the
machine that sends, in ``<git common dir>/manualkit/reminders.jsonl`` (kept between the daily
runs of a CI job by its cache) or, with ``MANUAL_REMIND_LEDGER=<folder>``, in
``<folder>/reminders.jsonl`` (a company server's persistent folder). One JSON object a line::

    {"action": "request/CR-2026-003/审核/2026-09-28", "recipient": "li.na", "rung": "overdue-4",
     "channel": "mail", "status": "sent", "at": "2026-10-15T09:00:02+08:00"}

A failed send is written with ``"status": "failed"`` and its code and reason, for the record; only
``sent`` lines count, so it is tried again on the next run. A run holds the ledger's lock
(``reminders.lock`` beside it, ``flock``) from reading the ledger to its last line, so a second run
at the same time waits and then sends only what the first did not. Each line is appended with
one write and flushed to disk before the next message goes out; a line torn by a crash is cut off
when the ledger is next opened (the message it would have recorded is the only one that can go
out twice).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.base.diagnostics import fail

if TYPE_CHECKING:
    from manualkit.base.run import Run

LEDGER_NAME = "reminders.jsonl"
MAX_LEDGER_BYTES = 64 * 1024 * 1024


class Entry(NamedTuple):
    action: str
    recipient: str
    rung: str
    channel: str

    def as_key(self) -> tuple[str, str, str, str]:
        return (self.action, self.recipient, self.rung, self.channel)


def ledger_path(run: Run) -> Path:
    """The ledger of the run's repository: ``MANUAL_REMIND_LEDGER``'s folder, else in its git dir."""
    folder = run.env.get("MANUAL_REMIND_LEDGER", "").strip()
    if folder:
        return Path(folder) / LEDGER_NAME
    from manualkit.base.lock import lock_path

    return lock_path(run.root).parent / "manualkit" / LEDGER_NAME


def read_sent(path: Path) -> set[tuple[str, str, str, str]]:
    """The (action, recipient, rung, channel) of every line marked sent."""
    try:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise fail(str(path), 0, 0, "MAN947", "提醒台账不是普通文件；请检查该路径")
        if not path.exists():
            return set()
        if path.stat().st_size > MAX_LEDGER_BYTES:
            raise fail(str(path), 0, 0, "MAN947", "提醒台账超过大小上限；请归档后重新开始")
        data = path.read_bytes()
    except OSError as exc:
        raise fail(str(path), 0, 0, "MAN947", f"提醒台账无法读取（{exc.strerror}）") from None
    sent: set[tuple[str, str, str, str]] = set()
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item: Any = json.loads(line)
        except ValueError:
            if number == data.count(b"\n") + 1:
                continue  # the torn last line of a crashed run: cut off when the ledger is next opened
            raise fail(str(path), number, 1, "MAN947", "提醒台账的这一行不是有效的 JSON；请检查或删除该行") from None
        if isinstance(item, dict) and item.get("status") == "sent":
            sent.add((str(item.get("action")), str(item.get("recipient")), str(item.get("rung")), str(item.get("channel"))))
    return sent


class Ledger:
    """The open ledger of one run (inside :func:`open_ledger`)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self.sent = read_sent(path)

    def record(self, entry: Entry, status: str, at: str, **extra: str) -> None:
        line = json.dumps({**entry._asdict(), "status": status, "at": at, **extra}, ensure_ascii=False) + "\n"
        try:
            os.write(self._fd, line.encode("utf-8"))
            os.fsync(self._fd)
        except OSError as exc:
            raise fail(str(self.path), 0, 0, "MAN947", f"提醒台账无法写入（{exc.strerror}）；已发出的这条提醒可能在下次重发") from None
        if status == "sent":
            self.sent.add(entry.as_key())


@contextmanager
def open_ledger(path: Path, wait: float) -> Iterator[Ledger]:
    """Hold the ledger's lock for the ``with`` block (see the module's documentation)."""
    import fcntl
    import time

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise fail(str(path), 0, 0, "MAN947", f"无法创建提醒台账或其锁（{exc.strerror}）；请检查该目录是否存在且可写") from None
    try:
        for attempt in range(int(wait / 0.05) + 1):  # counted in attempts: base/clock owns the time
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt >= int(wait / 0.05):
                    raise fail(str(path), 0, 0, "MAN947", "另一次 manual remind --send 仍在运行，等待后仍未结束；本次未发送任何提醒") from None
                time.sleep(0.05)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise fail(str(path), 0, 0, "MAN947", f"提醒台账无法打开（{exc.strerror}）") from None
        try:
            _cut_torn_line(fd)
            yield Ledger(path, fd)
        finally:
            os.close(fd)
    finally:
        os.close(lock)  # releases the lock


def _cut_torn_line(fd: int) -> None:
    size = os.fstat(fd).st_size
    if not size:
        return
    tail = os.pread(fd, min(size, 1 << 20), max(0, size - (1 << 20)))
    if tail.endswith(b"\n"):
        return
    keep = size - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
    os.ftruncate(fd, keep)
