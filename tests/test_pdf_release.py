"""The signed PDF/A of a release and the page numbers of the DOCX's table of contents, checked with
independent tools: LibreOffice (the layout reference), poppler's pdfsig, pdftotext and pdffonts.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import base_env, run_manual

TOOLS = ("soffice", "pdfsig", "pdftotext", "pdffonts", "faketime")


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"needs {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires them")
        pytest.skip(message)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return base_env(home, MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(home / "manual-home"), SOURCE_DATE_EPOCH="1780000000")


@pytest.fixture(scope="module")
def docx(project_clone: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docx") / "B-0.docx"
    code, stdout, stderr = run_manual(["docx", "--version", "B/0", "-o", str(out)], project_clone, env)
    assert code == 0, stdout + stderr
    return out


@pytest.fixture(scope="module")
def pdf(project_clone: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "B-0.pdf"
    code, stdout, stderr = run_manual(["pdf", "--version", "B/0", "-o", str(out)], project_clone, env)
    assert code == 0, stdout + stderr
    assert "PDF/A" in stdout
    return out


def _pages_text(pdf: Path) -> list[str]:
    """pdftotext's text of each page, read (as ``manual verify`` reads it) from a copy without the
    PDF/A's output intent: poppler would build a colour transform from its ICC profile for every
    page (6 s of the 7 for this file), and the text is the same (tests/test_pdf_text_reading.py)."""
    from manualkit.documents.pdf_release import without_output_intents

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "text.pdf"
        copy.write_bytes(without_output_intents(pdf.read_bytes()))
        text = subprocess.run(["pdftotext", "-layout", str(copy), "-"], capture_output=True, check=True).stdout.decode()
    return text.split("\f")


def _heading_lines(page: str) -> set[str]:
    return {re.sub(r"\s+", " ", line).strip() for line in page.splitlines() if line.strip()}


def test_the_toc_of_the_docx_lists_the_page_libreoffice_puts_each_heading_on(docx: Path, tmp_path: Path) -> None:
    from manualkit.documents.layout import docx_to_pdf
    from manualkit.documents.toc import toc_page_numbers

    data = docx.read_bytes()
    pages = toc_page_numbers(data)
    assert len(pages) == 8 + 32  # every chapter and every section
    assert min(pages.values()) > 4 and sorted(pages.values()) == list(pages.values())  # after the front matter, in order
    laid_out = tmp_path / "laid-out.pdf"
    laid_out.write_bytes(docx_to_pdf(data))
    texts = _pages_text(laid_out)
    # Each TOC line "3.2 报价管理……16" names a heading; that heading is a line of page 16.
    toc_lines = [line for page in texts[:6] for line in page.splitlines() if re.search(r"\.{5,}\s*\d+\s*$", line)]
    assert len(toc_lines) == len(pages)
    for line in toc_lines:
        m = re.match(r"\s*(.+?)\s*\.{5,}\s*(\d+)\s*$", line)
        assert m, line
        heading, page = re.sub(r"\s+", " ", m.group(1)), int(m.group(2))
        assert heading in _heading_lines(texts[page - 1]), f"{heading!r} is not on page {page}"
    assert sorted(pages.values()) == [int(re.search(r"(\d+)\s*$", line).group(1)) for line in toc_lines]  # type: ignore[union-attr]


def test_a_kept_libreoffice_profile_gives_the_same_pdf_as_a_new_one(docx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from manualkit.documents import layout
    from manualkit.documents.layout import docx_to_pdf
    from manualkit.documents.pdf_canonical import canonical_pdf

    def same(one: bytes, other: bytes) -> bool:
        # the same bytes, or else the same in canonical form, as the reproducible build writes it:
        # LibreOffice itself may emit the fonts in another order on any run (see
        # documents/pdf_canonical.py), and the canonical form costs seconds, so it is made only then
        return one == other or canonical_pdf(one) == canonical_pdf(other)

    frozen = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    version = layout.engine_version(layout.soffice(), {"PATH": os.environ["PATH"]})
    assert version and re.fullmatch(r"\d+\.\d+", version)
    # A LibreOffice that did not say its version: a new profile that says nothing, on which
    # LibreOffice runs its graphics self-tests (they leave GraphicsRenderTests.log behind).
    with monkeypatch.context() as m:
        m.setattr(layout, "engine_version", lambda program, env: None)
        unmarked = docx_to_pdf(docx.read_bytes(), frozen_at=frozen, profile_cache=tmp_path / "unmarked")
    assert [p.name for p in (tmp_path / "unmarked").glob("*/user/GraphicsRenderTests.log")] == ["GraphicsRenderTests.log"]
    # The new profile says which LibreOffice last started it: no self-tests, and the same PDF.
    cache = tmp_path / "cache"
    first = docx_to_pdf(docx.read_bytes(), frozen_at=frozen, profile_cache=cache)  # a new profile, then kept
    kept = list(cache.glob("libreoffice-profile-*"))
    assert len(kept) == 1 and (kept[0] / "user").is_dir()
    assert not (kept[0] / "user" / "GraphicsRenderTests.log").exists()
    assert f"<value>{version}</value>" in (kept[0] / "user" / "registrymodifications.xcu").read_text(encoding="utf-8")
    assert same(first, unmarked)
    again = docx_to_pdf(docx.read_bytes(), frozen_at=frozen, profile_cache=cache)  # starts from the kept profile
    assert same(again, first)
    # A damaged kept profile (its user folder a file) does not break the layout, and is replaced.
    shutil.rmtree(kept[0] / "user")
    (kept[0] / "user").write_text("damaged", encoding="utf-8")
    assert docx_to_pdf(docx.read_bytes(), profile_cache=cache).startswith(b"%PDF-")
    assert (kept[0] / "user").is_dir()


def test_the_docx_never_asks_to_update_fields(docx: Path) -> None:
    import zipfile

    with zipfile.ZipFile(docx) as z:
        assert b"updateFields" not in z.read("word/settings.xml")
        assert b'w:leader="dot"' in z.read("word/styles.xml")


def test_pdfsig_finds_the_pdf_signed_validly_over_the_whole_document(pdf: Path) -> None:
    out = subprocess.run(["pdfsig", str(pdf)], capture_output=True, check=False).stdout.decode()
    assert "Signature is Valid" in out
    assert "Total document signed" in out
    assert out.count("Signature #") == 1
    assert "ETSI.CAdES.detached" in out  # PAdES


def test_the_pdf_is_pdfa_2b_with_every_font_embedded(pdf: Path) -> None:
    data = pdf.read_bytes()
    assert b"<pdfaid:part>2</pdfaid:part>" in data and b"<pdfaid:conformance>B</pdfaid:conformance>" in data
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True).stdout.decode().splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts
    assert any("NotoSerifCJK" in line for line in fonts) and any("NotoSansCJK" in line for line in fonts)


def test_the_pdf_pages_are_the_docx_pages(pdf: Path, docx: Path) -> None:
    from manualkit.documents.toc import toc_page_numbers

    texts = _pages_text(pdf)
    for bookmark, page in toc_page_numbers(docx.read_bytes()).items():
        if bookmark.startswith("chap_"):
            assert "第" in texts[page - 1] and "章" in texts[page - 1]


def test_manual_verify_accepts_the_pdf(pdf: Path, project_clone: Path, env: dict[str, str]) -> None:
    code, out, err = run_manual(["verify", str(pdf)], project_clone, env)
    assert code == 0, out + err
    assert "B/0" in out and "PDF/A" in out


def test_one_changed_byte_makes_the_signature_invalid(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    data = bytearray(pdf.read_bytes())
    at = data.index(b"version=B/0")  # in the XMP metadata, inside the signed range: → "version=B/1"
    data[at + 10] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    out = subprocess.run(["pdfsig", str(tampered)], capture_output=True, check=False).stdout.decode()
    assert "Signature is Valid" not in out
    code, stdout, stderr = run_manual(["verify", str(tampered)], project_clone, env)
    assert code == 3, stdout + stderr


def test_verify_gives_the_same_statuses_for_pdfs_as_for_docx(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(_first_revision(pdf.read_bytes()))  # the release PDF/A as laid out, before signing
    assert run_manual(["verify", str(unsigned)], project_clone, env)[0] == 5
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert run_manual(["verify", str(broken)], project_clone, env)[0] == 6
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(pdf.read_bytes() + b"\n% appended after signing\n")
    code, out, err = run_manual(["verify", str(appended)], project_clone, env)
    assert code == 3, out + err
    other = base_env(tmp_path / "other-home", MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(tmp_path / "other-manual-home"))
    assert run_manual(["verify", str(pdf)], project_clone, other)[0] == 4  # another machine's development key


def test_the_signed_pdf_is_reproducible_with_source_date_epoch(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    again = tmp_path / "again.pdf"
    code, out, err = run_manual(["pdf", "--version", "B/0", "-o", str(again)], project_clone, env)
    assert code == 0, out + err
    # compared by digest: a difference is reported at once, not as a byte-by-byte diff of two PDFs
    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(pdf.read_bytes()).hexdigest()


def _first_revision(signed: bytes) -> bytes:
    """The PDF as it was before the signature's incremental update was appended."""
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", signed)]
    return signed[: ends[-2]]


