"""Every byte of a package is an entry or the zip structure (documents/package_bounds): what a
zip reader skips and a signature over the parts never sees is found and said."""

from __future__ import annotations

import io
import zipfile

import pytest

from manualkit.documents.package_bounds import bytes_outside_the_zip

pytestmark = pytest.mark.unit


def package(comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>" * 20)
        z.writestr("word/document.xml", "<w:document/>" * 50)
        z.comment = comment
    return out.getvalue()


def test_an_exact_package_has_nothing_outside() -> None:
    assert bytes_outside_the_zip(package()) == []


def test_bytes_before_the_zip() -> None:
    assert bytes_outside_the_zip(b"MZ\0\0" + package()) == ["ZIP 之前有 4 个字节，数字签名不覆盖"]


def test_bytes_after_the_zip() -> None:
    assert bytes_outside_the_zip(package() + b"<html>") == ["ZIP 结尾之后有 6 个字节，数字签名不覆盖"]


def test_a_zip_comment() -> None:
    assert bytes_outside_the_zip(package(b"not signed")) == ["ZIP 注释有 10 个字节，数字签名不覆盖"]


def test_bytes_between_entries_with_the_offsets_kept_consistent() -> None:
    data = package()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        second = z.infolist()[1].header_offset
    # a gap the central directory accounts for: every later offset moved by its length
    gap = b"hidden text"
    cd = data.rindex(b"PK\x01\x02")
    first_cd = data.index(b"PK\x01\x02")
    body = data[:second] + gap + data[second:first_cd]
    central = bytearray(data[first_cd:])
    at = central.index(b"PK\x01\x02", 4)  # the second entry's central header
    offset = int.from_bytes(central[at + 42 : at + 46], "little") + len(gap)
    central[at + 42 : at + 46] = offset.to_bytes(4, "little")
    eocd = central.rindex(b"PK\x05\x06")
    cd_offset = int.from_bytes(central[eocd + 16 : eocd + 20], "little") + len(gap)
    central[eocd + 16 : eocd + 20] = cd_offset.to_bytes(4, "little")
    forged = body + bytes(central)
    assert cd > 0
    with zipfile.ZipFile(io.BytesIO(forged)) as z:
        assert z.testzip() is None  # a zip reader finds nothing wrong
    assert bytes_outside_the_zip(forged) == [f"条目 word/document.xml 之前有 {len(gap)} 个字节不属于任何部件，数字签名不覆盖"]
