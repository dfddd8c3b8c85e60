"""The controlled document as it stands at one point: the working tree or a commit.

A :class:`Snapshot` bundles what every command needs — the manual, the policy, the change
requests and the release records — loaded by the same pure functions from either source. Each
part is parsed on first use, so a command pays only for what it reads (``manual history`` reads
the release records, never the hundreds of change requests).

Reading a long history goes through :class:`ObjectReader` (a few ``git cat-file`` batches instead
of one process per file) and :class:`ContentCache` (results keyed by content, under the git dir).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.base import git
from manualkit.base.diagnostics import Diagnostic, ManualError, Severity, diagnostic, fail
from manualkit.records.release import RELEASES_DIR, ReleaseRecord, SignedApproval, finish_pending_release, parse_record
from manualkit.records.review import REVIEWS_DIR
from manualkit.records.signed import (
    CHANGELOG_DIR as CHANGELOG_DIR,  # imported from here by the readers before the registry
)
from manualkit.records.signed import read_commit, read_folder
from manualkit.records.version import Version
from manualkit.text.manual import MANUAL_DIR, LoadResult, Manual, ManualFiles, load_manual
from manualkit.text.worktree import MAX_FILE_BYTES, read_manual_files

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.policy import Policy



class Snapshot:
    """The manual, policy, change requests and release records at one point (parsed lazily)."""

    def __init__(
        self,
        files: ManualFiles,
        changelog: Mapping[str, bytes] | Callable[[], tuple[Mapping[str, bytes], list[Diagnostic]]],
        extra: list[Diagnostic],
        cache: ContentCache | None = None,
        records_raw: dict[str, bytes] | None = None,
        reviews_raw: dict[str, bytes] | None = None,
    ) -> None:
        """``changelog`` is the files of ``changelog/``, or a function reading them (and the
        problems met) when first needed; ``records_raw`` and ``reviews_raw``, when given, are
        what it holds under ``changelog/releases/`` and ``changelog/reviews/``."""
        self.files = files
        self._read_changelog = changelog if callable(changelog) else None
        self._given_changelog = None if callable(changelog) else changelog
        self._extra = extra
        self._cache = cache
        self.records_raw: dict[str, bytes] = records_raw if records_raw is not None else self._prefixed(RELEASES_DIR)
        self.reviews_raw: dict[str, bytes] = reviews_raw if reviews_raw is not None else self._prefixed(REVIEWS_DIR)

    @cached_property
    def _changelog(self) -> tuple[Mapping[str, bytes], list[Diagnostic]]:
        if self._read_changelog is not None:
            return self._read_changelog()
        return self._given_changelog or {}, []

    def changelog_files(self, directory: str) -> dict[str, bytes]:
        """The files of ``changelog/`` under ``directory`` (e.g. ``changelog/returns``)."""
        return self._prefixed(directory)

    def _prefixed(self, directory: str) -> dict[str, bytes]:
        return {k: v for k, v in self._changelog[0].items() if k.startswith(directory + "/")}

    @cached_property
    def _manual(self) -> LoadResult:
        return load_manual(self.files)

    @cached_property
    def _policy(self) -> tuple[Policy | None, list[Diagnostic]]:
        from manualkit.records.policy import load_policy  # not needed by commands that only read releases

        return load_policy(self.files.contents)

    @cached_property
    def _requests(self) -> tuple[dict[str, ChangeRequest], list[Diagnostic]]:
        from manualkit.records.change_request import REQUESTS_DIR, load_change_requests

        departments = self.manual.metadata.departments if self.manual else ()
        return load_change_requests(self._prefixed(REQUESTS_DIR), departments)

    @cached_property
    def _records(self) -> tuple[list[ReleaseRecord], list[Diagnostic]]:
        return load_records_cached(self.records_raw, self._cache)

    @property
    def manual(self) -> Manual | None:
        return self._manual.manual

    @property
    def policy(self) -> Policy | None:
        return self._policy[0]

    @property
    def requests(self) -> dict[str, ChangeRequest]:
        return self._requests[0]

    @property
    def records(self) -> list[ReleaseRecord]:
        return self._records[0]

    @cached_property
    def diagnostics(self) -> list[Diagnostic]:
        """Every problem found while loading, in a fixed order (manual, files, policy, requests, records)."""
        extra = [*self._extra, *self._changelog[1]]
        return [*self._manual.diagnostics, *extra, *self._policy[1], *self._requests[1], *self._records[1]]

    def require(self) -> tuple[Manual, Policy]:
        """The manual and policy, or an error listing why they cannot be loaded."""
        if self.manual is None or self.policy is None or any(d.severity is Severity.ERROR for d in self.diagnostics):
            errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
            raise ManualError(errors or [diagnostic(MANUAL_DIR, 0, 0, "MAN008", "手册无法加载；请先运行 manual check 修复")])
        return self.manual, self.policy


def worktree_snapshot(root: Path) -> Snapshot:
    if (root / ".git").exists():
        finish_pending_release(root)
    files = read_manual_files(root)
    # The release records and reviews are read now; the rest of changelog/ (hundreds of change
    # requests in a long history) only when a command asks for the requests or the diagnostics.
    records_raw = read_folder(root, RELEASES_DIR)[0]
    reviews_raw = read_folder(root, REVIEWS_DIR)[0]
    return Snapshot(files, lambda: read_folder(root, CHANGELOG_DIR), [], ContentCache.open(root, "records"), records_raw, reviews_raw)


def commit_snapshot(root: Path, commit: str) -> Snapshot:
    """The state recorded in ``commit``, read from git objects (never the working tree)."""
    contents, refused = git.read_tree_files(root, commit, MANUAL_DIR + "/")
    problems = [diagnostic(e.path, 0, 0, "MAN004", f"{commit[:10]} 中的该文件过大或为符号链接，未读取") for e in refused]
    names = frozenset([*contents, *(e.path for e in refused)])
    files = ManualFiles({k: v for k, v in contents.items() if k.endswith((".md", ".yml", ".yaml"))}, names, tuple(problems))
    changelog = read_commit(root, commit)
    return Snapshot(files, {k: v for k, v in changelog.items() if k.endswith(".yml")}, [])


def require_full_history(root: Path) -> git.RepositoryFacts:
    """The repository's facts, or an error when ``root`` is not a full (unshallow) git repository."""
    found = git.facts(root)
    if found is None:
        raise fail(str(root), 0, 0, "MAN602", "这里不是 git 仓库；手册的发布与审计依赖完整的 git 历史")
    if found.shallow:
        raise fail(
            str(root), 0, 0, "MAN603",
            "这是浅克隆（shallow clone），缺少早期提交，无法提供可证明的历史；请运行 git fetch --unshallow 获取完整历史",
        )  # fmt: skip
    return found


