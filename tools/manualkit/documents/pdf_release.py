"""The signed PDF/A of a release: LibreOffice's PDF/A-2b export of the release DOCX, signed with
a PAdES signature (pyHanko) by the same release key that signs the DOCX.

The PDF is laid out by the same engine, from the same DOCX (table of contents filled), as the
page numbers of the DOCX's contents, so the two agree page for page. Chinese text is set in the
Noto CJK fonts (SIL Open Font License, which allows embedding), embedded as subsets.

Reproducible: with ``SOURCE_DATE_EPOCH`` (the signing time) the layout engine runs under
``faketime`` frozen at that moment, so the creation dates, the ICC profile's date and the file
identifier LibreOffice derives from them are the same on every run; the signature's incremental
update uses the same moment and a file identifier derived from the first one. RSA signatures
(PKCS#1 v1.5) are deterministic, and ECDSA ones are made deterministic (RFC 6979), so the whole
file is byte-identical (the site's files are signed this way at the moment their status began:
site/release_files.py).

Verifying reads the document's one signature, checks that it is intact, cryptographically valid,
covers the whole file (no update appended after signing), and names its certificate; the caller
decides whether the certificate is trusted and whether the version and content digest that the
signed document states (its Keywords, ``version=…, digest=…``) are those of a release in git.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from manualkit.documents.pyhanko_import import load_pyhanko_sign
from manualkit.documents.signing_key import SigningKey

PdfStatus = Literal["valid", "tampered", "unsigned", "damaged"]

MAX_PDF_BYTES = 256 * 1024 * 1024
SIGNATURE_FIELD = "发布签名"
SIGNATURE_BYTES = 32 * 1024
_KEYWORDS_RE = re.compile(r"version=([^,;\s]+)[,;]\s*digest=([0-9a-f]{40,64})")
_LAYOUT_RE = re.compile(r"[,;]\s*layout=(\d{1,4})\b")


@dataclass
class PdfSignatureReport:
    status: PdfStatus
    certificate: bytes | None = None  # DER of the signer's certificate
    version: str | None = None
    digest: str | None = None
    layout: str = ""  # the document's form (docx.release.LAYOUT) its Keywords state; "" before 2
    signed_at: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)


def _signer(key: SigningKey) -> Any:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    load_pyhanko_sign()
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certificate = asn1_x509.Certificate.load(key.certificate.public_bytes(Encoding.DER))
    chain = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in key.chain]
    private = asn1_keys.PrivateKeyInfo.load(key.private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))

    class _Signer(SimpleSigner):
        """Signs with the loaded key (pyHanko would load it again from DER for every signature,
        checking the RSA key each time)."""

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

            algorithm = {"sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(digest_algorithm, hashes.SHA256())
            mechanism = str(self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native)
            if isinstance(key.private_key, rsa.RSAPrivateKey) and "pss" not in mechanism:
                return key.private_key.sign(data, padding.PKCS1v15(), algorithm)
            if isinstance(key.private_key, ec.EllipticCurvePrivateKey):
                from cryptography.exceptions import UnsupportedAlgorithm

                try:  # RFC 6979: the same document, key and time give the same bytes (the 验证 page)
                    return key.private_key.sign(data, ec.ECDSA(algorithm, deterministic_signing=True))
                except UnsupportedAlgorithm:
                    return key.private_key.sign(data, ec.ECDSA(algorithm))
            result: bytes = super().sign_raw(data, digest_algorithm)
            return result

    return _Signer(signing_cert=certificate, signing_key=private, cert_registry=SimpleCertificateStore.from_certs([certificate, *chain]))


def sign_pdf(pdf: bytes, key: SigningKey, signing_time: dt.datetime, *, reason: str) -> bytes:
    """``pdf`` with a PAdES baseline (B-B) signature by ``key`` at ``signing_time``, appended as an
    incremental update (the PDF/A document itself is left byte for byte as it was)."""
    load_pyhanko_sign()
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata.model import DocumentMetadata
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter

    moment = signing_time if signing_time.tzinfo else signing_time.replace(tzinfo=dt.UTC)
    moment = moment.replace(microsecond=0)

    class _Writer(IncrementalPdfFileWriter):
        """Deterministic incremental update: the modification date is the signing time and the
        second file identifier is derived from the first (pyHanko would use now and random)."""

        @classmethod
        def _handle_id(cls, prev: Any) -> Any:
            ids = super()._handle_id(prev)
            first = bytes(ids[0])
            return generic.ArrayObject([ids[0], generic.ByteStringObject(hashlib.sha256(first + b"manualkit-signed").digest()[:16])])

    class _Meta(DocumentMetadata):
        def __setattr__(self, name: str, value: object) -> None:
            super().__setattr__(name, moment if name == "last_modified" and value == "now" else value)

    writer = _Writer(io.BytesIO(pdf), strict=False)
    writer._meta = _Meta()
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
    )

    class _Signer(signers.PdfSigner):
        """Signs at ``signing_time`` (pyHanko would take the clock)."""

        def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
            session = super().init_signing_session(*args, **kwargs)
            session.system_time = moment
            return session

    signer = _Signer(metadata, signer=_signer(key), new_field_spec=fields.SigFieldSpec(sig_field_name=SIGNATURE_FIELD))
    out = io.BytesIO()
    # A fixed reservation for the signature container (a certificate chain and an RSA-4096 or
    # ECDSA signature fit) spares pyHanko a trial signature to measure it.
    signer.sign_pdf(writer, output=out, bytes_reserved=SIGNATURE_BYTES)
    return out.getvalue()


def verify_pdf(data: bytes) -> PdfSignatureReport:
    """What the signature of ``data`` says; never raises for a bad file."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not data.startswith(b"%PDF-"):
        return PdfSignatureReport("damaged", problems=["文件不以 %PDF- 开头"])
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        return PdfSignatureReport("damaged", problems=[f"PDF 无法解析：{exc}"])
    if not signatures:
        return PdfSignatureReport("unsigned", problems=["PDF 中没有签名"])
    if len(signatures) > 1:
        return PdfSignatureReport("tampered", problems=["PDF 中有多个签名：发布文件只应有一个发布签名"])
    return _check(reader, signatures[0], len(data))


