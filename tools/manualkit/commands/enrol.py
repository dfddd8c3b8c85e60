"""Enrolling a passkey or security key for the signing desk: the registry change it produces.

A credential created in the browser (``navigator.credentials.create``) is verified here with
py_webauthn (attestation, challenge, origin, RP id), then written as a ``webauthn:`` entry of
the signer in ``manual/policy.yml`` in the working tree — never committed, never in force by
itself: the editor proposes a ``policy`` change request for it (``manual propose --sections
policy``), which the signers in force approve like any other registry change (chain of trust).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manualkit.records.policy import Policy
    from manualkit.records.webauthn_signature import Credential


@dataclass(frozen=True)
class Enrolment:
    signer: str
    name: str
    credential: Credential
    patch: str  # the unified diff of policy.yml (what the policy change request will carry)


def verify_enrolment(response: Mapping[str, Any], challenge: bytes, rp_id: str, origin: str, today: dt.date) -> Credential:
    """The credential of the browser's registration ``response`` (PublicKeyCredential JSON)
    if it answers ``challenge`` for ``rp_id`` at ``origin`` (MAN910 otherwise)."""
    from webauthn import verify_registration_response

    from manualkit.base.diagnostics import fail
    from manualkit.records.webauthn_signature import Credential, b64url

    try:
        verified = verify_registration_response(credential=dict(response), expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin)
    except Exception as e:  # malformed or forged: a coded refusal, never a traceback
        raise fail("desk", 0, 0, "MAN910", f"通行密钥的登记无效：{str(e)[:160]}；请重新登记") from None
    return Credential(b64url(verified.credential_id), b64url(verified.credential_public_key), rp_id, origin, today.isoformat())


def registry_with_credential(text: str, policy: Policy, signer: str, credential: Credential) -> str:
    """``policy.yml``'s ``text`` with ``credential`` added to ``signer``'s ``webauthn:`` list
    (comments and layout kept); MAN909 when any approver already holds that credential id."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.policy import POLICY_PATH, parse_policy

    holder = next((a for a in policy.approvers for c in a.webauthn if c.credential_id == credential.credential_id), None)
    if holder is not None:
        raise fail(POLICY_PATH, 0, 0, "MAN909", f"该凭据已登记在 {holder.name}（{holder.id}）名下；同一凭据不能重复登记")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.fullmatch(rf"  - id: ['\"]?{re.escape(signer)}['\"]?\s*", line)), None)
    if start is None:
        raise fail(POLICY_PATH, 0, 0, "MAN911", f"policy.yml 的签署人名录中找不到 {signer[:40]}（应写作“  - id: {signer[:40]}”）")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ") or lines[i].startswith("  - ")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    entry = [
        f"      - credential_id: {credential.credential_id}\n",
        f"        public_key: {credential.public_key}\n",
        f"        rp_id: {credential.rp_id}\n",
        f"        origin: {credential.origin}\n",
        f"        enrolled: {credential.enrolled}\n",
    ]
    has_list = any(line.rstrip() == "    webauthn:" for line in lines[start:end])
    if lines[end - 1] and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines[end:end] = entry if has_list else ["    webauthn:\n", *entry]
    new = "".join(lines)
    parsed, problems = parse_policy(new)
    approver = parsed.approver(signer) if parsed else None
    if problems or approver is None or credential not in approver.webauthn:
        raise fail(POLICY_PATH, 0, 0, "MAN911", "无法把凭据写入 policy.yml（名录的写法与预期不同）；请手工添加 webauthn 条目")
    return new


def enrol(root: Path, signer: str, credential: Credential, *, write: bool) -> Enrolment:
    """Add ``credential`` to ``signer`` in the working tree's policy.yml (``write``; else only
    the patch is made), under the repository lock and atomically."""
    import difflib

    from manualkit.base.atomic import write_atomic
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.policy import POLICY_PATH, parse_policy

    with repository_lock(root, "enrol"):
        path = root / POLICY_PATH
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise fail(POLICY_PATH, 0, 0, "MAN911", f"无法读取 policy.yml：{e}") from None
        policy, problems = parse_policy(text)
        if policy is None:
            raise fail(POLICY_PATH, problems[0].line if problems else 0, 0, "MAN911", "policy.yml 无效，不能登记凭据；请先运行 manual check")
        approver = policy.approver(signer)
        if approver is None:
            raise fail(POLICY_PATH, 0, 0, "MAN911", f"签署人 {signer[:40]} 不在 policy.yml 的签署人名录中")
        new = registry_with_credential(text, policy, signer, credential)
        patch = "".join(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{POLICY_PATH}", f"b/{POLICY_PATH}"))
        if write:
            write_atomic(path, new)
        return Enrolment(approver.id, approver.name, credential, patch)
