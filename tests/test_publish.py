"""The main job and the signed DOCX of a release, on a clone of this repository's own history.

`manual publish` / `manual docx` render from the release's git tree and sign; `manual verify`
gives a distinct exit status for each answer.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import base_env, new_libreoffice_profile, release_commit, run_manual


@pytest.fixture(scope="module")
def clone(project_clone: Path) -> Path:
    return project_clone


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return base_env(home, MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(home / "manual-home"))


@pytest.fixture(scope="module")
def published(clone: Path, env: dict[str, str]) -> Path:
    code, out, err = run_manual(["publish"], clone, env)
    assert code == 0, out + err
    assert "Traceback" not in err
    return clone / "dist" / "XS-QM-01_B-0.docx"


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = change.get(name, src.read(name))
            if body is not None:
                dst.writestr(name, body)
        for name, body in change.items():
            if name not in src.namelist() and body is not None:
                dst.writestr(name, body)
    return out.getvalue()


def test_publish_puts_the_signed_docx_of_the_version_in_force_into_dist(published: Path, clone: Path, env: dict[str, str]) -> None:
    assert published.is_file()
    sums = (clone / "dist" / "SHA256SUMS").read_text()
    pdf = published.with_suffix(".pdf")
    assert sums == (
        f"{hashlib.sha256(published.read_bytes()).hexdigest()}  {published.name}\n"
        f"{hashlib.sha256(pdf.read_bytes()).hexdigest()}  {pdf.name}\n"
    )
    code, out, err = run_manual(["verify", str(pdf)], clone, env)
    assert code == 0, out + err
    parts = _parts(published.read_bytes())
    assert "_xmlsignatures/sig1.xml" in parts
    custom = parts["docProps/custom.xml"].decode()
    assert "B/0" in custom and "现行有效" in custom
    digest = subprocess.run(["git", "-C", str(clone), "rev-parse", f"{release_commit(clone, 'B/0')}:manual"], capture_output=True, text=True, check=True).stdout.strip()
    assert digest in custom
    document = parts["word/document.xml"].decode()
    assert "开发签名（非正式）" in document  # no release key configured
    code, out, err = run_manual(["verify", str(published)], clone, env)
    assert code == 0, out + err
    assert "真实有效" in out and "B/0" in out and "开发签名" in out


PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=\s]{64,}-----END")


def test_no_private_key_is_written_into_the_repository_dist_or_the_docx(published: Path, clone: Path) -> None:
    files = [p for p in clone.rglob("*") if p.is_file()]
    assert any(p.suffix == ".docx" for p in files)
    for path in files:
        assert not PEM_PRIVATE_KEY.search(path.read_bytes()), path
    for name, body in _parts(published.read_bytes()).items():
        assert not PEM_PRIVATE_KEY.search(body), name


@pytest.mark.parametrize(
    ("case", "expected"),
    [("tampered-text", 3), ("tampered-style", 3), ("added-part", 3), ("removed-signature", 3), ("unsigned", 5), ("not-a-docx", 6), ("truncated", 6)],
)
def test_verify_gives_a_distinct_status_for_each_answer(published: Path, clone: Path, env: dict[str, str], tmp_path: Path, case: str, expected: int) -> None:
    data = published.read_bytes()
    parts = _parts(data)
    if case == "tampered-text":
        bad = _rezip(data, {"word/document.xml": parts["word/document.xml"].replace("销售".encode(), "消售".encode(), 1)})
    elif case == "tampered-style":
        bad = _rezip(data, {"word/styles.xml": parts["word/styles.xml"].replace(b'w:val="24"', b'w:val="26"', 1)})
    elif case == "added-part":
        bad = _rezip(data, {"word/extra.xml": b"<x/>"})
    elif case == "removed-signature":
        bad = _rezip(data, {"_xmlsignatures/sig1.xml": None})
    elif case == "unsigned":
        rels = re.sub(rb"<Relationship[^>]*digital-signature/origin\"[^>]*/>", b"", parts["_rels/.rels"])
        types = re.sub(rb"<(Override|Default)[^>]*(_xmlsignatures|sigs)[^>]*/>", b"", parts["[Content_Types].xml"])
        bad = _rezip(data, {"_xmlsignatures/sig1.xml": None, "_xmlsignatures/origin.sigs": None, "_xmlsignatures/_rels/origin.sigs.rels": None, "_rels/.rels": rels, "[Content_Types].xml": types})
    elif case == "not-a-docx":
        bad = "这不是一个 DOCX 文件".encode()
    else:
        bad = data[: len(data) // 2]
    target = tmp_path / f"{case}.docx"
    target.write_bytes(bad)
    code, out, err = run_manual(["verify", str(target)], clone, env)
    assert code == expected, out + err
    assert "Traceback" not in err


def test_a_document_signed_by_an_unknown_certificate_is_refused(published: Path, clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    other = dict(env, MANUAL_HOME=str(tmp_path / "elsewhere"))
    code, out, err = run_manual(["docx", "--version", "B/0", "-o", str(tmp_path / "other.docx")], clone, other)
    assert code == 0, out + err
    code, out, err = run_manual(["verify", str(tmp_path / "other.docx")], clone, env)
    assert code == 4, out + err
    assert "不是本仓库信任的发布证书" in err


def test_a_validly_signed_document_whose_text_is_not_the_release_is_refused(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Signed with the trusted key, but rendered from a text that differs from the release."""
    from manualkit.base.clock import signing_time
    from manualkit.documents.package_signature import sign_package
    from manualkit.documents.release_document import render_release
    from manualkit.documents.signing_key import load_signing_key
    from manualkit.records.edition import Status
    from manualkit.records.history import release_history

    entries = release_history(clone)
    index = [str(e.record.version) for e in entries].index("B/0")
    genuine = render_release(clone, entries, index, Status.IN_FORCE, True, env=env)
    parts = _parts(genuine)
    forged = _rezip(genuine, {"word/document.xml": parts["word/document.xml"].replace("客户".encode(), "顾客".encode(), 1)})
    signed = sign_package(forged, load_signing_key(env), signing_time({}))
    target = tmp_path / "forged.docx"
    target.write_bytes(signed)
    code, out, err = run_manual(["verify", str(target)], clone, env)
    assert code == 7, out + err
    assert "不一致" in err


