"""Writing files atomically: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename. Only a regular file (or a symlink, which is
    replaced, never followed) is ever replaced: ``-o /dev/null`` run as root must not turn a device
    into a file, nor ``-o`` a FIFO or a folder (MAN768)."""
    _refuse_special(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # imported on first write: most commands only read

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: Path) -> None:
    """Raise the :class:`OSError` a write in ``folder`` would meet, before the work that precedes
    the write: a build, a PDF or numbered copies take seconds, and a read-only or misnamed output
    folder must not cost that wait. ``folder`` need not exist yet; then the nearest folder above it
    that exists must let it be made. Nothing is created here, and the write itself still reports
    what this cannot foresee (a full disk)."""
    import errno

    probe = folder
    while not os.path.lexists(probe) and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(probe))
    if os.statvfs(probe).f_flag & os.ST_RDONLY:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(probe))


def _refuse_special(path: Path) -> None:
    import stat

    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return  # nothing there yet (or the write itself will say why)
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        from manualkit.base.diagnostics import fail
        from manualkit.base.files import KIND_NAMES

        kind = KIND_NAMES.get(stat.S_IFMT(mode), "特殊文件")
        raise fail(str(path), 0, 0, "MAN768", f"目标是{kind}，不是普通文件，不会被替换；请指定一个普通文件的路径")
