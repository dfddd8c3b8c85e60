"""Training records (培训记录, 8.4 二, 6.4): the record kind ``manual-training/1``.

``changelog/training/<A-1>-<date>.yml``, written once by ``manual training``: who trained which
departments, when, how many attended and the evidence. Declared in the record registry
(records/signed.py), which reads and writes it; verified here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records import signed
from manualkit.records.signed import load_signed, signature_valid

if TYPE_CHECKING:
    from manualkit.records.policy import Policy
    from manualkit.records.revocation import Revocation

TRAINING_DIR = "changelog/training"

KIND = signed.register(
    signed.RecordKind(
        "manual-training/1", TRAINING_DIR, "培训记录",
        fields=("version", "date", "departments", "attendees", "record", "by", "signed_at"),
        code="MAN816", codes=("MAN854", "MAN817", "MAN818"),
    )
)  # fmt: skip


class Training(NamedTuple):
    version: str
    date: dt.date
    departments: tuple[str, ...]
    attendees: int
    record: str
    by: str
    name: str
    path: str


def verified_training(
    contents: Mapping[str, bytes],
    policy: Policy,
    document_number: str,
    revocations: Sequence[Revocation] = (),
    published: Mapping[str, dt.date] | None = None,
) -> tuple[list[Training], list[Diagnostic]]:
    """The valid training records; MAN816 for a broken or forged one, MAN854 for one dated before
    its version was published (``published``: version → 发布日期), which trains nothing."""
    records, problems = load_signed(contents, TRAINING_DIR, "manual-training/1")
    out: list[Training] = []
    for r in records:
        try:
            day = dt.date.fromisoformat(r.fields["date"])
            attendees = int(r.fields["attendees"])
        except ValueError:
            problems.append(diagnostic(r.path, 1, 1, "MAN816", "培训记录的日期或人数无效"))
            continue
        if not signature_valid(r, policy, document_number, None, revocations, r.fields["signed_at"]):
            problems.append(
                diagnostic(r.path, 1, 1, "MAN816", "培训记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动")
            )
            continue
        released = (published or {}).get(r.fields["version"])
        if released is not None and day < released:
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN854",
                    f"培训记录的日期 {day} 早于 {r.fields['version'][:20]} 版的发布日期 {released}：不能就尚未发布的版本培训，该记录无效",
                )
            )  # fmt: skip
            continue
        departments = tuple(d for d in r.fields["departments"].split("、") if d)
        out.append(
            Training(
                r.fields["version"], day, departments, attendees, r.fields["record"], r.fields["by"], r.name, r.path
            )
        )
    return out, problems