# --- release records, parsed once per content ---------------------------------------------------


def record_to_json(record: ReleaseRecord) -> list[Any]:
    """A release record as a flat JSON list (caches hold a thousand of them; lists decode fastest)."""
    r = record
    return [
        str(r.version), r.class_key, r.published.isoformat(), r.effective.isoformat(), str(r.previous) if r.previous else None,
        list(r.change_requests), list(r.sections), r.summary, r.content_digest, [list(a) for a in r.approvals], r.path, r.previous_release,
    ]  # fmt: skip


def record_from_json(data: Sequence[Any]) -> ReleaseRecord:
    version, class_key, published, effective, previous, change_requests, sections, summary, digest, approvals, path, chain = data
    return ReleaseRecord(
        Version.parse(version), class_key, dt.date.fromisoformat(published), dt.date.fromisoformat(effective),
        Version.parse(previous) if previous else None, tuple(change_requests), tuple(sections), summary, digest,
        tuple(map(SignedApproval._make, approvals)), path, chain,
    )  # fmt: skip


def load_records_cached(contents: Mapping[str, bytes], cache: ContentCache | None) -> tuple[list[ReleaseRecord], list[Diagnostic]]:
    """Every release record (:func:`manualkit.records.release.parse_record`), oldest version first, with
    each well-formed record's parse kept in ``cache`` under the hash of its bytes (a record that
    has problems is parsed every time)."""
    records: list[ReleaseRecord] = []
    diags: list[Diagnostic] = []
    for path in sorted(contents):
        if not (path.startswith(RELEASES_DIR + "/") and path.endswith(".yml")):
            continue
        key = f"{path}\0{hashlib.sha256(contents[path]).hexdigest()}"
        hit = cache.get(key) if cache else None
        if hit is not None:
            records.append(record_from_json(hit))
            continue
        record, more = parse_record(path, contents[path])
        diags += more
        if record is not None:
            records.append(record)
            if cache is not None and not more:
                cache.put(key, record_to_json(record))
    records.sort(key=lambda r: r.version)
    if cache is not None:
        cache.save()
    return records, diags


# --- content-keyed caches under the git dir ------------------------------------------------------

