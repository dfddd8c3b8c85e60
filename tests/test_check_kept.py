"""The kept answer of ``manual check`` (records/kept_check.py): reused only for the same inputs.

Each kind of input is changed in a real git repository and the kept answer is shown not to be
reused; a poisoned entry (a kept answer rewritten with a message no check writes, its digest made
valid) shows when it would be. Outputs of every format are the same warm and cold.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import MANUAL_DIR, GitRepo, make_git_repo, manual_command

from manualkit.base.run import Run
from manualkit.records import kept_check

POISON = "KEPT-ANSWER-REUSED"


def run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*manual_command(), "check", *args], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(MANUAL_DIR, root / "manual")
    made = make_git_repo(root, tmp_path / "home")
    time.sleep(kept_check.RACY_NS / 1e9 + 0.05)  # older than the racy window: the first run keeps its answer
    return made


def entries(root: Path) -> list[Path]:
    folder = root / ".git" / "manualkit" / kept_check.FOLDER
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def poison(root: Path) -> None:
    """Rewrite every kept entry so that its answer says POISON (digest made valid again)."""
    for path in entries(root):
        found = kept_check.parse_entry(path.read_bytes(), path.name)
        assert found is not None
        zone, today, answer = found
        fake = answer._replace(diagnostics=(*answer.diagnostics, kept_check.Diagnostic("manual", 0, 0, "MAN112", POISON)))
        path.write_bytes(kept_check.entry_text(path.name, zone, today, fake))


def settle() -> None:
    time.sleep(kept_check.RACY_NS / 1e9 + 0.05)


def june_first(repo: GitRepo) -> Run:
    """A run of ``repo`` on 2026-06-01 in China, for the kept answer's own calls."""
    from manualkit.base import clock

    return Run(repo.root, clock.CST, dt.date(2026, 6, 1), dt.datetime(2026, 6, 1, 9, 0, tzinfo=clock.CST), repo.env)


def test_the_folders_and_names_are_those_of_the_readers() -> None:
    from manualkit.records.release import PENDING_FILE
    from manualkit.records.signed import CHANGELOG_DIR
    from manualkit.records.trust import CERTS_DIR
    from manualkit.text.manual import MANUAL_DIR as MANUAL

    assert kept_check.TREE == (MANUAL, CHANGELOG_DIR, CERTS_DIR)
    assert kept_check.PENDING_FILE == PENDING_FILE


def test_a_second_check_answers_from_the_kept_entry_and_loads_no_parser(repo: GitRepo) -> None:
    cold = run(repo.root, repo.env)
    assert len(entries(repo.root)) == 1
    # Nor dataclasses (inspect, some 7 ms): the run's Run and CheckReport are named tuples for it.
    loaded = "('yaml', 'markdown_it', 'dataclasses')"
    probe = f"import sys\nfrom manualkit.cli import main\nrc = main(['check'])\nprint(sorted(m for m in sys.modules if m.split('.')[0] in {loaded}), file=sys.stderr)\n"
    warm = subprocess.run([sys.executable, "-c", probe], cwd=repo.root, env=repo.env, capture_output=True, text=True, check=False)
    assert warm.stdout == cold.stdout
    assert warm.stderr.strip().endswith("[]"), warm.stderr
    poison(repo.root)
    assert POISON in run(repo.root, repo.env).stdout  # the kept answer is what is printed


