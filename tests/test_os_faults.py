"""Operating-system and git failures end in coded diagnostics, never a traceback.

Every command runs, as a real subprocess on a real repository, with: a read-only output folder
(``site/``, ``dist/``, ``changelog/requests/``, ``changelog/reviews/``, ``-o``/``--dir`` targets),
an output folder that cannot be made, a repository folder that does not exist, a stale
``.git/index.lock``, and an absurd date. Each run must exit with a status the command documents,
print a diagnostic code when it refuses, print no traceback, and leave nothing half-written.

Read-only folders mean nothing to root, so when the tests run as root the commands run as the
unprivileged user ``nobody`` (``setpriv``) on a copy of the repository that ``nobody`` owns.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from revision_repo import Result, RevisionRepo, manual_command, shared_history

NOBODY = 65534
AS_ROOT = os.geteuid() == 0
CODE_RE = re.compile(r"\b(MAN|DOC)\d{3}\b")


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A/0 released, a minor change request approved and committed (ready for release), a built site."""
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("faults") / "r")
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve_all(cr, "2026-02-20")
    repo.commit(f"{cr} approved")
    return repo


class _NobodysRepo(RevisionRepo):
    """The test (root) reads the repository that ``nobody`` owns: git must not call it dubious."""

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**super().env(extra), "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}


