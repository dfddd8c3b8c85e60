"""Revoked signing keys (8.2 四: 密钥遗失或可能泄露的，应立即停用).

A revocation names a signer and the key ("type base64") that was theirs; a signature made with
that key at or after ``at`` is invalid, one made before stays valid and is said to be made with a
key later revoked. The records are read and verified in :mod:`manualkit.records.procedure`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

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
    out = []
    for r in revocations:
        commit = added.get(r.path)
        if commit is None:
            out.append(r)
            continue
        if commit not in held:
            contents, _ = git.read_tree_files(root, commit, "changelog/")
            held[commit] = compact("\n".join(v.decode("utf-8", "replace") for v in contents.values()))
        out.append(r._replace(held=held[commit]))
    return out
