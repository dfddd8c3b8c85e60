"""Git itself cannot be used to lie: every git process the tool starts ignores what could
substitute objects or rewrite what a reader sees (replace refs, grafts, a commit-graph, object
directories and other repositories named in the environment, configuration that changes what
git prints). ``base/git.py`` fixes the environment and the configuration; each is tested here in
real repositories, and once end to end through ``manual show`` of a signed release."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import GitRepo, make_git_repo
from revision_repo import RevisionRepo, shared_history

from manualkit.base import git


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    root = tmp_path / "repo"
    (root / "changelog" / "releases").mkdir(parents=True)
    (root / "changelog" / "releases" / "A-0.yml").write_text("version: A/0\n", encoding="utf-8")
    (root / "text.md").write_text("真实的文本\n", encoding="utf-8")
    made = make_git_repo(root, tmp_path / "home", message="first")
    (root / "text.md").write_text("第二版文本\n", encoding="utf-8")
    (root / "changelog" / "releases" / "A-1.yml").write_text("version: A/1\n", encoding="utf-8")
    made.commit("second", date="2026-01-02T09:00:00+08:00")
    (root / "text.md").write_text("第三版文本\n", encoding="utf-8")
    made.commit("third", date="2026-01-03T09:00:00+08:00")
    return made


def forged_blob(repo: GitRepo, text: str) -> str:
    path = repo.root / "forged.txt"
    path.write_text(text, encoding="utf-8")
    sha = repo.git("hash-object", "-w", str(path)).strip()
    path.unlink()
    return sha


@pytest.mark.unit
def test_a_replace_ref_does_not_substitute_a_blob(repo: GitRepo) -> None:
    real = repo.git("rev-parse", "HEAD:text.md").strip()
    repo.git("replace", real, forged_blob(repo, "伪造的文本\n"))
    assert repo.git("cat-file", "blob", "HEAD:text.md") == "伪造的文本\n"  # what plain git shows
    assert git.show(repo.root, "HEAD", "text.md") == "第三版文本\n".encode()
    assert git.read_blobs(repo.root, [real]) == {real: "第三版文本\n".encode()}
    files, _ = git.read_tree_files(repo.root, "HEAD", "text.md")
    assert files == {"text.md": "第三版文本\n".encode()}


@pytest.mark.unit
def test_a_replace_ref_does_not_substitute_a_commit(repo: GitRepo) -> None:
    repo.git("replace", "HEAD", "HEAD~2")
    assert "A-1.yml" not in repo.git("ls-tree", "-r", "--name-only", "HEAD")
    assert {e.path for e in git.list_tree(repo.root, "HEAD", "changelog/")} == {
        "changelog/releases/A-0.yml",
        "changelog/releases/A-1.yml",
    }


@pytest.mark.unit
def test_a_replace_ref_base_from_the_environment_is_ignored(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    real = repo.git("rev-parse", "HEAD:text.md").strip()
    forged = forged_blob(repo, "伪造的文本\n")
    repo.git("update-ref", f"refs/elsewhere/{real}", forged)
    monkeypatch.setenv("GIT_REPLACE_REF_BASE", "refs/elsewhere/")
    assert git.show(repo.root, "HEAD", "text.md") == "第三版文本\n".encode()


@pytest.mark.unit
def test_grafts_do_not_rewrite_history(repo: GitRepo) -> None:
    head, second, first = (repo.git("rev-parse", f"HEAD~{n}").strip() for n in range(3))
    (repo.root / ".git" / "info").mkdir(exist_ok=True)
    (repo.root / ".git" / "info" / "grafts").write_text(f"{head} {first}\n", encoding="ascii")
    assert len(repo.git("rev-list", "HEAD").split()) == 2  # plain git skips the second commit
    adding = git.commits_adding(repo.root, "changelog/releases/")
    assert adding["changelog/releases/A-1.yml"] == second
    assert len(git.text(repo.root, "rev-list", "HEAD").split()) == 3


@pytest.mark.unit
def test_git_dir_and_work_tree_from_the_environment_are_ignored(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other_root = tmp_path / "other"
    other_root.mkdir()
    (other_root / "text.md").write_text("另一个仓库\n", encoding="utf-8")
    other = make_git_repo(other_root, tmp_path / "home")
    monkeypatch.setenv("GIT_DIR", str(other.root / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.root))
    found = git.facts(repo.root)
    assert found is not None and found.head == repo.head()
    assert git.resolve(repo.root, "HEAD") == repo.head()
    assert git.show(repo.root, "HEAD", "text.md") == "第三版文本\n".encode()
    assert git.dirty_paths(repo.root) == []


@pytest.mark.unit
def test_object_directories_from_the_environment_are_ignored(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other_root = tmp_path / "other"
    other_root.mkdir()
    (other_root / "text.md").write_text("别处的对象\n", encoding="utf-8")
    other = make_git_repo(other_root, tmp_path / "home")
    monkeypatch.setenv("GIT_ALTERNATE_OBJECT_DIRECTORIES", str(other.root / ".git" / "objects"))
    assert git.show(repo.root, other.head(), "text.md") is None
    monkeypatch.delenv("GIT_ALTERNATE_OBJECT_DIRECTORIES")
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other.root / ".git" / "objects"))
    assert git.show(repo.root, other.head(), "text.md") is None
    assert git.show(repo.root, "HEAD", "text.md") == "第三版文本\n".encode()


@pytest.mark.unit
def test_an_index_file_from_the_environment_is_ignored(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "no-such-index"))
    assert git.dirty_paths(repo.root) == []


@pytest.mark.unit
def test_configuration_from_the_environment_is_ignored(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    real = repo.git("rev-parse", "HEAD:text.md").strip()
    repo.git("replace", real, forged_blob(repo, "伪造的文本\n"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.useReplaceRefs")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.usereplacerefs'='true'")
    assert git.show(repo.root, "HEAD", "text.md") == "第三版文本\n".encode()
    assert git.text(repo.root, "config", "--get", "core.useReplaceRefs") == "false"


@pytest.mark.unit
def test_a_record_moved_into_place_is_added_there(repo: GitRepo) -> None:
    repo.git("mv", "changelog/releases/A-1.yml", "changelog/releases/A-2.yml")
    moved = repo.commit("move", date="2026-01-04T09:00:00+08:00")
    adding = git.commits_adding(repo.root, "changelog/releases/")
    assert adding["changelog/releases/A-2.yml"] == moved


@pytest.mark.unit
@pytest.mark.parametrize("setting", git.ISOLATING_CONFIG)
def test_each_fixed_setting_wins_over_the_repository_configuration(repo: GitRepo, setting: str) -> None:
    key, _, value = setting.partition("=")
    planted = "true" if value in ("false", os.devnull, "UTF-8") else "false"
    repo.git("config", "--local", key, planted)
    assert git.text(repo.root, "config", "--get", key) == value


@pytest.mark.unit
def test_colour_and_signatures_in_the_repository_configuration_do_not_reach_parsed_output(repo: GitRepo) -> None:
    for key, value in (("color.ui", "always"), ("log.showSignature", "true"), ("log.decorate", "full"), ("diff.renames", "copies")):
        repo.git("config", "--local", key, value)
    assert "\x1b" in repo.git("log", "-1", "--format=%C(auto)%H%d")  # plain git colours it
    assert "\x1b" not in git.text(repo.root, "log", "-1", "--format=%C(auto)%H%d")
    assert set(git.commits_adding(repo.root, "changelog/releases/")) == {"changelog/releases/A-0.yml", "changelog/releases/A-1.yml"}


@pytest.fixture
def released(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released").copy_to(tmp_path / "copy")


def test_manual_show_of_a_release_ignores_a_replaced_chapter(released: RevisionRepo) -> None:
    chapter = "manual/03-execution.md"
    real = released.git("rev-parse", f"HEAD:{chapter}").strip()
    text = released.git("cat-file", "blob", real)
    forged = released.root / "forged.md"
    forged.write_text(text.replace("业务流程实施步骤", "伪造的实施步骤"), encoding="utf-8")
    released.git("replace", real, released.git("hash-object", "-w", str(forged)).strip())
    forged.unlink()
    assert "伪造的实施步骤" in released.git("show", f"HEAD:{chapter}")
    result = released.manual("show", "--version", "A/0")
    assert result.code == 0, result.stderr
    assert "业务流程实施步骤" in result.stdout
    assert "伪造的实施步骤" not in result.stdout