def _check(reader: Any, signature: Any, size: int) -> PdfSignatureReport:
    from asn1crypto import x509 as asn1_x509
    load_pyhanko_sign()
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        certificate: asn1_x509.Certificate = signature.signer_cert
        context = ValidationContext(trust_roots=[certificate], allow_fetching=False)
        status = validate_pdf_signature(signature, context, key_usage_settings=KeyUsageConstraints())
    except (PdfError, SignatureValidationError, ValueError, KeyError, TypeError) as exc:
        return PdfSignatureReport("tampered", problems=[f"签名无法验证：{exc}"])
    report = PdfSignatureReport("valid", certificate.dump(), signed_at=status.signer_reported_dt)
    report.problems += _outside_the_signature(reader, signature, size)
    if not status.intact:
        report.problems.append("签名所覆盖的内容已被改动（摘要不符）")
    if not status.valid:
        report.problems.append("签名值无效")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE and not report.problems:
        report.problems.append("签名没有覆盖整个文件（签署后追加了内容）")
    if report.problems:
        report.status = "tampered"
        return report
    try:
        keywords = str(reader.trailer["/Info"].get("/Keywords", ""))
    except (KeyError, TypeError, AttributeError, PdfError):
        keywords = ""
    m = _KEYWORDS_RE.search(keywords)
    if m:
        report.version, report.digest = m.group(1), m.group(2)
        form = _LAYOUT_RE.search(keywords)
        report.layout = form.group(1) if form else ""
    return report


def _outside_the_signature(reader: Any, signature: Any, size: int) -> list[str]:
    """Every byte the signature does not cover, and every revision a release never has: the file
    is LibreOffice's PDF/A (one revision) and the signature's incremental update, nothing else."""
    problems = []
    byte_range = [int(n) for n in signature.byte_range]
    if len(byte_range) == 4:
        start, _, second, length = byte_range
        if start != 0:
            problems.append(f"签名范围之前有 {start} 个字节未被签名覆盖")
        after = size - (second + length)
        if after > 0:
            problems.append(f"签名范围之后有 {after} 个字节未被签名覆盖（签署后追加了内容）")
    revisions = reader.xrefs.total_revisions
    if signature.signed_revision != revisions - 1:
        problems.append(f"签名之后还有 {revisions - 1 - signature.signed_revision} 次增量更新")
    if signature.signed_revision != 1:
        problems.append(f"签名之前有 {signature.signed_revision - 1} 次增量更新：发布文件只有一次版面导出和一次签名")
    return problems


#: The band of an A4 page between the running header and the footer, in points from the top
#: (the header's text ends at about 56 pt, the footer's begins at about 788 pt).
BODY_TOP, BODY_HEIGHT = 70, 700


def without_output_intents(pdf: bytes) -> bytes:
    """``pdf`` with one more revision, whose catalog has no ``/OutputIntents``: the copy
    :func:`page_texts` gives pdftotext, never a file written or signed.

    For every page it reads, poppler builds a colour transform from a PDF/A's output intent (the
    ICC profile LibreOffice embeds); on a release that is nine tenths of pdftotext's time (6.5 s
    of CPU for the 47 pages of B/0, 0.7 s without it), and the text it extracts does not depend on
    colour (the same bytes with and without: tests/test_pdf_text.py). The pages, their fonts and
    their content are those of the file's own last revision. A file pyHanko cannot read or
    rewrite, or one without an output intent, is given as it is."""
    if b"/OutputIntents" not in pdf:
        return pdf
    try:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        root = writer.root
        if "/OutputIntents" not in root:
            return pdf
        del root["/OutputIntents"]
        writer.update_root()
        out = io.BytesIO()
        writer.write(out)
    except Exception:  # any file pyHanko cannot rewrite is read as it is
        return pdf
    return out.getvalue()


def page_texts(pdf: bytes, *, body_only: bool = False) -> list[str]:
    """The text of each page as poppler's ``pdftotext`` reads it, white space collapsed: what a
    reader of the file sees, page by page, for comparing two PDFs laid out by the same engine.
    ``body_only``: the text between the running header and the footer only."""
    import shutil
    import subprocess
    import tempfile

    from manualkit.base.diagnostics import fail

    program = shutil.which("pdftotext")
    if program is None:
        raise fail("pdftotext", 0, 0, "MAN871", "找不到 pdftotext，无法核对 PDF 的内容；请安装 poppler-utils（apt-get install poppler-utils）")
    with tempfile.TemporaryDirectory(prefix="manual-pdftext-") as work:
        source = f"{work}/in.pdf"
        with open(source, "wb") as out:
            out.write(without_output_intents(pdf))
        crop = ["-x", "0", "-y", str(BODY_TOP), "-W", "10000", "-H", str(BODY_HEIGHT)] if body_only else []
        proc = subprocess.run([program, "-enc", "UTF-8", "-q", *crop, source, "-"], capture_output=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise fail("pdftotext", 0, 0, "MAN872", "pdftotext 无法读取该 PDF 的文字；文件已损坏或不是发布的 PDF")
    pages = proc.stdout.decode("utf-8", "replace").split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page with a form feed
    return [" ".join(page.split()) for page in pages]
