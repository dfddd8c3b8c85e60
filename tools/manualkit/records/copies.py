"""Controlled copies (受控副本) and their recall (8.1 一, 8.4 三).

``manual distribute`` issues numbered copies of a version: a signed DOCX per copy with its 分发号
on the cover and in every header, and one signed record per copy in
``changelog/copies/<分发号>.yml`` (holder, department, date, the file's SHA-256, who issued it).
``manual recall`` writes a second signed record beside it, ``changelog/copies/<分发号>-recall.yml``
(the day it came back, or with ``--retained`` that it is kept marked 作废留存): every record stays
write-once, and a copy's status (recalled or not) is derived from the recall record, never
stored in the copy. After a version is superseded its copies must be recalled within 5 working
days. The records are read and verified in :mod:`manualkit.records.procedure`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import NamedTuple

COPIES_DIR = "changelog/copies"
RECALL_SUFFIX = "-recall.yml"
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


def recall_path(number: str) -> str:
    return f"{COPIES_DIR}/{number}{RECALL_SUFFIX}"


def next_numbers(copies: Mapping[str, ControlledCopy], version: str, count: int) -> list[str]:
    letter, count_part = version.split("/")
    prefix = f"{letter}-{count_part}-"
    used = [int(n[len(prefix) :]) for n in copies if n.startswith(prefix)]
    start = max(used, default=0) + 1
    return [f"{prefix}{i:03d}" for i in range(start, start + count)]
