"""Approving with a passkey or security key (WebAuthn), as the signing desk does it.

Two steps around the browser: :func:`prepare_approval` fixes what will be signed — the
``manual-approval/1`` text for the request's current content digest, the signer, the time — and
a server nonce; :func:`finish_approval` checks again, under the repository lock, that the request
still has that digest, that the assertion verifies with a credential the registry in force holds
for that signer, and writes the approval through :func:`manualkit.records.approval.append_approval`,
the same writer ``manual approve`` uses. The record is then read like any other approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.records.change_request import Approval
    from manualkit.records.policy import Approver
    from manualkit.records.procedure import SignedRecord
    from manualkit.records.webauthn_signature import Assertion


@dataclass(frozen=True)
class PendingApproval:
    """What a WebAuthn approval will sign; the desk keeps it until the assertion comes back."""

    change_request: str
    role: str
    signer: str
    signed_at: str
    digest: str
    nonce: str
    message: bytes

    @property
    def challenge(self) -> bytes:
        from manualkit.records.webauthn_signature import challenge

        return challenge(self.message, self.nonce)


def prepare_approval(run: Run, cr_id: str, role: str, signer_id: str, nonce: str, *, method: str = "webauthn") -> PendingApproval:
    """The approval ``signer_id`` may make at ``run.now`` (``method``: webauthn or ssh); ManualError
    when the registry in force refuses it."""
    from manualkit.base.diagnostics import fail
    from manualkit.commands.gates import open_request
    from manualkit.records.approval import approvable, registration_hint
    from manualkit.records.change_request import approval_message

    opened = open_request(run.root, cr_id, role)
    approver = opened.judge.approver(signer_id)
    if approver is None:
        raise fail(opened.cr.path, 0, 0, "MAN651", f"签署人 {signer_id} 不在现行签署人名录中。{registration_hint(opened.judge)}")
    if method == "webauthn" and not approver.webauthn:
        raise fail(opened.cr.path, 0, 0, "MAN651", f"签署人 {signer_id} 不在现行签署人名录中，或未登记 WebAuthn 凭据；请先通过 policy 修订申请登记凭据")
    digest = approvable(opened.cr, role, approver, "", "webauthn", opened.manual, opened.judge, run.now, opened.revocations, opened.controlled)
    signed_at = run.now.isoformat(timespec="seconds")
    message = approval_message(opened.manual.metadata.document_number, cr_id, role, approver.id, signed_at, digest)
    return PendingApproval(cr_id, role, approver.id, signed_at, digest, nonce, message)


def finish_approval(run: Run, pending: PendingApproval, assertion: Assertion) -> Approval:
    """Write ``pending`` signed by ``assertion``; nothing is written unless every check passes."""
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.commands.gates import open_request
    from manualkit.records.approval import append_approval, approvable
    from manualkit.records.webauthn_signature import find_credential, verify

    if assertion.nonce != pending.nonce:
        raise fail(pending.change_request, 0, 0, "MAN901", "签名所用的挑战不是签署台为本次签署签发的挑战；请刷新页面后重新签署")
    with repository_lock(run.root, "approve"):
        opened = open_request(run.root, pending.change_request, pending.role)
        approver = opened.judge.approver(pending.signer)
        if approver is None:
            raise fail(opened.cr.path, 0, 0, "MAN651", f"签署人 {pending.signer} 不在现行签署人名录中")
        credential = find_credential(approver.webauthn, assertion.credential_id)
        if credential is None:
            raise fail(opened.cr.path, 0, 0, "MAN903", f"所用的 WebAuthn 凭据不是现行签署人名录中 {approver.name}（{approver.id}）登记的凭据")
        digest = approvable(
            opened.cr, pending.role, approver, credential.credential_id, "webauthn", opened.manual, opened.judge, run.now,
            opened.revocations, opened.controlled,
        )  # fmt: skip
        if digest != pending.digest:
            raise fail(opened.cr.path, 0, 0, "MAN902", f"页面显示之后 {pending.change_request} 的内容已被修改，本次签名所签的不是现在的内容；请刷新页面，阅读修改后的内容再签署")
        if not verify(pending.message, assertion, [credential]):
            raise fail(opened.cr.path, 0, 0, "MAN904", "WebAuthn 签名无效：签名与所签内容、来源或登记的公钥不符；未写入任何记录")
        return append_approval(run.root, opened.cr, pending.role, approver, opened.judge, pending.signed_at, pending.digest, webauthn=assertion)


def finish_ssh_approval(run: Run, pending: PendingApproval, key_path: Path | None) -> Approval:
    """Sign ``pending`` with SSH: ``key_path`` is the signer's private key file (as ``manual
    approve --key`` takes it), or None to sign through ssh-agent with the key the registry holds
    for the signer (``ssh-keygen -Y sign -f <public key>`` asks the agent: the private key never
    reaches the desk). The signature must verify with the registry's key."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="manual-desk-") as tmp:
        return _ssh_approval(run, pending, key_path, Path(tmp))


