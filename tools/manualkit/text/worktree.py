"""Reading the manual from the working tree, with every file bounded in size.

Git trees are read by :mod:`manualkit.base.git`; both produce a :class:`ManualFiles`.
"""

from __future__ import annotations

import os
from pathlib import Path

from manualkit.base.diagnostics import Diagnostic, ManualError, diagnostic
from manualkit.base.files import read_regular
from manualkit.text.manual import MANUAL_DIR, ManualFiles

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


def read_bounded(path: Path | str, rel: str, limit: int = MAX_FILE_BYTES) -> tuple[bytes | None, Diagnostic | None]:
    """Read at most ``limit`` bytes of a regular file (base/files); a refusal is returned as a
    diagnostic at ``rel``: MAN004 for a larger file, MAN768 for a device, FIFO or socket."""
    try:
        return read_regular(path, limit, rel), None
    except ManualError as exc:
        return None, exc.diagnostics[0]


def read_dir_files(root: Path, prefix: str, suffixes: tuple[str, ...] = (".yml", ".yaml")) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """Text files below ``root/prefix`` (bounded), keyed by repository-relative path, in path order.

    Hidden files and folders are skipped; a symlink is refused (MAN005), never followed. Walked with
    ``os.scandir`` (one ``stat`` per entry), since a long history keeps a thousand records here.
    """
    contents: dict[str, bytes] = {}
    problems: list[Diagnostic] = []
    found: list[tuple[tuple[str, ...], str]] = []
    stack = [(os.path.join(root, prefix), prefix)]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = f"{rel_dir}/{name}"
            if entry.is_symlink():
                if name.endswith(suffixes):
                    problems.append(diagnostic(rel, 0, 0, "MAN005", "记录文件不能是符号链接"))
            elif entry.is_dir():
                stack.append((entry.path, rel))
            elif name.endswith(suffixes) and entry.is_file():
                found.append((tuple(rel.split("/")), entry.path))
            elif name.endswith(suffixes):  # a FIFO, device or socket named like a record
                problems.append(diagnostic(rel, 0, 0, "MAN768", "记录文件不是普通文件（设备、FIFO 或套接字），拒绝读取；请删除"))
    found.sort()
    for parts, path in found[:MAX_FILES]:
        rel = "/".join(parts)
        data, problem = read_bounded(path, rel)
        if problem is not None:
            problems.append(problem)
        elif data is not None:
            contents[rel] = data
    problems.sort(key=lambda d: d.path)
    return contents, problems
