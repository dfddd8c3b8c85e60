"""The kept release DOCX (documents/kept_docx.py): a second ``manual docx`` of the same release
only signs it, and a change of any input of the rendering is never answered from the store.

Real repositories (clones of this project's history A/0, A/1, B/0, B/1), the real CLI, real LibreOffice layouts
(through the run's layout cache). "Served" is shown by planting a poisoned entry: the kept DOCX
with a marker written into its text, under the key the run would look up. A run that signs the
marker was answered from the store; one that does not rendered afresh.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import base_env, run_manual
from revision_repo import Result, manual_command

from manualkit.base import code_identity
from manualkit.documents import kept_docx
from manualkit.documents.kept_docx import KeptDocx, release_key
from manualkit.records.edition import Status
from manualkit.records.history import ApprovalView, ReleaseEntry, RequestView, release_history

EPOCH = "1780000000"  # SOURCE_DATE_EPOCH: the signature's time, so that signed bytes compare
MARK = "POISONED-KEPT-ENTRY"
TODAY = "2026-12-01"  # B/0 in force, B/1 approved and waiting (from 2027-01-15)


class Repo:
    """A copy of a clone of this project (its history A/0, A/1, B/0, B/1), with its own HOME."""

    def __init__(self, base: Path, clone: Path) -> None:
        self.base = base
        self.root = base / "repo"
        self.home = base / "home"
        shutil.copytree(clone, self.root, symlinks=True)
        self.home.mkdir()

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return base_env(self.home, **{"MANUAL_TODAY": TODAY, **(extra or {})})

    def manual(self, *args: str, env: dict[str, str] | None = None) -> Result:
        code, out, err = run_manual(args, self.root, self.env(env))
        return Result(code, out, err)


@pytest.fixture
def repo(project_clone: Path, tmp_path: Path) -> Repo:
    return Repo(tmp_path, project_clone)


def docx(repo: Repo, *args: str, env: dict[str, str] | None = None, name: str = "out.docx") -> bytes:
    out = repo.base / name
    out.unlink(missing_ok=True)
    result = repo.manual("docx", "-o", str(out), *args, env={"SOURCE_DATE_EPOCH": EPOCH, **(env or {})})
    assert result.code == 0 and "Traceback" not in result.output, result.output
    return out.read_bytes()


def kept_files(repo: Repo) -> list[Path]:
    return sorted((repo.root / ".git" / "manualkit").glob("kept-docx-*/*.docx"))


def document_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("word/document.xml").decode("utf-8")


def entry_bytes(body: bytes, document_number: str = "XS-QM-01") -> bytes:
    head = json.dumps({"document_number": document_number, "sha256": hashlib.sha256(body).hexdigest()})
    return kept_docx.FORMAT + head.encode() + b"\n" + body


def poisoned(body: bytes) -> bytes:
    """The unsigned DOCX ``body`` with :data:`MARK` written into its first paragraph's text."""
    source = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:t>", f"<w:t>{MARK}".encode(), 1)
                assert MARK.encode() in data
            z.writestr(info, data)
    return out.getvalue()


def poison(repo: Repo) -> None:
    """Replace every kept entry by a well-formed one holding the poisoned DOCX."""
    files = kept_files(repo)
    assert files
    for path in files:
        data = path.read_bytes()
        body = data[data.index(b"\n", len(kept_docx.FORMAT)) + 1 :]
        path.write_bytes(entry_bytes(poisoned(body)))


def served(data: bytes) -> bool:
    return MARK in document_xml(data)


# --- a second docx only signs ----------------------------------------------------------------------

# What rendering needs and signing does not: a warm docx loads none of these.
NOT_LOADED_BY_A_KEPT_DOCX = (
    "markdown_it", "yaml", "ruamel", "manualkit.text.markup", "manualkit.documents.docx.body",
    "manualkit.documents.docx.release", "manualkit.documents.toc", "manualkit.documents.layout",
    "manualkit.records.change_request", "manualkit.records.approval",
)  # fmt: skip


