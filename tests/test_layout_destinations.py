"""The pages of the table of contents are read from the laid-out PDF's named destinations by
poppler's ``pdfinfo -dests``, the PDF never loaded into the process (issue 27, point 8: the 25x
manual's DOCX peaked at 195 MiB, 42 MiB of it pyHanko's objects of a 24 MiB PDF). Both readers
must agree, and without pdfinfo the pyHanko reader is used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import base_env, run_manual

from manualkit.documents.layout import _file_destinations, destination_pages, docx_to_pdf, laid_out_destinations

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def release_docx(project_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdfinfo) is not installed")
    home = tmp_path_factory.mktemp("home")
    out = home / "B-0.docx"
    code, stdout, stderr = run_manual(["docx", "-o", str(out)], project_clone, base_env(home, MANUAL_TODAY="2026-11-27"))
    assert code == 0, stdout + stderr
    return out.read_bytes()


def test_pdfinfo_and_pyhanko_read_the_same_destinations(release_docx: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = tmp_path / "laid-out.pdf"
    pdf.write_bytes(docx_to_pdf(release_docx))
    by_pyhanko = destination_pages(pdf.read_bytes())
    assert len(by_pyhanko) >= 8 + 30 and "sec5F35F2" in by_pyhanko  # chapters and sections (3.2)
    assert _file_destinations(pdf) == by_pyhanko
    assert laid_out_destinations(release_docx) == by_pyhanko
    # without pdfinfo on PATH, the same answer from pyHanko
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    assert _file_destinations(pdf) == by_pyhanko
