"""WebAuthn approvals (issue 21): the record format and challenge of docs/release-model.md,
verified offline with py_webauthn; every forged or altered part reads as invalid."""

from __future__ import annotations

import dataclasses

import pytest
from webauthn_authenticator import FLAG_UV, SoftAuthenticator

from manualkit.records.webauthn_signature import Credential, b64url, challenge, verify

MESSAGE = (
    "manual-approval/1\ndocument: XS-QM-01\nchange-request: CR-2026-003\nrole: 批准\nsigner: chen.gang\n"
    "signed-at: 2026-05-25T09:00:00+08:00\ndigest: sha256:" + "a" * 64 + "\n"
).encode()

pytestmark = pytest.mark.unit


def credential(auth: SoftAuthenticator) -> Credential:
    return Credential(auth.credential_b64, auth.cose_public_key(), auth.rp_id, auth.origin, "2026-01-05")


def test_challenge_is_the_agreed_digest() -> None:
    import hashlib

    assert challenge(MESSAGE, "bm9uY2U") == hashlib.sha256(MESSAGE + b"nonce: bm9uY2U\n").digest()


def test_a_valid_assertion_verifies() -> None:
    auth = SoftAuthenticator()
    assert verify(MESSAGE, auth.sign(MESSAGE), [credential(auth)])


def test_user_verification_is_not_required_but_presence_is() -> None:
    auth = SoftAuthenticator()
    assert verify(MESSAGE, auth.sign(MESSAGE, flags=0x01), [credential(auth)])
    assert not verify(MESSAGE, auth.sign(MESSAGE, flags=FLAG_UV), [credential(auth)])


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda a, m: (a.sign(m), m.replace(b"CR-2026-003", b"CR-2026-004")), id="another-request"),
        pytest.param(lambda a, m: (a.sign(m), m.replace(b"\xe6\x89\xb9\xe5\x87\x86", b"\xe5\xae\xa1\xe6\xa0\xb8")), id="another-role"),
        pytest.param(lambda a, m: (a.sign(m), m.replace(b"aaaa", b"aaab", 1)), id="another-digest"),
        pytest.param(lambda a, m: (dataclasses.replace(a.sign(m), nonce=b64url(b"x" * 32)), m), id="another-nonce"),
        pytest.param(lambda a, m: (a.sign(m, origin="https://evil.example"), m), id="wrong-origin"),
        pytest.param(lambda a, m: (a.sign(m, rp_id="evil.example"), m), id="wrong-rp-id"),
        pytest.param(lambda a, m: (a.sign(m, kind="webauthn.create"), m), id="registration-type"),
        pytest.param(lambda a, m: (dataclasses.replace(a.sign(m), signature="AAAA"), m), id="garbage-signature"),
        pytest.param(lambda a, m: (dataclasses.replace(a.sign(m), authenticator_data="!!"), m), id="not-base64url"),
        pytest.param(lambda a, m: (dataclasses.replace(a.sign(m), client_data_json=b64url(b"{")), m), id="broken-client-data"),
        pytest.param(lambda a, m: (SoftAuthenticator(credential_id=a.credential_id).sign(m), m), id="other-key-same-id"),
    ],
)
def test_a_forged_or_altered_assertion_is_invalid(forge: object) -> None:
    auth = SoftAuthenticator()
    assertion, message = forge(auth, MESSAGE)  # type: ignore[operator]
    assert not verify(message, assertion, [credential(auth)])


def test_an_unknown_credential_is_invalid() -> None:
    auth, other = SoftAuthenticator(), SoftAuthenticator()
    assert not verify(MESSAGE, auth.sign(MESSAGE), [credential(other)])
    assert not verify(MESSAGE, auth.sign(MESSAGE), [])