def _shuffled(pdf: bytes, seed: int) -> bytes:
    """The same document with its objects renumbered at random and every Type 1 font's UniqueID
    changed: what LibreOffice writes when it emits the fonts in another order."""
    import io
    import random

    from manualkit.documents.pyhanko_import import load_pyhanko_sign

    load_pyhanko_sign()  # pyHanko's writer imports its signer lazily
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    from manualkit.documents.pdf_canonical import renumbered_type1

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    writer = copy_into_new_writer(reader)
    writer._update_meta = lambda: None
    writer._document_id = generic.ArrayObject(list(reader.trailer["/ID"]))
    writer.output_version = reader.input_version
    keys = sorted(writer.objects)
    order = keys[:]
    random.Random(seed).shuffle(order)
    moved = {old[1]: new[1] for old, new in zip(keys, order, strict=True)}

    def renumber(obj: object) -> object:
        if isinstance(obj, generic.IndirectObject):
            return generic.IndirectObject(moved[obj.idnum], obj.generation, writer)
        if isinstance(obj, generic.StreamObject):
            entries = {k: generic.NumberObject(0) if k == "/Length" else renumber(v) for k, v in obj.items()}  # the writer sets /Length
            if "/Length1" not in obj or b"/UniqueID" not in obj.data[: int(obj["/Length1"])]:
                return generic.StreamObject(entries, encoded_data=obj.encoded_data)
            data = renumbered_type1(obj.data, int(obj["/Length1"]), int(obj["/Length2"]), 4100090 - int(obj["/Length1"]) % 80)
            entries.pop("/Filter", None)
            entries.pop("/DecodeParms", None)
            stream = generic.StreamObject(entries, stream_data=data)
            stream.compress()
            return stream
        if isinstance(obj, generic.DictionaryObject):
            return generic.DictionaryObject({k: renumber(v) for k, v in obj.items()})
        if isinstance(obj, generic.ArrayObject):
            return generic.ArrayObject([renumber(v) for v in obj])
        return obj

    writer.objects = {(gen, moved[idnum]): renumber(obj) for (gen, idnum), obj in writer.objects.items()}
    writer._root = generic.IndirectObject(moved[writer._root.idnum], 0, writer)
    writer._info = generic.IndirectObject(moved[writer._info.idnum], 0, writer) if writer._info is not None else None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_canonical_form_does_not_depend_on_the_order_libreoffice_emits_objects_in(pdf: Path) -> None:
    from manualkit.documents.pdf_canonical import canonical_pdf

    canonical = _first_revision(pdf.read_bytes())  # the release PDF was written in canonical form
    assert canonical_pdf(canonical) == canonical
    shuffled = _shuffled(canonical, seed=20261202)
    assert hashlib.sha256(shuffled).digest() != hashlib.sha256(canonical).digest()
    assert hashlib.sha256(canonical_pdf(shuffled)).hexdigest() == hashlib.sha256(canonical).hexdigest()


