"""Embedded digital signatures of OOXML packages (DOCX), as Word 2010 and later write them.

The layout is the one of ECMA-376 Part 2 §13 and [MS-OFFCRYPTO] §2.5.2: the package relationship
``digital-signature/origin`` points at ``_xmlsignatures/origin.sigs`` (empty), whose relationship
``digital-signature/signature`` points at ``_xmlsignatures/sig1.xml``, an XMLDSig ``<Signature
Id="idPackageSignature">`` whose SignedInfo (C14N 1.0, RSA-SHA256 or ECDSA-SHA256, SHA-256
digests) references three objects:

* ``#idPackageObject``: a Manifest with one Reference per signed part, its URI the part name
  plus ``?ContentType=…`` (so the content type is signed too); relationship parts are referenced
  through the OPC RelationshipTransform (one ``mdssi:RelationshipReference SourceId`` per signed
  relationship) followed by C14N; plus ``mdssi:SignatureTime``;
* ``#idOfficeObject``: Office's ``SignatureInfoV1``;
* ``#idSignedProperties``: XAdES 1.3.2 SignedProperties (signing time, signing certificate
  digest and issuer/serial, implied policy).

What is signed. Office signs the parts reached through the relationships of a fixed list of
content relationship types ([MS-OFFCRYPTO]; Apache POI's ``OOXMLSignatureFacet`` reproduces the
list) and never signs ``[Content_Types].xml`` (not a part; each signed part's content type is in
its URI instead), the core and extended properties (``docProps/core.xml``, ``docProps/app.xml``,
which Office rewrites on its own) or the signature parts. LibreOffice, whose signatures Word
accepts, signs every other part and every other relationship. We do what LibreOffice does: every
part except ``[Content_Types].xml``, the core/extended properties and the signature parts, and in
every relationship part every relationship except those to these. This is a superset of Office's
list, so nothing Word expects signed is left out, and no content part (including ones Office's list
does not know) can be changed or added unnoticed.

:func:`verify_package` recomputes everything itself (the RelationshipTransform included) and also
reports parts and relationships that the signature does not cover: a part added after signing
makes the package "tampered".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

from manualkit.documents.ooxml_package import (
    CONTENT_TYPES_NAME,
    NS_RELATIONSHIPS,
    RELATIONSHIPS_CONTENT_TYPE,
    XML_DECLARATION,
    ContentTypes,
    Package,
    PackageError,
    Relationship,
    item_name_of_uri,
    next_relationship_id,
    parse_relationships,
    parse_xml,
    part_name_uri,
    read_package,
    rels_name_for,
    resolve_target,
    serialize_content_types,
    serialize_relationships,
    source_of_rels,
    write_package,
)
from manualkit.documents.signing_key import PrivateKey, SigningKey

NS_DSIG = "http://www.w3.org/2000/09/xmldsig#"
NS_MDSSI = "http://schemas.openxmlformats.org/package/2006/digital-signature"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS_OFFICE_DIGSIG = "http://schemas.microsoft.com/office/2006/digsig"

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RELATIONSHIP_TRANSFORM = "http://schemas.openxmlformats.org/package/2006/RelationshipTransform"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
TYPE_OBJECT = "http://www.w3.org/2000/09/xmldsig#Object"
TYPE_SIGNED_PROPERTIES = "http://uri.etsi.org/01903#SignedProperties"

RT_ORIGIN = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin"
RT_SIGNATURE = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/signature"
CT_ORIGIN = "application/vnd.openxmlformats-package.digital-signature-origin"
CT_SIGNATURE = "application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml"
ORIGIN_PART = "_xmlsignatures/origin.sigs"
ORIGIN_RELS = "_xmlsignatures/_rels/origin.sigs.rels"
SIGNATURE_PART = "_xmlsignatures/sig1.xml"

#: Relationships to document metadata that Office rewrites by itself and never signs.
METADATA_RELATIONSHIP_TYPES = frozenset(
    {
        "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/metadata/core-properties",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
    }
)
#: The content types those metadata parts must have to be left unsigned.
METADATA_CONTENT_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-package.core-properties+xml",
        "application/vnd.openxmlformats-officedocument.extended-properties+xml",
    }
)
#: Relationships left out of every RelationshipTransform.
UNSIGNED_RELATIONSHIP_TYPES = METADATA_RELATIONSHIP_TYPES | {RT_ORIGIN}

DEFAULT_COMMENTS = "发布签名"
_DIGESTS = {
    SHA256: hashlib.sha256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashlib.sha384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashlib.sha512,
}
_OFFICE_DETAILS = (  # SignatureInfoV1 as Word 2016 writes it for a plain (non signature-line) signature
    ("WindowsVersion", "10.0"),
    ("OfficeVersion", "16.0"),
    ("ApplicationVersion", "16.0"),
    ("Monitors", "1"),
    ("HorizontalResolution", "1920"),
    ("VerticalResolution", "1080"),
    ("ColorDepth", "32"),
    ("SignatureProviderId", "{00000000-0000-0000-0000-000000000000}"),
    ("SignatureProviderUrl", ""),
    ("SignatureProviderDetails", "9"),
    ("SignatureType", "1"),
    ("ManifestHashAlgorithm", SHA256),
)

SignatureStatus = Literal["valid", "tampered", "unsigned", "damaged"]


@dataclass(frozen=True)
class SignatureReport:
    """What :func:`verify_package` found. ``problems`` says, in Chinese, why the status is not
    "valid"; ``signed_parts`` are the part names the manifest covers."""

    status: SignatureStatus
    certificate: bytes | None = None
    signing_time: datetime | None = None
    signed_parts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class ManifestEntry(NamedTuple):
    """One part to sign. ``source_ids`` are the relationships signed through the
    RelationshipTransform when the part is a relationship part."""

    item_name: str
    content_type: str
    source_ids: tuple[str, ...] | None = None

    @property
    def uri(self) -> str:
        return f"{part_name_uri(self.item_name)}?ContentType={self.content_type}"


# =========================================================================== shared helpers


def _ds(tag: str) -> str:
    return f"{{{NS_DSIG}}}{tag}"


def _xd(tag: str) -> str:
    return f"{{{NS_XADES}}}{tag}"


def _mdssi(tag: str) -> str:
    return f"{{{NS_MDSSI}}}{tag}"


_XML_NS_PREFIX = "{http://www.w3.org/XML/1998/namespace}"


def c14n(element: Any, algorithm: str = C14N) -> bytes:
    """Canonical XML 1.0 without comments (inclusive, or exclusive for ``EXC_C14N``) of the
    document subset an element and its descendants form, as a same-document reference sees it.

    lxml's own C14N of a non-root element emits stray ``xmlns=""`` below a default namespace
    inherited from an ancestor, so the subtree is first made a document of its own: lxml
    serialises a subelement with every namespace in scope declared on it, which is exactly what
    inclusive C14N renders on the apex of the subset; inherited ``xml:*`` attributes are added
    the same way."""
    standalone = element
    if element.getparent() is not None:
        standalone = etree.fromstring(etree.tostring(element, with_tail=False), _reparser())
        if algorithm == C14N:
            for name, value in _inherited_xml_attributes(element).items():
                standalone.set(name, value)
    data: bytes = etree.tostring(standalone, method="c14n", exclusive=algorithm == EXC_C14N, with_comments=False)
    return data


def _reparser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _inherited_xml_attributes(element: Any) -> dict[str, str]:
    """The ``xml:*`` attributes an element inherits from its ancestors but does not carry."""
    inherited: dict[str, str] = {}
    for ancestor in element.iterancestors():
        for name, value in ancestor.attrib.items():
            if name.startswith(_XML_NS_PREFIX) and name not in inherited and name not in element.attrib:
                inherited[name] = value
    return inherited


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def relationship_transform(rels_xml: bytes, source_ids: Collection[str], name: str = ".rels") -> bytes:
    """The OPC Relationships Transform (ECMA-376 Part 2 §13.2.4.24) followed by C14N: keep the
    Relationship elements whose Id is selected, sorted by Id, with their unqualified attributes
    and ``TargetMode`` defaulted to ``Internal``; drop everything else."""
    root = parse_xml(rels_xml, name, "DOC509")
    if root.tag != f"{{{NS_RELATIONSHIPS}}}Relationships":
        raise PackageError("DOC509", f"{name} 的根元素不是 Relationships")
    wanted = set(source_ids)
    selected = [
        child for child in root if child.tag == f"{{{NS_RELATIONSHIPS}}}Relationship" and child.get("Id") in wanted
    ]
    selected.sort(key=lambda child: str(child.get("Id")))
    out = etree.Element(f"{{{NS_RELATIONSHIPS}}}Relationships", nsmap={None: NS_RELATIONSHIPS})
    for child in selected:
        copy = etree.SubElement(out, f"{{{NS_RELATIONSHIPS}}}Relationship")
        for attribute, value in child.attrib.items():
            if not attribute.startswith("{") or attribute.startswith("{http://www.w3.org/XML/1998/namespace}"):
                copy.set(attribute, value)
        if copy.get("TargetMode") is None:
            copy.set("TargetMode", "Internal")
    return c14n(out)


class _Infrastructure(NamedTuple):
    """The signature parts of a package: origin, its relationships, and the signatures."""

    origin: str | None
    signatures: tuple[str, ...]
    names: frozenset[str]


def _signature_infrastructure(package: Package) -> _Infrastructure:
    origin: str | None = None
    for rel in package.relationships(""):
        if rel.type == RT_ORIGIN and not rel.external:
            origin = resolve_target("", rel.target)
    if origin is None:
        return _Infrastructure(None, (), frozenset())
    origin_rels = rels_name_for(origin)
    stored_rels = package.find(origin_rels)
    signatures: list[str] = []
    if stored_rels is not None:
        for rel in parse_relationships(package.parts[stored_rels], stored_rels):
            target = resolve_target(origin, rel.target)
            if rel.type == RT_SIGNATURE and not rel.external and target is not None:
                signatures.append(package.find(target) or target)
    names = {package.find(origin) or origin, stored_rels or origin_rels, *signatures}
    return _Infrastructure(origin, tuple(signatures), frozenset(names))


def _metadata_parts(package: Package, types: ContentTypes) -> set[str]:
    """The core and extended properties parts, which are deliberately left unsigned: targets of
    the package's metadata relationships that have a metadata content type."""
    found: set[str] = set()
    for rel in package.relationships(""):
        target = resolve_target("", rel.target) if not rel.external else None
        stored = package.find(target) if target is not None else None
        if rel.type in METADATA_RELATIONSHIP_TYPES and stored is not None:
            if types.content_type(stored) in METADATA_CONTENT_TYPES:
                found.add(stored)
    return found