@pytest.mark.parametrize("fmt", ["text", "json", "github", "gitlab"])
def test_every_format_is_the_same_warm_and_cold(repo: GitRepo, fmt: str) -> None:
    (repo.root / "manual" / "03-execution.md").write_text(
        (repo.root / "manual" / "03-execution.md").read_text(encoding="utf-8") + "\n见 [缺失](missing.md)。\n", encoding="utf-8"
    )
    settle()
    cold = run(repo.root, {**repo.env, "MANUAL_NO_CACHE": "1"}, "--format", fmt)
    assert not entries(repo.root)  # MANUAL_NO_CACHE=1 keeps nothing
    first, second = run(repo.root, repo.env, "--format", fmt), run(repo.root, repo.env, "--format", fmt)
    assert entries(repo.root)
    for got in (first, second):
        assert (got.returncode, got.stdout, got.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert cold.returncode == 1


def _changes(repo: GitRepo) -> dict[str, tuple[str, object]]:
    """For each kind of input: the part of the key it must change, and how it is changed."""
    root = repo.root

    def chapter() -> None:
        path = root / "manual" / "03-execution.md"
        path.write_text(path.read_text(encoding="utf-8").replace("报价", "报 价", 1), encoding="utf-8")

    def same_size_chapter() -> None:  # the same length, its modification time put back
        path = root / "manual" / "02-preparation.md"
        st = path.stat()
        data = bytearray(path.read_bytes())
        data[-2:-1] = b"X" if data[-2:-1] != b"X" else b"Y"
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    def policy() -> None:
        path = root / "manual" / "policy.yml"
        path.write_text(path.read_text(encoding="utf-8") + "\n# 注释\n", encoding="utf-8")

    def record() -> None:
        (root / "changelog" / "requests").mkdir(parents=True, exist_ok=True)
        (root / "changelog" / "requests" / "CR-2026-009.yml").write_text("id: CR-2026-009\n", encoding="utf-8")

    def cert() -> None:
        (root / "certs").mkdir(exist_ok=True)
        (root / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")

    def commit() -> None:
        repo.git("commit", "--quiet", "--allow-empty", "-m", "空提交")

    def staged() -> None:  # a file taken out of the index: nothing in the tree changes, status does
        repo.git("rm", "--quiet", "--cached", "manual/01-overview.md")

    def config() -> None:
        repo.git("config", "--local", "log.showRoot", "false")

    def shallow() -> None:
        (root / ".git" / "shallow").write_text(repo.head() + "\n", encoding="utf-8")

    return {
        "chapter": ("tree:manual", chapter),
        "same-size chapter": ("tree:manual", same_size_chapter),
        "policy": ("tree:manual", policy),
        "change request": ("tree:changelog", record),
        "certificate": ("tree:certs", cert),
        "HEAD": ("head", commit),
        "status": ("status", staged),
        "git config": ("git", config),
        "shallow": ("git", shallow),
    }


@pytest.mark.parametrize(
    "kind", ["chapter", "same-size chapter", "policy", "change request", "certificate", "HEAD", "status", "git config", "shallow"]
)
def test_each_input_changed_is_not_answered_from_the_kept_entry(repo: GitRepo, kind: str) -> None:
    part, change = _changes(repo)[kind]
    before = kept_check.inputs(repo.root, strict=False, base=None).parts
    run(repo.root, repo.env)
    poison(repo.root)
    assert POISON in run(repo.root, repo.env).stdout
    change()  # type: ignore[operator]
    after = kept_check.inputs(repo.root, strict=False, base=None).parts
    changed = {k for k in before if before[k] != after[k]}
    # That part changes (with git's status of the paths, when a tracked file changed), and
    # without them the key would be the same, and the poisoned answer reused:
    assert part in changed <= {part, "status"}, changed
    assert kept_check.key_of(before, without=changed) == kept_check.key_of(after, without=changed)
    settle()
    fresh = run(repo.root, repo.env)
    assert POISON not in fresh.stdout
    assert (fresh.returncode, fresh.stdout) == (lambda r: (r.returncode, r.stdout))(run(repo.root, {**repo.env, "MANUAL_NO_CACHE": "1"}))


def test_today_strict_and_base_are_inputs(repo: GitRepo) -> None:
    run(repo.root, repo.env)
    poison(repo.root)
    assert POISON in run(repo.root, repo.env).stdout
    assert POISON not in run(repo.root, {**repo.env, "MANUAL_TODAY": "2031-01-01"}).stdout
    assert POISON not in run(repo.root, repo.env, "--strict").stdout
    assert POISON not in run(repo.root, repo.env, "--base", "HEAD").stdout
    plain = kept_check.inputs(repo.root, strict=False, base=None).parts
    strict = kept_check.inputs(repo.root, strict=True, base=None).parts
    based = kept_check.inputs(repo.root, strict=False, base="HEAD").parts
    assert {k for k in plain if plain[k] != strict[k]} == {"arguments"} == {k for k in plain if plain[k] != based[k]}


def test_installed_distributions_are_part_of_the_code(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "markdown_it_py-3.0.0.dist-info").mkdir(parents=True)
    before = kept_check._distributions([str(site)])
    (site / "markdown_it_py-3.0.0.dist-info").rename(site / "markdown_it_py-4.0.0.dist-info")
    assert kept_check._distributions([str(site)]) != before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "digest", "other key", "fifo", "huge"])
def test_a_corrupt_or_foreign_entry_is_recomputed(repo: GitRepo, damage: str) -> None:
    good = run(repo.root, repo.env)
    poison(repo.root)
    (path,) = entries(repo.root)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "digest":
        path.write_bytes(data.replace(POISON.encode(), b"KEPT-ANSWER-ALTERED"))
    elif damage == "other key":
        other = kept_check.parse_entry(data, path.name)
        assert other is not None
        path.write_bytes(kept_check.entry_text("0" * 64, *other))
    elif damage == "fifo":
        path.unlink()
        os.mkfifo(path)
    else:
        path.write_bytes(b"x" * (kept_check.MAX_ENTRY_BYTES + 10))
    again = run(repo.root, repo.env)
    assert (again.returncode, again.stdout, again.stderr) == (good.returncode, good.stdout, good.stderr)
    assert "Traceback" not in again.stderr


