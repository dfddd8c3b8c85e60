"""The laid-out PDFs kept by content (documents/layout.py ``pdf_cache``): `manual verify` lays the
release out again for every PDF it is shown; the same DOCX, options and clock on the same
LibreOffice give the PDF kept the first time, and anything else is laid out again."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import docx as python_docx
import pytest

from manualkit.documents.layout import PDFA_OPTIONS, _pdf_key, docx_to_pdf, fontconfig_xml

pytestmark = pytest.mark.libreoffice
FROZEN = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def small_docx(text: str) -> bytes:
    document = python_docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_the_same_docx_is_laid_out_once_and_another_again(tmp_path: Path) -> None:
    cache = tmp_path / "pdfs"
    one = small_docx("第一份文件")
    first = docx_to_pdf(one, frozen_at=FROZEN, profile_cache=tmp_path / "profiles-1", pdf_cache=cache)
    assert first.startswith(b"%PDF-")
    assert [p.name for p in cache.iterdir()] == [f"pdf-{_pdf_key(one, PDFA_OPTIONS, FROZEN)}.pdf"]
    # Kept: LibreOffice does not start again (it would have made a profile in the new folder).
    again = docx_to_pdf(one, frozen_at=FROZEN, profile_cache=tmp_path / "profiles-2", pdf_cache=cache)
    assert again == first
    assert not (tmp_path / "profiles-2").exists()
    # One character more is another document: laid out, and kept beside the first.
    other = docx_to_pdf(small_docx("第二份文件"), frozen_at=FROZEN, profile_cache=tmp_path / "profiles-3", pdf_cache=cache)
    assert other != first and (tmp_path / "profiles-3").exists()
    assert len(list(cache.glob("pdf-*.pdf"))) == 2


def test_a_damaged_entry_is_laid_out_again_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "pdfs"
    data = small_docx("损坏的缓存")
    entry = cache / f"pdf-{_pdf_key(data, PDFA_OPTIONS, FROZEN)}.pdf"
    cache.mkdir()
    entry.write_bytes(b"not a pdf at all")
    laid_out = docx_to_pdf(data, frozen_at=FROZEN, profile_cache=tmp_path / "profiles", pdf_cache=cache)
    assert laid_out.startswith(b"%PDF-") and (tmp_path / "profiles").exists()
    assert entry.read_bytes() == laid_out


def test_the_key_covers_the_options_the_clock_and_the_fonts() -> None:
    data = small_docx("键")
    key = _pdf_key(data, PDFA_OPTIONS, FROZEN)
    assert key == _pdf_key(data, dict(PDFA_OPTIONS), FROZEN)
    assert key != _pdf_key(data, {**PDFA_OPTIONS, "SelectPdfVersion": 1}, FROZEN)
    assert key != _pdf_key(data, PDFA_OPTIONS, FROZEN + dt.timedelta(seconds=1))
    assert key != _pdf_key(data, PDFA_OPTIONS, None)
    assert key != _pdf_key(data + b"\0", PDFA_OPTIONS, FROZEN)
    assert "Noto Serif CJK SC" in fontconfig_xml()
