"""`git.facts` reads the git dir, shallowness and HEAD from the files in the common layout; in every
repository state it must say exactly what `git rev-parse` says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import GitRepo, make_git_repo

from manualkit.base import git


def rev_parse(repo: GitRepo) -> git.RepositoryFacts:
    out = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir", "--is-shallow-repository", "HEAD"],
        cwd=repo.root, env=repo.env, capture_output=True, text=True, check=False,
    ).stdout.split("\n")  # fmt: skip
    head = out[2] if len(out) > 2 and len(out[2]) == 40 else None
    return git.RepositoryFacts(Path(out[0]), out[1] == "true", head)


def assert_same_as_git(repo: GitRepo, *, from_files: bool = True) -> git.RepositoryFacts:
    found = git.facts(repo.root)
    assert found is not None
    assert found == rev_parse(repo)
    assert (git._facts_from_files(repo.root) is not None) == from_files
    return found


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "a.txt").write_text("一\n", encoding="utf-8")
    return make_git_repo(tmp_path / "repo", tmp_path / "home")


def test_a_branch_with_a_loose_ref(repo: GitRepo) -> None:
    assert (repo.root / ".git" / "refs" / "heads" / "main").is_file()
    assert assert_same_as_git(repo).head == repo.head()


def test_a_branch_with_a_packed_ref_and_a_later_loose_one(repo: GitRepo) -> None:
    first = repo.head()
    repo.git("pack-refs", "--all")
    assert not (repo.root / ".git" / "refs" / "heads" / "main").exists()
    assert assert_same_as_git(repo).head == first
    (repo.root / "a.txt").write_text("二\n", encoding="utf-8")
    second = repo.commit("第二次提交")  # a loose ref again, newer than the packed one
    assert assert_same_as_git(repo).head == second != first


def test_a_detached_head(repo: GitRepo) -> None:
    first = repo.head()
    (repo.root / "a.txt").write_text("二\n", encoding="utf-8")
    repo.commit("第二次提交")
    repo.git("checkout", "--quiet", "--detach", first)
    assert assert_same_as_git(repo).head == first


def test_a_repository_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(root)], check=True)
    found = git.facts(root)
    assert found is not None and found.head is None and found.shallow is False
    assert found.git_dir == root / ".git"


def test_a_shallow_clone(repo: GitRepo, tmp_path: Path) -> None:
    (repo.root / "a.txt").write_text("二\n", encoding="utf-8")
    repo.commit("第二次提交")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth=1", f"file://{repo.root}", str(clone)], check=True, env=repo.env)
    shallow = GitRepo(clone, repo.env)
    assert assert_same_as_git(shallow).shallow is True


def test_a_linked_worktree_asks_git(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("worktree", "add", "--quiet", "-b", "other", str(tmp_path / "linked"))
    linked = GitRepo(tmp_path / "linked", repo.env)
    assert assert_same_as_git(linked, from_files=False).head == repo.head()


def test_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    assert git.facts(tmp_path / "plain") is None


def test_a_git_process_read_later_answers_as_one_read_at_once(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """``git.started``: the output of more than a pipe holds (git never waits for its reader), and
    a failure is the same GitError as from ``git.run``."""
    for n in range(3000):
        (repo.root / f"f{n:04d}.txt").write_text("二\n", encoding="utf-8")
    repo.commit("many files")
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    pending = git.started(repo.root, "ls-tree", "-r", "HEAD")
    assert pending() == git.run(repo.root, "ls-tree", "-r", "HEAD") and len(git.run(repo.root, "ls-tree", "-r", "HEAD")) > 65536
    assert git.commits_adding(repo.root, "f0001.txt") == {"f0001.txt": repo.head()}
    with pytest.raises(git.GitError, match="no-such-ref"):
        git.started(repo.root, "log", "no-such-ref")()
