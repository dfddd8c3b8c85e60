"""A company's own home, made by ``manual init``: its release files are named by its own document
number, and its own time zone is the one every command reads a time in (issue 27, points 2 and 4).

The home is made as a company makes it (``manual init --document-number AB-QM-02 --time-zone
Asia/Tokyo`` from this project, four signers with keys made by ssh-keygen, A/0 proposed, signed
in every role and released), once for the module; each test works on a copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from revision_repo import ALL_SECTIONS, PROJECT_ROOT, Result, RevisionRepo

PEOPLE = (("wu.lei", "吴磊", "销售管理部", "编制"), ("he.jing", "何静", "质量管理部", "审核"),
          ("ma.li", "马丽", "法务合规部", "会签"), ("zhou.tao", "周涛", "总经理办公室", "批准"))  # fmt: skip
NUMBER = "AB-QM-02"


def ok(result: Result) -> Result:
    assert "Traceback" not in result.output, result.output
    assert result.code == 0, result.output
    return result


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    repo = RevisionRepo(tmp_path_factory.mktemp("company") / "home", _build=False)
    for folder in (repo.root, repo.home, repo.keys):
        folder.mkdir(parents=True)
    for pid, *_ in PEOPLE:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", pid, "-f", str(repo.keys / pid)], check=True, capture_output=True)
    approvers = [a for pid, name, dept, role in PEOPLE for a in ("--approver", f"{pid},{name},{dept},{role},{repo.keys / (pid + '.pub')}")]
    ok(repo.manual("init", "--from", str(PROJECT_ROOT), "--company", "安邦商贸有限公司", "--document-number", NUMBER,
                   "--time-zone", "Asia/Tokyo", *approvers))  # fmt: skip
    for key, value in (("user.name", "吴磊"), ("user.email", "wu@example.com"), ("commit.gpgsign", "false")):
        repo.git("config", "--local", key, value)
    repo.commit("手册初稿、修订政策与签署人名录")
    proposed = ok(repo.manual("propose", "--class", "major", "--title", "首次发布", "--reason", "建立受控文件",
                              "--sections", ",".join(ALL_SECTIONS), env={"MANUAL_TODAY": "2026-03-01"}))  # fmt: skip
    found = re.search(r"CR-\d{4}-\d{3}", proposed.stdout)
    assert found is not None
    repo.fill_consultation(found.group(), "2026-03-05")
    for hour, (pid, _, _, role) in enumerate(PEOPLE, start=9):
        ok(repo.manual("approve", found.group(), "--role", role, "--key", str(repo.keys / pid), env={"MANUAL_NOW": f"2026-03-06T{hour:02d}:00:00"}))
    repo.commit(f"{found.group()} approved")
    ok(repo.release_cli("2026-03-10", "2026-04-10"))
    return repo


@pytest.fixture
def copy(home: RevisionRepo, tmp_path: Path) -> Callable[..., RevisionRepo]:
    return lambda name="copy": home.copy_to(tmp_path / name)


def test_approvals_without_an_offset_are_read_in_the_company_zone(home: RevisionRepo) -> None:
    """MANUAL_NOW without an offset is the company's (Tokyo) time: the record says +09:00."""
    requests = list((home.root / "changelog" / "requests").glob("CR-*.yml"))
    assert requests
    assert "2026-03-06T09:00:00+09:00" in requests[0].read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("soffice") is None and shutil.which("libreoffice") is None, reason="LibreOffice lays out the release")
def test_the_release_files_are_named_by_the_company_document_number(copy: Callable[..., RevisionRepo]) -> None:
    """The defect of issue 27: a home made with --document-number AB-QM-02 got XS-QM-01_A-0.docx."""
    repo = copy()
    docx = ok(repo.manual("docx"))
    pdf = ok(repo.manual("pdf"))
    dist = repo.root / "dist"
    assert sorted(p.name for p in dist.iterdir()) == [f"{NUMBER}_A-0.docx", f"{NUMBER}_A-0.pdf"]
    assert f"{NUMBER}_A-0.docx" in docx.stdout and f"{NUMBER}_A-0.pdf" in pdf.stdout
    # What the files say about themselves: the document number is theirs, read by real readers.
    import docx as python_docx

    document = python_docx.Document(str(dist / f"{NUMBER}_A-0.docx"))
    # (the chapters copied from this project still mention its number in their text: the company edits them)
    header = "\n".join(p.text for s in document.sections for p in s.header.paragraphs)
    assert NUMBER in header and "XS-QM-01" not in header
    shown = subprocess.run(["pdftotext", "-l", "2", str(dist / f"{NUMBER}_A-0.pdf"), "-"], capture_output=True, check=True, text=True)
    assert NUMBER in shown.stdout
    assert ok(repo.manual("verify", str(dist / f"{NUMBER}_A-0.pdf"))).code == 0


def test_revoke_key_reads_a_time_without_an_offset_in_the_company_zone(copy: Callable[..., RevisionRepo]) -> None:
    """``--at 2026-10-12T09:30`` in a Tokyo company is 09:30 Tokyo time (+09:00), as every other
    command reads a time; it used to be read as China time (+08:00) whatever the policy said."""
    repo = copy()
    made = ok(repo.manual("revoke-key", "wu.lei", "--at", "2026-10-12T09:30", "--reason", "遗失", "--key", str(repo.keys / "wu.lei"),
                          env={"MANUAL_NOW": "2026-10-12T10:00:00"}))  # fmt: skip
    assert "2026-10-12T09:30:00+09:00" in made.stdout
    records = list((repo.root / "changelog").rglob("*wu.lei*.yml"))
    assert len(records) == 1
    text = records[0].read_text(encoding="utf-8")
    assert re.search(r"^revoked_at: [\"']?2026-10-12T09:30:00\+09:00[\"']?$", text, re.M), text
    # An explicit offset is kept as written.
    other = copy("explicit")
    made = ok(other.manual("revoke-key", "wu.lei", "--at", "2026-10-12T08:30+08:00", "--reason", "遗失", "--key", str(other.keys / "wu.lei"),
                           env={"MANUAL_NOW": "2026-10-12T10:00:00"}))  # fmt: skip
    assert "2026-10-12T08:30:00+08:00" in made.stdout
