"""Bytes of a text file as UTF-8: the one place where the bad-UTF-8 finding (MAN001) is written.

The manual's chapters, ``manual.yml``, every record under ``changelog/``, the working-day calendar,
the contacts and the obligations map are all UTF-8; each reader decodes through
:func:`decode_utf8`, so a file that is not says the same thing wherever it is read, at the line
and column of its first bad byte (tests/test_one_utf8_message.py holds every other module to it).
"""

from __future__ import annotations

from manualkit.base.diagnostics import Diagnostic, diagnostic

MESSAGE = "文件不是有效的 UTF-8 编码；请以 UTF-8（不带 BOM）重新保存该文件"


def decode_utf8(path: str, data: bytes) -> tuple[str | None, list[Diagnostic]]:
    """``data`` (the file at ``path``) as text: ``(text, [])``, or ``(None, [MAN001])`` at the
    line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [diagnostic(path, line, col, "MAN001", MESSAGE)]
