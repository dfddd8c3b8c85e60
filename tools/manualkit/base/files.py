"""Reading a file that a user names (or that a repository holds), bounded in size and kind.

Only regular files are read. A device (``/dev/zero``), a FIFO, a socket or a folder is refused at
once with MAN768, before a single byte is read: the file is opened non-blocking (opening a FIFO
never waits for a writer) and its kind is taken from ``fstat`` of the opened file, so a symlink
or a rename cannot swap the checked file for another. At most ``limit`` bytes are read; a larger
file is refused (MAN004), never read whole. With ``follow=False`` a symbolic link is not followed
either (``O_NOFOLLOW``), for the files a cache keeps in a folder of its own. The same read raises
OSError instead (:func:`read_for_cache`) for a cache, which ignores what it cannot read.
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


class NotRegular(OSError):
    """The path is a device, FIFO, socket or folder (``mode`` says which), not a regular file."""

    def __init__(self, mode: int, path: Path | str) -> None:
        super().__init__(errno.EINVAL, "not a regular file", str(path))
        self.mode = mode


class TooLarge(OSError):
    """The file holds more than the limit (said by its size, or found while reading it)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(errno.EFBIG, "too large", str(path))


def _open_regular(path: Path | str, follow: bool) -> tuple[int, os.stat_result]:
    """An open descriptor of the regular file at ``path`` and its status, else OSError
    (:class:`NotRegular`; ``ELOOP`` for a symbolic link when not ``follow``)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(info.st_mode, path)
    except OSError:
        os.close(fd)
        raise
    return fd, info


def read_for_cache(path: Path | str, limit: int, *, follow: bool = True) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``), else OSError: the face for
    caches, which ignore what they cannot read. ``follow=False`` follows no symbolic link at
    ``path`` itself (``O_NOFOLLOW``: ``ELOOP``). A file over ``limit`` is refused from its size
    before a byte is read, or when it turns out longer than its size said (it grew, or ``/proc``):
    :class:`TooLarge`; a device, FIFO, socket or folder: :class:`NotRegular`."""
    fd, info = _open_regular(path, follow)
    try:
        if info.st_size > limit:
            raise TooLarge(path)
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
            raise TooLarge(path)
        return b"".join(parts)
    finally:
        os.close(fd)


def _refusal(where: str, exc: OSError, limit: int) -> ManualError:
    """The one diagnostic for a file that could not be read."""
    if isinstance(exc, TooLarge):
        return _too_large(where, limit)
    if isinstance(exc, NotRegular):
        kind = KIND_NAMES.get(stat.S_IFMT(exc.mode), "特殊文件")
        return fail(where, 0, 0, "MAN768", f"这是{kind}，不是普通文件，拒绝读取；请指定普通文件")
    if exc.errno in (errno.ENXIO, errno.ENODEV):  # a FIFO without a writer, a device
        return fail(where, 0, 0, "MAN768", "不是普通文件（设备、FIFO 或套接字），拒绝读取；请指定普通文件")
    if exc.errno == errno.ELOOP:  # only when not following: O_NOFOLLOW met a symbolic link
        return fail(where, 0, 0, "MAN768", "这是符号链接，不是普通文件，拒绝读取；请指定普通文件")
    return fail(where, 0, 0, "MAN766", f"无法读取文件：{exc.strerror}；请检查路径和权限")


def peek_regular(path: Path | str, size: int, shown: str | None = None) -> bytes:
    """The first ``size`` bytes of the regular file at ``path`` (to tell its kind); else a ManualError."""
    where = shown if shown is not None else str(path)
    try:
        fd, _ = _open_regular(path, True)
        try:
            return os.read(fd, size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _refusal(where, exc, size) from None


def read_regular(path: Path | str, limit: int, shown: str | None = None, *, follow: bool = True) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``); else a ManualError at ``shown``
    (MAN768 not a regular file, or with ``follow=False`` a symbolic link; MAN004 too large; MAN766
    unreadable). :func:`read_for_cache` is the same read for a caller that ignores failures."""
    where = shown if shown is not None else str(path)
    try:
        return read_for_cache(path, limit, follow=follow)
    except OSError as exc:
        raise _refusal(where, exc, limit) from None


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
