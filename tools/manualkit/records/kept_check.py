"""The kept answer of ``manual check``: a second check of the same inputs answers from the first.

Editors run ``manual check`` again and again on a working tree that mostly has not changed, and
the pre-commit hook runs it on every commit. Its answer (the diagnostics and the counts of
chapters and sections) is a function of what it reads; this module names every one of those
inputs, digests them, and keeps the answer under that digest in ``<git common dir>/manualkit/
check-kept/``. A later run that finds the same digest prints the kept answer after reading and
hashing the inputs, without loading the Markdown or YAML parsers.

The inputs (:func:`inputs`, each a named part of the key; tests/test_check_kept.py changes each
one and shows that the kept answer is not reused, and that it would be without that part):

- ``tree:manual``, ``tree:changelog``, ``tree:certs``: every entry the check can read there (its
  name, kind, size and the SHA-256 of its bytes). Hidden entries are left out, as every reader of
  the check leaves them out (their effect on ``git status`` is in ``status``). A tree holding a
  symbolic link, a file over 16 MiB or more than 20,000 entries is not kept at all: a link's
  target can change without anything here changing, and hashing must stay cheap;
- ``head``: the commit HEAD names (read from the git files: loose and packed refs, a linked
  worktree's ``gitdir``, a detached HEAD; ``git rev-parse`` where the layout is another). With
  the objects it reaches (content-addressed, never changed) it fixes every release commit, record
  history and policy the check reads from git;
- ``status``: the paths ``git status`` reports under manual/, changelog/ and certs/ (staged,
  unstaged, untracked), as :func:`manualkit.base.git.dirty_paths` gives them to the check: so the
  index, the ignore rules and the attributes are covered by what they decide. This is the warm
  run's one git process;
- ``git``: ``shallow`` (a shallow clone's boundary changes the history seen) and the git
  configuration files a git process reads (the repository's, the worktree's, the global and the
  system file as the environment names them);
- ``arguments``: ``--strict``, ``--base`` as written and the commit it resolves to (a second git
  process, only with ``--base``);
- ``code``: the package's own files (name, size, modification time, as Python checks its
  ``.pyc``), the interpreter, and every installed distribution on ``sys.path`` (by name and
  version, so markdown-it, PyYAML or chinese-calendar upgraded is a new key);
- ``root``: the working tree's path.

The company's today is kept in the entry beside the answer with the time zone the check used
(which the policy names: its bytes are in ``tree:manual``); the kept answer is used only when the
run (``base/run.Run``, the clock read once) has that zone and that today.

An answer is kept only when nothing moved while it was computed: the tree and HEAD are read again
afterwards and must be identical, down to each entry's inode and change time, and (as git does
with "racily clean" files) no entry may have changed within 0.1 s before the run began, measured
on the file system's own clock (a probe file written in the cache folder): a change within the
same tick of a file's timestamp would not show in the second reading. A release interrupted half
way (``manual-release-pending``) is never answered from a kept entry, so the check finishes it.

Entries are written under the repository lock when it is free (never waiting for a writer),
atomically, at most :data:`MAX_ENTRIES` of at most :data:`MAX_ENTRY_BYTES` each, the oldest
removed first. An entry that cannot be read, is corrupt (its digest does not match), is of another
format or for another key is ignored and recomputed, never trusted. ``MANUAL_NO_CACHE=1`` turns
kept answers off; a read-only git directory only makes every run a fresh one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.base.codes import Severity
from manualkit.base.diagnostics import Diagnostic
from manualkit.base.files import read_for_cache  # never follows a symbolic link: the cache's own files

if TYPE_CHECKING:
    from manualkit.base.run import Run

FORMAT = "manual-check-kept/1"
FOLDER = "check-kept"
#: The working tree's folders the check reads (text.manual.MANUAL_DIR, records.signed.CHANGELOG_DIR,
#: records.trust.CERTS_DIR: tests/test_check_kept.py holds them equal; they are not imported,
#: since importing those modules costs what a kept answer saves).
TREE = ("manual", "changelog", "certs")
#: records.release.PENDING_FILE: a release interrupted between its ref update and its checkout.
PENDING_FILE = "manual-release-pending"
MAX_ENTRIES = 16
MAX_ENTRY_BYTES = 1024 * 1024
MAX_TREE_ENTRIES = 20_000
MAX_HASHED_BYTES = 16 * 1024 * 1024
RACY_NS = 100_000_000  # well above the tick of a file system's timestamps (a few ms)
MAX_CONFIG_BYTES = 1024 * 1024


class Answer(NamedTuple):
    """What ``manual check`` prints: the diagnostics (sorted, strict applied) and the counts."""

    diagnostics: tuple[Diagnostic, ...]
    chapters: int
    sections: int


class Unkept(Exception):
    """The inputs cannot be summed up safely (a symlink, an unusual git layout, an unreadable
    entry): this run is a fresh one and keeps nothing."""


# --- the inputs -----------------------------------------------------------------------------------


class Layout(NamedTuple):
    """Where git keeps the repository of a working tree: its git dir (a linked worktree's own)
    and the common dir (objects, refs and configuration shared by every worktree)."""

    git_dir: Path
    common_dir: Path


def layout(root: Path) -> Layout:
    """The git layout of the working tree at ``root`` (``.git`` a folder, or a file naming a
    linked worktree's git dir); :class:`Unkept` for anything else."""
    dot = Path(os.path.abspath(root)) / ".git"
    try:
        info = os.lstat(dot)
        if stat.S_ISDIR(info.st_mode):
            git_dir = dot
        elif stat.S_ISREG(info.st_mode):
            text = read_for_cache(dot, 4096, follow=False).decode("utf-8").strip()
            if not text.startswith("gitdir: "):
                raise Unkept(".git")
            git_dir = Path(os.path.join(root, text[len("gitdir: ") :]))
        else:
            raise Unkept(".git")
        common = git_dir
        if os.path.lexists(git_dir / "commondir"):
            common = Path(os.path.normpath(git_dir / read_for_cache(git_dir / "commondir", 4096, follow=False).decode("utf-8").strip()))
    except (OSError, UnicodeDecodeError) as exc:
        raise Unkept(".git") from exc
    return Layout(git_dir, common)


def _is_object_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _valid_ref(name: str) -> bool:
    parts = name.split("/")
    return name.startswith("refs/") and all(p and not p.startswith(".") and not p.endswith(".lock") for p in parts) and ".." not in name


#: Refs that belong to one worktree (its own git dir), not to the common dir.
_PER_WORKTREE = ("refs/worktree/", "refs/bisect/", "refs/rewritten/")


def head_from_files(where: Layout) -> str | None:
    """The commit HEAD names, read as git reads it: a detached id, or a symbolic ref followed
    (at most five steps) to a loose ref or a line of ``packed-refs`` in the common dir; None on an
    unborn branch. :class:`Unkept` where the files do not answer for certain (reftable, a HEAD that
    is a link, a ref of an odd name)."""
    try:
        if os.path.lexists(where.common_dir / "reftable"):
            raise Unkept("reftable")
        text = read_for_cache(where.git_dir / "HEAD", 4096, follow=False).decode("utf-8").strip()
        for _ in range(5):
            if _is_object_id(text):
                return text
            if not text.startswith("ref: "):
                raise Unkept("HEAD")
            ref = text[len("ref: ") :].strip()
            if not _valid_ref(ref):
                raise Unkept("HEAD")
            base = where.git_dir if ref.startswith(_PER_WORKTREE) else where.common_dir
            try:
                text = read_for_cache(base / ref, 4096, follow=False).decode("utf-8").strip()
                continue
            except FileNotFoundError:
                pass
            except NotADirectoryError:
                pass
            return _packed(where.common_dir, ref)
        raise Unkept("HEAD")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unkept("HEAD") from exc


def _packed(common: Path, ref: str) -> str | None:
    try:
        data = (common / "packed-refs").read_bytes()
    except FileNotFoundError:
        return None
    for line in data.decode("utf-8").splitlines():
        if line.startswith(("#", "^")):
            continue
        sha, _, name = line.partition(" ")
        if name == ref:
            if not _is_object_id(sha):
                raise Unkept("packed-refs")
            return sha
    return None


def head_commit(root: Path, where: Layout) -> str | None:
    """HEAD from the files where they answer, else from ``git rev-parse``."""
    try:
        return head_from_files(where)
    except Unkept:
        from manualkit.base import git

        return git.resolve(root, "HEAD")


class TreeReading(NamedTuple):
    """One reading of the working tree's folders: the content digest of each (the key's part)
    and, to tell that nothing moved, the stat of every entry and the newest change seen."""

    digests: dict[str, str]
    stats: str
    newest_ns: int


def read_tree(root: Path, folders: Sequence[str] = TREE) -> TreeReading:
    """Every entry under ``folders`` (hidden ones left out), hashed: :class:`Unkept` on a
    symbolic link, a file over :data:`MAX_HASHED_BYTES` or more than :data:`MAX_TREE_ENTRIES`."""
    digests: dict[str, str] = {}
    stats = hashlib.sha256()
    newest = 0
    count = 0
    for folder in folders:
        digest = hashlib.sha256()
        stack = [folder]
        while stack:
            rel = stack.pop()
            path = os.path.join(root, rel)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                digest.update(f"{rel}\0absent\n".encode())
                continue
            count += 1
            if count > MAX_TREE_ENTRIES:
                raise Unkept("too many entries")
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
            stats.update(f"{rel}\0{info.st_mode}\0{info.st_size}\0{info.st_ino}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\n".encode())
            mode = info.st_mode
            if stat.S_ISLNK(mode):
                raise Unkept(rel)
            if stat.S_ISDIR(mode):
                names = sorted(os.listdir(path))
                digest.update(f"{rel}\0dir\0{len(names)}\n".encode())
                stack += [f"{rel}/{n}" for n in reversed(names) if not n.startswith(".")]
            elif stat.S_ISREG(mode):
                if info.st_size > MAX_HASHED_BYTES:
                    raise Unkept(rel)
                data = read_for_cache(Path(path), MAX_HASHED_BYTES, follow=False)
                digest.update(f"{rel}\0file\0{len(data)}\0{hashlib.sha256(data).hexdigest()}\n".encode())
            else:  # a FIFO, device or socket: never opened (the check refuses it by its kind)
                digest.update(f"{rel}\0special\0{stat.S_IFMT(mode)}\n".encode())
        digests[f"tree:{folder}"] = digest.hexdigest()
    return TreeReading(digests, stats.hexdigest(), newest)


_code: str | None = None


def code_fingerprint() -> str:
    """The code that computes the answer: this package's files (``base/code_identity``: name,
    size, modification time), the interpreter, and every distribution installed on ``sys.path``
    (the names of its ``.dist-info``/``.egg-info`` entries carry their versions; ``.pth`` files by
    size and time)."""
    global _code
    if _code is None:
        from manualkit.base.code_identity import package_digest

        digest = hashlib.sha256(f"{sys.version}\0{sys.executable}\0{sys.implementation.cache_tag}\n".encode())
        digest.update(package_digest().encode())
        digest.update("\0".join(_distributions(sys.path)).encode())
        _code = digest.hexdigest()
    return _code


def _distributions(path: Iterable[str]) -> list[str]:
    out = []
    for directory in dict.fromkeys(path):
        if not directory.endswith(("site-packages", "dist-packages")):
            continue
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.endswith((".dist-info", ".egg-info", ".egg-link")):
                        out.append(f"{directory}/{entry.name}")
                    elif entry.name.endswith(".pth"):
                        st = entry.stat()
                        out.append(f"{directory}/{entry.name}\0{st.st_size}\0{st.st_mtime_ns}")
        except OSError:
            continue
    return sorted(out)


def _config_files(where: Layout, env: Mapping[str, str]) -> list[Path]:
    """The configuration files a git process started by base/git reads (it keeps only the
    caller's ``GIT_CONFIG_GLOBAL`` and ``GIT_CONFIG_NOSYSTEM`` of the GIT_* variables; ``env``:
    the environment git is started with, ``os.environ``)."""
    files = [where.common_dir / "config", where.git_dir / "config.worktree"]
    home = env.get("HOME", "")
    if env.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(env["GIT_CONFIG_GLOBAL"]))
    else:
        files.append(Path(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")) / "git" / "config")
        files.append(Path(home) / ".gitconfig")
    if env.get("GIT_CONFIG_NOSYSTEM", "") in ("", "0", "false"):
        files.append(Path("/etc/gitconfig"))
    return files


def _file_digest(path: Path) -> str:
    """SHA-256 of a small file as a git process would read it (following a link), "" when absent;
    :class:`Unkept` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise Unkept(str(path)) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise Unkept(str(path))
    return hashlib.sha256(data).hexdigest()


class Inputs(NamedTuple):
    """The named parts of the key, and the readings that tell whether anything moved (the tree's
    entries and the index, by their stat)."""

    parts: dict[str, str]
    tree: TreeReading
    index_stat: str


def inputs(root: Path, *, strict: bool, base: str | None) -> Inputs:
    """Every input of ``manual check`` at ``root`` (see the module's documentation), each a part of
    the key; :class:`Unkept` where they cannot be summed up safely. No environment is taken: the
    git configuration files are those of ``os.environ``, which the git processes are started with."""
    from manualkit.base import git

    where = layout(root)
    if os.path.lexists(where.git_dir / PENDING_FILE):
        raise Unkept(PENDING_FILE)
    tree = read_tree(root)
    head = head_commit(root, where)
    base_commit = git.resolve(root, base) if base is not None else None
    if base is not None and base_commit is None:
        raise Unkept("--base")  # the check's own refusal (MAN604) is the answer
    configs = [f"{p}\0{_file_digest(p)}" for p in _config_files(where, os.environ)]
    shallow = _file_digest(where.common_dir / "shallow")
    status = git.dirty_paths(root, TREE)
    parts = {
        "format": FORMAT,
        "code": code_fingerprint(),
        "root": os.path.abspath(root),
        "arguments": json.dumps([strict, base, base_commit]),
        "head": head or "",
        "git": hashlib.sha256("\n".join([shallow, *configs]).encode()).hexdigest(),
        "status": hashlib.sha256("\0".join(sorted(status)).encode()).hexdigest(),
        **tree.digests,
    }
    return Inputs(parts, tree, _stat_text(where.git_dir / "index"))


def _stat_text(path: Path) -> str:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    return f"{st.st_mode} {st.st_size} {st.st_ino} {st.st_mtime_ns} {st.st_ctime_ns}"


def key_of(parts: Mapping[str, str], without: Iterable[str] = ()) -> str:
    """The key of ``parts`` (``without``: the key as it would be if those parts were not covered)."""
    left = set(without)
    return hashlib.sha256(json.dumps({k: v for k, v in sorted(parts.items()) if k not in left}).encode()).hexdigest()


# --- the entries -----------------------------------------------------------------------------------


def kept_folder(root: Path) -> Path:
    return layout(root).common_dir / "manualkit" / FOLDER


def zone_name(zone: dt.tzinfo) -> str | None:
    """The name base/clock.zone gives ``zone`` back for ("" for China Standard Time); None for
    a zone it would not."""
    from manualkit.base import clock

    if zone is clock.CST:
        return ""
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else None


def entry_text(key: str, zone: str, today: dt.date, answer: Answer) -> bytes:
    body = {
        "format": FORMAT,
        "key": key,
        "zone": zone,
        "today": today.isoformat(),
        "chapters": answer.chapters,
        "sections": answer.sections,
        "diagnostics": [[d.path, d.line, d.col, d.code, d.message, str(d.severity)] for d in answer.diagnostics],
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (hashlib.sha256(text.encode("utf-8")).hexdigest() + "\n" + text + "\n").encode("utf-8")


def parse_entry(data: bytes, key: str) -> tuple[str, dt.date, Answer] | None:
    """The zone, today and answer of an entry written for ``key``; None for anything else."""
    try:
        digest, _, text = data.decode("utf-8").partition("\n")
        text = text.removesuffix("\n")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            return None
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("key") != key:
            return None
        zone, today, chapters, sections, rows = body["zone"], body["today"], body["chapters"], body["sections"], body["diagnostics"]
        if not (isinstance(zone, str) and isinstance(today, str) and _count(chapters) and _count(sections) and isinstance(rows, list)):
            return None
        diagnostics = tuple(_diagnostic(row) for row in rows)
        return zone, dt.date.fromisoformat(today), Answer(diagnostics, chapters, sections)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _diagnostic(row: object) -> Diagnostic:
    if not isinstance(row, list) or len(row) != 6:
        raise ValueError("row")
    path, line, col, code, message, severity = row
    if not (isinstance(path, str) and _count(line) and _count(col) and isinstance(code, str) and isinstance(message, str)):
        raise ValueError("row")
    return Diagnostic(path, line, col, code, message, Severity(severity))


def read_entry(folder: Path, key: str) -> bytes | None:
    try:
        return read_for_cache(folder / key, MAX_ENTRY_BYTES, follow=False)
    except OSError:
        return None


def _folder_ready(folder: Path) -> bool:
    """The kept folder exists (made if need be) and is a real folder, not a link elsewhere."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return stat.S_ISDIR(os.lstat(folder).st_mode) and stat.S_ISDIR(os.lstat(folder.parent).st_mode)
    except OSError:
        return False


def probe_ns(folder: Path) -> int | None:
    """The file system's clock now (the modification time of a probe file written in ``folder``),
    None when nothing can be written there. Not the process's clock: file times are the kernel's,
    even under faketime."""
    if not _folder_ready(folder):
        return None
    path = folder / f".probe-{os.getpid()}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, b"probe\n")
            return os.fstat(fd).st_mtime_ns
        finally:
            os.close(fd)
            os.unlink(path)
    except OSError:
        return None


def write_entry(root: Path, folder: Path, key: str, data: bytes) -> bool:
    """Write the entry (atomically, under the repository lock if it is free), then keep at most
    :data:`MAX_ENTRIES`, the newest. False when nothing was written."""
    from manualkit.base.atomic import write_atomic
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.lock import lock_if_free

    if len(data) > MAX_ENTRY_BYTES or not _folder_ready(folder):
        return False
    try:
        with lock_if_free(root, "check") as held:
            if not held:  # a writer is changing the repository: keep nothing now
                return False
            write_atomic(folder / key, data)
            _prune(folder, key)
            return True
    except (OSError, ManualError):
        return False


def _prune(folder: Path, newest: str) -> None:
    entries = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith(".") or entry.name == newest:
                continue
            try:
                entries.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name))
            except OSError:
                continue
    entries.sort(reverse=True)
    for _, name in entries[MAX_ENTRIES - 1 :]:
        try:
            os.unlink(folder / name)
        except OSError:
            pass
    # What a run killed half-way left (a temporary file or probe): removed a minute later.
    written = os.lstat(folder / newest).st_mtime_ns
    with os.scandir(folder) as it:
        for entry in it:
            try:
                if entry.name.startswith(".") and entry.stat(follow_symlinks=False).st_mtime_ns < written - 60_000_000_000:
                    os.unlink(entry.path)
            except OSError:
                continue


# --- the answer ------------------------------------------------------------------------------------


def caches_on(env: Mapping[str, str]) -> bool:
    """As records.repository.caches_enabled: ``MANUAL_NO_CACHE`` unset, empty or 0."""
    return env.get("MANUAL_NO_CACHE", "") in ("", "0")


def answer(run: Run, *, strict: bool, base: str | None, compute: Callable[[], Answer]) -> Answer:
    """The check's answer: the kept one when every input is as it was and it was kept in the
    run's zone on the run's today, else ``compute()`` (the fresh check of ``run``; kept for the
    next run when nothing moved while it ran). What ``compute`` raises is raised; a kept answer
    never is."""
    if not caches_on(run.env):
        return compute()
    from manualkit.base import git
    from manualkit.base.diagnostics import ManualError

    root = run.root
    try:
        first = inputs(root, strict=strict, base=base)
        folder = kept_folder(root)
    except (Unkept, OSError, git.GitError, ManualError, UnicodeDecodeError, ValueError):
        return compute()
    key = key_of(first.parts)
    found = parse_entry(read_entry(folder, key) or b"", key)
    name = zone_name(run.zone)
    if found is not None:
        kept_zone, kept_today, kept = found
        if (kept_zone, kept_today) == (name, run.today):
            return kept
    probe = probe_ns(folder)
    # The first reading is the one to compare with afterwards: it was taken before the probe, so
    # an entry changed since shows in the second reading's stat, or (within a timestamp's tick of
    # the run's start) as racy. A second reading here would cost one more git status.
    before = first if probe is not None else None
    result = compute()
    if before is None or probe is None or before.tree.newest_ns >= probe - RACY_NS:
        return result
    after = _reading(root, strict, base)
    if after is None or name is None or (after.parts, after.tree.stats, after.index_stat) != (before.parts, before.tree.stats, before.index_stat):
        return result
    key = key_of(before.parts)
    write_entry(root, folder, key, entry_text(key, name, run.today, result))
    return result


def _reading(root: Path, strict: bool, base: str | None) -> Inputs | None:
    from manualkit.base import git
    from manualkit.base.diagnostics import ManualError

    try:
        return inputs(root, strict=strict, base=base)
    except (Unkept, OSError, git.GitError, ManualError, UnicodeDecodeError, ValueError):
        return None