# =========================================================================== signing


def sign_package(data: bytes, key: SigningKey, signing_time: datetime, *, comments: str = DEFAULT_COMMENTS) -> bytes:
    """Sign a DOCX (or any OOXML package) the way Word 2010+ does, replacing any signature it
    has. The output is deterministic for the same input, key and time (RSA, or ECDSA with
    RFC 6979 nonces where the OpenSSL in use supports them)."""
    if signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    parts, types = _prepare_parts(read_package(data))
    entries = manifest_entries(Package(parts), types)
    signature = _signature_xml(Package(parts), entries, key, signing_time, comments)
    parts[ORIGIN_PART] = b""
    parts[ORIGIN_RELS] = serialize_relationships([Relationship("rId1", RT_SIGNATURE, "sig1.xml")])
    parts[SIGNATURE_PART] = signature
    return write_package(parts.items())


def _prepare_parts(package: Package) -> tuple[dict[str, bytes], ContentTypes]:
    """The parts without any old signature, with the origin relationship and the content types
    of the new signature parts in place."""
    if package.find("_rels/.rels") is None:
        raise PackageError("DOC509", "包中缺少 _rels/.rels")
    types = package.content_types()
    infrastructure = _signature_infrastructure(package)
    removed = {
        name for name in package.parts if name in infrastructure.names or name.lower().startswith("_xmlsignatures/")
    }
    parts = {name: content for name, content in package.parts.items() if name not in removed}
    root_rels = [rel for rel in package.relationships("") if rel.type != RT_ORIGIN]
    root_rels.append(Relationship(next_relationship_id(root_rels), RT_ORIGIN, ORIGIN_PART))
    parts[package.find("_rels/.rels") or "_rels/.rels"] = serialize_relationships(root_rels)
    types = (
        types.without_overrides(removed)
        .with_default("rels", RELATIONSHIPS_CONTENT_TYPE)
        .with_default("sigs", CT_ORIGIN)
        .with_override(SIGNATURE_PART, CT_SIGNATURE)
    )
    parts[CONTENT_TYPES_NAME] = serialize_content_types(types)
    return parts, types


