"""OOXML package signatures: sign, verify, tamper, and the opinion of two outside verifiers.

Every document is a real DOCX made with python-docx; every key is a real key. The outside
verifiers are xmlsec1 and LibreOffice: their tests skip when the tool is missing, except under
CI (``CI=true``), where a missing tool is a failure.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import re
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from conftest import new_libreoffice_profile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Inches
from lxml import etree

from manualkit.documents.ooxml_package import (
    CONTENT_TYPES_NAME,
    MIB,
    PackageError,
    parse_content_types,
    read_package,
    serialize_content_types,
    write_package,
)
from manualkit.documents.package_signature import (
    C14N,
    CT_ORIGIN,
    CT_SIGNATURE,
    NS_DSIG,
    NS_MDSSI,
    NS_OFFICE_DIGSIG,
    NS_XADES,
    ORIGIN_PART,
    ORIGIN_RELS,
    RELATIONSHIP_TRANSFORM,
    RT_ORIGIN,
    SIGNATURE_PART,
    c14n,
    sign_package,
    verify_package,
)
from manualkit.documents.signing_key import (
    DEV_KEY_FILE,
    DEV_VALID_FROM,
    SigningKey,
    SigningKeyError,
    is_development_certificate,
    load_signing_key,
    trusted_certificates,
)

SIGNING_TIME = dt.datetime(2025, 3, 1, 8, 30, 15, tzinfo=dt.UTC)
XMLSEC1 = Path("/usr/bin/xmlsec1")
SOFFICE = Path("/usr/bin/soffice")
SYSTEM_PYTHON = Path("/usr/bin/python3")
UNO_SCRIPT = Path(__file__).with_name("uno_verify_signature.py")
DS = {"ds": NS_DSIG, "xd": NS_XADES, "mdssi": NS_MDSSI, "o": NS_OFFICE_DIGSIG}


# =========================================================================== fixtures


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc0\x20\x20" * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def make_docx(directory: Path) -> bytes:
    """A manual-like document: headings, text, a picture and an external hyperlink."""
    document = docx.Document()
    document.add_heading("第一章 业务流程概述", level=1)
    document.add_paragraph("本手册规定销售业务流程的定义、目标、范围和原则。")
    document.add_picture(io.BytesIO(tiny_png()), width=Inches(0.5))
    document.part.relate_to("https://example.com/手册", RT.HYPERLINK, is_external=True)
    path = directory / "manual.docx"
    document.save(str(path))
    return path.read_bytes()


def self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, certificate: x509.Certificate | None) -> bytes:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if certificate is not None:
        data += certificate.public_bytes(serialization.Encoding.PEM)
    return data


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signature")


@pytest.fixture(scope="module")
def document(workdir: Path) -> bytes:
    return make_docx(workdir)


@pytest.fixture(scope="module")
def rsa_key(workdir: Path) -> SigningKey:
    """The development key (RSA-2048), made in a private MANUAL_HOME."""
    return load_signing_key({"MANUAL_HOME": str(workdir / "home")})


@pytest.fixture(scope="module")
def ec_key(workdir: Path) -> SigningKey:
    """A release key: ECDSA P-256 and its certificate in one PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    path = workdir / "release-ec.pem"
    path.write_bytes(pem_of(key, self_signed(key, "发布签名 ECDSA")))
    return load_signing_key({"MANUAL_SIGNING_KEY": str(path)})


@pytest.fixture(scope="module")
def other_key() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, self_signed(key, "攻击者")


@pytest.fixture(scope="module")
def signed(document: bytes, rsa_key: SigningKey) -> bytes:
    return sign_package(document, rsa_key, SIGNING_TIME)


@pytest.fixture(scope="module")
def signed_ec(document: bytes, ec_key: SigningKey) -> bytes:
    return sign_package(document, ec_key, SIGNING_TIME)


# =========================================================================== editing helpers


