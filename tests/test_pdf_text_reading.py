"""`manual verify` reads a PDF/A's pages with poppler's pdftotext from a copy without the output
intent (documents/pdf_release.without_output_intents): poppler builds a colour transform from it
for every page, nine tenths of pdftotext's time on a release, and the text does not depend on it.
Read by the real LibreOffice, pyHanko and pdftotext: the same text, page by page, as from the file
itself; the file's bytes untouched; a file that cannot be rewritten is read as it is."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import base_env

from manualkit.documents.pdf_release import page_texts, without_output_intents

TOOLS = ("soffice", "pdftotext")


@pytest.fixture(scope="module")
def pdfa(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A three-page PDF/A-2b of Chinese text, laid out by LibreOffice as the release is."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"needs {', '.join(missing)}; CI=true requires them")
        pytest.skip(f"needs {', '.join(missing)}")
    import docx as python_docx

    from manualkit.documents.layout import PDFA_OPTIONS, docx_to_pdf
    from manualkit.documents.toc import layout_cache_dir

    document = python_docx.Document()
    for page in range(3):
        document.add_heading(f"第 {page + 1} 章 报价管理", level=1)
        document.add_paragraph("报价单的有效期为 15 日；超过有效期的报价须重新审批。" * 8)
        document.add_page_break()
    buffer = io.BytesIO()
    document.save(buffer)
    env = base_env(tmp_path_factory.mktemp("home"))
    return docx_to_pdf(buffer.getvalue(), PDFA_OPTIONS, profile_cache=layout_cache_dir(env))


def _pdftotext(pdf: bytes, folder: Path) -> str:
    path = folder / "file.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-q", str(path), "-"], capture_output=True, check=True).stdout.decode()


def _catalog_keys(pdf: bytes) -> set[str]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return {str(key) for key in PdfFileReader(io.BytesIO(pdf), strict=False).root}


def test_the_copy_read_has_no_output_intent_and_the_file_keeps_its_own(pdfa: bytes, tmp_path: Path) -> None:
    assert "/OutputIntents" in _catalog_keys(pdfa)  # LibreOffice's PDF/A carries its ICC profile
    original = bytes(pdfa)
    copy = without_output_intents(pdfa)
    assert pdfa == original  # the file itself is never changed
    assert copy.startswith(pdfa) and len(copy) > len(pdfa)  # one more revision, appended
    # pyHanko's revision also states the PDF version in the catalog (/Version), nothing else
    assert _catalog_keys(copy) - {"/Version"} == _catalog_keys(pdfa) - {"/OutputIntents"}
    assert _pdftotext(copy, tmp_path) == _pdftotext(pdfa, tmp_path)  # the same text, every page


def test_page_texts_are_those_of_the_file_itself(pdfa: bytes, tmp_path: Path) -> None:
    pages = page_texts(pdfa)
    expected = [" ".join(page.split()) for page in _pdftotext(pdfa, tmp_path).split("\f") if page.strip()]
    assert pages == expected and len(pages) == 3
    assert all("报价单的有效期为15日" in "".join(page.split()) for page in pages)


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n/OutputIntents garbage", b"%PDF-1.7\n" + b"\x00/OutputIntents" * 50, b"/OutputIntents"],
    ids=["no-structure", "binary", "bare-name"],
)
def test_a_file_that_cannot_be_rewritten_is_read_as_it_is(data: bytes) -> None:
    assert without_output_intents(data) == data


def test_a_file_without_an_output_intent_is_read_as_it_is(pdfa: bytes) -> None:
    plain = pdfa.replace(b"/OutputIntents", b"/OutputIntentX")  # same length: the offsets hold
    assert "/OutputIntents" not in _catalog_keys(plain)
    assert without_output_intents(plain) == plain
