"""Bounded reading and deterministic writing of OPC packages, on real DOCX files and real zips."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path

import docx
import pytest

from manualkit.documents.ooxml_package import (
    CONTENT_TYPES_NAME,
    DEFAULT_LIMITS,
    MIB,
    ContentTypes,
    PackageError,
    PackageLimits,
    Relationship,
    check_item_name,
    next_relationship_id,
    parse_content_types,
    parse_relationships,
    read_package,
    rels_name_for,
    resolve_target,
    serialize_content_types,
    serialize_relationships,
    source_of_rels,
    write_package,
    zip_date_time,
)


def make_docx(directory: Path) -> bytes:
    document = docx.Document()
    document.add_heading("销售业务流程规范手册", level=1)
    document.add_paragraph("第一章 业务流程概述。")
    path = directory / "manual.docx"
    document.save(str(path))
    return path.read_bytes()


def zip_of(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests need
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            for name, content in entries:
                archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content, compress_type=method)
    return buffer.getvalue()


def refused(data: bytes, limits: PackageLimits = DEFAULT_LIMITS) -> PackageError:
    with pytest.raises(PackageError) as caught:
        read_package(data, limits)
    assert caught.value.message  # a Chinese message is always given
    return caught.value


# --------------------------------------------------------------------------- reading


def test_reads_a_python_docx_document(tmp_path: Path) -> None:
    package = read_package(make_docx(tmp_path))
    assert CONTENT_TYPES_NAME in package.parts
    assert "word/document.xml" in package.parts
    assert "销售业务流程规范手册".encode() in package.parts["word/document.xml"]
    types = package.content_types()
    assert types.content_type("word/document.xml") == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    )
    main = [rel for rel in package.relationships("") if rel.type.endswith("/officeDocument")]
    assert [resolve_target("", rel.target) for rel in main] == ["word/document.xml"]
    targets = {resolve_target("word/document.xml", rel.target) for rel in package.relationships("word/document.xml")}
    assert "word/styles.xml" in targets
    assert package.find("WORD/Document.XML") == "word/document.xml"


def test_default_limits_are_the_documented_ones() -> None:
    assert DEFAULT_LIMITS.max_entries == 2000
    assert DEFAULT_LIMITS.max_part_size == 64 * MIB
    assert DEFAULT_LIMITS.max_total_size == 256 * MIB
    assert DEFAULT_LIMITS.max_ratio == 200


def test_zip_bomb_is_refused_by_its_declared_ratio() -> None:
    bomb = zip_of([("word/document.xml", b"\0" * (20 * MIB))])
    assert len(bomb) < 100_000  # about 1000:1
    assert refused(bomb).code == "DOC505"


def test_zip_bomb_lying_about_its_size_is_stopped_while_decompressing() -> None:
    """The central directory claims 1,000 bytes for 20 MiB of zeros: the declared checks pass,
    decompression stops at the declared size and the entry is refused."""
    honest = zip_of([("word/document.xml", b"\0" * (20 * MIB))])
    info = zipfile.ZipFile(io.BytesIO(honest)).infolist()[0]
    central = honest.rindex(b"PK\x01\x02")
    lying = bytearray(honest)
    struct.pack_into("<I", lying, central + 24, 1000)  # uncompressed size in the central directory
    struct.pack_into("<I", lying, info.header_offset + 22, 1000)  # and in the local header
    error = refused(bytes(lying))
    assert error.code in ("DOC501", "DOC505")


def test_huge_part_is_refused() -> None:
    huge = zip_of([("word/media/image1.png", bytes(65 * MIB))], method=zipfile.ZIP_STORED)
    assert refused(huge).code == "DOC503"


def test_total_size_limit() -> None:
    entries = [(f"word/media/image{i}.bin", bytes(400_000)) for i in range(3)]
    data = zip_of(entries, method=zipfile.ZIP_STORED)
    assert refused(data, PackageLimits(max_total_size=1_100_000)).code == "DOC504"
    assert refused(data, PackageLimits(max_total_size=100_000)).code == "DOC504"  # the file itself


def test_too_many_entries() -> None:
    data = zip_of([(f"word/p{i}.xml", b"<a/>") for i in range(2001)])
    assert refused(data).code == "DOC502"


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../evil.xml", "word/../../evil.xml", "word\\document.xml", "C:/x.xml", "word//a.xml"]
)
def test_unsafe_names_are_refused(name: str) -> None:
    data = zip_of([("[Content_Types].xml", b"<Types/>"), (name, b"x")])
    assert refused(data).code == "DOC506"


def test_duplicate_names_are_refused_even_when_case_differs() -> None:
    assert refused(zip_of([("word/document.xml", b"a"), ("word/document.xml", b"b")])).code == "DOC507"
    assert refused(zip_of([("word/document.xml", b"a"), ("WORD/document.xml", b"b")])).code == "DOC507"


def test_unsupported_compression_is_refused() -> None:
    assert refused(zip_of([("word/document.xml", b"a" * 100)], method=zipfile.ZIP_BZIP2)).code == "DOC510"


def test_not_a_zip() -> None:
    assert refused(b"this is not a zip file").code == "DOC501"
    assert refused(b"").code == "DOC501"


def test_corrupted_entry_is_refused(tmp_path: Path) -> None:
    data = bytearray(make_docx(tmp_path))
    offset = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/styles.xml").header_offset
    data[offset + 200 : offset + 260] = bytes(60)  # inside the deflated data
    assert refused(bytes(data)).code == "DOC501"


# --------------------------------------------------------------------------- XML parts


def test_xml_with_a_dtd_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">&b;</Types>'
    )
    with pytest.raises(PackageError) as caught:
        parse_content_types(laughs)
    assert caught.value.code == "DOC508"


def test_content_types_lookup_and_round_trip() -> None:
    types = ContentTypes((("xml", "application/xml"), ("PNG", "image/png")), (("/word/document.xml", "main"),))
    assert types.content_type("word/document.xml") == "main"
    assert types.content_type("Word/Document.xml") == "main"
    assert types.content_type("word/styles.xml") == "application/xml"
    assert types.content_type("word/media/a.png") == "image/png"
    assert types.content_type("word/noextension") is None
    changed = types.with_default("sigs", "origin").with_override("_xmlsignatures/sig1.xml", "sig")
    assert parse_content_types(serialize_content_types(changed)) == changed
    assert changed.without_overrides({"_xmlsignatures/sig1.xml"}).content_type("_xmlsignatures/sig1.xml") == (
        "application/xml"
    )


def test_relationships_round_trip_and_errors() -> None:
    rels = [
        Relationship("rId1", "http://x/officeDocument", "word/document.xml"),
        Relationship("rId2", "http://x/hyperlink", "https://example.com/?a=1&b=2", external=True),
    ]
    assert parse_relationships(serialize_relationships(rels), "_rels/.rels") == rels
    assert next_relationship_id(rels) == "rId3"
    duplicate = serialize_relationships([rels[0], rels[0]])
    with pytest.raises(PackageError) as caught:
        parse_relationships(duplicate, "_rels/.rels")
    assert caught.value.code == "DOC509"


def test_part_name_helpers() -> None:
    assert rels_name_for("") == "_rels/.rels"
    assert rels_name_for("word/document.xml") == "word/_rels/document.xml.rels"
    assert source_of_rels("_rels/.rels") == ""
    assert source_of_rels("word/_rels/document.xml.rels") == "word/document.xml"
    assert source_of_rels("word/document.xml") is None
    assert resolve_target("word/document.xml", "../customXml/item1.xml") == "customXml/item1.xml"
    assert resolve_target("word/document.xml", "/word/media/a%20b.png") == "word/media/a b.png"
    assert resolve_target("word/document.xml", "../../outside.xml") is None
    check_item_name("word/document.xml")


# --------------------------------------------------------------------------- writing


def test_writing_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    package = read_package(make_docx(tmp_path))
    items = list(package.parts.items())
    first = write_package(reversed(items), env={})
    second = write_package(reversed(items), env={})
    assert first == second
    again = read_package(first)
    assert again.parts == package.parts
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert infos[0].filename == CONTENT_TYPES_NAME
    assert [i.filename for i in infos[1:]] == [name for name, _ in reversed(items) if name != CONTENT_TYPES_NAME]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_source_date_epoch_sets_the_timestamps() -> None:
    data = write_package([("a.xml", b"<a/>")], env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].date_time == (2023, 11, 14, 22, 13, 20)
    assert zip_date_time({"SOURCE_DATE_EPOCH": "0"}) == (1980, 1, 1, 0, 0, 0)
    with pytest.raises(PackageError) as caught:
        zip_date_time({"SOURCE_DATE_EPOCH": "yesterday"})
    assert caught.value.code == "DOC512"


def test_writing_refuses_unsafe_or_duplicate_names() -> None:
    with pytest.raises(PackageError):
        write_package([("../a.xml", b"")], env={})
    with pytest.raises(PackageError):
        write_package([("a.xml", b""), ("A.xml", b"")], env={})
