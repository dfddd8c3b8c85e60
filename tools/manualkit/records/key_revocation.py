"""Key revocations (密钥停用, 8.2 四): the record kind ``manual-key-revocation/1``.

``changelog/revocations/<signer>-<time>.yml``, written once by ``manual revoke-key``: the key's
owner or a holder of 批准 stops a key at once; signatures made with it after ``revoked_at`` are
invalid everywhere (the rule over times is :mod:`manualkit.records.revocation`). Declared in the
record registry (records/signed.py), which reads and writes it; verified here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records import signed
from manualkit.records.revocation import REVOCATIONS_DIR, Revocation, compact, moment
from manualkit.records.signed import load_signed, signature_valid

if TYPE_CHECKING:
    from manualkit.records.policy import Policy

KIND = signed.register(
    signed.RecordKind(
        "manual-key-revocation/1", REVOCATIONS_DIR, "密钥停用记录",
        fields=("signer", "key", "revoked_at", "reason", "by", "signed_at"),
        # "true": the revocation voids the signatures of released versions made after its time
        # (8.2 四, a stolen key): only a holder of 批准 may say so (docs/threat-model.md).
        optional=("voids_released",),
        code="MAN811", codes=("MAN852", "MAN853", "MAN856"),
    )
)  # fmt: skip


def verified_revocations(
    contents: Mapping[str, bytes], policy: Policy, document_number: str
) -> tuple[list[Revocation], list[Diagnostic]]:
    """Valid revocations (signed by the key's owner, with that key or the registry's, or by a
    holder of 批准); a MAN811 for each invalid one (which revokes nothing)."""
    records, problems = load_signed(contents, REVOCATIONS_DIR, "manual-key-revocation/1")
    out: list[Revocation] = []
    for r in records:
        at = moment(r.fields["revoked_at"])
        by = policy.approver(r.fields["by"])
        own = r.fields["by"] == r.fields["signer"]
        ok = signature_valid(r, policy, document_number) or (
            own and signature_valid(r, policy, document_number, r.fields["key"])
        )
        if at is None:
            problems.append(
                diagnostic(r.path, 1, 1, "MAN811", f"停用时间 {r.fields['revoked_at'][:40]} 不是带时区的 ISO 8601 时间")
            )
        elif not ok or by is None:
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN811", "密钥停用记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动"
                )
            )
        elif not own and "批准" not in by.roles:
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN811", f"{by.name} 既不是密钥本人也不具有“批准”角色，无权停用 {r.fields['signer']} 的密钥"
                )
            )
        else:
            voids = r.fields.get("voids_released") == "true"
            if voids and "批准" not in by.roles:
                voids = False
                problems.append(
                    diagnostic(r.path, 1, 1, "MAN853", f"{by.name} 不具有“批准”角色：停用记录声明的追溯作废已发布签署无效，按未声明处理")
                )
            key = " ".join(r.fields["key"].split()[:2])
            out.append(Revocation(r.fields["signer"], key, at, r.fields["reason"], r.fields["by"], r.path, voids_released=voids))
    return out, problems


def with_history(root: Path, revocations: Sequence[Revocation]) -> list[Revocation]:
    """The revocations with what the repository held when each was committed (first-parent
    history of HEAD); an uncommitted revocation is judged by its time alone."""
    if not revocations:
        return list(revocations)
    from manualkit.base import git

    if git.facts(root) is None:
        return list(revocations)
    added = git.commits_adding(root, REVOCATIONS_DIR + "/")
    held: dict[str, str] = {}
    released: dict[str, list[ReleasedSignature]] = {}
    out = []
    for r in revocations:
        commit = added.get(r.path)
        if commit is None:
            out.append(r)
            continue
        if commit not in held:
            contents = signed.read_commit(root, commit)
            held[commit] = compact("\n".join(v.decode("utf-8", "replace") for v in contents.values()))
            released[commit] = released_signatures(contents)
        out.append(bounded(r._replace(held=held[commit]), released[commit]))
    return out


class ReleasedSignature(NamedTuple):
    signer: str
    key: str  # "type base64" of the SSH key that made it, or the WebAuthn credential's id
    signed_at: dt.datetime
    change_request: str


def released_signatures(contents: Mapping[str, bytes]) -> list[ReleasedSignature]:
    """The signatures of the change requests released in ``contents`` (changelog/ at one commit):
    who signed, with which SSH key or WebAuthn credential (by its id), when."""
    from manualkit.base import sshsig

    def mapping(path: str) -> Mapping[str, object]:
        return signed.read_mapping(path, contents.get(path))

    out = []
    for path in sorted(contents):
        if not (path.startswith("changelog/releases/") and path.endswith(".yml")):
            continue
        listed = mapping(path).get("change_requests")
        for cr_id in listed if isinstance(listed, list) else ():
            approvals = mapping(f"changelog/requests/{cr_id}.yml").get("approvals")
            for a in approvals if isinstance(approvals, list) else ():
                if not isinstance(a, Mapping):
                    continue
                passkey = a.get("webauthn")
                if isinstance(passkey, Mapping) and isinstance(passkey.get("credential_id"), str):
                    key = passkey["credential_id"]  # a credential is revoked by its id (--credential)
                elif isinstance(a.get("signature"), str):
                    try:
                        key = " ".join(sshsig.signer_key(a["signature"]).split()[:2])
                    except sshsig.SignatureFormatError:
                        continue
                else:
                    continue
                when = moment(str(a.get("signed_at", "")))
                if when is not None:
                    out.append(ReleasedSignature(str(a.get("signer", "")), key, when, cr_id))
    return out


def bounded(revocation: Revocation, released: Sequence[ReleasedSignature]) -> Revocation:
    """8.2 四 with the bound of docs/threat-model.md: a revocation voids no signature of a version
    already released when the revocation was committed unless it says so (``voids_released``,
    signed by a holder of 批准). Without that, its time is read as just after the last such
    signature (MAN853 reports it); signatures added later are judged as before (MAN852)."""
    if revocation.voids_released:
        return revocation
    voided = [s.signed_at for s in released if s.signer == revocation.signer and s.key == revocation.key and s.signed_at >= revocation.at]
    if not voided:
        return revocation
    return revocation._replace(at=max(voided) + dt.timedelta(seconds=1), claimed=revocation.at)