def _ssh_approval(run: Run, pending: PendingApproval, key_path: Path | None, tmp: Path) -> Approval:
    from manualkit.base import sshsig
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.commands.gates import open_request
    from manualkit.records.approval import append_approval, approvable

    with repository_lock(run.root, "approve"):
        opened = open_request(run.root, pending.change_request, pending.role)
        approver = opened.judge.approver(pending.signer)
        if approver is None:
            raise fail(opened.cr.path, 0, 0, "MAN651", f"签署人 {pending.signer} 不在现行签署人名录中")
        digest = approvable(
            opened.cr, pending.role, approver, approver.public_key, str(key_path or "ssh-agent"), opened.manual, opened.judge, run.now,
            opened.revocations, opened.controlled,
        )  # fmt: skip
        if digest != pending.digest:
            raise fail(opened.cr.path, 0, 0, "MAN902", f"页面显示之后 {pending.change_request} 的内容已被修改，本次签名所签的不是现在的内容；请刷新页面，阅读修改后的内容再签署")
        if key_path is None:
            key_path = tmp / "signer.pub"
            key_path.write_text(approver.public_key + "\n", encoding="ascii")
        signature = sshsig.sign(pending.message, key_path, opened.judge.signing_namespace)
        if not sshsig.verify(pending.message, signature, approver.public_key, opened.judge.signing_namespace):
            raise fail(str(key_path), 0, 0, "MAN905", f"所用的 SSH 密钥不是现行签署人名录中 {approver.name}（{approver.id}）登记的密钥；未写入任何记录")
        return append_approval(run.root, opened.cr, pending.role, approver, opened.judge, pending.signed_at, pending.digest, signature=signature)


# --- returns (退回) signed at the desk -----------------------------------------------------------


@dataclass(frozen=True)
class PendingReturn:
    """What a return made at the desk will sign: the ``manual-return/1`` record without its signature."""

    change_request: str
    role: str
    signer: str
    reason: str
    returned_at: str
    digest: str
    nonce: str
    message: bytes
    fields: tuple[tuple[str, str], ...]

    @property
    def challenge(self) -> bytes:
        from manualkit.records.webauthn_signature import challenge

        return challenge(self.message, self.nonce)

    @property
    def signed_at(self) -> str:
        return self.returned_at


def _return_record(
    run: Run, cr_id: str, role: str, signer_id: str, reason: str, key: str, returned_at: str | None = None
) -> tuple[SignedRecord, Approver]:
    """The unsigned return of ``cr_id`` by ``signer_id`` as ``role``, to be signed with ``key``
    (the SSH key or the WebAuthn credential id; "" when not known yet), after every check
    ``manual return`` makes at ``run.now``; ``returned_at``: the time fixed when the challenge was issued."""
    from manualkit.base.diagnostics import fail
    from manualkit.commands.gates import open_return, return_fields
    from manualkit.records.procedure import SignedRecord, return_path
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(run.root)
    cr, manual, policy, state = open_return(snap, cr_id, role, run.now.date())
    approver = policy.approver(signer_id)
    if approver is None:
        raise fail(cr.path, 0, 0, "MAN651", f"签署人 {signer_id[:40]} 不在现行签署人名录中")
    fields = return_fields(cr, manual, state, role, approver, key, "desk", reason, run.now)
    if returned_at is not None:
        fields["returned_at"] = returned_at
    return SignedRecord(return_path(cr_id), "manual-return/1", fields, approver.name, ""), approver


