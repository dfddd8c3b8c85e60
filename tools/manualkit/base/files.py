"""Reading a file that a user names (or that a repository holds), bounded in size and kind.

Only regular files are read. A device (``/dev/zero``), a FIFO, a socket or a folder is refused at
once with MAN768, before a single byte is read: the file is opened non-blocking (opening a FIFO
never waits for a writer) and its kind is taken from ``fstat`` of the opened file, so a symlink
or a rename cannot swap the checked file for another. At most ``limit`` bytes are read; a larger
file is refused (MAN004), never read whole.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from manualkit.base.diagnostics import ManualError, fail

KIND_NAMES = {
    stat.S_IFCHR: "字符设备",
    stat.S_IFBLK: "块设备",
    stat.S_IFIFO: "FIFO（命名管道）",
    stat.S_IFSOCK: "套接字",
    stat.S_IFDIR: "文件夹",
}


def _open_regular(path: Path | str, where: str) -> tuple[int, os.stat_result]:
    """An open descriptor of the regular file at ``path`` and its status; else a ManualError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENODEV):  # a FIFO without a writer, a device
            raise fail(where, 0, 0, "MAN768", "不是普通文件（设备、FIFO 或套接字），拒绝读取；请指定普通文件") from None
        raise fail(where, 0, 0, "MAN766", f"无法读取文件：{exc.strerror}；请检查路径和权限") from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise fail(where, 0, 0, "MAN766", f"无法读取文件：{exc.strerror}；请检查路径和权限") from None
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = KIND_NAMES.get(stat.S_IFMT(info.st_mode), "特殊文件")
        raise fail(where, 0, 0, "MAN768", f"这是{kind}，不是普通文件，拒绝读取；请指定普通文件")
    return fd, info


def peek_regular(path: Path | str, size: int, shown: str | None = None) -> bytes:
    """The first ``size`` bytes of the regular file at ``path`` (to tell its kind); else a ManualError."""
    fd, _ = _open_regular(path, shown if shown is not None else str(path))
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise fail(shown or str(path), 0, 0, "MAN766", f"无法读取文件：{exc.strerror}；请检查路径和权限") from None
    finally:
        os.close(fd)


def read_regular(path: Path | str, limit: int, shown: str | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``); else a ManualError at ``shown``."""
    where = shown if shown is not None else str(path)
    fd, info = _open_regular(path, where)
    try:
        if info.st_size > limit:
            raise _too_large(where, limit)
        want = min(info.st_size, limit) + 1
        parts: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, want)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            want = min(64 * 1024, limit + 1 - total)
        if total > limit:  # it grew while being read
            raise _too_large(where, limit)
        return b"".join(parts)
    except OSError as exc:
        raise fail(where, 0, 0, "MAN766", f"无法读取文件：{exc.strerror}；请检查路径和权限") from None
    finally:
        os.close(fd)


def _too_large(where: str, limit: int) -> ManualError:
    size = f"{limit // 1024 // 1024} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
    return fail(where, 0, 0, "MAN004", f"文件超过 {size} 的上限，拒绝读取")


def require_regular(path: Path | str, shown: str | None = None) -> None:
    """Refuse at once (MAN768) a path that exists but is not a regular file; a missing path passes."""
    where = shown if shown is not None else str(path)
    try:
        info = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode):
        kind = KIND_NAMES.get(stat.S_IFMT(info.st_mode), "特殊文件")
        raise fail(where, 0, 0, "MAN768", f"这是{kind}，不是普通文件，拒绝读取；请指定普通文件")
