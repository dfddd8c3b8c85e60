"""`manual verify` of a PDF compares what the file says, page by page, with the release it claims
(laid out again from git by the same engine), and refuses every byte and every revision the
release signature does not account for; a DOCX with bytes outside its zip is refused too.

Each forgery is signed validly with the trusted (development) release key and carries the right
version and content digest in its signed Keywords, so only the comparison tells it apart.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import base_env, run_manual

TOOLS = ("soffice", "pdftotext")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"needs {', '.join(missing)}; CI=true requires them")
        pytest.skip(f"needs {', '.join(missing)}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return base_env(home, MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(home / "manual-home"))


@pytest.fixture(scope="module")
def pdf(project_clone: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "B-0.pdf"
    code, stdout, stderr = run_manual(["pdf", "--version", "B/0", "-o", str(out)], project_clone, env)
    assert code == 0, stdout + stderr
    return out


@pytest.fixture(scope="module")
def docx(project_clone: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docx") / "B-0.docx"
    code, stdout, stderr = run_manual(["docx", "--version", "B/0", "-o", str(out)], project_clone, env)
    assert code == 0, stdout + stderr
    return out


def first_revision(signed: bytes) -> bytes:
    """The PDF as LibreOffice laid it out, before the signature's incremental update."""
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", signed)]
    return signed[: ends[-2]]


def keywords(pdf: bytes) -> str:
    m = re.search(rb"version=B/0, digest=[0-9a-f]{40}(?:, layout=[0-9]+)?", pdf)
    assert m is not None
    return m.group().decode()


def signed(pdf: bytes, env: dict[str, str]) -> bytes:
    from manualkit.base.clock import signing_time
    from manualkit.documents.pdf_release import sign_pdf
    from manualkit.documents.signing_key import load_signing_key

    return sign_pdf(pdf, load_signing_key(env), signing_time(env), reason="XS-QM-01 B/0 版发布（现行有效）")


def laid_out(docx_bytes: bytes, env: dict[str, str]) -> bytes:
    from manualkit.documents.layout import docx_to_pdf
    from manualkit.documents.toc import layout_cache_dir

    return docx_to_pdf(docx_bytes, profile_cache=layout_cache_dir(env))


def verify(path: Path, project_clone: Path, env: dict[str, str]) -> tuple[int, str]:
    code, out, err = run_manual(["verify", str(path)], project_clone, env)
    assert "Traceback" not in out + err
    return code, out + err


def test_the_genuine_pdf_reads_the_same_on_every_page(pdf: Path, project_clone: Path, env: dict[str, str]) -> None:
    code, out = verify(pdf, project_clone, env)
    assert code == 0, out
    assert "内容与 git 中的发布逐页一致" in out


def test_a_one_page_forged_pdf_with_the_right_keywords_is_not_the_release(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph("FORGED 文件状态： 现行有效")
    document.core_properties.keywords = keywords(pdf.read_bytes())
    document.core_properties.title = "销售业务流程规范手册（标准版）"
    buffer = io.BytesIO()
    document.save(buffer)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(signed(laid_out(buffer.getvalue(), env), env))
    assert keywords(forged.read_bytes()) == keywords(pdf.read_bytes())
    code, out = verify(forged, project_clone, env)
    assert code == 7, out
    assert "页数不一致：文件中为 1 页" in out and "第 1 页的文字不一致" in out


def test_a_pdf_with_one_sentence_changed_names_the_page(pdf: Path, docx: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    from manualkit.documents.ooxml_package import read_package, write_package

    package = read_package(docx.read_bytes())
    parts = dict(package.parts)
    body = parts["word/document.xml"].decode("utf-8")
    sentence = re.search(r"<w:t(?: [^>]*)?>([^<]{12,})</w:t>", body[body.index("3.2") :])
    assert sentence is not None
    original = sentence.group(1)
    parts["word/document.xml"] = body.replace(original, original.replace(original[:4], "伪造条款"), 1).encode("utf-8")
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(signed(laid_out(write_package(parts.items()), env), env))
    code, out = verify(changed, project_clone, env)
    assert code == 7, out
    assert re.search(r"第 \d+ 页的文字不一致", out) and "伪造条款" in out


def test_an_incremental_update_before_the_signature_is_reported(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(first_revision(pdf.read_bytes())), strict=False)
    info = writer.trailer["/Info"]
    info["/Subject"] = generic.pdf_string("已更新")
    writer.update_container(info)
    updated = io.BytesIO()
    writer.write(updated)
    target = tmp_path / "updated.pdf"
    target.write_bytes(signed(updated.getvalue(), env))
    code, out = verify(target, project_clone, env)
    assert code == 3, out
    assert "签名之前有 1 次增量更新" in out


def test_bytes_after_the_signed_range_are_counted(pdf: Path, project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "appended.pdf"
    target.write_bytes(pdf.read_bytes() + b"\n% 12 bytes\n")
    code, out = verify(target, project_clone, env)
    assert code == 3, out
    assert "签名范围之后有 12 个字节未被签名覆盖" in out


@pytest.mark.parametrize("where", ["before", "after", "comment"])
def test_a_docx_with_bytes_outside_its_zip_is_refused(docx: Path, project_clone: Path, env: dict[str, str], tmp_path: Path, where: str) -> None:
    data = docx.read_bytes()
    if where == "before":
        data = b"MZ" + b"\0" * 62 + data
    elif where == "after":
        data = data + b"<script>alert(1)</script>"
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert z.comment == b""
        data = data[:-2] + (19).to_bytes(2, "little") + b"unsigned comment 19"
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert z.comment == b"unsigned comment 19"
    target = tmp_path / f"{where}.docx"
    target.write_bytes(data)
    code, out = verify(target, project_clone, env)
    assert code in (3, 6), out
    assert "真实有效" not in out
