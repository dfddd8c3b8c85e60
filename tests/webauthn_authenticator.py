"""A software WebAuthn authenticator for the tests that run no browser: a real P-256 key (ES256),
real authenticator data and client data, signed as an authenticator signs them (WebAuthn §6.3.3).

The browser tests use Chromium's virtual authenticator instead (tests/test_desk_browser.py); this
one lets the record-level tests make valid and deliberately broken assertions in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from manualkit.records.webauthn_signature import Assertion, b64url, challenge

FLAG_UP = 0x01  # user present
FLAG_UV = 0x04  # user verified


@dataclass
class SoftAuthenticator:
    rp_id: str = "localhost"
    origin: str = "http://localhost:8440"
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    counter: int = 0

    @property
    def credential_b64(self) -> str:
        return b64url(self.credential_id)

    def cose_public_key(self) -> str:
        numbers = self.key.public_key().public_numbers()
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        return b64url(cbor2.dumps(cose))

    def registry_entry(self, enrolled: str = "2026-01-05") -> str:
        """The ``webauthn:`` list of an approver in policy.yml (an item of ``approvers:``) holding this credential."""
        return (
            "    webauthn:\n"
            f"      - credential_id: {self.credential_b64}\n"
            f"        public_key: {self.cose_public_key()}\n"
            f"        rp_id: {self.rp_id}\n"
            f"        origin: {self.origin}\n"
            f"        enrolled: {enrolled}\n"
        )

    def assert_raw(
        self, raw_challenge: bytes, nonce: str, *, origin: str | None = None, rp_id: str | None = None,
        flags: int = FLAG_UP | FLAG_UV, kind: str = "webauthn.get",
    ) -> Assertion:  # fmt: skip
        self.counter += 1
        auth_data = hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([flags]) + self.counter.to_bytes(4, "big")
        client_data = json.dumps(
            {"type": kind, "challenge": b64url(raw_challenge), "origin": origin or self.origin, "crossOrigin": False}, separators=(",", ":")
        ).encode()
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return Assertion(self.credential_b64, nonce, b64url(auth_data), b64url(client_data), b64url(signature))

    def sign(self, message: bytes, nonce: str | None = None, **kwargs: object) -> Assertion:
        """An assertion over ``message`` with the desk's challenge rule (records.webauthn_signature.challenge)."""
        nonce = nonce or b64url(os.urandom(32))
        return self.assert_raw(challenge(message, nonce), nonce, **kwargs)  # type: ignore[arg-type]

    def attest(self, raw_challenge: bytes, *, origin: str | None = None, rp_id: str | None = None) -> dict[str, object]:
        """The browser's answer to ``navigator.credentials.create`` (PublicKeyCredential JSON, "none"
        attestation) for this credential, as the desk's enrolment page posts it."""
        self.counter += 1
        cose = b64url_bytes(self.cose_public_key())
        auth_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([FLAG_UP | FLAG_UV | 0x40]) + self.counter.to_bytes(4, "big")
            + bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + cose
        )  # fmt: skip
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": b64url(raw_challenge), "origin": origin or self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.credential_b64, "rawId": self.credential_b64, "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation), "transports": ["internal"]},
        }  # fmt: skip


def b64url_bytes(text: str) -> bytes:
    from manualkit.records.webauthn_signature import b64url_decode

    return b64url_decode(text)
