"""Reading a PDF's pages for `manual verify` (documents/pdf_release.page_texts): without poppler's
pdftotext, or for a file it cannot read, a coded diagnostic, never a traceback or 真实有效."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from manualkit.base.diagnostics import ManualError
from manualkit.documents.pdf_release import page_texts

pytestmark = pytest.mark.unit


def test_without_pdftotext_the_content_cannot_be_compared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ManualError) as raised:
        page_texts(b"%PDF-1.7\n")
    assert raised.value.diagnostics[0].code == "MAN871"
    assert "poppler-utils" in raised.value.diagnostics[0].message


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")
def test_a_pdf_pdftotext_cannot_read_is_a_diagnostic() -> None:
    with pytest.raises(ManualError) as raised:
        page_texts(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert raised.value.diagnostics[0].code == "MAN872"
