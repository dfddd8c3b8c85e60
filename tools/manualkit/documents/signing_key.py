"""The key that signs released documents, and the certificates a verifier trusts.

A release key is configured with ``MANUAL_SIGNING_KEY`` (a PKCS#12 ``.p12``/``.pfx`` file, or a
PEM file holding the key and, unless ``MANUAL_SIGNING_CERT`` names a separate PEM file, the
certificate); ``MANUAL_SIGNING_PASSWORD`` unlocks it. Without one, a development key and a
self-signed certificate (CN 开发签名（非正式）) are generated once and kept in
``$MANUAL_HOME/dev-signing/`` or ``~/.local/share/manualkit/dev-signing/``: the private key is
written there only, with mode 0600, atomically, and later calls reuse it.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from manualkit.base.clock import utc_now
from manualkit.base.diagnostics import ManualError, diagnostic

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEV_COMMON_NAME = "开发签名（非正式）"
DEV_ORGANIZATION = "晟达实业有限公司"
DEV_VALIDITY = dt.timedelta(days=3652)  # from the key's creation
#: The development certificate's notBefore, long before any release it may sign. A release's files
#: are signed at the moment their status began, never before the certificate's notBefore
#: (site/release_files.py): valid from its own creation, a development key signed every earlier
#: status's files at that creation moment instead, unlike the release certificate it stands in
#: for, and no two keys signed (or laid out) a file at the same moment.
DEV_VALID_FROM = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DEV_KEY_FILE = "signing-key.pem"  # the private key followed by its certificate
DEV_CERT_FILE = "signing-cert.pem"  # a copy of the certificate alone
MAX_KEY_FILE_SIZE = 1024 * 1024
_SUPPORTED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)

#: The codes :class:`SigningKeyError` carries, with what each means.
SIGNING_KEY_ERROR_CODES: dict[str, str] = {
    "DOC531": "签名密钥文件不存在或无法读取",
    "DOC532": "签名密钥文件格式无效或密码错误",
    "DOC533": "签名密钥文件中没有与私钥匹配的证书",
    "DOC534": "不支持的密钥类型（仅支持 RSA ≥ 2048 位或 ECDSA P-256/P-384/P-521）",
    "DOC535": "签名配置不完整",
    "DOC536": "开发签名目录无法创建或写入",
}


class SigningKeyError(ManualError):
    """The signing key could not be loaded or made. ``code`` is stable, ``message`` is Chinese.

    A :class:`~manualkit.base.diagnostics.ManualError`, rendered once by the command line if uncaught."""

    def __init__(self, code: str, message: str, path: str = "MANUAL_SIGNING_KEY") -> None:
        super().__init__(diagnostic(path, 0, 0, code, message))
        self.code = code
        self.message = message


class SigningKey(NamedTuple):
    """A private key, its certificate (and any chain above it), and whether it is the local
    development key rather than a configured release key."""

    private_key: PrivateKey
    certificate: x509.Certificate
    development: bool
    chain: tuple[x509.Certificate, ...] = ()


# --------------------------------------------------------------------------- locations


def dev_signing_dir(env: Mapping[str, str]) -> Path:
    """Where the development key lives: ``$MANUAL_HOME/dev-signing`` or
    ``~/.local/share/manualkit/dev-signing``."""
    home = env.get("MANUAL_HOME", "").strip()
    if home:
        return Path(home) / "dev-signing"
    user_home = env.get("HOME", "").strip()
    base = Path(user_home) if user_home else Path.home()
    return base / ".local" / "share" / "manualkit" / "dev-signing"


def is_development_certificate(certificate: x509.Certificate) -> bool:
    """Whether a certificate carries the development mark (its subject names it 非正式)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return [a.value for a in names] == [DEV_COMMON_NAME] and [a.value for a in orgs] == [DEV_ORGANIZATION]


# --------------------------------------------------------------------------- loading


def load_signing_key(env: Mapping[str, str]) -> SigningKey:
    """The configured release key, or else the local development key (made on first use)."""
    key_path = env.get("MANUAL_SIGNING_KEY", "").strip()
    cert_path = env.get("MANUAL_SIGNING_CERT", "").strip()
    password = env.get("MANUAL_SIGNING_PASSWORD")
    if key_path:
        return _load_release_key(Path(key_path), Path(cert_path) if cert_path else None, password)
    if cert_path:
        raise SigningKeyError("DOC535", "设置了 MANUAL_SIGNING_CERT 却没有设置 MANUAL_SIGNING_KEY")
    return _load_or_create_dev_key(dev_signing_dir(env))


def trusted_certificates(env: Mapping[str, str]) -> list[x509.Certificate]:
    """The configured release certificate, then the local development certificate if one has been
    made (recognisable with :func:`is_development_certificate`). Never creates a key."""
    trusted: list[x509.Certificate] = []
    key_path = env.get("MANUAL_SIGNING_KEY", "").strip()
    cert_path = env.get("MANUAL_SIGNING_CERT", "").strip()
    if cert_path:
        trusted.append(_load_pem_certificates(Path(cert_path))[0])
    elif key_path:
        trusted.append(load_signing_key(env).certificate)
    dev_key = dev_signing_dir(env) / DEV_KEY_FILE
    if dev_key.is_file():
        certificate = _load_pem_certificates(dev_key)[0]
        if certificate not in trusted:
            trusted.append(certificate)
    return trusted