def manifest_entries(package: Package, types: ContentTypes) -> list[ManifestEntry]:
    """Every part to sign, in the order of their URIs (see the module docstring for which)."""
    unsigned = {CONTENT_TYPES_NAME} | _signature_infrastructure(package).names | _metadata_parts(package, types)
    entries: list[ManifestEntry] = []
    for name, content in package.parts.items():
        if name in unsigned or name.lower().startswith("_xmlsignatures/"):
            continue
        content_type = types.content_type(name)
        if content_type is None:
            raise PackageError("DOC508", f"部件 /{name} 在 {CONTENT_TYPES_NAME} 中没有内容类型")
        if source_of_rels(name) is None:
            entries.append(ManifestEntry(name, content_type))
            continue
        if content_type != RELATIONSHIPS_CONTENT_TYPE:
            raise PackageError("DOC508", f"关系部件 /{name} 的内容类型不是 {RELATIONSHIPS_CONTENT_TYPE}")
        ids = tuple(rel.id for rel in parse_relationships(content, name) if rel.type not in UNSIGNED_RELATIONSHIP_TYPES)
        if ids:
            entries.append(ManifestEntry(name, content_type, ids))
    entries.sort(key=lambda entry: entry.uri)
    return entries


def _signature_xml(
    package: Package, entries: list[ManifestEntry], key: SigningKey, signing_time: datetime, comments: str
) -> bytes:
    """sig1.xml: build the objects, digest them, then sign the canonical SignedInfo."""
    time_text = _time_text(signing_time)
    signature = etree.Element(_ds("Signature"), nsmap={None: NS_DSIG}, attrib={"Id": "idPackageSignature"})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), attrib={"Algorithm": C14N})
    etree.SubElement(signed_info, _ds("SignatureMethod"), attrib={"Algorithm": _signature_method(key.private_key)})
    signature_value = etree.SubElement(signature, _ds("SignatureValue"))
    _append_key_info(signature, key)
    package_object = _package_object(signature, package, entries, time_text)
    office_object = _office_object(signature, comments)
    signed_properties = _xades_object(signature, key.certificate, time_text)
    for uri, ref_type, element, transforms in (
        ("#idPackageObject", TYPE_OBJECT, package_object, ()),
        ("#idOfficeObject", TYPE_OBJECT, office_object, ()),
        ("#idSignedProperties", TYPE_SIGNED_PROPERTIES, signed_properties, (C14N,)),
    ):
        reference = etree.SubElement(signed_info, _ds("Reference"), attrib={"Type": ref_type, "URI": uri})
        if transforms:
            holder = etree.SubElement(reference, _ds("Transforms"))
            for algorithm in transforms:
                etree.SubElement(holder, _ds("Transform"), attrib={"Algorithm": algorithm})
        _append_digest(reference, c14n(element))
    signature_value.text = _b64(_sign(key.private_key, c14n(signed_info)))
    body: bytes = etree.tostring(signature, encoding="UTF-8", xml_declaration=False)
    return XML_DECLARATION + body