def code_fingerprint() -> str:
    """A fingerprint of this package's files (``base/code_identity``): a cache written by other code
    is never read."""
    from manualkit.base.code_identity import package_digest

    return package_digest()[:16]


def caches_enabled(env: Mapping[str, str] | None = None) -> bool:
    value = (env if env is not None else os.environ).get("MANUAL_NO_CACHE", "")
    return value in ("", "0")


class ContentCache:
    """A JSON map in ``<git dir>/manualkit/<name>-<code fingerprint>.json``.

    Keys are content ids (git object ids, hashes of bytes), so an entry can never describe other
    content than the one it was computed from; values are what the code computed from that
    content. A missing, unreadable or corrupt file is an empty cache; a write that fails is
    skipped. ``MANUAL_NO_CACHE=1`` turns every cache off.
    """

    MAX_ENTRIES = 200_000

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None
        self._dirty = False

    @classmethod
    def open(cls, root: Path, name: str) -> ContentCache | None:
        if not caches_enabled():
            return None
        directory = _cache_dir(root)
        return cls(directory / f"{name}-{code_fingerprint()}.json") if directory is not None else None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                data = json.loads(self.path.read_bytes())
                self._data = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def get(self, key: str) -> Any:
        return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        data = self._load()
        if len(data) >= self.MAX_ENTRIES:
            data.clear()
        data[key] = value
        self._dirty = True

    def written_ns(self) -> int:
        """When the cache file was last written (ns since the epoch), 0 when there is none."""
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0

    def put_only(self, key: str, value: Any) -> None:
        """Make ``key`` the only entry (a one-slot cache: the last answer, not every answer)."""
        self._data = {key: value}
        self._dirty = True

    def save(self) -> None:
        if not self._dirty or self._data is None:
            return
        self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
            stem = self.path.name.rsplit("-", 1)[0]
            for stale in self.path.parent.glob(f"{stem}-*.json"):
                if stale != self.path:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass


