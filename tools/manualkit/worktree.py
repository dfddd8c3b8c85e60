"""Reading the manual from the working tree, with every file bounded in size.

Git trees are read by :mod:`manualkit.git`; both produce a :class:`ManualFiles`.
"""

from __future__ import annotations

import os
from pathlib import Path

from manualkit.diagnostics import Diagnostic, diagnostic
from manualkit.manual import MANUAL_DIR, ManualFiles

MAX_FILE_BYTES = 1024 * 1024  # a chapter is ~10 KB; anything past 1 MiB is a mistake or an attack
MAX_FILES = 5000


def read_manual_files(root: Path) -> ManualFiles:
    """Everything under ``root/manual``: text files read (bounded), every name listed."""
    base = root / MANUAL_DIR
    contents: dict[str, bytes] = {}
    names: set[str] = set()
    problems: list[Diagnostic] = []
    real_root = root.resolve()
    if not base.is_dir():
        return ManualFiles({}, frozenset(), ())
    stack = [base]
    while stack and len(names) < MAX_FILES:
        directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = Path(entry.path).relative_to(root).as_posix()
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not target.is_relative_to(real_root) or not target.is_file():
                        problems.append(
                            diagnostic(rel, 0, 0, "MAN005", "该文件是指向仓库之外（或非普通文件）的符号链接；请改为普通文件")
                        )
                        names.add(rel)
                        continue
                if entry.is_dir():
                    stack.append(Path(entry.path))
                    continue
                names.add(rel)
                if not entry.name.endswith((".md", ".yml", ".yaml")):
                    continue
                data, problem = read_bounded(Path(entry.path), rel)
                if problem is not None:
                    problems.append(problem)
                elif data is not None:
                    contents[rel] = data
    return ManualFiles(contents, frozenset(names), tuple(problems))


def read_bounded(path: Path, rel: str, limit: int = MAX_FILE_BYTES) -> tuple[bytes | None, Diagnostic | None]:
    """Read at most ``limit`` bytes; a larger file is refused with MAN004, not read whole."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        return None, diagnostic(rel, 0, 0, "MAN004", f"无法读取文件：{exc.strerror}")
    if len(data) > limit:
        return None, diagnostic(rel, 0, 0, "MAN004", f"文件超过 {limit // 1024} KiB 的上限；请拆分或删除")
    return data, None


def read_dir_files(root: Path, prefix: str, suffixes: tuple[str, ...] = (".yml", ".yaml")) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """Text files below ``root/prefix`` (bounded), keyed by repository-relative path."""
    contents: dict[str, bytes] = {}
    problems: list[Diagnostic] = []
    base = root / prefix
    if not base.is_dir():
        return contents, problems
    for path in sorted(base.rglob("*")):
        if len(contents) >= MAX_FILES:
            break
        rel = path.relative_to(root).as_posix()
        if path.name.startswith(".") or not path.name.endswith(suffixes):
            continue
        if path.is_symlink():
            problems.append(diagnostic(rel, 0, 0, "MAN005", "记录文件不能是符号链接"))
            continue
        if not path.is_file():
            continue
        data, problem = read_bounded(path, rel)
        if problem is not None:
            problems.append(problem)
        elif data is not None:
            contents[rel] = data
    return contents, problems