def _read_limited(path: Path) -> bytes:
    """A key or certificate file: a regular file (never a device or FIFO), bounded in size."""
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.files import read_regular

    try:
        return read_regular(path, MAX_KEY_FILE_SIZE)
    except ManualError as exc:
        d = exc.diagnostics[0]
        code = "DOC532" if d.code == "MAN004" else "DOC531"
        raise SigningKeyError(code, f"无法读取密钥或证书文件 {path}：{d.message}（{d.code}）") from None


def _load_release_key(key_path: Path, cert_path: Path | None, password: str | None) -> SigningKey:
    data = _read_limited(key_path)
    secret = password.encode("utf-8") if password else None
    if b"-----BEGIN" in data:
        private_key = _load_pem_key(data, secret, key_path)
        certificates = _load_pem_certificates(cert_path) if cert_path else _pem_certificates(data, key_path)
    else:
        private_key, certificates = _load_pkcs12(data, secret, key_path)
        if cert_path:
            certificates = _load_pem_certificates(cert_path)
    certificate, chain = _match_certificate(private_key, certificates, key_path)
    return SigningKey(private_key, certificate, development=False, chain=chain)


def _load_pem_key(data: bytes, password: bytes | None, path: Path, *, made_here: bool = False) -> PrivateKey:
    """The key in ``data``. An RSA key is checked for consistency as it is loaded (about 60 ms
    for 3072 bits), except the development key this module made itself (``made_here``): a key
    damaged afterwards only makes signatures that `manual verify` refuses."""
    try:
        key = serialization.load_pem_private_key(data, password=password, unsafe_skip_rsa_key_validation=made_here)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError("DOC532", f"{path} 中的私钥无法读取（格式无效或密码错误）：{exc}") from None
    return _checked_key_type(key, path)


def _load_pkcs12(data: bytes, password: bytes | None, path: Path) -> tuple[PrivateKey, list[x509.Certificate]]:
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError("DOC532", f"{path} 不是可读取的 PKCS#12 文件（格式无效或密码错误）：{exc}") from None
    if key is None:
        raise SigningKeyError("DOC532", f"{path} 中没有私钥")
    certificates = ([certificate] if certificate is not None else []) + list(extra)
    return _checked_key_type(key, path), certificates


def _checked_key_type(key: object, path: Path) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, _SUPPORTED_CURVES):
        return key
    raise SigningKeyError("DOC534", f"{path} 中的密钥类型不受支持（仅支持 RSA ≥ 2048 位或 ECDSA P-256/P-384/P-521）")


def _pem_certificates(data: bytes, path: Path) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SigningKeyError("DOC532", f"{path} 中的证书无法读取：{exc}") from None


def _load_pem_certificates(path: Path) -> list[x509.Certificate]:
    certificates = _pem_certificates(_read_limited(path), path)
    if not certificates:
        raise SigningKeyError("DOC533", f"{path} 中没有 PEM 证书")
    return certificates


def _match_certificate(
    key: PrivateKey, certificates: list[x509.Certificate], path: Path
) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """The certificate of ``key`` and the other certificates (its chain), in the given order."""
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for certificate in certificates:
        candidate = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if candidate == public:
            return certificate, tuple(c for c in certificates if c is not certificate)
    raise SigningKeyError("DOC533", f"没有找到与 {path} 中私钥匹配的证书（可用 MANUAL_SIGNING_CERT 指定）")


# --------------------------------------------------------------------------- the development key


def _load_or_create_dev_key(directory: Path) -> SigningKey:
    key_file = directory / DEV_KEY_FILE
    if not key_file.exists():
        _create_dev_key(directory)
    _keep_private(key_file)
    data = _read_limited(key_file)
    private_key = _load_pem_key(data, None, key_file, made_here=True)
    certificate, _ = _match_certificate(private_key, _pem_certificates(data, key_file), key_file)
    return SigningKey(private_key, certificate, development=True)


def _keep_private(key_file: Path) -> None:
    """Tighten the key file back to 0600 should anything have loosened it."""
    try:
        if key_file.stat().st_mode & 0o077:
            os.chmod(key_file, 0o600)
    except OSError as exc:
        raise SigningKeyError("DOC536", f"无法设置 {key_file} 的权限：{exc.strerror or exc}") from None


def _create_dev_key(directory: Path) -> None:
    """Make the development key and its certificate. Both go into one file (mode 0600), which
    is linked into place only if no other process got there first, so the pair always matches;
    a copy of the certificate alone is then written beside it for importing elsewhere."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SigningKeyError("DOC536", f"无法创建开发签名目录 {directory}：{exc.strerror or exc}") from None
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = _self_signed_certificate(private_key, utc_now())
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = directory / DEV_KEY_FILE
    try:
        _publish(key_file, key_pem + certificate.public_bytes(serialization.Encoding.PEM), 0o600, replace=False)
        winner = _pem_certificates(_read_limited(key_file), key_file)
        if winner:
            cert_pem = winner[0].public_bytes(serialization.Encoding.PEM)
            _publish(directory / DEV_CERT_FILE, cert_pem, 0o644, replace=True)
    except OSError as exc:
        raise SigningKeyError("DOC536", f"无法写入开发签名文件到 {directory}：{exc.strerror or exc}") from None


def _publish(target: Path, content: bytes, mode: int, replace: bool) -> bool:
    """Write ``content`` to a temporary file with ``mode`` and move it to ``target`` atomically.
    Without ``replace`` an existing target is kept. Returns whether ``target`` was written."""
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        if replace:
            os.replace(temporary, target)
            return True
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _self_signed_certificate(private_key: rsa.RSAPrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEV_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
        ]
    )
    public_key = private_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(DEV_VALID_FROM)
        .not_valid_after(now + DEV_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(private_key, hashes.SHA256())
    )
