"""What a release's DOCX reads from git beside its text: its images and its policy.

Both are read through the history's reader (``ReleaseReader``): the images from the listing of
the commit's ``manual/`` it already holds (cached by commit), the policy as that one blob, instead
of a ``git ls-tree`` and a ``git cat-file`` per image, and instead of every file of ``manual/``
read for one of them. Each is compared here with the plain git reading it replaced, in real
repositories: the same files, the same bytes, the same bounds (a symbolic link, a file too large).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import make_git_repo, release_commit

from manualkit.base import git
from manualkit.documents.release_document import MAX_IMAGE_BYTES, release_images
from manualkit.records.history import ReleaseReader
from manualkit.records.policy import POLICY_PATH, load_policy
from manualkit.text.worktree import MAX_FILE_BYTES


def images_by_plain_git(root: Path, commit: str) -> dict[str, bytes]:
    """The images as render_release read them before: ``git ls-tree`` of manual/, then each blob."""
    return {
        e.path: blob
        for e in git.list_tree(root, commit, "manual/")
        if e.path.lower().endswith((".png", ".jpg", ".jpeg", ".gif")) and e.size <= MAX_IMAGE_BYTES
        for blob in [git.show(root, commit, e.path)]
        if blob is not None
    }


@pytest.fixture
def image_repo(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    images = root / "manual" / "images"
    (images / "子目录").mkdir(parents=True)
    (images / "流程 图.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (images / "子目录" / "PHOTO.JPG").write_bytes(b"\xff\xd8\xff" + b"jpeg" * 100)
    (images / "a.gif").write_bytes(b"GIF89a")
    (images / "empty.jpeg").write_bytes(b"")
    (images / "large.png").write_bytes(b"\0" * (MAX_IMAGE_BYTES + 1))
    (images / "limit.png").write_bytes(b"\1" * MAX_IMAGE_BYTES)
    os.symlink("a.gif", images / "link.png")
    (root / "manual" / "notes.txt").write_text("不是图片", encoding="utf-8")
    (root / "manual" / "policy.yml").write_text("time_zone: Asia/Shanghai\n", encoding="utf-8")
    (root / "other.png").write_bytes(b"outside manual/")
    repo = make_git_repo(root, tmp_path / "home")
    return root, repo.head()


def test_the_images_are_those_plain_git_lists_and_reads(image_repo: tuple[Path, str]) -> None:
    root, commit = image_repo
    expected = images_by_plain_git(root, commit)
    assert "manual/images/large.png" not in expected and "manual/images/limit.png" in expected
    assert expected["manual/images/link.png"] == b"a.gif"  # a symbolic link's blob, as before
    for cached in (True, False):
        assert release_images(ReleaseReader(root, cached=cached), commit) == expected
    # A second reader takes the listing from the cache the first one filled: the same images.
    assert release_images(ReleaseReader(root), commit) == expected


def test_a_manual_without_images_reads_none(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "manual").mkdir(parents=True)
    (root / "manual" / "01-a.md").write_text("# 1 总则\n", encoding="utf-8")
    commit = make_git_repo(root, tmp_path / "home").head()
    assert release_images(ReleaseReader(root), commit) == {} == images_by_plain_git(root, commit)


def policy_from_every_file(root: Path, commit: str) -> object:
    """The policy as the reader read it before: from every file of manual/ read at the commit."""
    reader = ReleaseReader(root, cached=False)
    return reader.policy(commit)


def test_the_policy_read_as_one_blob_is_the_policy_of_the_whole_manual(project_clone: Path) -> None:
    for version in ("A/0", "A/1", "B/0", "B/1"):
        commit = release_commit(project_clone, version)
        expected = policy_from_every_file(project_clone, commit)
        assert expected is not None
        reader = ReleaseReader(project_clone)
        reader.manual(commit)  # fills the cache with the listing, as a docx does before the policy
        assert ReleaseReader(project_clone).policy(commit) == expected, version
        raw = subprocess.run(["git", "cat-file", "blob", f"{commit}:{POLICY_PATH}"], cwd=project_clone, capture_output=True, check=True).stdout
        assert expected == load_policy({POLICY_PATH: raw})[0]


@pytest.mark.parametrize("kind", ["symlink", "too large"])
def test_a_policy_files_at_would_refuse_is_refused_from_the_listing_too(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "repo"
    (root / "manual").mkdir(parents=True)
    (root / "manual" / "real.yml").write_text("time_zone: Asia/Shanghai\n", encoding="utf-8")
    if kind == "symlink":
        os.symlink("real.yml", root / "manual" / "policy.yml")
    else:
        (root / "manual" / "policy.yml").write_text("# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    commit = make_git_repo(root, tmp_path / "home").head()
    reader = ReleaseReader(root)
    reader.listing(commit)
    assert policy_from_every_file(root, commit) is None
    assert ReleaseReader(root).policy(commit) is None


def test_a_policy_kept_parsed_is_the_policy_parsed(project_clone: Path) -> None:
    """The cache of parsed files keeps a policy as JSON: read back, every field is the same,
    webauthn credentials and a reminder ladder included."""
    import dataclasses
    import json

    from manualkit.records.history import policy_from_json, policy_to_json
    from manualkit.records.reminders import Ladder
    from manualkit.records.webauthn_signature import Credential

    policy = policy_from_every_file(project_clone, release_commit(project_clone, "B/0"))
    assert policy is not None
    credential = Credential("Y3JlZA", "a2V5", "desk.example.com", "https://desk.example.com:8440", "2026-05-04")
    approvers = (dataclasses.replace(policy.approvers[0], webauthn=(credential, credential)), *policy.approvers[1:])
    fuller = dataclasses.replace(policy, approvers=approvers, reminders=Ladder((5, 2), False, 2, 0), time_zone="America/Los_Angeles")
    for p in (policy, fuller, dataclasses.replace(policy, reminders=None)):
        assert policy_from_json(json.loads(json.dumps(policy_to_json(p), ensure_ascii=False))) == p
        assert list(policy_from_json(policy_to_json(p)).classes) == list(p.classes)  # the order change_class searches


def test_a_policy_parsed_before_is_read_without_yaml_or_git(project_clone: Path) -> None:
    """A fresh process (as the next ``manual docx``) takes the policy from the cache: PyYAML is
    not imported and no git process starts; the policy is the one parsed from the file."""
    import sys
    import textwrap

    commit = release_commit(project_clone, "B/0")
    ReleaseReader(project_clone).policy(commit)  # parsed and kept
    script = textwrap.dedent(
        f"""
        import subprocess, sys
        from pathlib import Path
        from manualkit.records.history import ReleaseReader
        started = []
        real = subprocess.Popen.__init__
        def spy(self, *a, **k):
            started.append(a[0] if a else k.get("args"))
            real(self, *a, **k)
        subprocess.Popen.__init__ = spy
        policy = ReleaseReader(Path(".")).policy("{commit}")
        print(repr((sorted(m for m in sys.modules if m == "yaml" or m.startswith("yaml.")), len(started), policy.time_zone, [r.meaning for r in policy.roles.values()])))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=project_clone, capture_output=True, text=True, check=True).stdout
    expected = policy_from_every_file(project_clone, commit)
    assert expected is not None
    assert out.strip() == repr(([], 0, expected.time_zone, [r.meaning for r in expected.roles.values()]))


@pytest.mark.parametrize("entry", [{"classes": []}, {"classes": [["major"]], "roles": 1}, {"x": None}])
def test_a_kept_policy_of_another_shape_is_parsed_again(project_clone: Path, entry: dict[str, object]) -> None:
    """An entry in the cache of parsed files that does not read back as a policy (another tool's,
    or edited by hand) is a miss: the policy is parsed from git again, never an internal error."""
    from manualkit.records.repository import ShardedCache

    commit = release_commit(project_clone, "B/0")
    expected = policy_from_every_file(project_clone, commit)
    sha = next(sha for path, _, sha, _ in ReleaseReader(project_clone).listing(commit) if path == POLICY_PATH)
    cache = ShardedCache.open(project_clone, "parsed")
    assert cache is not None
    cache.put(f"{POLICY_PATH}\0{sha}", entry)
    assert ReleaseReader(project_clone).policy(commit) == expected
