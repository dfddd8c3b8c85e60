"""OpenSSH signatures (the SSHSIG format of ``ssh-keygen -Y sign``).

Signing goes through ``ssh-keygen`` (the signer's own key, agent or passphrase as they have
it). Verification is done here in Python (fast enough to verify a whole history) and gives the
same answer as ``ssh-keygen -Y verify`` with the allowed-signers file of the registry, which
anyone can run without our code.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
from pathlib import Path
from typing import Any

from manualkit.base.diagnostics import fail

MAGIC = b"SSHSIG"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
MAX_SIGNATURE_CHARS = 16_384


def signed_text(kind: str, fields: list[tuple[str, object]]) -> bytes:
    """The exact bytes a person signs: a ``kind`` line (``manual-approval/1``), then ``key: value``
    lines, each ending in a newline. Approvals and reviews both use it."""
    return (kind + "\n" + "".join(f"{key}: {value}\n" for key, value in fields)).encode()


class SignatureFormatError(Exception):
    pass


MAX_KEY_BYTES = 64 * 1024  # an OpenSSH private key is a few KB


def _require_key_file(key_path: Path) -> None:
    """The key is a regular file of a key's size: ``/dev/zero`` or a FIFO is refused at once (MAN768)."""
    from manualkit.base.files import read_regular

    if not key_path.exists():
        raise fail(str(key_path), 0, 0, "MAN620", "找不到签名私钥文件；请用 --key 指定本人的 SSH 私钥")
    read_regular(key_path, MAX_KEY_BYTES)


def sign(message: bytes, key_path: Path, namespace: str) -> str:
    """Sign ``message`` with the private key at ``key_path``; returns the armored signature."""
    import subprocess
    import tempfile  # signing runs ssh-keygen; verifying (every auditors' command) runs nothing

    _require_key_file(key_path)
    with tempfile.TemporaryDirectory(prefix="manual-sign-") as tmp:
        msg = Path(tmp) / "message"
        msg.write_bytes(message)
        proc = subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-f", str(key_path), "-n", namespace, str(msg)],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        sig = Path(str(msg) + ".sig")
        if proc.returncode != 0 or not sig.is_file():
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise fail(str(key_path), 0, 0, "MAN620", f"ssh-keygen 签名失败：{detail[-1] if detail else '未知原因'}")
        return sig.read_text(encoding="ascii").strip()


def public_key_of(key_path: Path) -> str:
    """The OpenSSH public key line of a private key file (``ssh-keygen -y``)."""
    import subprocess

    _require_key_file(key_path)
    proc = subprocess.run(["ssh-keygen", "-y", "-f", str(key_path)], capture_output=True, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise fail(str(key_path), 0, 0, "MAN620", "无法读取该 SSH 私钥；请确认文件和口令")
    return " ".join(proc.stdout.decode().split()[:2])


def _read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 4 > len(data):
        raise SignatureFormatError("truncated")
    (length,) = struct.unpack(">I", data[pos : pos + 4])
    end = pos + 4 + length
    if end > len(data):
        raise SignatureFormatError("truncated")
    return data[pos + 4 : end], end


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _unarmor(armored: str) -> bytes:
    text = armored.strip()
    if len(text) > MAX_SIGNATURE_CHARS or not text.startswith(BEGIN) or not text.endswith(END):
        raise SignatureFormatError("not an SSH signature")
    body = "".join(text[len(BEGIN) : -len(END)].split())
    try:
        return base64.b64decode(body, validate=True)
    except ValueError as exc:
        raise SignatureFormatError("bad base64") from exc


def signer_key(armored: str) -> str:
    """The public key (``type base64``) embedded in a signature."""
    blob = _unarmor(armored)
    if blob[:6] != MAGIC:
        raise SignatureFormatError("bad magic")
    key, _ = _read_string(blob, 10)
    key_type, _ = _read_string(key, 0)
    return f"{key_type.decode()} {base64.b64encode(key).decode()}"


def verify(message: bytes, armored: str, public_key: str, namespace: str) -> bool:
    """True when ``armored`` is a valid signature of ``message`` by ``public_key`` in ``namespace``."""
    try:
        blob = _unarmor(armored)
        if blob[:6] != MAGIC or struct.unpack(">I", blob[6:10])[0] != 1:
            return False
        pos = 10
        key_blob, pos = _read_string(blob, pos)
        ns, pos = _read_string(blob, pos)
        reserved, pos = _read_string(blob, pos)
        hash_alg, pos = _read_string(blob, pos)
        signature, pos = _read_string(blob, pos)
        expected_blob = base64.b64decode(public_key.split()[1])
        if key_blob != expected_blob or ns != namespace.encode():
            return False
        if hash_alg == b"sha512":
            digest = hashlib.sha512(message).digest()
        elif hash_alg == b"sha256":
            digest = hashlib.sha256(message).digest()
        else:
            return False
        signed = MAGIC + _string(ns) + _string(reserved) + _string(hash_alg) + _string(digest)
        sig_type, spos = _read_string(signature, 0)
        sig_value, _ = _read_string(signature, spos)
        return _verify_raw(public_key, sig_type, sig_value, signed)
    except (SignatureFormatError, ValueError, IndexError, struct.error):
        return False


def _verify_raw(public_key: str, sig_type: bytes, sig_value: bytes, signed: bytes) -> bool:
    # cryptography is imported here, not at module level: `manual check` must start fast.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    key = _public_key(" ".join(public_key.split()[:2]))
    try:
        if isinstance(key, ed25519.Ed25519PublicKey) and sig_type == b"ssh-ed25519":
            key.verify(sig_value, signed)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and sig_type.startswith(b"ecdsa-sha2-"):
            r_bytes, pos = _read_string(sig_value, 0)
            s_bytes, _ = _read_string(sig_value, pos)
            der = encode_dss_signature(int.from_bytes(r_bytes, "big"), int.from_bytes(s_bytes, "big"))
            curve_hash: hashes.HashAlgorithm = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
            key.verify(der, signed, ec.ECDSA(curve_hash))
            return True
        if isinstance(key, rsa.RSAPublicKey) and sig_type in (b"rsa-sha2-512", b"rsa-sha2-256"):
            rsa_hash: hashes.HashAlgorithm = hashes.SHA512() if sig_type == b"rsa-sha2-512" else hashes.SHA256()
            key.verify(sig_value, signed, padding.PKCS1v15(), rsa_hash)
            return True
    except InvalidSignature:
        return False
    return False


@functools.lru_cache(maxsize=64)
def _public_key(openssh: str) -> Any:
    """The key object of an OpenSSH public key line (a history of a thousand releases verifies
    thousands of signatures by the same few signers)."""
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    return load_ssh_public_key(openssh.encode())