class Sandbox:
    """A copy of ``ready`` that an unprivileged user owns (when the tests run as root)."""

    def __init__(self, ready: RevisionRepo) -> None:
        self.top = Path(tempfile.mkdtemp(prefix="manual-faults-"))
        ready.copy_to(self.top / "base")
        self.repo = _NobodysRepo.open(self.top / "base")
        self.root = self.repo.root
        self.out = self.top / "out"
        self.out.mkdir()
        if AS_ROOT:
            for path in [self.top, *self.top.rglob("*")]:
                os.lchown(path, NOBODY, NOBODY)

    def env(self, **extra: str) -> dict[str, str]:
        return self.repo.env({"MANUAL_TODAY": "2026-03-01", "MANUAL_HOME": str(self.top / "manual-home"), **extra})

    def manual(self, *args: str, **env: str) -> Result:
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] if AS_ROOT else []
        proc = subprocess.run(
            [*prefix, *manual_command(), *args], cwd=self.root, env=self.env(**env), capture_output=True, timeout=300,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))

    def read_only(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if AS_ROOT:
            os.lchown(path, NOBODY, NOBODY)
        path.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

    def cleanup(self) -> None:
        for path in [self.top, *self.top.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def box(ready: RevisionRepo) -> Iterator[Sandbox]:
    sandbox = Sandbox(ready)
    try:
        yield sandbox
    finally:
        sandbox.cleanup()


def _clean_failure(run: Result, allowed: Sequence[int] = (1,)) -> None:
    assert "Traceback" not in run.output, run.output
    assert run.code in allowed, f"exit {run.code}: {run.output}"
    assert CODE_RE.search(run.output), f"no diagnostic code: {run.output}"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


# --- read-only output folders ----------------------------------------------------------------------

READ_ONLY = [
    (".", ("build", "--site-only")),  # site/ is replaced whole: its parent must be writable
    (".", ("publish",)),
    ("dist", ("docx",)),
    ("dist", ("show", "--format", "docx")),
    ("dist", ("diff", "--from", "A/0", "--to", "A/0", "--format", "docx")),
    ("changelog/requests", ("propose", "--class", "minor", "--sections", "4.1", "--title", "t", "--reason", "r", "--applicant", "张伟")),
    ("changelog/requests", ("approve", "CR-2026-001", "--role", "编制", "--key", "KEY:zhang")),
    ("changelog/reviews", ("review", "3", "--key", "KEY:li")),
    ("OUT", ("audit", "--format", "html", "-o", "OUT/audit.html")),
    ("OUT", ("diff", "--from", "A/0", "--to", "A/0", "--format", "html", "-o", "OUT/diff.html")),
    ("OUT", ("show", "-o", "OUT/show.md")),
    ("OUT", ("export-approval", "CR-2026-001", "--role", "审核", "--dir", "OUT")),
    ("OUT", ("distribute", "A/0", "--holder", "王五", "--department", "销售管理部", "-o", "OUT", "--key", "KEY:zhao")),
]


def _args(box: Sandbox, args: Sequence[str]) -> list[str]:
    out = []
    for a in args:
        if a.startswith("KEY:"):
            key = box.repo.key(a[4:])
            if AS_ROOT:
                os.lchown(key, NOBODY, NOBODY)
            out.append(str(key))
        else:
            out.append(a.replace("OUT", str(box.out / "ro")))
    return out


@pytest.mark.parametrize(("folder", "args"), READ_ONLY, ids=[f"{f}-{a[0]}" for f, a in READ_ONLY])
def test_a_read_only_output_folder_is_a_diagnostic(box: Sandbox, folder: str, args: Sequence[str]) -> None:
    if args[0] == "approve":  # sign the request's own file: the folder is read-only, so is the file
        (box.root / "changelog" / "requests" / "CR-2026-001.yml").write_text(
            (box.root / "changelog" / "requests" / "CR-2026-001.yml").read_text(encoding="utf-8").split("approvals:")[0] + "approvals: []\n",
            encoding="utf-8",
        )
        (box.root / "changelog" / "requests" / "CR-2026-001.yml").chmod(0o444)
    target = box.out / "ro" if folder == "OUT" else box.root / folder
    if folder == ".":
        box.read_only(box.root / "site")
    box.read_only(target)
    before = _files(box.root)
    run = box.manual(*_args(box, args))
    _clean_failure(run)
    # MkDocs reports its own failure (MAN730, with the system's reason); everything else is MAN766
    assert "MAN766" in run.stderr or (args[0] in ("build", "publish") and "MAN730" in run.stderr), run.output
    assert _files(box.root) == before


LAID_OUT = [
    (".", ("publish",)),
    ("dist", ("docx",)),
    ("OUT", ("pdf", "-o", "OUT/x.pdf")),
    ("OUT", ("distribute", "A/0", "--holder", "王五", "--department", "销售管理部", "-o", "OUT", "--key", "KEY:zhao")),
]


@pytest.mark.parametrize(("folder", "args"), LAID_OUT, ids=[f"{f}-{a[0]}" for f, a in LAID_OUT])
def test_a_read_only_output_folder_is_refused_before_the_layout(box: Sandbox, folder: str, args: Sequence[str]) -> None:
    """What lays a document out (LibreOffice, seconds) refuses at once when it could not write the
    result: the layout engine never ran, so its cache folder is still empty."""
    cache = box.top / "layout-cache"
    cache.mkdir()
    if AS_ROOT:
        os.lchown(cache, NOBODY, NOBODY)
    if folder == ".":
        box.read_only(box.root / "site")
    box.read_only(box.out / "ro" if folder == "OUT" else box.root / folder)
    run = box.manual(*_args(box, args), MANUAL_LAYOUT_CACHE=str(cache))
    _clean_failure(run)
    assert "MAN766" in run.stderr, run.output
    assert not list(cache.iterdir())


# --- folders that are missing or cannot be made --------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("export-approval", "CR-2026-001", "--role", "审核", "--dir", "FILE/sub"),
        ("audit", "-o", "FILE/sub/audit.md"),
        ("docx", "-o", "FILE/x.docx"),
        ("show", "--format", "docx", "-o", "/proc/version/x.docx"),
    ],
    ids=["export-approval", "audit", "docx", "show"],
)
def test_an_output_folder_that_cannot_be_made_is_a_diagnostic(box: Sandbox, args: Sequence[str]) -> None:
    blocker = box.out / "a-file"
    blocker.write_text("not a folder\n")
    run = box.manual(*[a.replace("FILE", str(blocker)) for a in args])
    _clean_failure(run)
    assert "MAN766" in run.stderr, run.output