def _append_digest(parent: Any, content: bytes) -> None:
    etree.SubElement(parent, _ds("DigestMethod"), attrib={"Algorithm": SHA256})
    etree.SubElement(parent, _ds("DigestValue")).text = _b64(hashlib.sha256(content).digest())


def _append_key_info(signature: Any, key: SigningKey) -> None:
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    for certificate in (key.certificate, *key.chain):
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, _ds("X509Certificate")).text = _b64(der)


def _package_object(signature: Any, package: Package, entries: list[ManifestEntry], time_text: str) -> Any:
    package_object = etree.SubElement(signature, _ds("Object"), attrib={"Id": "idPackageObject"})
    manifest = etree.SubElement(package_object, _ds("Manifest"))
    for entry in entries:
        reference = etree.SubElement(manifest, _ds("Reference"), attrib={"URI": entry.uri})
        content = package.parts[entry.item_name]
        if entry.source_ids is not None:
            transforms = etree.SubElement(reference, _ds("Transforms"))
            transform = etree.SubElement(transforms, _ds("Transform"), attrib={"Algorithm": RELATIONSHIP_TRANSFORM})
            for source_id in entry.source_ids:
                etree.SubElement(
                    transform,
                    _mdssi("RelationshipReference"),
                    nsmap={"mdssi": NS_MDSSI},
                    attrib={"SourceId": source_id},
                )
            etree.SubElement(transforms, _ds("Transform"), attrib={"Algorithm": C14N})
            content = relationship_transform(content, entry.source_ids, entry.item_name)
        _append_digest(reference, content)
    properties = etree.SubElement(package_object, _ds("SignatureProperties"))
    prop = etree.SubElement(
        properties, _ds("SignatureProperty"), attrib={"Id": "idSignatureTime", "Target": "#idPackageSignature"}
    )
    signature_time = etree.SubElement(prop, _mdssi("SignatureTime"), nsmap={"mdssi": NS_MDSSI})
    etree.SubElement(signature_time, _mdssi("Format")).text = "YYYY-MM-DDThh:mm:ssTZD"
    etree.SubElement(signature_time, _mdssi("Value")).text = time_text
    return package_object