def _path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only ``tools`` (as found on this machine)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None
        (folder / tool).symlink_to(found)
    return str(folder)


def test_without_libreoffice_publish_stops_with_the_install_command(project_clone: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path / "home", MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(tmp_path / "mh"), PATH=_path_with(tmp_path, "git"))
    for args in (["pdf", "-o", str(tmp_path / "x.pdf")], ["build", "--as-of", "2026-11-27"]):
        code, out, err = run_manual(args, project_clone, env)
        assert code == 1, out + err
        assert "DOC540" in err and "sudo apt-get install -y libreoffice-writer-nogui fonts-noto-cjk fonts-liberation2 faketime" in err
        assert "Traceback" not in err
    assert not (tmp_path / "x.pdf").exists()


def test_a_reproducible_pdf_without_faketime_is_refused(project_clone: Path, tmp_path: Path) -> None:
    path = _path_with(tmp_path, "git", "soffice")
    env = base_env(tmp_path / "home", MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(tmp_path / "mh"), PATH=path, SOURCE_DATE_EPOCH="1780000000")
    code, out, err = run_manual(["pdf", "--version", "B/0", "-o", str(tmp_path / "x.pdf")], project_clone, env)
    assert code == 1 and "DOC542" in err and "faketime" in err, out + err


def test_a_failing_layout_engine_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from manualkit.base.diagnostics import ManualError
    from manualkit.documents.layout import docx_to_pdf

    broken = tmp_path / "bin" / "soffice"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 81\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(broken.parent))
    with pytest.raises(ManualError) as raised:
        docx_to_pdf(b"PK not a document")
    (found,) = raised.value.diagnostics
    assert found.code == "DOC541" and "81" in found.message and "could not be loaded" in found.message


def test_a_validly_signed_pdf_stating_another_content_is_not_the_release(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Signed with the trusted key, but its signed Keywords name a content digest B/0 does not have."""
    from manualkit.base.clock import signing_time
    from manualkit.documents.pdf_release import sign_pdf
    from manualkit.documents.signing_key import load_signing_key

    laid_out = _first_revision(pdf.read_bytes())  # the release PDF/A before signing
    digest = re.search(rb"digest=([0-9a-f]{40})", laid_out)
    assert digest is not None
    real = digest.group(1).decode()
    forged = "0" * 40
    laid_out = laid_out.replace(real.encode(), forged.encode())
    laid_out = laid_out.replace(real.upper().encode("utf-16-be").hex().upper().encode(), forged.encode("utf-16-be").hex().upper().encode())
    laid_out = laid_out.replace(real.encode("utf-16-be").hex().upper().encode(), forged.encode("utf-16-be").hex().upper().encode())
    assert real.encode() not in laid_out
    target = tmp_path / "forged.pdf"
    target.write_bytes(sign_pdf(laid_out, load_signing_key(env), signing_time(env), reason="forged"))
    code, out, err = run_manual(["verify", str(target)], project_clone, env)
    assert code == 7, out + err
    assert forged in err