EVERY_COMMAND: list[tuple[str, ...]] = [
    ("check",), ("status",), ("history",), ("show",), ("audit",), ("allowed-signers",),
    ("diff", "--from", "A/0", "--to", "A/0"), ("docx",), ("verify", "x.docx"), ("build", "--site-only"),
    ("propose", "--class", "minor", "--sections", "4.1", "--title", "t", "--reason", "r", "--applicant", "张伟"),
    ("approve", "CR-2026-001", "--role", "编制", "--key", "k"), ("export-approval", "CR-2026-001", "--role", "审核"),
    ("release", "--effective", "2026-03-16"), ("review", "3", "--key", "k"), ("publish",),
    ("return", "CR-2026-001", "--role", "审核", "--key", "k", "--reason", "r"),
    ("revoke-key", "li.na", "--at", "2026-02-01T10:00:00+08:00", "--reason", "遗失", "--key", "k"),
    ("training", "A/0", "--date", "2026-01-05", "--departments", "销售管理部", "--attendees", "3", "--record", "r", "--key", "k"),
    ("distribute", "A/0", "--holder", "王五", "--department", "销售管理部", "--key", "k"), ("recall", "A-0-001", "--date", "2026-02-01", "--key", "k"),
    ("obligations",),
]  # fmt: skip


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=[a[0] for a in EVERY_COMMAND])
def test_every_command_in_a_missing_repository_folder_is_a_diagnostic(box: Sandbox, args: Sequence[str]) -> None:
    run = box.manual("--root", str(box.top / "no-such-folder"), *args)
    _clean_failure(run, allowed=(1, 2, 5, 6))


# --- a stale .git/index.lock ------------------------------------------------------------------------


def test_release_with_a_stale_index_lock_refuses_before_writing(box: Sandbox) -> None:
    lock = box.root / ".git" / "index.lock"
    lock.write_text("")
    before = (box.repo.state(), _files(box.root))
    run = box.manual("release", "--effective", "2026-03-16")
    _clean_failure(run)
    assert "MAN767" in run.stderr and "index.lock" in run.stderr, run.output
    assert "删除该标签" not in run.output
    assert (box.repo.state(), _files(box.root)) == before
    lock.unlink()
    assert box.manual("release", "--effective", "2026-03-16").code == 0


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=[a[0] for a in EVERY_COMMAND])
def test_every_command_with_a_stale_index_lock_ends_cleanly(box: Sandbox, args: Sequence[str]) -> None:
    (box.root / ".git" / "index.lock").write_text("")
    run = box.manual(*args)
    assert "Traceback" not in run.output, run.output
    if run.code != 0:
        assert CODE_RE.search(run.output), run.output


# --- absurd dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=[a[0] for a in EVERY_COMMAND])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_every_command_with_an_absurd_date_is_refused_with_a_code(box: Sandbox, args: Sequence[str], day: str) -> None:
    """A command that asks for today refuses the absurd one (MAN765); one that never asks (history,
    diff between versions, allowed-signers, export-approval) answers as usual."""
    run = box.manual(*args, MANUAL_TODAY=day)
    if args[0] in ("diff", "allowed-signers", "export-approval", "obligations"):  # history: its 状态 column is as of today
        assert run.code == 0 and "Traceback" not in run.output, run.output
        return
    _clean_failure(run, allowed=(1,))
    assert "MAN765" in run.stderr, run.output


@pytest.mark.parametrize(
    "args",
    [("release", "--effective", "9999-12-31"), ("show", "--as-of", "9999-12-31"), ("diff", "--from", "A/0", "--to", "9999年12月31日")],
    ids=["release", "show", "diff"],
)
def test_an_absurd_date_on_the_command_line_is_a_usage_error(box: Sandbox, args: Sequence[str]) -> None:
    run = box.manual(*args)
    _clean_failure(run, allowed=(2,))


def test_an_absurd_date_in_a_record_is_a_finding_not_a_crash(box: Sandbox) -> None:
    path = box.root / "manual" / "03-execution.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"last_reviewed: \S+", "last_reviewed: 9999-12-30", text, count=1), encoding="utf-8")
    for args in (("check",), ("status",)):
        run = box.manual(*args)
        assert "Traceback" not in run.output, run.output
    run = box.manual("check")
    assert run.code == 1 and "MAN108" in run.stdout, run.output


def test_a_closed_pipe_is_not_a_traceback(box: Sandbox) -> None:
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] if AS_ROOT else []
    proc = subprocess.Popen([*prefix, *manual_command(), "codes"], cwd=box.root, env=box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes: its first write meets a closed pipe
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    proc.wait(timeout=60)
    assert "Traceback" not in err, err
