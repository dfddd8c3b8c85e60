"""The release history: every released version with its dates, approvals and their verification.

Each release is verified where it was made: its record must be unchanged since the commit that
added it, its content digest must be that commit's ``manual/`` tree, and every approval must be
a valid signature over the text as released, by a signer who held the role then.

A history of a thousand releases is read in a handful of ``git cat-file`` batches
(:class:`~manualkit.records.repository.ObjectReader`), each chapter text is parsed once however many
releases share it, and each verdict is kept in a cache keyed by the release commit and the bytes
of its record (``.git/manualkit/``), so a second run reads only what changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.base import git
from manualkit.base.diagnostics import Diagnostic, Severity, diagnostic, fail
from manualkit.records.release import RELEASES_DIR, ReleaseRecord, finish_pending_release
from manualkit.records.repository import (
    ContentCache,
    ObjectReader,
    ShardedCache,
    Snapshot,
    record_from_json,
    record_to_json,
    require_full_history,
    worktree_snapshot,
)
from manualkit.text.chapter import Chapter, Section, parse_chapter
from manualkit.text.manual import MANUAL_DIR, Manual, ManualFiles, decode
from manualkit.text.metadata import METADATA_PATH, ManualMetadata, parse_metadata
from manualkit.text.worktree import MAX_FILE_BYTES

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.policy import Policy
    from manualkit.records.reminders import Ladder
    from manualkit.records.webauthn_signature import Credential

# What verifying a release needs (approvals, change requests, the policy) is imported where it is
# done: a history answered from the cache never loads it.


class ApprovalView(NamedTuple):
    """A signature of a released change request and whether it verified (a named tuple, as
    :class:`~manualkit.records.release.SignedApproval`)."""

    change_request: str
    role: str
    signer: str
    name: str
    signed_at: str
    valid: bool
    key_revoked_at: str = ""  # the signer's key was revoked then (8.2 四); see :func:`_with_revocations`


class RequestView(NamedTuple):
    """A change request as it was released: what it was called and which sections it changed."""

    id: str
    title: str
    class_key: str
    sections: tuple[str, ...]


class ReleaseEntry(NamedTuple):
    record: ReleaseRecord
    commit: str | None
    effective_to: dt.date | None
    approvals: tuple[ApprovalView, ...]
    digest_valid: bool
    problems: tuple[Diagnostic, ...]
    requests: tuple[RequestView, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems

    def request(self, cr_id: str) -> RequestView | None:
        return next((r for r in self.requests if r.id == cr_id), None)

    def as_dict(self) -> dict[str, object]:
        r = self.record
        return {
            "version": str(r.version),
            "class": r.class_key,
            "published": r.published.isoformat(),
            "effective_from": r.effective.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "change_requests": list(r.change_requests),
            "sections": list(r.sections),
            "summary": r.summary,
            "approvals": [
                {
                    "change_request": a.change_request,
                    "role": a.role,
                    "signer": a.signer,
                    "name": a.name,
                    "signed_at": a.signed_at,
                    "valid": a.valid,
                    "key_revoked_at": a.key_revoked_at or None,
                }
                for a in self.approvals
            ],
            "digest": r.content_digest,
            "digest_valid": self.digest_valid,
            "commit": self.commit,
            "valid": self.valid,
            "problems": [d.as_dict() for d in self.problems],
        }


def release_history(
    root: Path, head: Snapshot | None = None, *, use_cache: bool = True, reader: ReleaseReader | None = None
) -> list[ReleaseEntry]:
    """Every release recorded in the current tree, oldest first, each verified at its commit.

    ``use_cache=False`` verifies everything from the git objects and neither reads nor writes
    the verdict caches (``manual audit`` does so). ``reader`` shares what was read with the caller.

    With the caches on and no ``head`` given, the whole answer is first looked up under the HEAD
    commit and a fingerprint of ``changelog/releases/`` (every entry's name, size, inode and
    modification and change times, as git's index does): an unchanged history costs reading
    HEAD, a stat of each record and one cache file, not a thousand record files and git processes.
    """
    facts = require_full_history(root)
    timeline = ContentCache.open(root, "timeline") if use_cache and head is None else None
    key = None
    if timeline is not None:
        finish_pending_release(root)
        key, newest = _timeline_key(root, facts.head)
        hit = timeline.get(key) if key else None
        # As git does for "racily clean" files: a record changed in the same moment as the cache
        # was written could change again without its stat showing it, so it is not trusted.
        if isinstance(hit, list) and newest < timeline.written_ns() - RACY_NS:
            return _with_revocations(root, head, _timeline_from_json(hit))
    cache = ContentCache.open(root, "history") if use_cache else None
    adding = release_commits(root, cache)  # git walks the history while the records are read
    head = head or worktree_snapshot(root)
    records = head.records
    added = adding()
    if not records:
        return []
    keys = {r.path: _verdict_key(added.get(r.path), r, head, added.get(records[i - 1].path) if i else None) for i, r in enumerate(records)}
    cached = {path: cache.get(key) for path, key in keys.items() if key is not None} if cache else {}
    # Parsed chapters are not kept here: the verdicts are, and they make the texts unnecessary.
    shared = reader is not None
    reader = reader or ReleaseReader(root, cached=False)
    effective_to = [records[i + 1].effective if i + 1 < len(records) else None for i in range(len(records))]
    # Each release is judged by the policy in force before it: the previous release's (A/0: its own, the root).
    judges = [added.get(records[i - 1].path) if i > 0 else added.get(r.path) for i, r in enumerate(records)]
    todo = [(r, added.get(r.path), effective_to[i], judges[i]) for i, r in enumerate(records) if cached.get(r.path) is None]
    if shared:  # read here, before any worker is forked, what the caller reads again afterwards
        _prefetch(reader, todo)
    verified = {entry.record.path: entry for entry in verify_releases(root, todo, head, reader)}
    entries: list[ReleaseEntry] = []
    for i, record in enumerate(records):
        hit = cached.get(record.path)
        if hit is not None:
            entries.append(_entry_from_json(record, added[record.path], effective_to[i], hit))
            continue
        entry = verified[record.path]
        entries.append(entry)
        verdict_key = keys[record.path]
        if cache is not None and verdict_key is not None:
            cache.put(verdict_key, _entry_to_json(entry))
    if cache is not None:
        cache.save()
    if timeline is not None and key is not None and key == _timeline_key(root, facts.head)[0]:
        timeline.put_only(key, [_timeline_row(e) for e in entries])
        timeline.save()
    return _with_revocations(root, head, entries)


def _with_revocations(root: Path, head: Snapshot | None, entries: list[ReleaseEntry]) -> list[ReleaseEntry]:
    """Apply the key revocations of ``changelog/revocations/`` (8.2 四) to the verified entries:
    an approval made with a revoked key at or after the revocation is invalid (MAN812); one made
    before stays valid and carries ``key_revoked_at``. Applied after the caches, which hold the
    verdicts of the signatures alone, so that a revocation takes effect at once."""
    from manualkit.records.revocation import REVOCATIONS_DIR  # light: a warm history loads no parser

    if head is None:
        if not (root / REVOCATIONS_DIR).is_dir():
            return entries
        head = worktree_snapshot(root)
    files = head.changelog_files(REVOCATIONS_DIR)
    if not files or head.policy is None or head.manual is None:
        return entries
    from manualkit.records.key_revocation import with_history
    from manualkit.records.procedure import verified_revocations
    from manualkit.records.revocation import committed_later, revoked_at, signed_after_revocation

    revocations, _ = verified_revocations(files, head.policy, head.manual.metadata.document_number)
    revocations = with_history(root, revocations)
    signers = {r.signer for r in revocations}
    if not signers:
        return entries
    reader = ReleaseReader(root)
    out = []
    for e in entries:
        if e.commit is None or not any(v.signer in signers for v in e.approvals):
            out.append(e)
            continue
        policy = reader.policy(e.commit)
        views, problems = [], list(e.problems)
        for v in e.approvals:
            approver = policy.approver(v.signer) if policy and v.signer in signers else None
            revocation = revoked_at(revocations, v.signer, approver.public_key) if approver else None
            after = signed_after_revocation(revocation, v.signed_at, _signature(reader, e.commit, v) if revocation else "")
            if revocation is None or after is None:
                views.append(v)
                continue
            views.append(v._replace(valid=v.valid and not after, key_revoked_at=revocation.at.isoformat()))
            if after and revocation.held is not None and committed_later(revocation, _signature(reader, e.commit, v)):
                problems.append(
                    diagnostic(
                        e.record.path, 0, 0, "MAN852",
                        f"{e.record.version}：{v.change_request} 的“{v.role}”签署（{v.name}）所用密钥已由 {revocation.path} 停用，"
                        f"而该签署在停用记录提交之后才加入：所称签署时间 {v.signed_at} 不可信，签署无效",
                    )
                )  # fmt: skip
            elif after:
                problems.append(
                    diagnostic(
                        e.record.path, 0, 0, "MAN812",
                        f"{e.record.version}：{v.change_request} 的“{v.role}”签署（{v.name}，{v.signed_at}）晚于该密钥的停用时间 "
                        f"{revocation.at.isoformat()}（{revocation.path}），签署无效",
                    )
                )  # fmt: skip
        out.append(e._replace(approvals=tuple(views), problems=tuple(problems)))
    return out


def _signature(reader: ReleaseReader, commit: str, view: ApprovalView) -> str:
    """The signature of ``view`` as released in ``commit`` ("" when it cannot be read)."""
    manual = reader.manual(commit)
    cr = reader.request(commit, view.change_request, manual.metadata.departments) if manual else None
    found = next((a for a in (cr.approvals if cr else ()) if a.role == view.role and a.signer == view.signer), None)
    return found.signature if found else ""


RACY_NS = 100_000_000  # well above the tick of a file system's timestamps (a few ms)


def _timeline_key(root: Path, head_commit: str | None) -> tuple[str | None, int]:
    """HEAD and the stat of everything under ``changelog/releases/`` (None when unreadable),
    and the latest modification or change time found there (ns)."""
    rows: list[tuple[str, int, int, int, int, int]] = []
    stack = [(os.path.join(root, RELEASES_DIR), "")]
    try:
        while stack:
            directory, rel = stack.pop()
            with os.scandir(directory) as it:
                for entry in it:
                    st = entry.stat(follow_symlinks=False)
                    name = f"{rel}/{entry.name}"
                    rows.append((name, st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, name))
    except FileNotFoundError:
        return "timeline\0" + hashlib.sha256(f"{head_commit}\0no records".encode()).hexdigest(), 0
    except OSError:
        return None, 0
    rows.sort()
    newest = max((max(r[4], r[5]) for r in rows), default=0)
    return "timeline\0" + hashlib.sha256(repr((head_commit, rows)).encode()).hexdigest(), newest


def _timeline_row(e: ReleaseEntry) -> list[Any]:
    """One entry of the timeline cache: its record, its commit and its verdict."""
    return [record_to_json(e.record), e.commit, _entry_to_json(e)]


def _timeline_from_json(rows: list[Any]) -> list[ReleaseEntry]:
    """The entries of :func:`_timeline_row` rows."""
    records = [record_from_json(r) for r, _, _ in rows]
    return [
        _entry_from_json(record, commit, records[i + 1].effective if i + 1 < len(records) else None, verdict)
        for i, (record, (_, commit, verdict)) in enumerate(zip(records, rows, strict=True))
    ]


def release_commits(root: Path, cache: ContentCache | None = None) -> Callable[[], dict[str, str]]:
    """For each release record ever added: the commit that added it (first-parent history of
    HEAD), from the cache or from git; git is started at once and the function returned waits
    for its answer."""
    head = git.head(root)
    key = f"adding\0{head}"
    hit = cache.get(key) if cache and head else None
    if isinstance(hit, dict):
        found = {str(k): str(v) for k, v in hit.items()}
        return lambda: found
    pending = git.commits_adding_started(root, RELEASES_DIR + "/")

    def added() -> dict[str, str]:
        answer = pending()
        if cache is not None and head:
            cache.put(key, answer)
        return answer

    return added


def _verdict_key(commit: str | None, record: ReleaseRecord, head: Snapshot, judge: str | None) -> str | None:
    raw = head.records_raw.get(record.path)
    if commit is None or raw is None:
        return None
    return f"release\0{commit}\0{judge}\0{record.path}\0{hashlib.sha256(raw).hexdigest()}"


def _entry_to_json(entry: ReleaseEntry) -> list[Any]:
    """A release's verdict as a flat JSON list. Its approvals, usually the record's own signatures
    in the same order, are then kept as their validity flags only."""
    e = entry
    if [tuple(a[:5]) for a in e.record.approvals] == [tuple(v[:5]) for v in e.approvals]:
        approvals: list[Any] = [v.valid for v in e.approvals]
    else:
        approvals = [list(v) for v in e.approvals]
    return [
        approvals, e.digest_valid, [[d.path, d.line, d.col, d.code, d.message, str(d.severity)] for d in e.problems],
        [[q.id, q.title, q.class_key, list(q.sections)] for q in e.requests],
    ]  # fmt: skip


def _entry_from_json(record: ReleaseRecord, commit: str | None, effective_to: dt.date | None, data: list[Any]) -> ReleaseEntry:
    approvals, digest_valid, problems, requests = data
    if approvals and all(f is True or f is False for f in approvals):
        views = tuple(ApprovalView(*a[:5], f) for a, f in zip(record.approvals, approvals, strict=True))
    else:
        views = tuple(map(ApprovalView._make, approvals))
    return ReleaseEntry(
        record, commit, effective_to, views, bool(digest_valid),
        tuple(Diagnostic(p[0], p[1], p[2], p[3], p[4], Severity(p[5])) for p in problems),
        tuple(RequestView(q[0], q[1], q[2], tuple(q[3])) for q in requests),
    )  # fmt: skip


# Verifying is done on every core when there are many releases to verify (the first command in a
# new clone of a long history): each worker process reads, in a few batches, what its contiguous
# run of releases needs and verifies them, so that the reads are made side by side and the chapter
# texts consecutive releases share are read and parsed once per worker.
PARALLEL_MIN = 64
Task = tuple[ReleaseRecord, str | None, dt.date | None, str | None]  # record, its commit, effective to, judge
_job: tuple[Path, Sequence[Task], Snapshot, ReleaseReader] | None = None


def verify_releases(root: Path, todo: Sequence[Task], head: Snapshot, reader: ReleaseReader) -> list[ReleaseEntry]:
    """:func:`verify_release` of each ``(record, commit, effective_to, judge)``, in order, with the same
    answers whether done here or, for ``PARALLEL_MIN`` releases or more, in forked workers."""
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    if len(todo) < PARALLEL_MIN or workers < 2 or not hasattr(os, "fork"):
        return _verify_all(root, todo, head, reader)
    import multiprocessing

    global _job
    step = -(-len(todo) // workers)
    runs = [(start, min(start + step, len(todo))) for start in range(0, len(todo), step)]
    _job = (root, todo, head, reader)
    try:
        with multiprocessing.get_context("fork").Pool(len(runs)) as pool:
            parts = pool.map(_verify_run, runs, chunksize=1)
    finally:
        _job = None
    return [entry for part in parts for entry in part]


def _verify_run(run: tuple[int, int]) -> list[ReleaseEntry]:
    """In a forked worker: verify ``todo[start:end]`` of the job the parent set up before forking."""
    assert _job is not None
    root, todo, head, reader = _job
    return _verify_all(root, todo[run[0] : run[1]], head, reader)


def _prefetch(reader: ReleaseReader, tasks: Sequence[Task]) -> None:
    reader.prefetch([(commit, record) for record, commit, _, _ in tasks if commit is not None])
    reader.prefetch_controlled(c for _, commit, _, judge in tasks for c in (commit, judge))


def _verify_all(root: Path, tasks: Sequence[Task], head: Snapshot, reader: ReleaseReader) -> list[ReleaseEntry]:
    """:func:`verify_release` of each task, after reading what they all need in a few batches."""
    _prefetch(reader, tasks)
    return [
        verify_release(root, record, commit, head, effective_to, reader=reader, judge=judge)
        for record, commit, effective_to, judge in tasks
    ]


def verify_release(
    root: Path,
    record: ReleaseRecord,
    commit: str | None,
    head: Snapshot,
    effective_to: dt.date | None,
    *,
    reader: ReleaseReader | None = None,
    judge: str | None = None,
) -> ReleaseEntry:
    """Verify ``record`` as recorded in ``commit``; its approvals (signers, roles, class) are
    judged by the policy of ``judge``, the previous release's commit (the chain of trust), or
    by its own commit's policy for the first release."""
    from manualkit.records.approval import approval_findings, missing_roles
    from manualkit.records.trust import controlled_at, trust_findings

    problems: list[Diagnostic] = []
    views: list[ApprovalView] = []
    requests: list[RequestView] = []
    digest_valid = False
    if commit is None:
        problems.append(diagnostic(record.path, 0, 0, "MAN680", f"{record.version} 的发布记录未提交到 git 历史中，无法验证"))
        return ReleaseEntry(record, None, effective_to, (), False, tuple(problems))
    reader = reader or ReleaseReader(root)
    at_release = reader.objects.blob(commit, record.path)
    if at_release != head.records_raw.get(record.path):
        problems.append(diagnostic(record.path, 0, 0, "MAN681", f"{record.version} 的发布记录在发布（{commit[:10]}）之后被修改"))
    found = reader.objects.info(f"{commit}:{MANUAL_DIR}")
    tree = found.sha if found else None
    digest_valid = tree == record.content_digest
    if not digest_valid:
        problems.append(
            diagnostic(record.path, 0, 0, "MAN682", f"{record.version} 的内容摘要 {record.content_digest[:12]} 与发布提交中 manual/ 的树哈希 {str(tree)[:12]} 不符")
        )
    judge = judge or commit
    manual, policy, new_policy = reader.manual(commit), reader.policy(judge), reader.policy(commit)
    if manual is None or policy is None or new_policy is None:
        problems.append(diagnostic(record.path, 0, 0, "MAN683", f"{record.version} 发布时的手册或修订政策无法加载"))
        return ReleaseEntry(record, commit, effective_to, (), digest_valid, tuple(problems))
    controlled = controlled_at(reader.objects, commit)
    released: list[ChangeRequest] = []
    signed_roles: dict[str, set[str]] = {}
    for cr_id in record.change_requests:
        cr = reader.request(commit, cr_id, manual.metadata.departments)
        if cr is None:
            problems.append(diagnostic(record.path, 0, 0, "MAN684", f"{record.version} 所列修订申请单 {cr_id} 在发布提交中不存在"))
            continue
        requests.append(RequestView(cr.id, cr.title, cr.class_key, cr.sections))
        released.append(cr)
        checks, findings = approval_findings(cr, manual, policy, controlled=controlled)
        signed_roles[cr.id] = {c.approval.role for c in checks if c.valid}
        problems += [diagnostic(record.path, 0, 0, d.code, f"{record.version}：{d.message}") for d in findings]
        for role in missing_roles(cr, checks, policy):
            problems.append(diagnostic(record.path, 0, 0, "MAN660", f"{record.version}：{cr_id} 缺少有效的“{role}”签署"))
        views += [
            ApprovalView(cr_id, c.approval.role, c.approval.signer, c.approval.name, c.approval.signed_at, c.valid) for c in checks
        ]
    before = controlled_at(reader.objects, judge) if judge != commit else None
    for d in trust_findings(record.path, f"{record.version}：", released, before, controlled, policy, new_policy, signed_roles):
        problems.append(diagnostic(record.path, 0, 0, d.code, d.message))
    return ReleaseEntry(record, commit, effective_to, tuple(views), digest_valid, tuple(problems), tuple(requests))


def blob_id(data: bytes) -> str:
    """The id git gives a file with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class ReleaseReader:
    """What verifying releases reads from release commits, read in batches and parsed once.

    :meth:`manual` gives the same :class:`Manual` as ``load_manual`` over the commit's files
    (the same chapters, in the same order), but a chapter text shared by many releases is parsed
    only once.
    """

    def __init__(self, root: Path, objects: ObjectReader | None = None, *, cached: bool = True) -> None:
        self.root = root
        self.objects = objects or ObjectReader(root)
        self.cache = ShardedCache.open(root, "parsed") if cached else None
        self.keep_parsed = True  # False: read the cache of parsed chapters, add nothing to it
        self._files: dict[str, ManualFiles] = {}
        self._parsed: dict[str, Any] = {}  # metadata and chapters by file, blob id (and context)
        self._requests: dict[tuple[str, tuple[str, ...]], ChangeRequest | None] = {}

    def prefetch(self, releases: Sequence[tuple[str, ReleaseRecord]]) -> None:
        """Read everything verifying these (commit, record) pairs needs, in a few batches."""
        from manualkit.records.change_request import REQUESTS_DIR

        if not releases:
            return
        commits = list(dict.fromkeys(c for c, _ in releases))
        self.files_at(commits)
        names = [f"{c}:{MANUAL_DIR}" for c in commits]
        for c, r in releases:
            names.append(f"{c}:{r.path}")
            names += [f"{c}:{REQUESTS_DIR}/{cr}.yml" for cr in r.change_requests]
        found = self.objects.resolve(names)
        self.objects.read([i.sha for i in found.values() if i is not None and i.kind == "blob" and i.size <= 1024 * 1024])

    def prefetch_controlled(self, commits: Iterable[str | None]) -> None:
        """Read what :func:`~manualkit.records.trust.controlled_at` needs at these commits (every
        controlled path: the policy, the ``certs/`` listing, the calendar) in one batch, not one
        git process per release."""
        from manualkit.records.trust import CONTROLLED_PATH

        wanted = list(dict.fromkeys(c for c in commits if c))
        if not wanted:
            return
        found = self.objects.resolve([f"{c}:{path}" for c in wanted for path in CONTROLLED_PATH.values()])
        self.objects.read([i.sha for i in found.values() if i is not None and i.size <= 1024 * 1024])

    def files_at(self, commits: Sequence[str]) -> list[ManualFiles]:
        missing = [c for c in commits if c not in self._files]
        if missing:
            self._files.update(self.objects.manual_files(missing))
        return [self._files[c] for c in commits]

    def manual(self, commit: str) -> Manual | None:
        """The manual released in ``commit``.

        With the cache on, the commit's ``manual/`` listing and the parse of each file are kept
        under their git ids (immutable), so a release read before costs no git process at all.
        """
        if self.cache is None or commit in self._files:
            return self.manual_of(self.files_at([commit])[0])
        listing = self.listing(commit)
        usable = {path: sha for path, mode, sha, size in listing if mode != "120000" and 0 <= size <= MAX_FILE_BYTES}
        return self._assemble(frozenset(path for path, _, _, _ in listing), usable, {})

    def manual_of(self, files: ManualFiles) -> Manual | None:
        """``load_manual(files).manual``, with each chapter parse shared across commits."""
        refused = {d.path for d in files.problems}
        ids = {path: blob_id(data) for path, data in files.contents.items() if path not in refused}
        return self._assemble(files.names, ids, {ids[path]: data for path, data in files.contents.items() if path in ids})

    def listing(self, commit: str) -> list[tuple[str, str, str, int]]:
        """``(path, mode, blob id, size)`` of every file under ``manual/`` at ``commit`` (kept in
        the cache under the commit: a release read before costs no git process)."""
        key = f"listing\0{commit}"
        stored = self.cache.get(key) if self.cache else None
        if isinstance(stored, list):
            return [(str(p), str(m), str(b), int(n)) for p, m, b, n in stored]
        items = self.objects.files([commit], MANUAL_DIR)[commit]
        sizes = self.objects.sizes({i.sha for i in items})
        listing = [(i.path, i.mode, i.sha, sizes.get(i.sha, -1)) for i in items]
        if self.cache is not None and self.keep_parsed:
            self.cache.put(key, listing)
        return listing

    def _assemble(self, names: frozenset[str], ids: dict[str, str], known: dict[str, bytes]) -> Manual | None:
        """The manual from its files' blob ids: each parse taken from memory, then the cache, and
        only then parsed from the blob (those still to parse are read in one batch)."""
        meta_id = ids.get(METADATA_PATH)
        if meta_id is None:
            return None
        meta_key = f"{METADATA_PATH}\0{meta_id}"
        self._recall(meta_key, metadata_from_json)
        if meta_key not in self._parsed:
            data = self._blobs([meta_id], known)[meta_id]
            text, _ = decode(METADATA_PATH, data)
            self._remember(meta_key, parse_metadata(text)[0] if text is not None else None, metadata_to_json)
        metadata = self._parsed[meta_key]
        if not isinstance(metadata, ManualMetadata):
            return None
        departments = metadata.departments
        wanted = []
        for position, name in enumerate(metadata.chapter_files, start=1):
            path = f"{MANUAL_DIR}/{name}"
            if path in ids:
                key = "\0".join([path, ids[path], str(position), *departments, "\0", *sorted(names)])
                self._recall(key, chapter_from_json)
                wanted.append((key, path, ids[path], position))
        todo = [(key, path, sha, position) for key, path, sha, position in wanted if key not in self._parsed]
        data_of = self._blobs([sha for _, _, sha, _ in todo], known)
        for key, path, sha, position in todo:
            text, _ = decode(path, data_of[sha]) if sha in data_of else (None, [])
            parsed = parse_chapter(path, text, position, departments, names, check_body=False).chapter if text is not None else None
            self._remember(key, parsed, chapter_to_json)
        chapters = [c for key, _, _, _ in wanted if isinstance(c := self._parsed[key], Chapter)]
        return Manual(metadata, tuple(chapters))

    def _recall(self, key: str, from_json: Callable[[dict[str, Any]], object]) -> None:
        if key not in self._parsed and self.cache is not None:
            stored = self.cache.get(key)
            if isinstance(stored, dict):
                try:
                    self._parsed[key] = from_json(stored) if stored else None
                except (KeyError, IndexError, TypeError, ValueError):  # an entry of another shape: parsed again
                    pass

    def _remember(self, key: str, value: Any, to_json: Callable[[Any], dict[str, Any]]) -> None:
        self._parsed[key] = value
        if self.cache is not None and self.keep_parsed:
            self.cache.put(key, to_json(value) if value is not None else {})

    def _blobs(self, ids: Sequence[str], known: dict[str, bytes]) -> dict[str, bytes]:
        found = {i: known[i] for i in ids if i in known}
        missing = [i for i in ids if i not in found]
        if missing:
            found.update(self.objects.read(missing))
        return found

    def policy(self, commit: str) -> Policy | None:
        """The policy released in ``commit``. With the cache on, it is kept parsed under its blob id
        (found in the commit's listing), as the chapters are: a policy parsed before costs neither
        a git process nor PyYAML."""
        from manualkit.records.policy_zone import POLICY_PATH

        raw: bytes | None = None
        if self.cache is None or commit in self._files:
            raw = self.files_at([commit])[0].contents.get(POLICY_PATH)
            sha = blob_id(raw) if raw is not None else None
        else:  # only its blob, found in the listing and bounded as files_at bounds it
            found = [sha for path, mode, sha, size in self.listing(commit) if path == POLICY_PATH and mode != "120000" and 0 <= size <= MAX_FILE_BYTES]
            sha = found[0] if found else None
        if sha is None:
            return None
        key = f"{POLICY_PATH}\0{sha}"
        self._recall(key, policy_from_json)
        if key not in self._parsed:
            from manualkit.records.policy import load_policy

            data = raw if raw is not None else self._blobs([sha], {}).get(sha)
            self._remember(key, load_policy({POLICY_PATH: data})[0] if data is not None else None, policy_to_json)
        policy: Policy | None = self._parsed[key]
        return policy

    def request(self, commit: str, cr_id: str, departments: tuple[str, ...]) -> ChangeRequest | None:
        """Change request ``cr_id`` as recorded in ``commit`` (``changelog/requests/<id>.yml``)."""
        from manualkit.records.change_request import REQUESTS_DIR, parse_change_request

        path = f"{REQUESTS_DIR}/{cr_id}.yml"
        found = self.objects.info(f"{commit}:{path}")
        if found is None:
            # Not at its usual place: look for it in the whole folder, as the loader of a snapshot does.
            for item in self.objects.files([commit], REQUESTS_DIR)[commit]:
                if item.path.endswith(f"/{cr_id}.yml") and item.mode != "120000":
                    path, found = item.path, self.objects.info(item.sha)
        if found is None or found.kind != "blob" or found.size > 1024 * 1024:
            return None
        key = (found.sha, departments)
        if key not in self._requests:
            raw = self.objects.read([found.sha])[found.sha]
            cr, _ = parse_change_request(path, raw, departments)
            self._requests[key] = cr if cr is not None and cr.id == cr_id else None
        return self._requests[key]


def metadata_to_json(m: ManualMetadata) -> dict[str, Any]:
    return {**m._asdict(), "departments": list(m.departments), "chapter_files": list(m.chapter_files)}


def metadata_from_json(d: dict[str, Any]) -> ManualMetadata:
    return ManualMetadata(**{**d, "departments": tuple(d["departments"]), "chapter_files": tuple(d["chapter_files"])})


def policy_to_json(p: Policy) -> dict[str, Any]:
    """A parsed policy as JSON for the cache of parsed files (every field; :func:`policy_from_json`)."""
    return {
        "classes": [[c.key, c.name, list(c.roles), c.notice_days, c.version_step] for c in p.classes.values()],
        "revision_limit": p.revision_limit, "review_cycle_months": p.review_cycle_months, "retention_years": p.retention_years,
        "consultation_chapters": list(p.consultation_chapters),
        "roles": [[r.key, r.title, r.meaning] for r in p.roles.values()],
        "signing_namespace": p.signing_namespace,
        "approvers": [
            [a.id, a.name, a.department, list(a.roles), a.public_key, [[c.credential_id, c.public_key, c.rp_id, c.origin, c.enrolled] for c in a.webauthn]]
            for a in p.approvers
        ],
        "time_zone": p.time_zone,
        "reminders": None if p.reminders is None else [list(p.reminders.before), p.reminders.on_due, p.reminders.overdue_every, p.reminders.escalate_after],
    }  # fmt: skip


def policy_from_json(d: dict[str, Any]) -> Policy:
    from manualkit.records.policy import Approver, ChangeClass, Policy, Role

    def credentials(items: list[list[str]]) -> tuple[Credential, ...]:
        if not items:
            return ()
        from manualkit.records.webauthn_signature import Credential

        return tuple(Credential(*c) for c in items)

    def reminders(ladder: list[Any] | None) -> Ladder | None:
        if ladder is None:
            return None
        from manualkit.records.reminders import Ladder

        return Ladder(tuple(ladder[0]), ladder[1], ladder[2], ladder[3])

    return Policy(
        classes={k: ChangeClass(k, n, tuple(r), days, step) for k, n, r, days, step in d["classes"]},
        revision_limit=d["revision_limit"], review_cycle_months=d["review_cycle_months"], retention_years=d["retention_years"],
        consultation_chapters=tuple(d["consultation_chapters"]),
        roles={k: Role(k, title, meaning) for k, title, meaning in d["roles"]},
        signing_namespace=d["signing_namespace"],
        approvers=tuple(Approver(i, n, dep, tuple(r), key, credentials(creds)) for i, n, dep, r, key, creds in d["approvers"]),
        time_zone=d["time_zone"],
        reminders=reminders(d["reminders"]),
    )  # fmt: skip


def chapter_to_json(c: Chapter) -> dict[str, Any]:
    return {
        "path": c.path, "number": c.number, "title": c.title, "owner": c.owner, "cycle": c.review_cycle_months,
        "last_reviewed": c.last_reviewed.isoformat(), "review_line": c.review_line,
        "sections": [[s.id, s.title, s.anchor, s.line, s.body, s.body_line] for s in c.sections],
        "body": c.body, "body_line": c.body_line, "preamble": c.preamble,
    }  # fmt: skip


def chapter_from_json(d: dict[str, Any]) -> Chapter:
    return Chapter(
        path=d["path"], number=d["number"], title=d["title"], owner=d["owner"], review_cycle_months=d["cycle"],
        last_reviewed=dt.date.fromisoformat(d["last_reviewed"]), review_line=d["review_line"],
        sections=tuple(Section(*s) for s in d["sections"]), body=d["body"], body_line=d["body_line"], preamble=d["preamble"],
    )  # fmt: skip


# --- the timeline -------------------------------------------------------------------------------


def in_force(entries: list[ReleaseEntry], day: dt.date) -> ReleaseEntry | None:
    """The version in force on ``day``: the latest whose effective date has come."""
    current = None
    for entry in entries:
        if entry.record.effective <= day:
            current = entry
    return current


def upcoming(entries: list[ReleaseEntry], day: dt.date) -> list[ReleaseEntry]:
    return [e for e in entries if e.record.effective > day]


def version_index(entries: Sequence[ReleaseEntry], version: str, where: str = "--version") -> int:
    """Index of release ``version``, or an error listing the versions there are."""
    if not entries:
        raise fail(RELEASES_DIR, 0, 0, "MAN685", "尚无发布记录；请先用 manual release 发布")
    versions = [str(e.record.version) for e in entries]
    wanted = version.strip().upper()
    if wanted not in versions:
        raise fail(where, 0, 0, "MAN686", f"版本 {version} 不存在；已发布的版本：{'、'.join(versions)}")
    return versions.index(wanted)


def in_force_index(entries: Sequence[ReleaseEntry], day: dt.date, where: str = "--as-of") -> int:
    """Index of the version in force on ``day``, or an error when none was in force yet."""
    if not entries:
        raise fail(RELEASES_DIR, 0, 0, "MAN685", "尚无发布记录；请先用 manual release 发布")
    found = in_force(list(entries), day)
    if found is None:
        first = entries[0].record
        raise fail(
            where, 0, 0, "MAN687",
            f"{day.isoformat()} 尚无生效的版本：最早的版本 {first.version} 自 {first.effective.isoformat()} 起实施",
        )  # fmt: skip
    return list(entries).index(found)


def release_index(entries: Sequence[ReleaseEntry], version: str | None, day: dt.date) -> int:
    """Index of the release named ``version`` (``--version``), else of the one in force on ``day``
    (``--as-of``, or today): the one lookup the document commands, ``verify`` and copies share."""
    return version_index(entries, version) if version is not None else in_force_index(entries, day)