def test_building_twice_gives_identical_bytes_with_source_date_epoch(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    fixed = dict(env, SOURCE_DATE_EPOCH="1767225600")
    outputs = []
    for n in range(2):
        code, out, err = run_manual(["docx", "--version", "A/1", "-o", str(tmp_path / f"{n}.docx")], clone, fixed)
        assert code == 0, out + err
        outputs.append((tmp_path / f"{n}.docx").read_bytes())
    assert outputs[0] == outputs[1]


def test_without_source_date_epoch_only_the_signature_part_differs(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    parts = []
    for n in range(2):
        code, out, err = run_manual(["docx", "--version", "A/0", "-o", str(tmp_path / f"{n}.docx")], clone, env)
        assert code == 0, out + err
        parts.append(_parts((tmp_path / f"{n}.docx").read_bytes()))
    assert parts[0].keys() == parts[1].keys()
    differing = {name for name in parts[0] if parts[0][name] != parts[1][name]}
    assert differing <= {"_xmlsignatures/sig1.xml"}


def test_a_superseded_version_exported_for_an_auditor_is_marked_withdrawn(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    code, out, err = run_manual(["docx", "--as-of", "2026/4/1", "-o", str(tmp_path / "a1.docx")], clone, env)
    assert code == 0, out + err
    assert "A/1" in out and "作废" in out
    parts = _parts((tmp_path / "a1.docx").read_bytes())
    headers = [body.decode() for name, body in parts.items() if re.fullmatch(r"word/header\d+\.xml", name)]
    assert headers and all("作废" in h and "非受控" in h for h in headers)
    code, out, err = run_manual(["verify", str(tmp_path / "a1.docx")], clone, env)
    assert code == 0, out + err


def test_a_date_before_the_first_version_and_an_unknown_version_are_clear_errors(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    code, _, err = run_manual(["docx", "--as-of", "2025年12月15日", "-o", str(tmp_path / "x.docx")], clone, env)
    assert code == 1 and "MAN687" in err and "A/0" in err
    code, _, err = run_manual(["docx", "--version", "C/9", "-o", str(tmp_path / "x.docx")], clone, env)
    assert code == 1 and "MAN686" in err and "B/1" in err
    assert not (tmp_path / "x.docx").exists()


@pytest.mark.skipif(shutil.which("soffice") is None and not __import__("os").environ.get("CI"), reason="LibreOffice is not installed")
def test_libreoffice_opens_the_signed_release(published: Path, tmp_path: Path) -> None:
    profile = new_libreoffice_profile(tmp_path / "lo-profile")
    proc = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(published)],
        capture_output=True, timeout=240, check=False,
    )  # fmt: skip
    pdf = tmp_path / (published.stem + ".pdf")
    assert pdf.is_file(), proc.stderr.decode(errors="replace")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    compact = re.sub(r"\s+", "", text)
    for title in ("业务流程定义", "业务流程实施步骤", "修订程序", "有效日期", "修订记录"):
        assert title in compact, title