class ShardedCache:
    """Like :class:`ContentCache`, one small JSON file per entry, for values too large to load
    all at once (parsed chapters): ``<git dir>/manualkit/<name>-<code fingerprint>/ab/cdef….json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pruned = False

    @classmethod
    def open(cls, root: Path, name: str) -> ShardedCache | None:
        if not caches_enabled():
            return None
        directory = _cache_dir(root)
        return cls(directory / f"{name}-{code_fingerprint()}") if directory is not None else None

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.directory / digest[:2] / f"{digest[2:]}.json"

    def get(self, key: str) -> Any:
        try:
            return json.loads(self._path(key).read_bytes())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        try:
            if not self._pruned and not self.directory.exists():
                stem = self.directory.name.rsplit("-", 1)[0]
                for stale in self.directory.parent.glob(f"{stem}-*"):
                    if stale.is_dir() and stale != self.directory:
                        import shutil  # pruning a stale cache is rare

                        shutil.rmtree(stale, ignore_errors=True)
            self._pruned = True
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass


_cache_dirs: dict[Path, Path | None] = {}


def _cache_dir(root: Path) -> Path | None:
    if root not in _cache_dirs:
        dot_git = root / ".git"
        if dot_git.is_dir():
            found: Path | None = dot_git / "manualkit"
        else:
            try:
                found = Path(git.text(root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / "manualkit"
            except (git.GitError, ManualError):  # not a repository, or no git at all: no cache
                found = None
        _cache_dirs[root] = found
    return _cache_dirs[root]


# --- many objects at once ------------------------------------------------------------------------


class ObjectInfo(NamedTuple):
    sha: str
    kind: str  # blob | tree | commit
    size: int


class TreeItem(NamedTuple):
    path: str  # repository-relative
    mode: str
    sha: str


class ObjectReader:
    """Reads git objects in batches (one ``git cat-file`` per round, never one process per file)
    and remembers them: a history of a thousand releases is read in a handful of processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._info: dict[str, ObjectInfo | None] = {}
        self._data: dict[str, bytes] = {}
        self._trees: dict[str, list[tuple[str, str, str]]] = {}

    def resolve(self, names: Iterable[str]) -> dict[str, ObjectInfo | None]:
        """``<commit>:<path>`` (or any object name) → its id, type and size; None when absent."""
        names = list(names)
        wanted = list(dict.fromkeys(n for n in names if n not in self._info and "\n" not in n))
        if wanted:
            out = git.run(self.root, "cat-file", "--batch-check", input=("\n".join(wanted) + "\n").encode())
            lines = out.decode("utf-8", "replace").split("\n")
            for name, line in zip(wanted, lines, strict=False):
                parts = line.split()
                self._info[name] = ObjectInfo(parts[0], parts[1], int(parts[2])) if len(parts) == 3 and parts[2].isdigit() else None
        return {n: self._info.get(n) for n in names}

    def info(self, name: str) -> ObjectInfo | None:
        return self.resolve([name])[name]

    def read(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Contents of objects by id, in one ``git cat-file --batch`` for those not read yet."""
        shas = list(shas)
        wanted = list(dict.fromkeys(s for s in shas if s not in self._data))
        if wanted:
            out = git.run(self.root, "cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
            pos = 0
            for sha in wanted:
                nl = out.index(b"\n", pos)
                header = out[pos:nl].split()
                if len(header) != 3:
                    pos = nl + 1
                    continue
                size = int(header[2])
                self._data[sha] = out[nl + 1 : nl + 1 + size]
                pos = nl + 1 + size + 1
        return {s: self._data[s] for s in shas if s in self._data}

    def blob(self, commit: str, path: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
        """The file ``path`` at ``commit`` (None when absent, not a file, or larger than ``limit``)."""
        found = self.info(f"{commit}:{path}")
        if found is None or found.kind != "blob" or found.size > limit:
            return None
        return self.read([found.sha]).get(found.sha)

    def _tree(self, sha: str) -> list[tuple[str, str, str]]:
        """Entries ``(mode, name, sha)`` of a tree object (the raw format: mode SP name NUL id)."""
        if sha not in self._trees:
            data = self.read([sha]).get(sha, b"")
            width = len(sha) // 2
            entries = []
            pos = 0
            while pos < len(data):
                space = data.index(b" ", pos)
                nul = data.index(b"\0", space)
                mode = data[pos:space].decode()
                name = data[space + 1 : nul].decode("utf-8", "replace")
                entries.append((mode.zfill(6), name, data[nul + 1 : nul + 1 + width].hex()))
                pos = nul + 1 + width
            self._trees[sha] = entries
        return self._trees[sha]

    def files(self, commits: Iterable[str], prefix: str) -> dict[str, list[TreeItem]]:
        """Every file (blob or symlink) below directory ``prefix`` at each commit, like ``git ls-tree -r``."""
        commits = list(commits)
        roots = self.resolve(f"{c}:{prefix}" for c in commits)
        result: dict[str, list[TreeItem]] = {}
        level: list[tuple[str, str, str]] = []  # (commit, directory path, tree sha)
        for c in commits:
            found = roots[f"{c}:{prefix}"]
            result[c] = []
            if found is not None and found.kind == "tree":
                level.append((c, prefix, found.sha))
        while level:
            self.read([sha for _, _, sha in level if sha not in self._trees])
            next_level = []
            for c, directory, sha in level:
                for mode, name, child in self._tree(sha):
                    path = f"{directory}/{name}"
                    if mode == "040000":
                        next_level.append((c, path, child))
                    elif mode in ("100644", "100755", "120000"):
                        result[c].append(TreeItem(path, mode, child))
            level = next_level
        for items in result.values():
            items.sort(key=lambda i: i.path)
        return result

    def sizes(self, shas: Iterable[str]) -> dict[str, int]:
        found = self.resolve(shas)
        return {s: i.size for s, i in found.items() if i is not None}

    def manual_files(self, commits: Iterable[str], limit: int = MAX_FILE_BYTES) -> dict[str, ManualFiles]:
        """``manual/`` at each commit, as :func:`commit_snapshot` reads it (texts bounded, links refused)."""
        trees = self.files(commits, MANUAL_DIR)
        sizes = self.sizes({i.sha for items in trees.values() for i in items})
        texts = [i.sha for items in trees.values() for i in items if i.mode != "120000" and sizes.get(i.sha, limit + 1) <= limit and i.path.endswith((".md", ".yml", ".yaml"))]
        self.read(texts)
        out: dict[str, ManualFiles] = {}
        for commit, items in trees.items():
            contents: dict[str, bytes] = {}
            problems = []
            for i in items:
                if i.mode == "120000" or sizes.get(i.sha, limit + 1) > limit:
                    problems.append(diagnostic(i.path, 0, 0, "MAN004", f"{commit[:10]} 中的该文件过大或为符号链接，未读取"))
                elif i.path.endswith((".md", ".yml", ".yaml")):
                    contents[i.path] = self._data[i.sha]
            out[commit] = ManualFiles(contents, frozenset(i.path for i in items), tuple(problems))
        return out
