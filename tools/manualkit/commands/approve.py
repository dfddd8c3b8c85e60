"""``manual approve``: sign a change request in one role with the signer's own SSH key."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.gates import open_request
from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.change_request import Approval
    from manualkit.records.policy import Policy

SIGNER_ID_RE = re.compile(r"[a-z][a-z0-9.-]*")  # as policy.yml declares an approver id


def approve(run: Run, cr_id: str, role: str, key_path: Path) -> Approval:
    """Sign ``cr_id`` in ``role`` with the key at ``key_path``, at ``run.now``, under the lock."""
    from manualkit.base.lock import repository_lock
    from manualkit.records.approval import approve as sign_request

    with repository_lock(run.root, "approve"):
        o = open_request(run.root, cr_id, role)
        return sign_request(run, o.cr, role, key_path, o.manual, o.judge, o.revocations, o.controlled)


def export_approval(root: Path, cr_id: str, role: str, directory: Path) -> tuple[Path, Path, Path, str]:
    """Write what an auditor needs to check one approval with ``ssh-keygen -Y verify`` alone.

    Returns the message file, the signature file, the allowed-signers file and the signer id.
    """
    from manualkit.base.atomic import write_atomic
    from manualkit.base.diagnostics import fail
    from manualkit.records.change_request import ID_RE, approval_message, request_path
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(root)
    manual, policy = snap.require()
    cr = snap.requests.get(cr_id)
    if cr is None:
        raise fail(request_path(cr_id), 0, 0, "MAN646", f"找不到修订申请单 {cr_id}")
    found = cr.approval(role)
    if found is None:
        raise fail(cr.path, 0, 0, "MAN660", f"{cr_id} 没有“{role}”签署")
    message = approval_message(manual.metadata.document_number, cr.id, found.role, found.signer, found.signed_at, found.digest)
    if not ID_RE.match(cr.id) or not SIGNER_ID_RE.fullmatch(found.signer):
        # both name the files written below: never a path out of --dir
        raise fail(cr.path, found.line, 1, "MAN107", f"签署人标识 {found.signer!r} 或申请单号 {cr.id!r} 无效；拒绝导出")
    stem = f"{cr.id}-{found.signer}"
    paths = (directory / f"{stem}.txt", directory / f"{stem}.txt.sig", directory / "allowed_signers")
    if found.webauthn is not None:
        paths = (paths[0], directory / f"{stem}.webauthn.json", paths[2])
    write_atomic(paths[0], message)
    if found.webauthn is not None:
        write_atomic(paths[1], _webauthn_evidence(message, found, policy))
    else:
        write_atomic(paths[1], found.signature.strip() + "\n")
    write_atomic(paths[2], policy.allowed_signers())
    return (*paths, found.signer)


def _webauthn_evidence(message: bytes, approval: Approval, policy: Policy) -> bytes:
    """A browser-made approval as an auditor checks it with any WebAuthn library: the assertion,
    the challenge it must carry and the credential registered for the signer."""
    import json
    from dataclasses import asdict

    from manualkit.records.webauthn_signature import b64url, challenge, find_credential

    assert approval.webauthn is not None
    approver = policy.approver(approval.signer)
    credential = find_credential(approver.webauthn, approval.webauthn.credential_id) if approver else None
    evidence = {
        "format": "manual-approval/1 + webauthn",
        "challenge": b64url(challenge(message, approval.webauthn.nonce)),
        "assertion": approval.webauthn.as_dict(),
        "credential": asdict(credential) if credential else None,
    }
    return (json.dumps(evidence, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- the command line ---------------------------------------------------------------------------


def _approve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("change_request", metavar="CR", help="修订申请单号，如 CR-2026-001")
    p.add_argument("--role", required=True, help="签署角色：编制、审核、会签、批准")
    p.add_argument("--key", required=True, help="签署人本人的 SSH 私钥文件")


def _run_approve(args: argparse.Namespace, context: RunContext) -> Outcome:
    approval = approve(context.run, args.change_request, args.role, Path(args.key))
    return Outcome.said(f"{approval.name}（{approval.signer}）已以“{approval.role}”角色签署 {args.change_request}，时间 {approval.signed_at}，摘要 {approval.digest[:19]}…")


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("change_request", metavar="CR", help="修订申请单号")
    p.add_argument("--role", required=True, help="签署角色")
    p.add_argument("--dir", default=".", help="输出目录")


def _run_export(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.records.repository import worktree_snapshot

    message, signature, allowed, signer = export_approval(context.root, args.change_request, args.role, Path(args.dir))
    namespace = worktree_snapshot(context.root).require()[1].signing_namespace
    outcome = Outcome()
    if signature.name.endswith(".webauthn.json"):
        outcome.say(f"已导出签署内容 {message}、WebAuthn 签名及所登记的凭据 {signature}（签署台的签名）。验证：挑战为 SHA-256(签署内容 + “nonce: ” + nonce + 换行)，用任一 WebAuthn 库按 docs/desk.md 核验")
        return outcome
    outcome.say(f"已导出签署内容 {message}、签名 {signature} 和签署人名录 {allowed}。不依赖本工具的验证命令：")
    outcome.say(f"ssh-keygen -Y verify -f {allowed} -I {signer} -n {namespace} -s {signature} < {message}")
    return outcome


COMMANDS = (
    Command("approve", _approve_arguments, _run_approve),
    Command("export-approval", _export_arguments, _run_export),
)
