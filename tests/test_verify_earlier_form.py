"""A genuine DOCX made by an earlier version of the tool stays genuine (issue 24's new 会签 column
and 受控 header changed the form of every release DOCX): ``manual verify`` holds a file of the
current form (custom property ``layout``) to every part it renders now, and a file of an earlier
form to its signed identity and the text of the chapters, paragraph by paragraph."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import base_env, run_manual

from manualkit.documents.ooxml_package import read_package, write_package
from manualkit.documents.package_signature import sign_package
from manualkit.documents.signing_key import load_signing_key

pytestmark = pytest.mark.libreoffice
SIGNED_AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def made(project_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], bytes]:
    home = tmp_path_factory.mktemp("home")
    env = base_env(home, MANUAL_TODAY="2026-12-07", MANUAL_HOME=str(home / "manual-home"))
    out = home / "B-0.docx"
    code, stdout, stderr = run_manual(["docx", "-o", str(out)], project_clone, env)
    assert code == 0, stdout + stderr
    return project_clone, env, out.read_bytes()


def resigned(data: bytes, env: dict[str, str], edit: dict[str, tuple[bytes, bytes]]) -> bytes:
    """``data`` with each part's ``old`` bytes replaced by ``new``, signed again with the same key."""
    package = read_package(data)
    parts = dict(package.parts)
    for name, (old, new) in edit.items():
        assert re.search(re.escape(old), parts[name]), (name, old)
        parts[name] = parts[name].replace(old, new)
    return sign_package(write_package(parts.items()), load_signing_key(env), SIGNED_AT)


def verify(root: Path, env: dict[str, str], data: bytes, tmp_path: Path, name: str) -> tuple[int, str]:
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run_manual(["verify", str(path)], root, env)
    return code, out + err


EARLIER = {"docProps/custom.xml": (b'<vt:lpwstr>2</vt:lpwstr>', b'<vt:lpwstr>1</vt:lpwstr>')}
HEADER = {"word/header1.xml": ("受控".encode(), "现行".encode())}
TEXT = {"word/document.xml": ("报价".encode(), "询价".encode())}


def test_a_file_of_an_earlier_form_is_genuine_by_its_identity_and_text(made: tuple[Path, dict[str, str], bytes], tmp_path: Path) -> None:
    root, env, data = made
    code, out = verify(root, env, resigned(data, env, {**EARLIER, **HEADER}), tmp_path, "earlier.docx")
    assert code == 0 and "真实有效" in out and "早期版本" in out, out


def test_a_file_of_an_earlier_form_with_other_text_is_not_the_release(made: tuple[Path, dict[str, str], bytes], tmp_path: Path) -> None:
    root, env, data = made
    code, out = verify(root, env, resigned(data, env, {**EARLIER, **HEADER, **TEXT}), tmp_path, "earlier-text.docx")
    assert code == 7 and "word/document.xml" in out, out


def test_a_file_of_the_current_form_is_held_to_every_part(made: tuple[Path, dict[str, str], bytes], tmp_path: Path) -> None:
    root, env, data = made
    code, out = verify(root, env, data, tmp_path, "current.docx")
    assert code == 0 and "早期版本" not in out, out
    code, out = verify(root, env, resigned(data, env, HEADER), tmp_path, "current-header.docx")
    assert code == 7 and "word/header1.xml" in out, out


def earlier_pdf(data: bytes, env: dict[str, str], edit: dict[str, tuple[bytes, bytes]]) -> bytes:
    """The PDF an earlier version made: the DOCX of the earlier form (no ``layout`` in its
    keywords), laid out by LibreOffice and signed with the same key, as `manual pdf` does."""
    from manualkit.documents.layout import docx_to_pdf
    from manualkit.documents.pdf_release import sign_pdf

    docx = resigned(data, env, {"docProps/core.xml": (b"; layout=2", b""), **edit})
    return sign_pdf(docx_to_pdf(docx), load_signing_key(env), SIGNED_AT, reason="XS-QM-01 B/0")


def test_a_pdf_of_an_earlier_form_is_genuine_by_the_text_of_its_chapters(made: tuple[Path, dict[str, str], bytes], tmp_path: Path) -> None:
    root, env, data = made
    code, out = verify(root, env, earlier_pdf(data, env, HEADER), tmp_path, "earlier.pdf")
    assert code == 0 and "早期版本" in out and "逐字核对各章正文" in out, out
    code, out = verify(root, env, earlier_pdf(data, env, {**HEADER, **TEXT}), tmp_path, "earlier-text.pdf")
    assert code == 7 and "各章正文不一致" in out, out