def _office_object(signature: Any, comments: str) -> Any:
    office_object = etree.SubElement(signature, _ds("Object"), attrib={"Id": "idOfficeObject"})
    properties = etree.SubElement(office_object, _ds("SignatureProperties"))
    prop = etree.SubElement(
        properties, _ds("SignatureProperty"), attrib={"Id": "idOfficeV1Details", "Target": "#idPackageSignature"}
    )
    info = etree.SubElement(prop, f"{{{NS_OFFICE_DIGSIG}}}SignatureInfoV1", nsmap={None: NS_OFFICE_DIGSIG})
    fields = (("SetupID", ""), ("SignatureText", ""), ("SignatureImage", ""), ("SignatureComments", comments))
    for name, value in (*fields, *_OFFICE_DETAILS):
        element = etree.SubElement(info, f"{{{NS_OFFICE_DIGSIG}}}{name}")
        if value:
            element.text = value
    return office_object


def _xades_object(signature: Any, certificate: x509.Certificate, time_text: str) -> Any:
    """The XAdES object; returns its SignedProperties element (what SignedInfo references)."""
    holder = etree.SubElement(signature, _ds("Object"))
    qualifying = etree.SubElement(
        holder, _xd("QualifyingProperties"), nsmap={"xd": NS_XADES}, attrib={"Target": "#idPackageSignature"}
    )
    signed_properties = etree.SubElement(qualifying, _xd("SignedProperties"), attrib={"Id": "idSignedProperties"})
    signature_properties = etree.SubElement(signed_properties, _xd("SignedSignatureProperties"))
    etree.SubElement(signature_properties, _xd("SigningTime")).text = time_text
    cert = etree.SubElement(etree.SubElement(signature_properties, _xd("SigningCertificate")), _xd("Cert"))
    _append_digest(etree.SubElement(cert, _xd("CertDigest")), certificate.public_bytes(serialization.Encoding.DER))
    issuer_serial = etree.SubElement(cert, _xd("IssuerSerial"))
    etree.SubElement(issuer_serial, _ds("X509IssuerName")).text = certificate.issuer.rfc4514_string()
    etree.SubElement(issuer_serial, _ds("X509SerialNumber")).text = str(certificate.serial_number)
    policy = etree.SubElement(signature_properties, _xd("SignaturePolicyIdentifier"))
    etree.SubElement(policy, _xd("SignaturePolicyImplied"))
    return signed_properties


def _signature_method(private_key: PrivateKey) -> str:
    return RSA_SHA256 if isinstance(private_key, rsa.RSAPrivateKey) else ECDSA_SHA256


