"""All git access, in one small module: every other module asks it.

Plain ``git`` subprocesses (fast to start, no import cost on the check's hot path); the few facts
every command needs first (git dir, shallowness, HEAD) are read from the files when the layout
is the common one. Objects read
from a tree are bounded in size like files read from the working tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from manualkit.base.diagnostics import fail

MAX_BLOB_BYTES = 1024 * 1024


class GitError(Exception):
    pass


# What every git process is given, so that nothing but the repository's objects and refs decides
# what a reader sees (docs/threat-model.md, "Git itself cannot be used to lie"; each is tested in
# tests/test_git_isolation.py). Configuration on the command line wins over every config file
# (system, global, the repository's own .git/config and what they include).
ISOLATING_CONFIG = (
    "core.useReplaceRefs=false",  # refs/replace/* would substitute any object, blob or commit
    "core.commitGraph=false",  # a commit-graph file states parents and root trees unchecked
    "core.fsmonitor=false",  # a monitor program decides which files status reports as changed
    "core.untrackedCache=false",  # a stale cache would hide untracked files from status
    "core.hooksPath=" + os.devnull,  # a hook could rewrite a release commit's message
    "core.excludesFile=" + os.devnull,  # ignore rules outside the repository hide new files
    "core.quotePath=true",
    "diff.renames=false",  # a record moved into place is added there, never "renamed"
    "log.showSignature=false",  # gpg output would be interleaved with the parsed log
    "log.mailmap=false",  # the names a commit carries, not what .mailmap maps them to
    "log.decorate=false",
    "color.ui=false",  # escape sequences in parsed output
    "i18n.logOutputEncoding=UTF-8",
    "advice.graftFileDeprecated=false",
)
# The only GIT_* variables of the caller's environment a git process sees: who writes a commit
# and when (tests and `manual release` pin them), which user configuration is read (the
# isolating configuration above overrides what matters in it) and that git never prompts.
# Every other one (GIT_DIR, GIT_WORK_TREE, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES,
# GIT_INDEX_FILE, GIT_NAMESPACE, GIT_REPLACE_REF_BASE, GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT,
# GIT_SHALLOW_FILE, GIT_EXTERNAL_DIFF, …) is dropped.
KEPT_GIT_VARIABLES = frozenset(
    {
        "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
        "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_TERMINAL_PROMPT",
    }
)  # fmt: skip
# Set on every git process: no replace refs (the variable as well as the configuration), and the
# deprecated graft file of the repository (.git/info/grafts, which rewrites parents) read from an
# empty file instead.
FIXED_GIT_VARIABLES = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_GRAFT_FILE": os.devnull, "GIT_ATTR_NOSYSTEM": "1"}


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in KEPT_GIT_VARIABLES}
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    env.update(FIXED_GIT_VARIABLES)
    if extra:  # the tool's own settings (a release's private index file, its pinned dates)
        env.update(extra)
    return env


def _command(root: Path, args: Sequence[str]) -> list[str]:
    config = [item for setting in ISOLATING_CONFIG for item in ("-c", setting)]
    return ["git", *config, "-C", str(root), *args]


def run(root: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None, check: bool = True) -> bytes:
    import subprocess  # imported on the first git process: a command answered from caches starts none

    try:
        proc = subprocess.run(
            _command(root, args), input=input, capture_output=True, env=_env(env), check=False
        )
    except FileNotFoundError:
        raise fail("git", 0, 0, "MAN601", "找不到 git 命令；请先安装 git") from None
    if check and proc.returncode != 0:
        raise GitError(proc.stderr.decode("utf-8", "replace").strip() or f"git {' '.join(args)} failed")
    return proc.stdout


def text(root: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    return run(root, *args, env=env).decode("utf-8").strip()


def started(root: Path, *args: str) -> Callable[[], bytes]:
    """``git args`` started now, to run while the caller does other work; the function returned
    waits for it and gives its output as :func:`run` would (or raises the same errors). The output
    goes to a temporary file, so git never waits for a reader."""
    import subprocess
    import tempfile

    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(_command(root, args), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=_env())
    except FileNotFoundError:
        out.close()
        err.close()
        raise fail("git", 0, 0, "MAN601", "找不到 git 命令；请先安装 git") from None

    def result() -> bytes:
        try:
            code = proc.wait()
            out.seek(0)
            err.seek(0)
            if code != 0:
                raise GitError(err.read().decode("utf-8", "replace").strip() or f"git {' '.join(args)} failed")
            return out.read()
        finally:
            out.close()
            err.close()

    return result


class RepositoryFacts(NamedTuple):
    """What most commands ask git first: where its directory is, whether the clone is shallow,
    and the commit HEAD names."""

    git_dir: Path
    shallow: bool
    head: str | None  # None in a repository without commits


def facts(root: Path) -> RepositoryFacts | None:
    """The git dir, shallowness and HEAD commit of the repository at ``root``; None outside one.

    In the common layout (``root/.git`` a directory with loose or packed refs) they are read from
    the files, as git itself would, without starting a process; anything else (a linked worktree,
    a submodule, reftable refs) asks ``git rev-parse``. ``GIT_DIR`` and the other variables that
    point git elsewhere are ignored, as every git process here ignores them.
    """
    found = _facts_from_files(root)
    if found is not None:
        return found
    proc = run(root, "rev-parse", "--absolute-git-dir", "--is-shallow-repository", "HEAD", check=False)
    lines = proc.decode("utf-8", "replace").splitlines()
    if len(lines) != 3 or lines[1] not in ("true", "false"):
        return None
    head = lines[2] if _is_object_id(lines[2]) else None
    return RepositoryFacts(Path(lines[0]), lines[1] == "true", head)


def _is_object_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _facts_from_files(root: Path) -> RepositoryFacts | None:
    git_dir = Path(os.path.abspath(root)) / ".git"
    try:
        if not git_dir.is_dir() or (git_dir / "commondir").exists() or (git_dir / "reftable").exists():
            return None
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        shallow = (git_dir / "shallow").exists()
        if _is_object_id(head):  # detached
            return RepositoryFacts(git_dir, shallow, head)
        if not head.startswith("ref: refs/"):
            return None
        ref = head[5:]
        if ".." in ref or "\\" in ref or ref.endswith("/"):
            return None
        loose = git_dir / ref
        if loose.is_file():
            target = loose.read_text(encoding="utf-8").strip()
            return RepositoryFacts(git_dir, shallow, target) if _is_object_id(target) else None
        packed = git_dir / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref and _is_object_id(sha):
                    return RepositoryFacts(git_dir, shallow, sha)
        return RepositoryFacts(git_dir, shallow, None)  # a branch without commits yet
    except (OSError, UnicodeDecodeError):
        return None


def resolve(root: Path, ref: str) -> str | None:
    """The commit a ref names, or None."""
    out = run(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return out.decode().strip() or None


def head(root: Path) -> str | None:
    return resolve(root, "HEAD")


def dirty_paths(root: Path, prefixes: Sequence[str] = ()) -> list[str]:
    """Paths with uncommitted changes (staged, unstaged, untracked) under ``prefixes``."""
    out = run(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *prefixes)
    return [entry[3:] for entry in out.decode("utf-8", "replace").split("\0") if len(entry) > 3]


def tree_hash(root: Path, commit: str, path: str) -> str | None:
    out = run(root, "rev-parse", "--verify", "--quiet", f"{commit}:{path}", check=False)
    return out.decode().strip() or None


class TreeEntry(NamedTuple):
    path: str
    mode: str
    sha: str
    size: int


def list_tree(root: Path, commit: str, prefix: str) -> list[TreeEntry]:
    out = run(root, "ls-tree", "-r", "-z", "--long", commit, "--", prefix)
    entries = []
    for item in out.decode("utf-8", "replace").split("\0"):
        if not item:
            continue
        meta, _, path = item.partition("\t")
        mode, kind, sha, size = meta.split()
        if kind == "blob":
            entries.append(TreeEntry(path, mode, sha, int(size) if size.isdigit() else 0))
    return entries


def read_blobs(root: Path, shas: Sequence[str]) -> dict[str, bytes]:
    """Contents of blobs by sha, in one ``git cat-file --batch`` call."""
    if not shas:
        return {}
    out = run(root, "cat-file", "--batch", input=("\n".join(shas) + "\n").encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for sha in shas:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split()
        if len(header) < 3:
            raise GitError(f"missing object {sha}")
        size = int(header[2])
        blobs[sha] = out[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
    return blobs


def read_tree_files(root: Path, commit: str, prefix: str, limit: int = MAX_BLOB_BYTES) -> tuple[dict[str, bytes], list[TreeEntry]]:
    """Files under ``prefix`` at ``commit`` (bounded): ``(contents, refused_entries)``.

    Symlinks and blobs larger than ``limit`` are not read but returned as refused.
    """
    entries = list_tree(root, commit, prefix)
    wanted = [e for e in entries if e.mode != "120000" and e.size <= limit]
    refused = [e for e in entries if e not in wanted]
    blobs = read_blobs(root, [e.sha for e in wanted])
    return {e.path: blobs[e.sha] for e in wanted}, refused


def show(root: Path, commit: str, path: str) -> bytes | None:
    import subprocess

    out = subprocess.run(
        _command(root, ("cat-file", "blob", f"{commit}:{path}")), capture_output=True, env=_env(), check=False
    )
    return out.stdout if out.returncode == 0 else None


def commits_adding(root: Path, prefix: str, ref: str = "HEAD") -> dict[str, str]:
    """For each file ever added under ``prefix``: the commit that added it (first-parent history)."""
    return commits_adding_started(root, prefix, ref)()


def commits_adding_started(root: Path, prefix: str, ref: str = "HEAD") -> Callable[[], dict[str, str]]:
    """:func:`commits_adding`, started now and read when the function returned is called."""
    pending = started(root, "log", "--first-parent", "--diff-filter=A", "--name-only", "--format=%x00%H", ref, "--", prefix)
    return lambda: _adding(pending().decode("utf-8").strip())


def _adding(out: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in out.split("\0"):
        lines = [line for line in block.strip().splitlines() if line]
        if not lines:
            continue
        commit, *paths = lines
        for path in paths:
            found.setdefault(path, commit)
    return found


def changed_paths(root: Path, base: str, prefix: Iterable[str]) -> list[str]:
    """Paths under ``prefix`` that differ between ``base`` and the working tree (incl. untracked)."""
    out = run(root, "diff", "--name-only", "-z", base, "--", *prefix).decode("utf-8", "replace")
    paths = {p for p in out.split("\0") if p}
    untracked = run(root, "ls-files", "--others", "--exclude-standard", "-z", "--", *prefix).decode("utf-8", "replace")
    paths |= {p for p in untracked.split("\0") if p}
    return sorted(paths)


def commit_date(root: Path, commit: str) -> str:
    return text(root, "show", "-s", "--format=%cI", commit)


def user_name(root: Path) -> str | None:
    """``git config user.name`` of the repository, if set."""
    out = run(root, "config", "user.name", check=False).decode("utf-8", "replace").strip()
    return out or None
