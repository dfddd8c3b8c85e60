"""Revoked signing keys (8.2 四: 密钥遗失或可能泄露的，应立即停用).

A revocation names a signer and the key ("type base64") that was theirs; a signature made with
that key at or after ``at`` is invalid, one made before stays valid and is said to be made with a
key later revoked. This module is the rule over times, pure; the records themselves (the kind
``manual-key-revocation/1``) are declared, read and verified in :mod:`manualkit.records.key_revocation`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