def edited(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    parts = dict(read_package(data).parts)
    change(parts)
    return write_package(parts.items())


def replace_in(name: str, old: bytes, new: bytes) -> Callable[[dict[str, bytes]], None]:
    def change(parts: dict[str, bytes]) -> None:
        assert old in parts[name]
        parts[name] = parts[name].replace(old, new, 1)

    return change


def edit_signature(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    def apply(parts: dict[str, bytes]) -> None:
        root = etree.fromstring(parts[SIGNATURE_PART])
        change(root)
        parts[SIGNATURE_PART] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    return edited(data, apply)


def signature_root(data: bytes) -> etree._Element:
    return etree.fromstring(read_package(data).parts[SIGNATURE_PART])


# =========================================================================== signing and verifying


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_sign_then_verify_is_valid(which: str, request: pytest.FixtureRequest) -> None:
    data: bytes = request.getfixturevalue("signed" if which == "rsa" else "signed_ec")
    key: SigningKey = request.getfixturevalue(f"{which}_key")
    report = verify_package(data)
    assert report.status == "valid", report.problems
    assert report.problems == []
    assert report.certificate == key.certificate.public_bytes(serialization.Encoding.DER)
    assert report.signing_time == SIGNING_TIME
    for part in (
        "/word/document.xml",
        "/word/styles.xml",
        "/word/settings.xml",
        "/word/numbering.xml",
        "/word/theme/theme1.xml",
        "/word/media/image1.png",
        "/_rels/.rels",
        "/word/_rels/document.xml.rels",
    ):
        assert part in report.signed_parts
    # Office never signs these; the content types are signed inside each reference URI instead.
    for part in ("/docProps/core.xml", "/docProps/app.xml", "/[Content_Types].xml", "/" + SIGNATURE_PART):
        assert part not in report.signed_parts


def test_layout_is_the_one_word_writes(signed: bytes) -> None:
    package = read_package(signed)
    assert package.parts[ORIGIN_PART] == b""
    types = parse_content_types(package.parts[CONTENT_TYPES_NAME])
    assert types.content_type(ORIGIN_PART) == CT_ORIGIN
    assert types.content_type(SIGNATURE_PART) == CT_SIGNATURE
    origin_rels = [r for r in package.relationships("") if r.type == RT_ORIGIN]
    assert [r.target for r in origin_rels] == ["_xmlsignatures/origin.sigs"]
    assert ORIGIN_RELS in package.parts
    assert [r.target for r in package.relationships(ORIGIN_PART)] == ["sig1.xml"]

    root = etree.fromstring(package.parts[SIGNATURE_PART])
    assert root.tag == f"{{{NS_DSIG}}}Signature" and root.get("Id") == "idPackageSignature"
    assert root.find("ds:SignedInfo/ds:CanonicalizationMethod", DS).get("Algorithm") == C14N
    refs = [(r.get("URI"), r.get("Type")) for r in root.findall("ds:SignedInfo/ds:Reference", DS)]
    assert refs == [
        ("#idPackageObject", "http://www.w3.org/2000/09/xmldsig#Object"),
        ("#idOfficeObject", "http://www.w3.org/2000/09/xmldsig#Object"),
        ("#idSignedProperties", "http://uri.etsi.org/01903#SignedProperties"),
    ]
    manifest_uris = [r.get("URI") for r in root.findall("ds:Object/ds:Manifest/ds:Reference", DS)]
    assert (
        "/word/document.xml?ContentType=application/vnd.openxmlformats-officedocument"
        ".wordprocessingml.document.main+xml" in manifest_uris
    )
    # The package relationships are signed through the RelationshipTransform, core and app left out.
    package_rels = root.find(
        "ds:Object/ds:Manifest/ds:Reference[@URI='/_rels/.rels?ContentType="
        "application/vnd.openxmlformats-package.relationships+xml']",
        DS,
    )
    algorithms = [t.get("Algorithm") for t in package_rels.findall("ds:Transforms/ds:Transform", DS)]
    assert algorithms == [RELATIONSHIP_TRANSFORM, C14N]
    source_ids = {e.get("SourceId") for e in package_rels.iter(f"{{{NS_MDSSI}}}RelationshipReference")}
    by_type = {r.id: r.type for r in package.relationships("")}
    assert {by_type[i].rsplit("/", 1)[-1] for i in source_ids} == {"officeDocument", "thumbnail"}
    assert root.find(".//mdssi:SignatureTime/mdssi:Value", DS).text == "2025-03-01T08:30:15Z"

    info = root.find(".//o:SignatureInfoV1", DS)
    names = [etree.QName(child).localname for child in info]
    assert names[:4] == ["SetupID", "SignatureText", "SignatureImage", "SignatureComments"]
    for name in (
        "WindowsVersion",
        "OfficeVersion",
        "ApplicationVersion",
        "Monitors",
        "HorizontalResolution",
        "VerticalResolution",
        "ColorDepth",
        "SignatureProviderId",
        "SignatureProviderUrl",
        "SignatureProviderDetails",
        "SignatureType",
    ):
        assert name in names
    assert info.find("o:SignatureType", DS).text == "1"

    signed_properties = root.find(".//xd:QualifyingProperties/xd:SignedProperties", DS)
    assert signed_properties.get("Id") == "idSignedProperties"
    assert signed_properties.find(".//xd:SigningTime", DS).text == "2025-03-01T08:30:15Z"
    assert signed_properties.find(".//xd:SigningCertificate/xd:Cert/xd:CertDigest/ds:DigestValue", DS) is not None
    assert signed_properties.find(".//xd:SignaturePolicyIdentifier/xd:SignaturePolicyImplied", DS) is not None
    assert root.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", DS).text


def test_unsigned_document(document: bytes) -> None:
    report = verify_package(document)
    assert report.status == "unsigned"
    assert report.certificate is None


def test_signing_is_deterministic(document: bytes, rsa_key: SigningKey, ec_key: SigningKey, signed: bytes) -> None:
    assert sign_package(document, rsa_key, SIGNING_TIME) == signed
    assert sign_package(document, ec_key, SIGNING_TIME) == sign_package(document, ec_key, SIGNING_TIME)
    later = SIGNING_TIME + dt.timedelta(seconds=1)
    assert sign_package(document, rsa_key, later) != signed


def test_resigning_replaces_the_old_signature(signed: bytes, ec_key: SigningKey) -> None:
    again = sign_package(signed, ec_key, SIGNING_TIME + dt.timedelta(days=1))
    names = [n for n in read_package(again).parts if n.startswith("_xmlsignatures/")]
    assert sorted(names) == sorted([ORIGIN_PART, ORIGIN_RELS, SIGNATURE_PART])
    origins = [r for r in read_package(again).relationships("") if r.type == RT_ORIGIN]
    assert len(origins) == 1
    report = verify_package(again)
    assert report.status == "valid", report.problems
    assert report.certificate == ec_key.certificate.public_bytes(serialization.Encoding.DER)


def test_every_part_is_signed_even_one_no_relationship_reaches(document: bytes, rsa_key: SigningKey) -> None:
    def add(parts: dict[str, bytes]) -> None:
        parts["word/orphan.xml"] = b"<orphan/>"

    report = verify_package(sign_package(edited(document, add), rsa_key, SIGNING_TIME))
    assert report.status == "valid", report.problems
    assert "/word/orphan.xml" in report.signed_parts


def test_naive_signing_time_is_refused(document: bytes, rsa_key: SigningKey) -> None:
    with pytest.raises(ValueError):
        sign_package(document, rsa_key, dt.datetime(2025, 1, 1))


# =========================================================================== tampering


def assert_tampered(data: bytes, *fragments: str) -> None:
    report = verify_package(data)
    assert report.status == "tampered", report.problems
    text = "\n".join(report.problems)
    for fragment in fragments:
        assert fragment in text


def test_one_changed_character_in_the_document(signed: bytes) -> None:
    tampered = edited(signed, replace_in("word/document.xml", "定义".encode(), "定意".encode()))
    assert_tampered(tampered, "/word/document.xml")


def test_changed_style(signed: bytes) -> None:
    tampered = edited(signed, replace_in("word/styles.xml", b'w:val="Heading1"', b'w:val="Heading2"'))
    assert_tampered(tampered, "/word/styles.xml")


def test_changed_picture(signed: bytes) -> None:
    def change(parts: dict[str, bytes]) -> None:
        parts["word/media/image1.png"] = parts["word/media/image1.png"][:-1] + b"\x00"

    assert_tampered(edited(signed, change), "/word/media/image1.png")


def test_added_part(signed: bytes) -> None:
    def add(parts: dict[str, bytes]) -> None:
        parts["word/extra.xml"] = b"<extra/>"

    assert_tampered(edited(signed, add), "/word/extra.xml")


def test_added_part_with_its_relationship(signed: bytes) -> None:
    def add(parts: dict[str, bytes]) -> None:
        rels = parts["word/_rels/document.xml.rels"]
        extra = (
            b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/header" Target="header9.xml"/></Relationships>'
        )
        parts["word/_rels/document.xml.rels"] = rels.replace(b"</Relationships>", extra)
        parts["word/header9.xml"] = b"<w:hdr xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'/>"
        types = parse_content_types(parts[CONTENT_TYPES_NAME]).with_override(
            "word/header9.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"
        )
        parts[CONTENT_TYPES_NAME] = serialize_content_types(types)

    assert_tampered(edited(signed, add), "/word/header9.xml", "rId99")


def test_changed_relationship_target(signed: bytes) -> None:
    tampered = edited(
        signed, replace_in("word/_rels/document.xml.rels", b'Target="styles.xml"', b'Target="fontTable.xml"')
    )
    assert_tampered(tampered, "/word/_rels/document.xml.rels")


def test_changed_content_type(signed: bytes) -> None:
    def change(parts: dict[str, bytes]) -> None:
        types = parse_content_types(parts[CONTENT_TYPES_NAME]).with_override("word/styles.xml", "application/xml")
        parts[CONTENT_TYPES_NAME] = serialize_content_types(types)

    assert_tampered(edited(signed, change), "/word/styles.xml")


def test_removed_part(signed: bytes) -> None:
    def remove(parts: dict[str, bytes]) -> None:
        del parts["word/numbering.xml"]

    assert_tampered(edited(signed, remove), "/word/numbering.xml")


def test_removed_signature_part_is_tampered(signed: bytes) -> None:
    """Deleting sig1.xml leaves the origin part and its relationship pointing at a signature that
    is gone: the package says it was signed and the signature was stripped, so the verdict is
    "tampered", not "unsigned" (which would let anyone downgrade a signed manual silently)."""

    def remove(parts: dict[str, bytes]) -> None:
        del parts[SIGNATURE_PART]

    assert_tampered(edited(signed, remove), SIGNATURE_PART)


def test_signature_removed_with_all_its_traces_is_unsigned(signed: bytes, document: bytes) -> None:
    """Removing every trace of the signature gives back an unsigned document, which is what it then
    is; a caller that requires a signature refuses "unsigned" as it refuses "tampered"."""

    def strip(parts: dict[str, bytes]) -> None:
        for name in (ORIGIN_PART, ORIGIN_RELS, SIGNATURE_PART):
            del parts[name]
        parts["_rels/.rels"] = read_package(document).parts["_rels/.rels"]

    assert verify_package(edited(signed, strip)).status == "unsigned"


def test_swapped_certificate(signed: bytes, other_key: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    _, certificate = other_key
    der = certificate.public_bytes(serialization.Encoding.DER)

    def swap(root: etree._Element) -> None:
        root.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", DS).text = base64.b64encode(der).decode()

    assert_tampered(edit_signature(signed, swap), "签名值")


def test_signed_info_resigned_with_another_key_keeping_the_certificate(
    signed: bytes, other_key: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    key, _ = other_key

    def resign(root: etree._Element) -> None:
        value = key.sign(c14n(root.find("ds:SignedInfo", DS)), padding.PKCS1v15(), hashes.SHA256())
        root.find("ds:SignatureValue", DS).text = base64.b64encode(value).decode()

    assert_tampered(edit_signature(signed, resign), "签名值")


def test_certificate_swapped_and_resigned_consistently(
    signed: bytes, other_key: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    """An attacker who puts in their own certificate and re-signs SignedInfo with their own key
    still fails: the signed XAdES properties name the original certificate."""
    key, certificate = other_key
    der = certificate.public_bytes(serialization.Encoding.DER)

    def replace(root: etree._Element) -> None:
        root.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", DS).text = base64.b64encode(der).decode()
        value = key.sign(c14n(root.find("ds:SignedInfo", DS)), padding.PKCS1v15(), hashes.SHA256())
        root.find("ds:SignatureValue", DS).text = base64.b64encode(value).decode()

    assert_tampered(edit_signature(signed, replace), "SigningCertificate")


def test_changed_signing_time(signed: bytes) -> None:
    def change(root: etree._Element) -> None:
        root.find(".//xd:SigningTime", DS).text = "2020-01-01T00:00:00Z"

    assert_tampered(edit_signature(signed, change), "#idSignedProperties")


def test_core_properties_are_not_signed_as_in_office(signed: bytes) -> None:
    """Office leaves docProps/core.xml and app.xml unsigned (it rewrites them by itself)."""
    changed = edited(signed, replace_in("docProps/core.xml", b"python-docx", b"someone-else"))
    assert verify_package(changed).status == "valid"


def test_damaged_inputs() -> None:
    assert verify_package(b"not a zip").status == "damaged"


def test_garbage_signature_part_is_damaged(signed: bytes) -> None:
    def spoil(parts: dict[str, bytes]) -> None:
        parts[SIGNATURE_PART] = b"<Signature"

    report = verify_package(edited(signed, spoil))
    assert report.status == "damaged"
    assert report.problems


def test_zip_bomb_and_huge_part_are_refused(signed: bytes, rsa_key: SigningKey) -> None:
    def bomb(parts: dict[str, bytes]) -> None:
        parts["word/media/bomb.bin"] = bytes(30 * MIB)

    bombed = edited(signed, bomb)
    with pytest.raises(PackageError) as caught:
        sign_package(bombed, rsa_key, SIGNING_TIME)
    assert caught.value.code == "DOC505"
    assert verify_package(bombed).status == "damaged"

    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in read_package(signed).parts.items():
            archive.writestr(name, content)
        archive.writestr("word/media/huge.bin", os.urandom(65 * MIB))
    with pytest.raises(PackageError) as caught:
        sign_package(buffer.getvalue(), rsa_key, SIGNING_TIME)
    assert caught.value.code == "DOC503"


# =========================================================================== signing keys


def test_development_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    env = {"MANUAL_HOME": str(tmp_path / "home")}
    first = load_signing_key(env)
    second = load_signing_key(env)
    assert first.development and second.development
    assert first.certificate == second.certificate
    directory = tmp_path / "home" / "dev-signing"
    assert (directory / DEV_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []  # no temporary files left
    files_with_keys = [p for p in tmp_path.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
    assert files_with_keys == [directory / DEV_KEY_FILE]
    certificate = first.certificate
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "开发签名（非正式）"
    assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "晟达实业有限公司"
    # Valid from 2000 (every status of every release is signed at the moment it began, as with a
    # release certificate issued before the first release) until ten years after its creation.
    assert certificate.not_valid_before_utc == DEV_VALID_FROM
    assert dt.timedelta(days=3650) <= certificate.not_valid_after_utc - dt.datetime.now(dt.UTC) <= dt.timedelta(days=3654)
    assert is_development_certificate(certificate)
    assert trusted_certificates(env) == [certificate]


def test_trusted_certificates_never_makes_a_key(tmp_path: Path) -> None:
    assert trusted_certificates({"MANUAL_HOME": str(tmp_path)}) == []
    assert list(tmp_path.iterdir()) == []


def test_development_key_in_the_user_data_directory(tmp_path: Path) -> None:
    key = load_signing_key({"HOME": str(tmp_path)})
    assert (tmp_path / ".local/share/manualkit/dev-signing" / DEV_KEY_FILE).is_file()
    assert key.development


def test_release_key_from_pkcs12_with_password(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = self_signed(key, "晟达实业有限公司 文控")
    path = tmp_path / "release.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"release", key, certificate, None, serialization.BestAvailableEncryption("口令".encode())
        )
    )
    env = {"MANUAL_SIGNING_KEY": str(path), "MANUAL_SIGNING_PASSWORD": "口令", "MANUAL_HOME": str(tmp_path)}
    loaded = load_signing_key(env)
    assert not loaded.development
    assert loaded.certificate == certificate
    assert trusted_certificates(env) == [certificate]
    with pytest.raises(SigningKeyError) as caught:
        load_signing_key({**env, "MANUAL_SIGNING_PASSWORD": "错误"})
    assert caught.value.code == "DOC532"
    assert not (tmp_path / "dev-signing").exists()  # a configured key never makes a development key


def test_release_key_from_pem_with_separate_certificate(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed(key, "发布")
    (tmp_path / "key.pem").write_bytes(pem_of(key, None))
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    env = {"MANUAL_SIGNING_KEY": str(tmp_path / "key.pem"), "MANUAL_SIGNING_CERT": str(tmp_path / "cert.pem")}
    assert load_signing_key(env).certificate == certificate
    with pytest.raises(SigningKeyError) as caught:
        load_signing_key({"MANUAL_SIGNING_KEY": str(tmp_path / "key.pem")})
    assert caught.value.code == "DOC533"
    with pytest.raises(SigningKeyError) as caught:
        load_signing_key({"MANUAL_SIGNING_KEY": str(tmp_path / "missing.pem")})
    assert caught.value.code == "DOC531"


def test_trusted_certificates_lists_release_then_development(tmp_path: Path) -> None:
    dev = load_signing_key({"MANUAL_HOME": str(tmp_path)})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = self_signed(key, "发布")
    (tmp_path / "release.pem").write_bytes(pem_of(key, certificate))
    env = {"MANUAL_HOME": str(tmp_path), "MANUAL_SIGNING_KEY": str(tmp_path / "release.pem")}
    assert trusted_certificates(env) == [certificate, dev.certificate]
    assert [is_development_certificate(c) for c in trusted_certificates(env)] == [False, True]


# =========================================================================== outside verifiers


def require_tool(path: Path, what: str) -> None:
    """Skip when a tool is missing, but fail under CI, which must have every tool."""
    if path.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} ({path}) is required under CI but is missing")
    pytest.skip(f"{what} ({path}) is not installed")


def test_a_missing_tool_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_tool(Path("/nonexistent/tool"), "工具")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_tool(Path("/nonexistent/tool"), "工具")


@dataclass
class XmlsecVerdict:
    returncode: int
    statuses: dict[str, str]  # reference URI → xmlsec1's status, SignedInfo and manifest alike
    manifest_uris: list[str]
    transforms: str
    output: str

    @property
    def passed(self) -> bool:
        """xmlsec1 accepted SignedInfo and the signature value, and every manifest reference."""
        manifest = [self.statuses.get(uri) for uri in self.manifest_uris]
        return self.returncode == 0 and bool(manifest) and all(s == "succeeded" for s in manifest)


def xmlsec1_verify(data: bytes, directory: Path) -> XmlsecVerdict:
    """Extract the package and have xmlsec1 verify sig1.xml: SignedInfo with its same-document
    references, and (``--print-debug``) each manifest reference, mapped with ``--url-map`` to the
    extracted part; xmlsec1 applies the RelationshipTransform itself to relationship parts."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = read_package(data).parts
    for name, content in parts.items():
        target = directory / "package" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    root = etree.fromstring(parts[SIGNATURE_PART])
    certificate = x509.load_der_x509_certificate(
        base64.b64decode(root.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", DS).text)
    )
    (directory / "signer.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    command = [
        str(XMLSEC1),
        "--verify",
        "--print-debug",
        "--id-attr:Id",
        f"{NS_DSIG}:Object",
        "--id-attr:Id",
        f"{NS_XADES}:SignedProperties",
        "--trusted-pem",
        str(directory / "signer.pem"),
    ]
    manifest_uris = [str(r.get("URI")) for r in root.findall("ds:Object/ds:Manifest/ds:Reference", DS)]
    for uri in manifest_uris:
        command += [f"--url-map:{uri}", str(directory / "package" / uri.split("?")[0].lstrip("/"))]
    command.append(str(directory / "package" / SIGNATURE_PART))
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    output = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    statuses = {uri: status for status, uri in re.findall(r'== Status: (\w+)\n== URI: "([^"]*)"', output)}
    return XmlsecVerdict(done.returncode, statuses, manifest_uris, output, output)


@pytest.mark.parametrize("which", ["signed", "signed_ec"])
def test_xmlsec1_accepts_a_genuine_signature(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    require_tool(XMLSEC1, "xmlsec1")
    verdict = xmlsec1_verify(request.getfixturevalue(which), tmp_path)
    assert verdict.returncode == 0, verdict.output[-3000:]
    for uri in ("#idPackageObject", "#idOfficeObject", "#idSignedProperties"):
        assert verdict.statuses[uri] == "succeeded"
    assert len(verdict.manifest_uris) == len(verify_package(request.getfixturevalue(which)).signed_parts)
    assert verdict.passed, {u: verdict.statuses.get(u) for u in verdict.manifest_uris}
    assert "Manifests References (ok/all): {0}/{0}".format(len(verdict.manifest_uris)) in verdict.output
    assert "Transform: relationship" in verdict.transforms  # the .rels references went through it


@pytest.mark.parametrize(
    ("part", "old", "new"),
    [
        ("word/document.xml", "定义".encode(), "定意".encode()),
        ("word/styles.xml", b'w:val="Heading1"', b'w:val="Heading2"'),
        ("word/_rels/document.xml.rels", b'Target="styles.xml"', b'Target="fontTable.xml"'),
    ],
)
def test_xmlsec1_rejects_a_tampered_part(signed: bytes, tmp_path: Path, part: str, old: bytes, new: bytes) -> None:
    require_tool(XMLSEC1, "xmlsec1")
    verdict = xmlsec1_verify(edited(signed, replace_in(part, old, new)), tmp_path)
    assert not verdict.passed
    failing = [uri for uri in verdict.manifest_uris if verdict.statuses.get(uri) != "succeeded"]
    assert [uri.split("?")[0] for uri in failing] == ["/" + part]


def test_xmlsec1_rejects_a_swapped_certificate(
    signed: bytes, tmp_path: Path, other_key: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    require_tool(XMLSEC1, "xmlsec1")
    der = other_key[1].public_bytes(serialization.Encoding.DER)

    def swap(root: etree._Element) -> None:
        root.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", DS).text = base64.b64encode(der).decode()

    assert xmlsec1_verify(edit_signature(signed, swap), tmp_path).returncode != 0


def libreoffice_verdicts(files: dict[str, bytes], directory: Path) -> dict[str, list[dict[str, object]]]:
    """LibreOffice's SignatureInformation for each file, from one headless soffice session."""
    require_tool(SOFFICE, "LibreOffice (soffice)")
    require_tool(SYSTEM_PYTHON, "the system Python with LibreOffice's uno module")
    paths = []
    for name, content in files.items():
        path = directory / f"{name}.docx"
        path.write_bytes(content)
        paths.append(str(path))
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(UNO_SCRIPT), *paths],
        capture_output=True,
        timeout=600,
        check=False,
        env={key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        | {"UNO_PROFILE": str(new_libreoffice_profile(directory / "lo-profile"))},
    )
    if done.returncode != 0 and os.environ.get("CI") != "true" and b"No module named 'uno'" in done.stderr:
        pytest.skip("the system Python has no uno module (Debian package python3-uno)")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    results = json.loads(done.stdout)["results"]
    return {Path(r["file"]).stem: r["signatures"] for r in results}


@pytest.mark.libreoffice
def test_libreoffice_accepts_genuine_and_rejects_tampered(signed: bytes, signed_ec: bytes, tmp_path: Path) -> None:
    files = {
        "genuine-rsa": signed,
        "genuine-ecdsa": signed_ec,
        "tampered-document": edited(signed, replace_in("word/document.xml", "定义".encode(), "定意".encode())),
        "tampered-style": edited(signed, replace_in("word/styles.xml", b'w:val="Heading1"', b'w:val="Heading2"')),
    }
    verdicts = libreoffice_verdicts(files, tmp_path)
    for name in ("genuine-rsa", "genuine-ecdsa"):
        assert len(verdicts[name]) == 1, verdicts
        assert verdicts[name][0]["SignatureIsValid"] is True, verdicts
        # Self-signed, so not trusted: LibreOffice reports the certificate itself as not valid.
        assert verdicts[name][0]["Signer"]
    for name in ("tampered-document", "tampered-style"):
        assert len(verdicts[name]) == 1, verdicts
        assert verdicts[name][0]["SignatureIsValid"] is False, verdicts