def test_a_second_docx_of_the_same_release_is_the_first_signed_again(repo: Repo) -> None:
    cold = docx(repo, env={"MANUAL_NO_CACHE": "1"})
    assert kept_files(repo) == []  # MANUAL_NO_CACHE=1 keeps nothing
    first = docx(repo)
    assert len(kept_files(repo)) == 1
    probe = (
        "import sys\n"
        "from manualkit.cli import main\n"
        f"code = main(['docx', '-o', {str(repo.base / 'warm.docx')!r}])\n"
        "sys.stderr.write('\\nLOADED ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
        "sys.exit(code)\n"
    )
    env = repo.env({"SOURCE_DATE_EPOCH": EPOCH})
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo.root, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    warm = (repo.base / "warm.docx").read_bytes()
    assert cold == first == warm  # byte-identical, cold, keeping, kept
    loaded = set(proc.stderr.rsplit("LOADED ", 1)[1].split())
    assert "manualkit.documents.package_signature" in loaded  # the probe did sign
    assert [m for m in NOT_LOADED_BY_A_KEPT_DOCX if m in loaded or any(n.startswith(m + ".") for n in loaded)] == []
    verified = repo.manual("verify", str(repo.base / "warm.docx"))
    assert verified.code == 0 and "真实有效" in verified.output, verified.output


def test_the_planted_entry_is_what_a_warm_docx_signs(repo: Repo) -> None:
    """The check the tests below rely on: a poisoned entry under the right key is served (and
    ``manual verify`` refuses the result: the store is a cache, not a source of truth)."""
    docx(repo)
    poison(repo)
    assert served(docx(repo))
    assert not served(docx(repo, env={"MANUAL_NO_CACHE": "1"}))


# --- each input of the rendering is part of the key ---------------------------------------------

SAME_INPUTS = {
    "another day, the same status": ((), {"MANUAL_TODAY": "2026-12-20"}),
    "--as-of naming the same release": (("--as-of", "2026-08-01"), {}),
}
CHANGED_INPUTS = {
    "status (作废 once B/1 is in force)": (("--version", "B/0"), {"MANUAL_TODAY": "2027-02-01"}),
    "--with-comparison": (("--version", "B/0", "--with-comparison"), {}),
    "another release": (("--version", "A/1"), {}),
}


@pytest.mark.parametrize("change", SAME_INPUTS)
def test_the_same_inputs_are_served(repo: Repo, change: str) -> None:
    args, env = SAME_INPUTS[change]
    docx(repo, "--version", "B/0")
    poison(repo)
    assert served(docx(repo, *args, env=env))


@pytest.mark.parametrize("change", CHANGED_INPUTS)
def test_a_changed_input_is_rendered_afresh(repo: Repo, change: str) -> None:
    args, env = CHANGED_INPUTS[change]
    docx(repo, "--version", "B/0")
    poison(repo)
    fresh = docx(repo, *args, env=env)
    assert not served(fresh)
    assert fresh == docx(repo, *args, env={**env, "MANUAL_NO_CACHE": "1"})


def test_the_release_key_instead_of_the_development_key_is_rendered_afresh(repo: Repo) -> None:
    """The cover of a DOCX signed with the development key says 开发签名（非正式）."""
    docx(repo)
    poison(repo)
    pem = repo.home / ".local" / "share" / "manualkit" / "dev-signing" / "signing-key.pem"
    configured = {"MANUAL_SIGNING_KEY": str(pem)}  # the same key, configured: a release key
    fresh = docx(repo, env=configured)
    assert not served(fresh) and "开发签名（非正式）" not in document_xml(fresh)
    assert fresh == docx(repo, env={**configured, "MANUAL_NO_CACHE": "1"})


def test_a_changed_history_is_rendered_afresh(repo: Repo) -> None:
    """A/1's record edited in the working tree changes B/0's 修订记录 (and A/1's verdict), not
    B/0's commit: not served."""
    docx(repo, "--version", "B/0")
    poison(repo)
    record = repo.root / "changelog" / "releases" / "A-1.yml"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("summary: ", "summary: 改写的摘要", 1), encoding="utf-8")
    fresh = docx(repo, "--version", "B/0")
    assert not served(fresh) and "改写的摘要" in document_xml(fresh)


