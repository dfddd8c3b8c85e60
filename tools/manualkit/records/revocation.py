"""Revoked signing keys (8.2 四: 密钥遗失或可能泄露的，应立即停用).

A revocation names a signer and the key ("type base64") that was theirs; a signature made with
that key at or after ``at`` is invalid, one made before stays valid and is said to be made with a
key later revoked. The records are read and verified in :mod:`manualkit.records.procedure`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic

REVOCATIONS_DIR = "changelog/revocations"


class Revocation(NamedTuple):
    signer: str
    key: str  # "type base64" of the revoked key
    at: dt.datetime
    reason: str
    by: str
    path: str
    #: Every signature under changelog/ when the revocation was committed (whitespace removed),
    #: None while it is not committed. A signature with this key that is not among them was
    #: added in a later commit, so it was made after the revocation whatever time it claims.
    held: str | None = None
    #: The revoked_at the record states, when it was bounded (``at`` is then later: see bounded).
    claimed: dt.datetime | None = None
    #: The record says it voids signatures of released versions made after its time (批准 only).
    voids_released: bool = False


def moment(value: str) -> dt.datetime | None:
    """An ISO 8601 time with its offset, or None."""
    try:
        found = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo else None


def revoked_at(revocations: Sequence[Revocation], signer: str, key: str) -> Revocation | None:
    """The earliest revocation of ``signer``'s ``key`` ("type base64")."""
    key = " ".join(key.split()[:2])
    found = [r for r in revocations if r.signer == signer and r.key == key]
    return min(found, key=lambda r: r.at) if found else None


def compact(text: str) -> str:
    return "".join(text.split())


def committed_later(revocation: Revocation, signature: str) -> bool:
    """The signature was not in the repository when the revocation was committed (MAN852)."""
    return revocation.held is not None and bool(signature) and compact(signature) not in revocation.held


def signed_after_revocation(revocation: Revocation | None, signed_at: str, signature: str = "") -> bool | None:
    """True: signed when the key was already revoked (at or after ``revoked_at``, or carried by a
    commit after the one that recorded the revocation, whatever ``signed_at`` claims); False:
    before; None: no revocation."""
    if revocation is None:
        return None
    if committed_later(revocation, signature):
        return True
    when = moment(signed_at)
    return when is None or when >= revocation.at


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
            contents, _ = git.read_tree_files(root, commit, "changelog/")
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
    from manualkit.base import sshsig, yamlfile

    def mapping(path: str) -> Mapping[str, object]:
        raw = contents.get(path)
        data, problems = yamlfile.parse(raw.decode("utf-8", "replace"), path) if raw else (None, [])
        return data if isinstance(data, Mapping) and not problems else {}

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


def bound_findings(revocations: Sequence[Revocation]) -> list[Diagnostic]:
    """MAN853 for each revocation whose stated time was bounded."""
    from manualkit.base.diagnostics import diagnostic

    return [
        diagnostic(
            r.path, 1, 1, "MAN853",
            f"停用时间 {r.claimed.isoformat()} 早于已发布版本中该密钥的签署，而记录未声明追溯作废（须由批准人签署）："
            f"这些签署保持有效，该密钥按 {r.at.isoformat()} 起停用",
        )
        for r in revocations
        if r.claimed is not None
    ]
