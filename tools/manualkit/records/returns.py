"""Returns (退回, 8.2 三 4): the record kind ``manual-return/1``.

``changelog/returns/<CR>.yml``, written once by ``manual return`` (or at the desk, signed with
WebAuthn: records/webauthn_return.py): the approver of the role the request waits for returns it
with a reason; the request can no longer be signed or released. Declared in the record registry
(records/signed.py), which reads and writes it; verified here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records import signed
from manualkit.records.signed import SignedRecord, load_signed, signature_valid

if TYPE_CHECKING:
    from manualkit.records.policy import Policy
    from manualkit.records.revocation import Revocation

RETURNS_DIR = "changelog/returns"

KIND = signed.register(
    signed.RecordKind(
        "manual-return/1", RETURNS_DIR, "退回记录",
        fields=("change_request", "role", "by", "returned_at", "reason", "digest"),
        code="MAN802", codes=("MAN900",),
    )
)  # fmt: skip


def return_path(cr_id: str) -> str:
    return f"{RETURNS_DIR}/{cr_id}.yml"


def verified_returns(
    contents: Mapping[str, bytes],
    policy: Policy,
    document_number: str,
    requests: Iterable[str],
    revocations: Sequence[Revocation] = (),
) -> tuple[dict[str, SignedRecord], list[Diagnostic]]:
    """The valid returns by change request id, and a MAN802 for each invalid one."""
    records, problems = load_signed(contents, RETURNS_DIR, "manual-return/1")
    known = set(requests)
    valid: dict[str, SignedRecord] = {}
    for r in records:
        approver = policy.approver(r.fields["by"])
        if r.fields["change_request"] not in known or r.path != return_path(r.fields["change_request"]):
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN802", f"退回记录所指的修订申请单 {r.fields['change_request'][:40]} 不存在或与文件名不符"
                )
            )
        elif not signature_valid(r, policy, document_number, None, revocations, r.fields["returned_at"]):
            problems.append(diagnostic(r.path, 1, 1, "MAN802", "退回记录的电子签名无效：签名被伪造或记录被改动"))
        elif approver is None or r.fields["role"] not in approver.roles:
            problems.append(diagnostic(r.path, 1, 1, "MAN802", f"{r.name} 无权以“{r.fields['role']}”退回"))
        else:
            valid[r.fields["change_request"]] = r
    return valid, problems
