"""Signing-key configuration and malformed package XML: each refusal has its own code, through the CLI."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from revision_repo import RevisionRepo, shared_history

from manualkit.documents.ooxml_package import PackageError, parse_xml
from manualkit.documents.signing_key import SigningKeyError, load_signing_key


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("signing") / "r")


def test_a_too_weak_key_is_refused(released: RevisionRepo, tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = tmp_path / "weak.pem"
    pem.write_bytes(weak.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    result = released.manual("docx", "-o", str(tmp_path / "x.docx"), env={"MANUAL_SIGNING_KEY": str(pem)})
    assert result.code == 1 and "DOC534" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.docx").exists()


def test_a_certificate_without_a_key_is_an_incomplete_configuration(released: RevisionRepo, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    result = released.manual("docx", "-o", str(tmp_path / "x.docx"), env={"MANUAL_SIGNING_CERT": str(cert)})
    assert result.code == 1 and "DOC535" in result.output and "Traceback" not in result.output


def test_an_unwritable_development_key_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be\n")
    with pytest.raises(SigningKeyError) as caught:
        load_signing_key({"MANUAL_HOME": str(blocker)})
    assert caught.value.code == "DOC536"


def test_package_xml_with_a_dtd_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    with pytest.raises(PackageError) as caught:
        parse_xml(bomb, "word/document.xml")
    assert caught.value.code == "DOC511"


def test_verify_calls_a_docx_with_an_entity_bomb_damaged_or_tampered(released: RevisionRepo, tmp_path: Path) -> None:
    out = tmp_path / "a.docx"
    assert released.manual("docx", "-o", str(out)).code == 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "word/document.xml":
                body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + body.split(b"?>", 1)[1]
            dst.writestr(name, body)
    bad = tmp_path / "bad.docx"
    bad.write_bytes(buffer.getvalue())
    result = released.manual("verify", str(bad))
    assert result.code in (3, 6), result.output
    assert "Traceback" not in result.output