def test_other_code_is_rendered_afresh(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store is named by the fingerprint of the tool's source files (sizes and times)."""
    docx(repo)
    poison(repo)
    monkeypatch.setattr(code_identity, "_digest", "0123456789abcdef" + "0" * 48)  # other code: another package digest
    assert not served(docx(repo))
    assert [p.parent.name for p in kept_files(repo)] == ["kept-docx-0123456789abcdef"]  # the other code's store removed


def test_every_field_of_the_history_shown_is_in_the_key(repo: Repo) -> None:
    """Unit: the key changes with every field of every entry up to the release (its commit and
    record included), with the status, the successor when 作废, and the options; not with the
    entries after it otherwise."""
    entries = release_history(repo.root)
    assert [str(e.record.version) for e in entries] == ["A/0", "A/1", "B/0", "B/1"]
    base = release_key(entries, 2, Status.IN_FORCE, development=True, with_comparison=False)
    variants: list[str] = []
    for i in range(3):
        e = entries[i]
        for field in ReleaseEntry._fields[1:]:  # the record: field by field below
            variants.append(release_key(_changed(entries, i, e._replace(**{field: _other(getattr(e, field))})), 2, Status.IN_FORCE, development=True, with_comparison=False))
        for field in e.record._fields:
            record = e.record._replace(**{field: _other(getattr(e.record, field))})
            variants.append(release_key(_changed(entries, i, e._replace(record=record)), 2, Status.IN_FORCE, development=True, with_comparison=False))
    variants += [
        release_key(entries, 2, Status.SUPERSEDED, development=True, with_comparison=False),
        release_key(entries, 2, Status.IN_FORCE, development=False, with_comparison=False),
        release_key(entries, 2, Status.IN_FORCE, development=True, with_comparison=True),
        release_key(entries, 2, Status.IN_FORCE, development=True, with_comparison=False, copy_number="XS-QM-01-B0-001"),
    ]
    assert base not in variants and len(set(variants)) == len(variants)
    later = entries[3]._replace(record=entries[3].record._replace(summary="另一摘要"))
    assert release_key(_changed(entries, 3, later), 2, Status.IN_FORCE, development=True, with_comparison=False) == base
    superseded = release_key(entries, 2, Status.SUPERSEDED, development=True, with_comparison=False)
    assert release_key(_changed(entries, 3, later), 2, Status.SUPERSEDED, development=True, with_comparison=False) != superseded


def _changed(entries: list[ReleaseEntry], index: int, entry: ReleaseEntry) -> list[ReleaseEntry]:
    return [entry if i == index else e for i, e in enumerate(entries)]


def _other(value: object) -> object:
    """A value of the same kind that differs."""
    import datetime as dt

    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if value is None:
        return "x"
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return value._replace(**{value._fields[0]: _other(value[0])})
    if isinstance(value, tuple):
        if value and isinstance(value[0], (ApprovalView, RequestView)):
            return (_other(value[0]), *value[1:])
        return (*value, value[0]) if value else ("x",)
    raise AssertionError(f"no other value for {value!r}")


def test_a_key_refuses_what_it_cannot_spell() -> None:
    with pytest.raises(TypeError):
        kept_docx._plain({1, 2})


# --- a store that cannot be trusted or written ----------------------------------------------------

CORRUPTIONS = {
    "truncated": lambda data: data[: len(data) // 2],
    "garbage": lambda data: b"\x00\xffnot an entry" * 100,
    "another format": lambda data: data.replace(kept_docx.FORMAT, b"manualkit-kept-docx/0\n", 1),
    "a digest that does not match": lambda data: data[:-1] + bytes([data[-1] ^ 1]),
    "no header line": lambda data: kept_docx.FORMAT + b'{"document_number": "XS-QM-01"',
    "a header of the wrong shape": lambda data: entry_bytes(b"PK\x03\x04").replace(b'"document_number"', b'"number"'),
    "empty": lambda data: b"",
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_entry_is_ignored_and_replaced(repo: Repo, corruption: str) -> None:
    good = docx(repo)
    [path] = kept_files(repo)
    whole = path.read_bytes()
    path.write_bytes(CORRUPTIONS[corruption](whole))
    assert docx(repo) == good
    assert path.read_bytes() == whole  # the next render kept it again


def test_an_entry_that_is_not_a_regular_file_is_ignored(repo: Repo) -> None:
    good = docx(repo)
    [path] = kept_files(repo)
    path.unlink()
    os.mkfifo(path)  # read_regular never opens a FIFO for reading: no hang
    assert docx(repo) == good
    assert stat.S_ISFIFO(os.lstat(path).st_mode)  # not replaced: write_atomic refuses special files
    path.unlink()
    outside = repo.base / "outside.docx"
    outside.write_bytes(entry_bytes(poisoned(_body(good))))
    path.symlink_to(outside)
    assert not served(docx(repo))  # a symlink is not followed


def _body(signed: bytes) -> bytes:
    """A DOCX without its signature parts (any well-formed package will do here)."""
    source = zipfile.ZipFile(io.BytesIO(signed))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            z.writestr(info, source.read(info))
    return out.getvalue()


def test_a_store_that_cannot_be_made_costs_only_the_render(repo: Repo) -> None:
    good = docx(repo, env={"MANUAL_NO_CACHE": "1"})
    shutil.rmtree(repo.root / ".git" / "manualkit", ignore_errors=True)
    (repo.root / ".git" / "manualkit").write_text("a file where the cache folder should be\n")
    assert docx(repo) == good
    assert (repo.root / ".git" / "manualkit").read_text() == "a file where the cache folder should be\n"


def test_a_read_only_git_directory_works_uncached(repo: Repo) -> None:
    """As an unprivileged user (``nobody`` when the tests run as root), with the repository's
    ``.git`` read-only: the DOCX is made, byte for byte the same, and nothing is kept."""
    good = docx(repo, env={"MANUAL_NO_CACHE": "1"})
    top = Path(tempfile.mkdtemp(prefix="kept-docx-ro-"))
    try:
        os.chmod(top, 0o755)
        shutil.copytree(repo.root, top / "repo", symlinks=True)
        shutil.rmtree(top / "repo" / ".git" / "manualkit", ignore_errors=True)
        home = top / "home"
        shutil.copytree(repo.home, home, symlinks=True)
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            for path in [top, *top.rglob("*")]:
                os.lchown(path, 65534, 65534)
        for path in [top / "repo" / ".git", *(top / "repo" / ".git").rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o555)
        env = {**repo.env({"SOURCE_DATE_EPOCH": EPOCH}), "HOME": str(home), "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
        out = top / "out.docx"
        proc = subprocess.run([*prefix, *manual_command(), "docx", "-o", str(out)], cwd=top / "repo", env=env, capture_output=True, timeout=300, check=False)
        result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
        assert result.code == 0 and "Traceback" not in result.output, result.output
        assert out.read_bytes() == good
        assert not (top / "repo" / ".git" / "manualkit").exists()
    finally:
        for path in [top, *top.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)


def test_two_docx_at_once_keep_one_whole_entry(repo: Repo) -> None:
    good = docx(repo, env={"MANUAL_NO_CACHE": "1"})
    env = repo.env({"SOURCE_DATE_EPOCH": EPOCH})
    runs = [
        subprocess.Popen([*manual_command(), "docx", "-o", str(repo.base / f"at-once-{i}.docx")], cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
    assert (repo.base / "at-once-0.docx").read_bytes() == (repo.base / "at-once-1.docx").read_bytes() == good
    [path] = kept_files(repo)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    assert docx(repo) == good


def test_hostile_document_numbers_come_back_as_they_were_kept(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    folder = tmp_path / ".git" / "manualkit" / "kept-docx-x"
    hostile = "XS-QM-01\n\u202e<script>\u200b\x1b[31m"
    body = b"PK\x03\x04" + b"\x00" * 40
    kept_docx.keep(tmp_path, folder, "k", KeptDocx(body, hostile))
    assert kept_docx.recall(folder, "k") == KeptDocx(body, hostile)
    assert kept_docx.recall(folder, "other") is None
    assert (folder / "k.docx").read_bytes().split(b"\n")[1].isascii()


def test_the_least_recently_used_entries_go_beyond_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    folder = tmp_path / ".git" / "manualkit" / "kept-docx-x"
    monkeypatch.setattr(kept_docx, "MAX_ENTRIES", 3)
    body = b"PK\x03\x04"
    for i in range(3):
        kept_docx.keep(tmp_path, folder, f"k{i}", KeptDocx(body, str(i)))
        os.utime(folder / f"k{i}.docx", ns=(i * 10**9, i * 10**9))
    assert kept_docx.recall(folder, "k0") is not None  # used now: the newest
    kept_docx.keep(tmp_path, folder, "k3", KeptDocx(body, "3"))
    assert sorted(p.name for p in folder.iterdir()) == ["k0.docx", "k2.docx", "k3.docx"]