def prepare_return(
    run: Run, cr_id: str, role: str, signer_id: str, reason: str, nonce: str, *, method: str = "webauthn"
) -> PendingReturn:
    """The return ``signer_id`` may make at ``run.now`` (``method``: webauthn or ssh), with its reason,
    checked as ``manual return`` checks it."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.procedure import clean_text, return_path
    from manualkit.records.repository import worktree_snapshot

    reason = clean_text(reason, "reason")
    approver_now = in_force(run.root, signer_id)
    if method == "webauthn" and approver_now is not None and not approver_now.webauthn:
        raise fail(return_path(cr_id), 0, 0, "MAN651", f"签署人 {signer_id} 未登记 WebAuthn 凭据；请先通过 policy 修订申请登记凭据")
    key = approver_now.public_key if approver_now is not None and method == "ssh" else ""
    record, approver = _return_record(run, cr_id, role, signer_id, reason, key)
    manual, _ = worktree_snapshot(run.root).require()
    message = record.message(manual.metadata.document_number)
    f = record.fields
    return PendingReturn(cr_id, role, approver.id, reason, f["returned_at"], f["digest"], nonce, message, tuple(f.items()))


def _finish_return(run: Run, pending: PendingReturn, key: str) -> tuple[SignedRecord, Approver, bytes, str]:
    from manualkit.base.diagnostics import fail
    from manualkit.records.repository import worktree_snapshot

    record, approver = _return_record(run, pending.change_request, pending.role, pending.signer, pending.reason, key, pending.returned_at)
    if record.fields["digest"] != pending.digest:
        raise fail(record.path, 0, 0, "MAN902", f"页面显示之后 {pending.change_request} 的内容已被修改；请刷新页面，阅读修改后的内容再退回")
    manual, policy = worktree_snapshot(run.root).require()
    message = record.message(manual.metadata.document_number)
    if message != pending.message:
        raise fail(record.path, 0, 0, "MAN902", f"页面显示之后 {pending.change_request} 或签署人名录已被修改；请刷新页面后重新退回")
    if (run.root / record.path).exists():
        raise fail(record.path, 0, 0, "MAN645", "该记录已存在；不会覆盖")
    return record, approver, message, policy.signing_namespace


def in_force(root: Path, signer_id: str) -> Approver | None:
    """``signer_id`` in the registry in force (the latest release's policy): a credential only
    enrolled in the working tree's policy.yml signs nothing until its policy request is released."""
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.trust import judging

    snap = worktree_snapshot(root)
    _, policy = snap.require()
    return judging(root, snap.records, policy).approver(signer_id)


def finish_return(run: Run, pending: PendingReturn, assertion: Assertion) -> SignedRecord:
    """Write the return ``pending`` signed by ``assertion`` (WebAuthn); nothing unless every check passes."""
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.procedure import return_path, write_record
    from manualkit.records.webauthn_signature import find_credential, verify

    if assertion.nonce != pending.nonce:
        raise fail(pending.change_request, 0, 0, "MAN901", "签名所用的挑战不是签署台为本次退回签发的挑战；请刷新页面后重新退回")
    with repository_lock(run.root, "return"):
        approver_now = in_force(run.root, pending.signer)
        if approver_now is None or find_credential(approver_now.webauthn, assertion.credential_id) is None:
            name = approver_now.name if approver_now else pending.signer
            raise fail(return_path(pending.change_request), 0, 0, "MAN903", f"所用的 WebAuthn 凭据不是现行签署人名录中 {name}（{pending.signer}）登记的凭据")
        record, _, message, _ = _finish_return(run, pending, assertion.credential_id)
        if not verify(message, assertion, approver_now.webauthn):
            raise fail(record.path, 0, 0, "MAN904", "WebAuthn 签名无效：签名与所签内容、来源或登记的公钥不符；未写入任何记录")
        return write_record(run.root, record._replace(webauthn=assertion))


def finish_ssh_return(run: Run, pending: PendingReturn, key_path: Path | None) -> SignedRecord:
    """Sign the return ``pending`` with SSH: a key file, or ssh-agent with the registry's key."""
    import tempfile

    from manualkit.base import sshsig
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.procedure import write_record
    from manualkit.records.repository import worktree_snapshot

    with tempfile.TemporaryDirectory(prefix="manual-desk-") as tmp, repository_lock(run.root, "return"):
        approver_now = worktree_snapshot(run.root).require()[1].approver(pending.signer)
        public = approver_now.public_key if approver_now else ""
        record, approver, message, namespace = _finish_return(run, pending, public)
        if key_path is None:
            key_path = Path(tmp) / "signer.pub"
            key_path.write_text(approver.public_key + "\n", encoding="ascii")
        signature = sshsig.sign(message, key_path, namespace)
        if not sshsig.verify(message, signature, approver.public_key, namespace):
            raise fail(str(key_path), 0, 0, "MAN905", f"所用的 SSH 密钥不是现行签署人名录中 {approver.name}（{approver.id}）登记的密钥；未写入任何记录")
        return write_record(run.root, record._replace(signature=signature))


def reappend_approval(root: Path, pending: PendingApproval, approval: Approval) -> None:
    """Write ``approval`` (already signed) again on the request as it is now — after another
    desk's signature on the same request moved the branch — if its role is still unsigned there.
    The caller holds the repository lock."""
    from manualkit.base.diagnostics import fail
    from manualkit.commands.gates import open_request
    from manualkit.records.approval import append_approval

    opened = open_request(root, pending.change_request, pending.role)
    if any(a.role == pending.role for a in opened.cr.approvals):
        raise fail(opened.cr.path, 0, 0, "MAN908", f"“{pending.role}”已由他人在另一签署台签署；本次签名未推送，请刷新页面")
    approver = opened.judge.approver(pending.signer)
    if approver is None:
        raise fail(opened.cr.path, 0, 0, "MAN651", f"签署人 {pending.signer} 不在现行签署人名录中")
    append_approval(
        root, opened.cr, pending.role, approver, opened.judge, approval.signed_at, approval.digest,
        signature=approval.signature, webauthn=approval.webauthn,
    )  # fmt: skip