def test_a_symlink_in_the_tree_is_never_kept(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("# 外部\n", encoding="utf-8")
    (repo.root / "manual" / "extra.md").symlink_to(outside)
    settle()
    first = run(repo.root, repo.env)
    assert not entries(repo.root)
    outside.write_text("# 外部，已改\n", encoding="utf-8")
    assert run(repo.root, repo.env).stdout == first.stdout == run(repo.root, {**repo.env, "MANUAL_NO_CACHE": "1"}).stdout
    assert not entries(repo.root)


def test_nothing_is_kept_when_the_tree_changes_during_the_check(repo: GitRepo) -> None:
    path = repo.root / "manual" / "03-execution.md"
    text = path.read_text(encoding="utf-8")

    def edited_meanwhile() -> kept_check.Answer:
        path.write_text(text + "x", encoding="utf-8")
        path.write_text(text, encoding="utf-8")  # and put back: the same bytes, a new change time
        return kept_check.Answer((), 8, 32)

    kept_check.answer(june_first(repo), strict=False, base=None, compute=edited_meanwhile)
    assert not entries(repo.root)
    time.sleep(1.1)  # git rewrites the index while a file is as new as it, to the second
    kept_check.answer(june_first(repo), strict=False, base=None, compute=lambda: kept_check.Answer((), 8, 32))
    assert len(entries(repo.root)) == 1


def test_a_file_changed_just_before_the_check_is_racy(repo: GitRepo) -> None:
    path = repo.root / "manual" / "03-execution.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    kept_check.answer(june_first(repo), strict=False, base=None, compute=lambda: kept_check.Answer((), 8, 32))
    assert not entries(repo.root)


def test_entries_are_bounded(repo: GitRepo) -> None:
    folder = repo.root / ".git" / "manualkit" / kept_check.FOLDER
    folder.mkdir(parents=True)
    for i in range(kept_check.MAX_ENTRIES + 5):
        (folder / f"{i:064x}").write_bytes(b"old")
    run(repo.root, repo.env)
    assert len(entries(repo.root)) == kept_check.MAX_ENTRIES


def test_two_checks_at_once_agree(repo: GitRepo) -> None:
    procs = [subprocess.Popen([*manual_command(), "check"], cwd=repo.root, env=repo.env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert outs[0] == outs[1] == run(repo.root, repo.env).stdout
    assert len(entries(repo.root)) == 1


def test_a_pending_release_is_never_answered_from_the_kept_entry(repo: GitRepo) -> None:
    run(repo.root, repo.env)
    (repo.root / ".git" / kept_check.PENDING_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(kept_check.Unkept):
        kept_check.inputs(repo.root, strict=False, base=None)
    poison(repo.root)
    assert POISON not in run(repo.root, repo.env).stdout
    assert not (repo.root / ".git" / kept_check.PENDING_FILE).exists()  # the fresh check finished it


def test_head_is_read_from_the_files_as_git_reads_it(repo: GitRepo, tmp_path: Path) -> None:
    def agrees(root: Path) -> None:
        where = kept_check.layout(root)
        expected = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
        assert kept_check.head_from_files(where) == (expected.stdout.strip() or None)

    agrees(repo.root)  # loose ref
    repo.git("pack-refs", "--all")
    agrees(repo.root)  # packed
    repo.git("checkout", "--quiet", "--detach")
    agrees(repo.root)  # detached
    repo.git("checkout", "--quiet", "main")
    repo.git("worktree", "add", "--quiet", "-b", "side", str(tmp_path / "wt"))
    agrees(tmp_path / "wt")  # a linked worktree: .git is a file, refs in the common dir
    (tmp_path / "wt" / "f.txt").write_text("x", encoding="utf-8")
    subprocess.run(["git", "add", "f.txt"], cwd=tmp_path / "wt", env=repo.env, check=True)
    subprocess.run(["git", "commit", "--quiet", "-m", "side"], cwd=tmp_path / "wt", env=repo.env, check=True)
    agrees(tmp_path / "wt")
    assert kept_check.layout(tmp_path / "wt").common_dir == repo.root / ".git"
    repo.git("checkout", "--quiet", "--orphan", "unborn")
    agrees(repo.root)  # an unborn branch: None


def test_a_read_only_git_directory_still_checks(repo: GitRepo) -> None:
    if os.geteuid() == 0:
        nobody = 65534
        for path in [repo.root.parent, *repo.root.parent.rglob("*")]:
            os.lchown(path, nobody, nobody)
        prefix = ["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups", "--"]
    else:
        prefix = []
    env = {**repo.env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
    cold = subprocess.run([*prefix, *manual_command(), "check"], cwd=repo.root, env={**env, "MANUAL_NO_CACHE": "1"}, capture_output=True, text=True, check=False)
    git_dir = repo.root / ".git"
    for path in [git_dir, *git_dir.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    try:
        got = subprocess.run([*prefix, *manual_command(), "check"], cwd=repo.root, env=env, capture_output=True, text=True, check=False)
    finally:
        for path in [git_dir, *git_dir.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
    assert (got.returncode, got.stdout, got.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert not entries(repo.root)
