"""Signatures made in a browser with a passkey or security key (WebAuthn), verified offline.

The desk (``manual desk``) asks the signer's authenticator for an assertion whose challenge is
the digest of exactly what is signed: the ``manual-approval/1`` (or ``manual-return/1``) text,
byte for byte, followed by ``nonce: <nonce>`` — the server's single-use nonce. The record keeps
what the authenticator returned (authenticatorData, clientDataJSON, the signature) beside the
nonce, so anyone holding the git history can verify it with the credential registered in
``policy.yml`` (docs/release-model.md, "Record formats agreed for the desk").

Verification is py_webauthn's (``webauthn.verify_authentication_response``): it parses the COSE
key and the authenticator data, checks the client data's type (``webauthn.get``), challenge and
origin, the RP id hash, user presence, and the signature. Sign counters are not checked offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The keys of a ``webauthn`` mapping in an approval or a return, in the order they are written.
ASSERTION_FIELDS = ("credential_id", "nonce", "authenticator_data", "client_data_json", "signature")
BASE64URL = r"[A-Za-z0-9_-]+"
BASE64URL_RE = re.compile(BASE64URL)
NONCE_BYTES = 32


@dataclass(frozen=True)
class Credential:
    """A WebAuthn credential registered to an approver in ``policy.yml``."""

    credential_id: str  # base64url
    public_key: str  # base64url of the COSE key
    rp_id: str
    origin: str
    enrolled: str  # YYYY-MM-DD


@dataclass(frozen=True)
class Assertion:
    """A WebAuthn assertion as a record stores it (every field base64url)."""

    credential_id: str
    nonce: str
    authenticator_data: str
    client_data_json: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ASSERTION_FIELDS}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``; ValueError when it is not base64url."""
    if not BASE64URL_RE.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as e:
        raise ValueError(str(e)) from e


def challenge(message: bytes, nonce: str) -> bytes:
    """The WebAuthn challenge for ``message`` and the desk's ``nonce``: SHA-256(message + "nonce: " + nonce + "\\n")."""
    return hashlib.sha256(message + b"nonce: " + nonce.encode("ascii") + b"\n").digest()


def assertion_from(data: Mapping[str, object]) -> Assertion:
    """The assertion stored in a record's ``webauthn`` mapping (validated by the record's schema)."""
    return Assertion(*(str(data[k]) for k in ASSERTION_FIELDS))


def credential_from(data: Mapping[str, object]) -> Credential:
    return Credential(
        str(data["credential_id"]), str(data["public_key"]), str(data["rp_id"]), str(data["origin"]), str(data["enrolled"])
    )


def find_credential(credentials: Sequence[Credential], credential_id: str) -> Credential | None:
    return next((c for c in credentials if c.credential_id == credential_id), None)


def verify(message: bytes, assertion: Assertion, credentials: Sequence[Credential]) -> bool:
    """True when ``assertion`` signs ``message`` (with its nonce) by one of ``credentials``."""
    credential = find_credential(credentials, assertion.credential_id)
    if credential is None:
        return False
    from webauthn import verify_authentication_response
    from webauthn.helpers.structs import (
        AuthenticationCredential,
        AuthenticatorAssertionResponse,
        PublicKeyCredentialType,
    )

    try:
        response = AuthenticationCredential(
            id=assertion.credential_id,
            raw_id=b64url_decode(assertion.credential_id),
            response=AuthenticatorAssertionResponse(
                client_data_json=b64url_decode(assertion.client_data_json),
                authenticator_data=b64url_decode(assertion.authenticator_data),
                signature=b64url_decode(assertion.signature),
            ),
            type=PublicKeyCredentialType.PUBLIC_KEY,
        )
        verify_authentication_response(
            credential=response,
            expected_challenge=challenge(message, assertion.nonce),
            expected_rp_id=credential.rp_id,
            expected_origin=credential.origin,
            credential_public_key=b64url_decode(credential.public_key),
            credential_current_sign_count=0,
            require_user_verification=False,
        )
    except Exception:  # any malformed or forged part: a hostile record reads as invalid, never as a traceback
        return False
    return True
