"""Controlled copies (受控副本) and their recall (8.1 一, 8.4 三).

``manual distribute`` issues numbered copies of a version: a signed DOCX per copy with its 分发号
on the cover and in every header, and one record per copy in ``changelog/copies/<分发号>.yml``
(holder, department, date, the file's SHA-256). ``manual recall`` records the copy's return, or
with ``--retained`` that it is kept marked 作废留存. After a version is superseded its copies must
be recalled within 5 working days.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.base.yamlfile import quoted

COPIES_DIR = "changelog/copies"
NUMBER_RE = re.compile(r"^([A-Z])-(\d{1,3})-(\d{3})$")  # A-1-001: version A/1, copy 1


class ControlledCopy(NamedTuple):
    number: str
    version: str
    holder: str
    department: str
    issued: dt.date
    file: str
    sha256: str
    recalled: dt.date | None
    retained: bool
    path: str

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number, "version": self.version, "holder": self.holder, "department": self.department,
            "issued": self.issued.isoformat(), "file": self.file, "sha256": self.sha256,
            "recalled": self.recalled.isoformat() if self.recalled else None, "retained": self.retained,
        }  # fmt: skip


def copy_path(number: str) -> str:
    return f"{COPIES_DIR}/{number}.yml"


def next_numbers(copies: Mapping[str, ControlledCopy], version: str, count: int) -> list[str]:
    letter, count_part = version.split("/")
    prefix = f"{letter}-{count_part}-"
    used = [int(n[len(prefix) :]) for n in copies if n.startswith(prefix)]
    start = max(used, default=0) + 1
    return [f"{prefix}{i:03d}" for i in range(start, start + count)]


def copy_text(c: ControlledCopy) -> str:

    lines = [
        "# 受控副本分发记录: written by `manual distribute` / `manual recall`; never edit by hand.",
        f"number: {quoted(c.number)}",
        f"version: {quoted(c.version)}",
        f"holder: {quoted(c.holder)}",
        f"department: {quoted(c.department)}",
        f"issued: {c.issued.isoformat()}",
        f"file: {quoted(c.file)}",
        f"sha256: {quoted(c.sha256)}",
        f"recalled: {c.recalled.isoformat() if c.recalled else 'null'}",
        f"retained: {'true' if c.retained else 'false'}",
    ]
    return "\n".join(lines) + "\n"


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return None


def load_copies(contents: Mapping[str, bytes]) -> tuple[dict[str, ControlledCopy], list[Diagnostic]]:
    copies: dict[str, ControlledCopy] = {}
    problems: list[Diagnostic] = []
    for path in sorted(contents):
        if not (path.startswith(COPIES_DIR + "/") and path.endswith(".yml")):
            continue
        try:
            data, more = yamlfile.parse(contents[path].decode("utf-8"), path)
        except UnicodeDecodeError:
            problems.append(diagnostic(path, 0, 0, "MAN001", "文件不是有效的 UTF-8 编码"))
            continue
        if more:
            problems += more
            continue
        strings = ("number", "version", "holder", "department", "file", "sha256")
        if not isinstance(data, Mapping) or any(not isinstance(data.get(k), str) for k in strings):
            problems.append(
                diagnostic(path, 1, 1, "MAN824", f"受控副本记录应包含 {'、'.join(strings)}、issued、recalled、retained")
            )
            continue
        issued, recalled = _day(data.get("issued")), _day(data.get("recalled"))
        number = str(data["number"])
        if (
            issued is None
            or (data.get("recalled") is not None and recalled is None)
            or not isinstance(data.get("retained"), bool)
        ):
            problems.append(
                diagnostic(
                    path,
                    1,
                    1,
                    "MAN824",
                    "受控副本记录的 issued、recalled 应为日期（recalled 未回收时为 null），retained 为 true/false",
                )
            )
            continue
        if path != copy_path(number) or not NUMBER_RE.match(number):
            problems.append(diagnostic(path, 1, 1, "MAN824", f"分发号 {number[:30]!r} 无效或与文件名不符"))
            continue
        if recalled is not None and recalled < issued:
            problems.append(
                diagnostic(path, 1, 1, "MAN825", f"受控副本 {number} 的回收日期 {recalled} 早于分发日期 {issued}")
            )
        copies[number] = ControlledCopy(
            number, str(data["version"]), str(data["holder"]), str(data["department"]), issued,
            str(data["file"]), str(data["sha256"]), recalled, bool(data["retained"]), path,
        )  # fmt: skip
    return copies, problems
