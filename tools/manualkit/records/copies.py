"""Controlled copies (受控副本) and their recall (8.1 一, 8.4 三).

``manual distribute`` issues numbered copies of a version: a signed DOCX per copy with its 分发号
on the cover and in every header, and one signed record per copy in
``changelog/copies/<分发号>.yml`` (holder, department, date, the file's SHA-256, who issued it).
``manual recall`` writes a second signed record beside it, ``changelog/copies/<分发号>-recall.yml``
(the day it came back, or with ``--retained`` that it is kept marked 作废留存): every record stays
write-once, and a copy's status (recalled or not) is derived from the recall record, never
stored in the copy. After a version is superseded its copies must be recalled within 5 working
days. Both kinds are declared in the record registry (records/signed.py), which reads and writes
them; they are verified here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records import signed
from manualkit.records.signed import load_signed, signature_valid

if TYPE_CHECKING:
    from manualkit.records.policy import Policy
    from manualkit.records.revocation import Revocation

COPIES_DIR = "changelog/copies"
RECALL_SUFFIX = "-recall.yml"
NUMBER_RE = re.compile(r"^([A-Z])-(\d{1,3})-(\d{3})$")  # A-1-001: version A/1, copy 1
COPY_KIND, RECALL_KIND = "manual-controlled-copy/1", "manual-copy-recall/1"

COPY = signed.register(
    signed.RecordKind(
        COPY_KIND, COPIES_DIR, "受控副本分发记录",
        fields=("number", "version", "holder", "department", "issued", "file", "sha256", "by", "signed_at"),
        excludes=(RECALL_SUFFIX,), code="MAN855", codes=("MAN823",),
    )
)  # fmt: skip
RECALL = signed.register(
    signed.RecordKind(
        RECALL_KIND, COPIES_DIR, "受控副本回收记录",
        fields=("number", "recalled", "retained", "by", "signed_at"), suffix=RECALL_SUFFIX, code="MAN855", codes=("MAN825",),
    )
)  # fmt: skip


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


def verified_copies(
    contents: Mapping[str, bytes], policy: Policy, document_number: str, revocations: Sequence[Revocation] = ()
) -> tuple[dict[str, ControlledCopy], list[Diagnostic]]:
    """The valid copy records by 分发号, each with its status derived from its valid recall
    record (records.copies); MAN855 for a record that is forged, altered or misplaced, MAN825 for
    a recall dated before the copy was issued. An invalid record issues or recalls nothing."""
    records, problems = load_signed(contents, COPIES_DIR, COPY_KIND)
    recalls, more = load_signed(contents, COPIES_DIR, RECALL_KIND)
    problems += more
    copies: dict[str, ControlledCopy] = {}
    for r in records:
        number = r.fields["number"]
        try:
            day = dt.date.fromisoformat(r.fields["issued"])
        except ValueError:
            day = None
        if r.path != copy_path(number) or not NUMBER_RE.match(number) or day is None:
            problems.append(diagnostic(r.path, 1, 1, "MAN855", f"受控副本分发记录的分发号 {number[:30]!r} 或分发日期无效，或与文件名不符"))
        elif not signature_valid(r, policy, document_number, None, revocations, r.fields["signed_at"]):
            problems.append(diagnostic(r.path, 1, 1, "MAN855", "受控副本分发记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动（领用人、部门等）"))
        else:
            f = r.fields
            copies[number] = ControlledCopy(number, f["version"], f["holder"], f["department"], day, f["file"], f["sha256"], None, False, r.path)
    for r in recalls:
        number = r.fields["number"]
        copy = copies.get(number)
        try:
            day = dt.date.fromisoformat(r.fields["recalled"])
        except ValueError:
            day = None
        if r.path != recall_path(number) or copy is None or day is None or r.fields["retained"] not in ("true", "false"):
            problems.append(diagnostic(r.path, 1, 1, "MAN855", f"受控副本回收记录所指的分发号 {number[:30]!r} 没有有效的分发记录，或回收日期、作废留存标记无效"))
        elif not signature_valid(r, policy, document_number, None, revocations, r.fields["signed_at"]):
            problems.append(diagnostic(r.path, 1, 1, "MAN855", "受控副本回收记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动"))
        elif day < copy.issued:
            problems.append(diagnostic(r.path, 1, 1, "MAN825", f"受控副本 {number} 的回收日期 {day} 早于分发日期 {copy.issued}"))
        else:
            copies[number] = copy._replace(recalled=day, retained=r.fields["retained"] == "true")
    return copies, problems
