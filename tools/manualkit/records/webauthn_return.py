"""Returns (退回) signed in a browser with a passkey or security key (WebAuthn).

The record is the ``manual-return/1`` record of ``manual return`` (records/procedure.py) with, in
place of ``signature``, the ``webauthn`` mapping an approval signed at the desk carries
(docs/release-model.md, "Record formats agreed for the desk"): the assertion's challenge is
SHA-256 of the ``manual-return/1`` text, byte for byte, + ``nonce: <nonce>``. It verifies with a
credential the registry in force holds for the record's ``by`` signer; a credential revoked
(a revocation naming its credential id) before the return was signed makes it invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records.webauthn_signature import ASSERTION_FIELDS, BASE64URL_RE, Assertion, assertion_from, verify

if TYPE_CHECKING:
    from manualkit.records.policy import Approver
    from manualkit.records.revocation import Revocation

MAX_FIELD = 8192


def parse_webauthn_return(
    path: str, data: Mapping[str, object], keys: Sequence[str]
) -> tuple[tuple[dict[str, str], str, Assertion] | None, list[Diagnostic]]:
    """The signed fields, the name and the assertion of the return record ``data`` (already known
    to be of kind manual-return/1) signed with WebAuthn, or the diagnostics."""
    missing = [k for k in (*keys, "name") if not isinstance(data.get(k), str | int) or isinstance(data.get(k), bool)]
    mapping = data.get("webauthn")
    bad = (
        "signature" in data
        or not isinstance(mapping, Mapping)
        or set(mapping) != set(ASSERTION_FIELDS)
        or not all(isinstance(v, str) and 0 < len(v) <= MAX_FIELD and BASE64URL_RE.fullmatch(v) for v in mapping.values())
    )
    if missing:
        return None, [diagnostic(path, 1, 1, "MAN802", f"退回记录缺少或写错了：{'、'.join(missing)}")]
    if bad or not isinstance(mapping, Mapping):
        return None, [
            diagnostic(path, 1, 1, "MAN900", "退回记录须且只能含 signature（SSH 签名）或 webauthn（签署台的 WebAuthn 签名，五个 base64url 字段）之一")
        ]
    fields = {k: str(data[k]) for k in keys}
    return (fields, str(data["name"]), assertion_from(mapping)), []


def webauthn_lines(assertion: Assertion) -> list[str]:
    """The ``webauthn`` mapping of a record, as YAML lines (every value is base64url: no quoting)."""
    return ["webauthn:", *(f"  {k}: {v}" for k, v in assertion.as_dict().items())]


def webauthn_record_valid(
    message: bytes, assertion: Assertion, approver: Approver, revocations: Sequence[Revocation], signed_at: str
) -> bool:
    """``assertion`` signs ``message`` with one of ``approver``'s registered credentials, and that
    credential was not revoked when the record was signed."""
    from manualkit.records.revocation import revoked_at, signed_after_revocation

    if not verify(message, assertion, approver.webauthn):
        return False
    revocation = revoked_at(revocations, approver.id, assertion.credential_id)
    return not signed_after_revocation(revocation, signed_at, assertion.signature)


def revocable_credential(owner: Approver, credential_id: str) -> str:
    """``credential_id`` if ``owner`` holds it in the registry (a revocation then names it in its
    ``key`` field, as docs/release-model.md agrees); MAN903 otherwise."""
    from manualkit.base.diagnostics import fail

    if not any(c.credential_id == credential_id for c in owner.webauthn):
        held = "、".join(c.credential_id[:16] + "…" for c in owner.webauthn) or "无"
        raise fail("--credential", 0, 0, "MAN903", f"{owner.name}（{owner.id}）在签署人名录中没有凭据 {credential_id[:40]!r}；已登记：{held}")
    return credential_id
