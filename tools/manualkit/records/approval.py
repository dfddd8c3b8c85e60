"""Approvals as electronic signatures (《电子签名法》第十三条).

Each approval is an OpenSSH signature, by the approver's own key, over a short message naming
the document, the change request, the role, the signer, the time and the digest of exactly what
is approved. :func:`approval_findings` re-checks all of it: a changed text voids the approval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.base import sshsig, yamlfile
from manualkit.base.atomic import write_atomic
from manualkit.base.diagnostics import Diagnostic, ManualError, Severity, diagnostic, fail, has_errors
from manualkit.records import signed
from manualkit.records.change_request import (
    Approval,
    ChangeRequest,
    approval_digest,
    approval_message,
    content_findings,
)
from manualkit.records.policy import Approver, Policy, key_identity, registration_hint
from manualkit.records.revocation import committed_later
from manualkit.records.signed import approver_for_key
from manualkit.text.manual import Manual

__all__ = ["registration_hint"]  # MAN651's hint lives beside the registry (records/policy.py)

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.records.revocation import Revocation
    from manualkit.records.webauthn_signature import Assertion


@dataclass(frozen=True)
class ApprovalCheck:
    approval: Approval
    signature_valid: bool
    current: bool  # digest equals the digest of the content now
    holds_role: bool
    known_signer: bool
    revoked: Revocation | None = None  # the signer's key was revoked (8.2 四)
    after_revocation: bool = False  # ... and this signature was made after that

    @property
    def valid(self) -> bool:
        return self.signature_valid and self.current and self.holds_role and self.known_signer and not self.after_revocation


def check_approval(
    cr: ChangeRequest, approval: Approval, manual: Manual, policy: Policy, digest: str | None = None, revocations: Sequence[Revocation] = ()
) -> ApprovalCheck:
    approver = policy.approver(approval.signer)
    message = approval_message(manual.metadata.document_number, cr.id, approval.role, approval.signer, approval.signed_at, approval.digest)
    # The name and the meaning are not part of the signed message, yet records and sign-off
    # pages print them: they are derived (the registry's name of the signer, the policy's meaning
    # of the role), and a stored value that differs means the record was altered after signing.
    signature_valid = (
        approver is not None
        and approval.name == approver.name
        and meaning_derived(approval, policy)
        and signed_by(message, approval, approver, policy)
    )
    current = approval.digest == (digest or approval_digest(cr, manual))
    check = ApprovalCheck(approval, signature_valid, current, approver is not None and approval.role in approver.roles, approver is not None)
    if revocations and approver is not None and signature_valid:
        from manualkit.records.revocation import revoked_at, signed_after_revocation

        revoked_key = approval.webauthn.credential_id if approval.webauthn else approver.public_key
        signature = approval.webauthn.signature if approval.webauthn else approval.signature
        revocation = revoked_at(revocations, approver.id, revoked_key)
        check = replace(check, revoked=revocation, after_revocation=bool(signed_after_revocation(revocation, approval.signed_at, signature)))
    return check


def meaning_derived(approval: Approval, policy: Policy) -> bool:
    """The approval's 签署含义 is the judge policy's meaning of its role (derived, never trusted as written)."""
    role = policy.roles.get(approval.role)
    return role is None or approval.meaning == role.meaning


def signed_by(message: bytes, approval: Approval, approver: Approver, policy: Policy) -> bool:
    """The approval's signature (SSH, or WebAuthn made at the desk) verifies with ``approver``'s registered key."""
    if approval.webauthn is not None:
        from manualkit.records.webauthn_signature import verify

        return verify(message, approval.webauthn, approver.webauthn)
    return sshsig.verify(message, approval.signature, approver.public_key, policy.signing_namespace)


def missing_roles(cr: ChangeRequest, checks: list[ApprovalCheck], policy: Policy) -> list[str]:
    change_class = policy.change_class(cr.class_key)
    required = change_class.roles if change_class else ()
    signed = {c.approval.role for c in checks if c.valid}
    return [r for r in required if r not in signed]


def approval_findings(
    cr: ChangeRequest,
    manual: Manual,
    policy: Policy,
    revocations: Sequence[Revocation] = (),
    controlled: Mapping[str, str] | None = None,
) -> tuple[list[ApprovalCheck], list[Diagnostic]]:
    """Check every approval of ``cr`` against ``manual`` (the text it should approve) and, for a
    request listing ``policy`` / ``certs``, the digests of those files (``controlled``); an approval
    made with a key after its revocation (``revocations``) is invalid (MAN812).

    ``policy`` is the policy in force before the request (records.trust), never the one it brings.
    Signers are told apart by their registered key, not by their id (one person, one key).
    """
    digest = approval_digest(cr, manual, controlled)
    checks = [check_approval(cr, a, manual, policy, digest, revocations) for a in cr.approvals]
    out: list[Diagnostic] = []
    signers: dict[str, str] = {}  # the signer's key (or id when unknown) → the role signed
    roles: set[str] = set()
    change_class = policy.change_class(cr.class_key)
    for c in checks:
        a = c.approval
        if not c.known_signer:
            out.append(diagnostic(cr.path, a.line, 1, "MAN651", f"签署人 {a.signer} 不在 policy.yml 的签署人名录中"))
        elif not c.signature_valid and not meaning_derived(a, policy):
            meaning = policy.roles[a.role].meaning
            out.append(diagnostic(cr.path, a.line, 1, "MAN850", f"{a.role}签署（{a.name}）的签署含义“{a.meaning[:60]}”不是修订政策中该角色的含义“{meaning}”：签署记录在签署后被改动，该签署无效"))
        elif not c.signature_valid:
            out.append(diagnostic(cr.path, a.line, 1, "MAN650", f"{a.role}签署（{a.name}）的电子签名无效：签名被伪造、复用或签署记录被改动"))
        if c.known_signer and not c.holds_role:
            out.append(diagnostic(cr.path, a.line, 1, "MAN652", f"{a.name}（{a.signer}）在签署人名录中无权签署“{a.role}”"))
        if c.after_revocation and c.revoked is not None and committed_later(c.revoked, a.signature):
            out.append(
                diagnostic(
                    cr.path, a.line, 1, "MAN852",
                    f"{a.role}签署（{a.name}）所用密钥已由 {c.revoked.path} 停用，而该签署是在停用记录提交之后才加入的：所称签署时间 {a.signed_at} 不可信，该签署无效；请用新登记的密钥重新签署",
                )
            )  # fmt: skip
        elif c.after_revocation and c.revoked is not None:
            out.append(
                diagnostic(
                    cr.path, a.line, 1, "MAN812",
                    f"{a.role}签署（{a.name}）时间 {a.signed_at} 晚于其密钥的停用时间 {c.revoked.at.isoformat()}（{c.revoked.path}），该签署无效；请用新登记的密钥重新签署",
                )
            )  # fmt: skip
        if c.signature_valid and not c.current:
            out.append(
                diagnostic(cr.path, a.line, 1, "MAN655", f"{a.role}签署（{a.name}）之后，申请单或所涉章节的内容已被修改，该签署作废；请重新签署")
            )
        approver = policy.approver(a.signer)
        person = key_identity(approver.public_key) if approver else a.signer
        if person in signers and signers[person] != a.role:
            out.append(diagnostic(cr.path, a.line, 1, "MAN654", f"{a.name} 已签署“{signers[person]}”，同一人不得在同一申请单上签署两个角色"))
        signers.setdefault(person, a.role)
        if a.role in roles:
            out.append(diagnostic(cr.path, a.line, 1, "MAN656", f"“{a.role}”已有签署，同一角色只能签署一次"))
        roles.add(a.role)
        if change_class is not None and a.role not in change_class.roles:
            out.append(diagnostic(cr.path, a.line, 1, "MAN653", f"{change_class.name}不需要“{a.role}”签署"))
    return checks, out


def _approver_for_key(policy: Policy, key_path: Path) -> Approver:
    """The signer of the registry in force owning the key (records/signed.approver_for_key)."""
    return approver_for_key(policy, key_path)


def approve(
    run: Run,
    cr: ChangeRequest,
    role: str,
    key_path: Path,
    manual: Manual,
    policy: Policy,
    revocations: Sequence[Revocation] = (),
    controlled: Mapping[str, str] | None = None,
) -> Approval:
    """Sign ``cr`` in ``role`` with the key at ``key_path`` at ``run.now`` and append the
    approval to its file.

    ``policy`` is the policy in force (the last release's): who may sign is decided by it."""
    root, now = run.root, run.now
    approver = _approver_for_key(policy, key_path)
    digest = approvable(cr, role, approver, approver.public_key, str(key_path), manual, policy, now, revocations, controlled)
    signed_at = now.isoformat(timespec="seconds")
    message = approval_message(manual.metadata.document_number, cr.id, role, approver.id, signed_at, digest)
    signature = sshsig.sign(message, key_path, policy.signing_namespace)
    return append_approval(root, cr, role, approver, policy, signed_at, digest, signature=signature)


def approvable(
    cr: ChangeRequest,
    role: str,
    approver: Approver,
    key: str,
    where: str,
    manual: Manual,
    policy: Policy,
    now: dt.datetime,
    revocations: Sequence[Revocation] = (),
    controlled: Mapping[str, str] | None = None,
) -> str:
    """The digest ``approver`` signs when approving ``cr`` in ``role`` now with ``key`` (an SSH
    key line, or a WebAuthn credential id); ManualError when the policy in force refuses it."""
    change_class = policy.change_class(cr.class_key)
    if change_class is None or role not in change_class.roles:
        roles = "、".join(change_class.roles) if change_class else ""
        raise fail(cr.path, 0, 0, "MAN653", f"该申请单的修订类别只需要以下签署：{roles}；不能签署“{role}”")
    problems = content_findings(cr, manual, policy)
    if has_errors(problems):
        raise ManualError([d for d in problems if d.severity is Severity.ERROR])
    if role not in approver.roles:
        raise fail(cr.path, 0, 0, "MAN652", f"{approver.name}（{approver.id}）在签署人名录中无权签署“{role}”")
    if revocations:
        from manualkit.records.revocation import revoked_at

        revocation = revoked_at(revocations, approver.id, key)
        if revocation is not None and now >= revocation.at:
            raise fail(where, 0, 0, "MAN812", f"{approver.name} 的该密钥已于 {revocation.at.isoformat()} 停用（{revocation.path}）；请先在签署人名录中登记新密钥")
    checks, _ = approval_findings(cr, manual, policy, revocations, controlled)
    for c in checks:
        if c.approval.signer == approver.id and c.approval.role != role:
            raise fail(cr.path, c.approval.line, 1, "MAN654", f"{approver.name} 已签署“{c.approval.role}”，同一人不得在同一申请单上签署两个角色")
        if c.approval.role == role and c.valid:
            raise fail(cr.path, c.approval.line, 1, "MAN656", f"“{role}”已由 {c.approval.name} 有效签署")
    return approval_digest(cr, manual, controlled)


def append_approval(
    root: Path,
    cr: ChangeRequest,
    role: str,
    approver: Approver,
    policy: Policy,
    signed_at: str,
    digest: str,
    *,
    signature: str = "",
    webauthn: Assertion | None = None,
) -> Approval:
    """Append one signed approval (an SSH ``signature`` or a WebAuthn assertion) to ``cr``'s file."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    data, problems = signed.parse_for_edit(cr.path, cr.raw.decode("utf-8"))
    if problems or not isinstance(data, dict):
        raise ManualError(problems or [diagnostic(cr.path, 1, 1, "MAN104", "修订申请单应为键值映射")])
    entry = CommentedMap()
    entry["role"] = role
    entry["signer"] = approver.id
    entry["name"] = approver.name
    entry["meaning"] = policy.roles[role].meaning
    entry["signed_at"] = signed_at
    entry["digest"] = digest
    if webauthn is not None:
        entry["webauthn"] = CommentedMap(webauthn.as_dict())
    else:
        entry["signature"] = LiteralScalarString(signature + "\n")
    # Void approvals of this role are replaced; everything else stays byte-identical.
    kept = [a for a in data["approvals"] if a["role"] != role]
    approvals = data["approvals"]
    if not isinstance(approvals, CommentedSeq) or approvals.fa.flow_style():
        block = CommentedSeq(kept)
        data["approvals"] = block
        approvals = block
    else:
        for item in [a for a in approvals if a["role"] == role]:
            approvals.remove(item)
    approvals.append(entry)
    write_atomic(root / cr.path, yamlfile.dump(data))
    return Approval(role, approver.id, approver.name, entry["meaning"], signed_at, digest, signature, 0, webauthn)
