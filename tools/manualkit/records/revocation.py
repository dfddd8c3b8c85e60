"""Revoked signing keys (8.2 四: 密钥遗失或可能泄露的，应立即停用).

A revocation names a signer and the key ("type base64") that was theirs; a signature made with
that key at or after ``at`` is invalid, one made before stays valid and is said to be made with a
key later revoked. The records are read and verified in :mod:`manualkit.records.procedure`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

REVOCATIONS_DIR = "changelog/revocations"


class Revocation(NamedTuple):
    signer: str
    key: str  # "type base64" of the revoked key
    at: dt.datetime
    reason: str
    by: str
    path: str


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


def signed_after_revocation(revocation: Revocation | None, signed_at: str) -> bool | None:
    """True: signed when the key was already revoked; False: before; None: no revocation."""
    if revocation is None:
        return None
    when = moment(signed_at)
    return when is None or when >= revocation.at