def _sign(private_key: PrivateKey, data: bytes) -> bytes:
    """RSA PKCS#1 v1.5, or ECDSA as XMLDSig wants it: r and s concatenated, each padded."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    try:
        der = private_key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    except UnsupportedAlgorithm:
        der = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    size = (private_key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


# =========================================================================== verification


class _Findings:
    """Problems found so far, each marking the package either tampered or damaged."""

    def __init__(self) -> None:
        self.tampered: list[str] = []
        self.damaged: list[str] = []

    def tamper(self, message: str) -> None:
        self.tampered.append(message)

    def damage(self, message: str) -> None:
        self.damaged.append(message)

    @property
    def status(self) -> SignatureStatus:
        if self.tampered:
            return "tampered"
        return "damaged" if self.damaged else "valid"

    @property
    def problems(self) -> list[str]:
        return [*self.tampered, *self.damaged]


@dataclass
class _Verified:
    """What one signature showed: its certificate, time, and what its manifest covers
    (``None`` as the relationship Ids of a part means the whole part is covered). Coverage is
    only judged when the manifest could be read at all."""

    certificate: x509.Certificate | None = None
    signing_time: datetime | None = None
    covered: dict[str, frozenset[str] | None] = field(default_factory=dict)
    manifest_read: bool = False


def verify_package(data: bytes) -> SignatureReport:
    """Check the embedded signature of an OOXML package: every SignedInfo and manifest reference,
    the signature value, the XAdES signing certificate, and that every part and relationship is
    covered. Never raises for a bad file: the report says "damaged" instead."""
    try:
        package = read_package(data)
        return _verify(package)
    except PackageError as exc:
        return SignatureReport("damaged", problems=[f"{exc.code} {exc.message}"])


def _verify(package: Package) -> SignatureReport:
    infrastructure = _signature_infrastructure(package)
    findings = _Findings()
    if infrastructure.origin is None:
        leftovers = [name for name in package.parts if name.lower().startswith("_xmlsignatures/")]
        if not leftovers:
            return SignatureReport("unsigned", problems=["文档没有数字签名"])
        findings.tamper(f"包中残留签名部件 {', '.join(leftovers)}，但签名来源关系已被删除（签名被剥离？）")
        return SignatureReport(findings.status, problems=findings.problems)
    if package.find(infrastructure.origin) is None:
        findings.tamper(f"签名来源部件 /{infrastructure.origin} 缺失（签名被剥离？）")
    if not infrastructure.signatures:
        findings.tamper("签名来源没有指向任何签名部件（签名被剥离？）")
    results: list[_Verified] = []
    types = package.content_types()
    for name in infrastructure.signatures:
        stored = package.find(name)
        if stored is None:
            findings.tamper(f"签名部件 /{name} 缺失（签名被剥离？）")
            continue
        verified = _verify_signature(package, types, stored, findings)
        if verified is not None:
            if verified.manifest_read:
                _check_coverage(package, types, infrastructure, verified, findings)
            results.append(verified)
    first = results[0] if results else _Verified()
    return SignatureReport(
        findings.status,
        certificate=first.certificate.public_bytes(serialization.Encoding.DER) if first.certificate else None,
        signing_time=first.signing_time,
        signed_parts=sorted(part_name_uri(name) for name in first.covered),
        problems=findings.problems,
    )


def _verify_signature(package: Package, types: ContentTypes, name: str, findings: _Findings) -> _Verified | None:
    """Check one signature part; ``None`` when it is too broken to say what it covers."""
    try:
        root = parse_xml(package.parts[name], f"/{name}")
    except PackageError as exc:
        findings.damage(exc.message)
        return None
    if root.tag != _ds("Signature"):
        findings.damage(f"/{name} 的根元素不是 XMLDSig Signature")
        return None
    signed_info = _only_child(root, "SignedInfo", name, findings)
    certificate = _signer_certificate(root, name, findings)
    if signed_info is None or certificate is None:
        return None
    verified = _Verified(certificate=certificate)
    _check_signature_value(root, signed_info, certificate, findings)
    referenced = _check_signed_info_references(root, signed_info, findings)
    package_object = referenced.get("idPackageObject")
    if package_object is None or package_object.getparent() is not root or package_object.tag != _ds("Object"):
        findings.damage("签名没有以 #idPackageObject 引用包对象（ds:Object）")
        return verified
    manifest = package_object.find(_ds("Manifest"))
    if manifest is None:
        findings.damage("包对象中没有 Manifest")
        return verified
    verified.manifest_read = True
    for reference in manifest.findall(_ds("Reference")):
        covered = _check_manifest_reference(package, types, reference, findings)
        if covered is not None:
            verified.covered[covered[0]] = covered[1]
    verified.signing_time = _check_xades(root, referenced, certificate, findings) or _signature_time(package_object)
    return verified


def _only_child(root: Any, tag: str, name: str, findings: _Findings) -> Any:
    found = root.findall(_ds(tag))
    if len(found) != 1:
        findings.damage(f"/{name} 中应恰有一个 {tag}，实际有 {len(found)} 个")
        return None
    return found[0]


def _signer_certificate(root: Any, name: str, findings: _Findings) -> x509.Certificate | None:
    element = root.find(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if element is None or not (element.text or "").strip():
        findings.damage(f"/{name} 的 KeyInfo 中没有 X509Certificate")
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(element.text.split()), validate=True))
    except (ValueError, binascii.Error):
        findings.damage(f"/{name} 中的签名证书无法读取")
        return None


def _check_signature_value(root: Any, signed_info: Any, certificate: x509.Certificate, findings: _Findings) -> None:
    method = signed_info.find(_ds("CanonicalizationMethod"))
    c14n_algorithm = method.get("Algorithm") if method is not None else None
    signature_method = signed_info.find(_ds("SignatureMethod"))
    algorithm = signature_method.get("Algorithm") if signature_method is not None else None
    if c14n_algorithm not in (C14N, EXC_C14N):
        findings.damage(f"不支持的规范化方法：{c14n_algorithm}")
        return
    if algorithm not in (RSA_SHA256, ECDSA_SHA256):
        findings.damage(f"不支持的签名算法：{algorithm}")
        return
    value_element = root.find(_ds("SignatureValue"))
    try:
        value = base64.b64decode("".join((value_element.text or "").split()), validate=True)
    except (AttributeError, binascii.Error):
        findings.damage("SignatureValue 缺失或不是 Base64")
        return
    if not _signature_matches(certificate, algorithm, c14n(signed_info, c14n_algorithm), value):
        findings.tamper("签名值与 SignedInfo 和签名证书不符（SignedInfo 被改动、证书被替换或用其他密钥重新签名）")


def _signature_matches(certificate: x509.Certificate, algorithm: str, data: bytes, value: bytes) -> bool:
    """Whether ``value`` signs ``data`` with the certificate's key; a key of another kind than
    the algorithm names, or one that cannot be used at all, does not match."""
    try:
        public_key = certificate.public_key()
        if algorithm == RSA_SHA256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(value, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        if algorithm == ECDSA_SHA256 and isinstance(public_key, ec.EllipticCurvePublicKey):
            size = (public_key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                return False
            r, s = int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            public_key.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return False


def _check_signed_info_references(root: Any, signed_info: Any, findings: _Findings) -> dict[str, Any]:
    """Check the digest of each same-document reference; returns the elements SignedInfo
    references, by Id, whether their digest matched or not (a mismatch is already a finding)."""
    by_id: dict[str, list[Any]] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("Id") is not None:
            by_id.setdefault(str(element.get("Id")), []).append(element)
    referenced: dict[str, Any] = {}
    for reference in signed_info.findall(_ds("Reference")):
        uri = reference.get("URI") or ""
        if not uri.startswith("#"):
            findings.damage(f"SignedInfo 中有不支持的引用：{uri!r}")
            continue
        targets = by_id.get(uri[1:], [])
        if len(targets) != 1:
            findings.tamper(f"SignedInfo 引用的 {uri} 不存在或 Id 重复（{len(targets)} 个）")
            continue
        algorithms = [t.get("Algorithm") for t in reference.findall(f"{_ds('Transforms')}/{_ds('Transform')}")]
        if len(algorithms) > 1 or any(a not in (C14N, EXC_C14N) for a in algorithms):
            findings.damage(f"SignedInfo 对 {uri} 使用了不支持的变换：{algorithms}")
            continue
        referenced[uri[1:]] = targets[0]
        _digest_matches(reference, c14n(targets[0], algorithms[0] if algorithms else C14N), uri, findings)
    return referenced


def _digest_matches(reference: Any, content: bytes, what: str, findings: _Findings) -> bool:
    method = reference.find(_ds("DigestMethod"))
    algorithm = method.get("Algorithm") if method is not None else None
    digest = _DIGESTS.get(str(algorithm))
    if digest is None:
        findings.damage(f"{what} 使用了不支持的摘要算法：{algorithm}")
        return False
    value = reference.find(_ds("DigestValue"))
    try:
        expected = base64.b64decode("".join((value.text or "").split()), validate=True)
    except (AttributeError, binascii.Error):
        findings.damage(f"{what} 的 DigestValue 缺失或不是 Base64")
        return False
    if digest(content).digest() != expected:
        findings.tamper(f"{what} 的内容在签名后被修改（摘要不符）")
        return False
    return True


def _check_manifest_reference(
    package: Package, types: ContentTypes, reference: Any, findings: _Findings
) -> tuple[str, frozenset[str] | None] | None:
    """Check one manifest reference; returns the part it covers and, for a relationship part
    signed through the RelationshipTransform, the relationship Ids it covers."""
    uri = reference.get("URI") or ""
    path, _, query = uri.partition("?")
    if not path.startswith("/") or not query.startswith("ContentType="):
        findings.damage(f"清单中的引用 URI 无效：{uri!r}")
        return None
    declared_type = query.removeprefix("ContentType=")
    stored = package.find(item_name_of_uri(path))
    if stored is None:
        findings.tamper(f"签名覆盖的部件 {path} 已被删除")
        return None
    actual_type = types.content_type(stored)
    if (actual_type or "").lower() != declared_type.lower():
        findings.tamper(f"部件 {path} 的内容类型在签名后被改为 {actual_type}")
    transforms = reference.findall(f"{_ds('Transforms')}/{_ds('Transform')}")
    algorithms = [t.get("Algorithm") for t in transforms]
    content = package.parts[stored]
    source_ids: frozenset[str] | None = None
    if algorithms:
        if algorithms[0] != RELATIONSHIP_TRANSFORM or any(a != C14N for a in algorithms[1:]) or len(algorithms) > 2:
            findings.damage(f"清单中 {path} 的引用使用了不支持的变换：{algorithms}")
            return None
        if transforms[0].find(_mdssi("RelationshipsGroupReference")) is not None:
            findings.damage(f"清单中 {path} 的引用使用了不支持的 RelationshipsGroupReference")
            return None
        ids = [str(r.get("SourceId")) for r in transforms[0].findall(_mdssi("RelationshipReference"))]
        source_ids = frozenset(ids)
        content = relationship_transform(content, source_ids, path)
    _digest_matches(reference, content, f"部件 {path}", findings)
    return stored, source_ids


def _check_xades(
    root: Any, referenced: dict[str, Any], certificate: x509.Certificate, findings: _Findings
) -> datetime | None:
    """The XAdES SignedProperties must be signed and name the certificate that signed."""
    candidates = list(root.iter(_xd("SignedProperties")))
    if len(candidates) != 1:
        findings.damage(f"签名中应恰有一个 XAdES SignedProperties，实际有 {len(candidates)} 个")
        return None
    signed_properties = candidates[0]
    if referenced.get(str(signed_properties.get("Id"))) is not signed_properties:
        findings.tamper("XAdES SignedProperties 不在签名范围内")
    der = certificate.public_bytes(serialization.Encoding.DER)
    matches = False
    for cert in signed_properties.iter(_xd("Cert")):
        method = cert.find(f"{_xd('CertDigest')}/{_ds('DigestMethod')}")
        value = cert.find(f"{_xd('CertDigest')}/{_ds('DigestValue')}")
        serial = cert.find(f"{_xd('IssuerSerial')}/{_ds('X509SerialNumber')}")
        digest = _DIGESTS.get(str(method.get("Algorithm"))) if method is not None else None
        if digest is None or value is None or serial is None:
            continue
        if _b64(digest(der).digest()) == "".join((value.text or "").split()) and (
            (serial.text or "").strip() == str(certificate.serial_number)
        ):
            matches = True
    if not matches:
        findings.tamper("XAdES SigningCertificate 与签名所用证书不符（证书被替换？）")
    time_element = signed_properties.find(f"{_xd('SignedSignatureProperties')}/{_xd('SigningTime')}")
    return _parse_time(time_element.text if time_element is not None else None, findings)


def _signature_time(package_object: Any) -> datetime | None:
    value = package_object.find(f".//{_mdssi('SignatureTime')}/{_mdssi('Value')}")
    return _parse_time(value.text if value is not None else None, _Findings())


def _parse_time(text: str | None, findings: _Findings) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        findings.damage(f"签名时间无法解析：{text!r}")
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _check_coverage(
    package: Package, types: ContentTypes, infrastructure: _Infrastructure, verified: _Verified, findings: _Findings
) -> None:
    """Every part other than the deliberately unsigned ones, and every relationship other than
    those to them, must be covered by the signature."""
    unsigned = {CONTENT_TYPES_NAME} | infrastructure.names | _metadata_parts(package, types)
    for name, content in package.parts.items():
        if name in unsigned:
            continue
        relationships = _relationships_or_none(name, content, findings)
        if name in verified.covered:
            ids = verified.covered[name]
            for rel in relationships or []:
                if ids is not None and rel.type not in UNSIGNED_RELATIONSHIP_TYPES and rel.id not in ids:
                    findings.tamper(
                        f"关系部件 /{name} 中的关系 {rel.id}（{rel.target}）不在签名范围内（签名后被添加？）"
                    )
        elif relationships is None:
            findings.tamper(f"部件 /{name} 不在签名范围内（签名后被添加？）")
        elif any(rel.type not in UNSIGNED_RELATIONSHIP_TYPES for rel in relationships):
            findings.tamper(f"关系部件 /{name} 不在签名范围内（签名后被添加？）")


def _relationships_or_none(name: str, content: bytes, findings: _Findings) -> list[Relationship] | None:
    """The relationships of a relationship part, ``None`` for any other part."""
    if source_of_rels(name) is None:
        return None
    try:
        return parse_relationships(content, name)
    except PackageError as exc:
        findings.damage(exc.message)
        return []
