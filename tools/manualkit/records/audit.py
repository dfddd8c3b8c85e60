"""The whole-chain audit: is every release, signature, date and review what the record says?

:func:`audit` verifies everything from the git objects, without any cache, and collects the
findings of seven checks (each finding a :class:`~manualkit.base.diagnostics.Diagnostic`):

* 发布记录 — every release record ever added is still there, unchanged, and tagged;
* 电子签署 — every approval is a valid signature over the released text, by a signer holding the
  role the policy of that time required; released change requests were not edited since;
* 内容摘要 — each release's digest is the ``manual/`` tree of the commit that recorded it;
* 公告期 — effective dates respect the notice period of the class, and staff consultation
  came before them;
* 时间线 — versions follow each other without gaps or overlaps, in commit order;
* 已发布文本 — no released text changed outside a release: every later commit that touched
  ``manual/`` (first-parent history) and the working tree are compared, section by section,
  with the version released before them;
* 定期评审 — the signed review records verify, and no chapter went longer than its cycle
  without a review.

Pure over the repository: returns a report; never prints.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manualkit.base import git, sshsig
from manualkit.base.clock import add_months, company_day, zone
from manualkit.base.diagnostics import Diagnostic, Severity, diagnostic
from manualkit.base.run import Run
from manualkit.records.approval import approval_findings
from manualkit.records.history import ReleaseEntry, ReleaseReader, release_history
from manualkit.records.policy import CLASS_ORDER, Policy
from manualkit.records.release import FRONT, RELEASES_DIR, front_matter_covered, open_requests, section_label, tag_name
from manualkit.records.repository import Snapshot, require_full_history, worktree_snapshot
from manualkit.records.review import REVIEWER_ROLE, REVIEWS_DIR, chapter_digest, parse_review, review_message
from manualkit.records.trust import CERTS_DIR, controlled_at, controlled_in_worktree, prefetch_controlled
from manualkit.text.clause import ChapterLines, changed_clause_note, line_clause
from manualkit.text.manual import MANUAL_DIR, Manual
from manualkit.text.markup import unsafe_findings
from manualkit.text.schema import as_date

AREAS: tuple[tuple[str, str], ...] = (
    ("records", "发布记录完整"),
    ("signatures", "电子签署有效，签署人具有当时所需的权限"),
    ("digests", "内容摘要与发布提交一致"),
    ("dates", "实施日期符合公告期"),
    ("timeline", "版本时间线无缺口、无重叠"),
    ("text", "已发布文本未在发布之外被修改"),
    ("reviews", "定期评审按期完成且签署有效"),
    ("obligations", "退回、签署期限、密钥停用、培训和受控副本回收符合第八章"),
)
_AREA_OF_CODE = {
    "MAN672": "records", "MAN680": "records", "MAN681": "records", "MAN683": "records", "MAN684": "records", "MAN715": "records", "MAN971": "records",
    "MAN682": "digests",
    "MAN663": "dates", "MAN643": "dates",
    "MAN740": "signatures", "MAN741": "signatures", "MAN743": "signatures", "MAN744": "signatures", "MAN748": "records", "MAN749": "records",
    "MAN753": "records", "MAN754": "records",
    "MAN664": "timeline", "MAN665": "timeline", "MAN711": "timeline", "MAN712": "timeline",
    "MAN710": "text",
    "MAN690": "reviews", "MAN720": "reviews", "MAN721": "reviews", "MAN722": "reviews",
    "MAN812": "signatures",
    "MAN850": "signatures", "MAN851": "records", "MAN852": "signatures", "MAN854": "obligations", "MAN855": "obligations",
}  # fmt: skip
SIGNATURE_CODES = ("MAN650", "MAN651", "MAN652", "MAN653", "MAN654", "MAN655", "MAN656", "MAN660", "MAN673", "MAN713", "MAN714")


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    scope: str  # what was checked, e.g. "4 个版本、16 项签署"
    findings: tuple[Diagnostic, ...]

    @property
    def passed(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.findings)


@dataclass(frozen=True)
class AuditReport:
    document: str
    title: str
    today: dt.date
    head: str | None
    releases: list[ReleaseEntry]
    areas: tuple[Area, ...]

    @property
    def passed(self) -> bool:
        return all(a.passed for a in self.areas)

    @property
    def findings(self) -> list[Diagnostic]:
        return [d for a in self.areas for d in a.findings]

    def count(self, severity: Severity) -> int:
        return sum(d.severity is severity for d in self.findings)

    @property
    def verdict(self) -> str:
        """``pass`` (nothing found but information), ``attention`` (warnings: obligations of
        chapter 8 unmet, no error) or ``fail`` (errors): 通过 / 通过（有 N 项须关注）/ 不通过."""
        if not self.passed:
            return "fail"
        return "attention" if self.count(Severity.WARNING) else "pass"

    def as_dict(self) -> dict[str, object]:
        return {
            "document": self.document,
            "title": self.title,
            "today": self.today.isoformat(),
            "head": self.head,
            "passed": self.passed,
            "verdict": self.verdict,
            "summary": {
                "releases": len(self.releases),
                "errors": self.count(Severity.ERROR),
                "warnings": self.count(Severity.WARNING),
                "notes": self.count(Severity.INFO),
            },
            "checks": [
                {"key": a.key, "title": a.title, "passed": a.passed, "scope": a.scope, "findings": [d.as_dict() for d in a.findings]}
                for a in self.areas
            ],
            "releases": [e.as_dict() for e in self.releases],
        }


@dataclass
class _Audit:
    root: Path
    today: dt.date
    snap: Snapshot
    reader: ReleaseReader
    entries: list[ReleaseEntry] = field(default_factory=list)
    findings: dict[str, list[Diagnostic]] = field(default_factory=lambda: {key: [] for key, _ in AREAS})
    scope: dict[str, str] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # commit → position in the first-parent history

    def add(self, d: Diagnostic, area: str | None = None) -> None:
        key = area or _AREA_OF_CODE.get(d.code) or ("signatures" if d.code in SIGNATURE_CODES else "records")
        if d not in self.findings[key]:
            self.findings[key].append(d)


def audit(run: Run) -> AuditReport:
    """Verify the whole chain from the git objects (no cache) as of ``run.today``; every finding, in seven checks."""
    root, today = run.root, run.today
    require_full_history(root)
    snap = worktree_snapshot(root)
    reader = ReleaseReader(root, cached=False)
    a = _Audit(root, today, snap, reader)
    a.entries = release_history(root, snap, use_cache=False, reader=reader)
    head = git.head(root)
    if head is not None:
        a.order = {c: i for i, c in enumerate(git.text(root, "rev-list", "--first-parent", "--reverse", head).split())}
    for d in snap.diagnostics:
        if d.path.startswith(RELEASES_DIR + "/"):
            a.add(d, "records")
    for entry in a.entries:
        for d in entry.problems:
            a.add(d)
    _records(a)
    _record_history(a)
    _signatures(a)
    _dates(a)
    _timeline(a)
    _text(a)
    _reviews(a)
    _obligations(a)
    manual = snap.manual
    a.scope.setdefault("digests", f"{len(a.entries)} 个版本")
    return AuditReport(
        document=manual.metadata.document_number if manual else "",
        title=manual.metadata.title if manual else "",
        today=today,
        head=head,
        releases=a.entries,
        areas=tuple(Area(key, title, a.scope.get(key, ""), tuple(a.findings[key])) for key, title in AREAS),
    )


# --- records and tags ------------------------------------------------------------------------


def _records(a: _Audit) -> None:
    added = git.commits_adding(a.root, RELEASES_DIR + "/") if a.order else {}
    present = set(a.snap.records_raw)
    for path, commit in sorted(added.items()):
        if path not in present and path.endswith(".yml"):
            a.add(diagnostic(path, 0, 0, "MAN672", f"发布记录 {path} 已被删除（由提交 {commit[:10]} 添加）；已发布的记录不得删除"))
    tags: dict[str, str] = {}
    if a.order:
        out = git.text(a.root, "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", "refs/tags/release/")
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                tags[parts[0]] = parts[2] if len(parts) > 2 else parts[1]
    for e in a.entries:
        if e.commit is None:
            continue
        ref = f"refs/tags/{tag_name(e.record.version)}"
        target = tags.get(ref)
        if target is None:
            a.add(diagnostic(e.record.path, 0, 0, "MAN971", f"{e.record.version} 没有发布标签 {ref[10:]}（若本克隆未取回标签，请运行 git fetch --tags）"))
        elif target != e.commit:
            a.add(
                diagnostic(e.record.path, 0, 0, "MAN715", f"发布标签 {ref[10:]} 指向 {target[:10]}，而记录 {e.record.version} 的提交是 {e.commit[:10]}")
            )
    a.scope["records"] = f"{len(a.entries)} 份发布记录、{len(tags)} 个发布标签" + _release_chain(a)


def _release_chain(a: _Audit) -> str:
    """The hash chain of releases: a record that carries ``previous_release`` names the commit of
    the release before it. If an earlier release commit is rewritten (amended, rebased), its new
    commit is not the one the later record named: MAN753. Records before the first one carrying
    the field predate it and are not judged; after it, a record without the field is MAN754.
    Returns the scope text (where the chain starts)."""
    start: ReleaseEntry | None = None
    for i, e in enumerate(a.entries):
        r = e.record
        named = r.previous_release
        if named is None:
            if start is not None:
                a.add(
                    diagnostic(
                        r.path, 0, 0, "MAN754",
                        f"{r.version} 的发布记录没有 previous_release，而自 {start.record.version} 起每份发布记录都指明上一次发布的提交；"
                        "发布记录只能由 manual release 写入",
                    )
                )  # fmt: skip
            continue
        start = start or e
        before = a.entries[i - 1] if i > 0 else None
        if before is None:
            a.add(diagnostic(r.path, 0, 0, "MAN753", f"{r.version} 是第一个版本，却指明了上一次发布的提交 {named[:10]}"))
        elif before.commit != named:
            exists = named in a.order
            actual = before.commit[:10] if before.commit else "（不在历史中）"
            a.add(
                diagnostic(
                    r.path, 0, 0, "MAN753",
                    f"{r.version} 记录的上一次发布（{before.record.version}）提交是 {named[:10]}，"
                    + ("该提交已不在本分支的历史中" if not exists else "但它不是添加该发布记录的提交")
                    + f"，现在 {before.record.version} 的提交是 {actual}：发布历史被改写（amend、rebase）；"
                    "请从未改写的备份或远程仓库恢复历史，并用 manual audit --witness 核对",
                )
            )  # fmt: skip
    return f"；发布哈希链自 {start.record.version} 起" if start else "；发布记录尚无哈希链（previous_release）"


def _record_history(a: _Audit) -> None:
    """Every record under changelog/ is immutable in history, not only at the tip
    (records.immutability): after the commit that first recorded it, any deletion, edit or
    re-adding is MAN748 (releases, reviews, released requests) or MAN851 (every other kind)."""
    from manualkit.records.immutability import immutability_findings

    if not a.order:
        return
    for d in immutability_findings(a.root, [e.record for e in a.entries]):
        a.add(d, "records")


# --- signatures ------------------------------------------------------------------------------


def _signatures(a: _Audit) -> None:
    approvals = 0
    for index, e in enumerate(a.entries):
        r = e.record
        approvals += len(e.approvals)
        if e.commit is None:
            continue
        manual, policy = a.reader.manual(e.commit), _policy_at(a, index)
        if manual is None or policy is None:
            continue
        company_zone = _zone(a.reader.policy(e.commit) or policy)
        for view in e.approvals:
            signed = company_day(view.signed_at, company_zone)
            if signed is not None and signed > r.published:
                a.add(
                    diagnostic(r.path, 0, 0, "MAN713", f"{r.version}：{view.change_request} 的“{view.role}”签署时间 {view.signed_at} 晚于发布日期 {r.published}")
                )
            cr = a.reader.request(e.commit, view.change_request, manual.metadata.departments)
            if signed is not None and cr is not None and signed < cr.date:
                a.add(
                    diagnostic(r.path, 0, 0, "MAN744", f"{r.version}：{view.change_request} 的“{view.role}”签署时间 {view.signed_at} 早于申请日期 {cr.date}"),
                    "signatures",
                )
        listed = {(x.change_request, x.role, x.signer, x.signed_at) for x in r.approvals}
        valid = {(x.change_request, x.role, x.signer, x.signed_at) for x in e.approvals if x.valid}
        if e.approvals and listed != valid:
            a.add(diagnostic(r.path, 0, 0, "MAN714", f"{r.version} 的发布记录所列签署与修订申请单中的有效签署不一致"))
        for cr_id in r.change_requests:
            released = a.reader.request(e.commit, cr_id, manual.metadata.departments)
            if released is None:
                continue
            current = a.snap.requests.get(cr_id)
            if current is None:
                a.add(diagnostic(released.path, 0, 0, "MAN673", f"{cr_id} 已随 {r.version} 发布，但已被删除"), "signatures")
                continue
            if current.raw == released.raw:
                continue
            a.add(diagnostic(current.path, 0, 0, "MAN673", f"{cr_id} 已随 {r.version} 发布（提交 {e.commit[:10]}），此后被修改"), "signatures")
            # What the file says now, checked against the text it claims to approve.
            for d in approval_findings(current, manual, policy)[1]:
                if d.code in ("MAN650", "MAN651", "MAN652", "MAN655", "MAN850"):
                    a.add(diagnostic(d.path, d.line, d.col, d.code, f"（当前文件）{d.message}"), "signatures")
    a.scope["signatures"] = f"{len(a.entries)} 个版本、{approvals} 项签署"


def _zone(policy: Policy) -> dt.tzinfo:
    try:
        return zone(policy.time_zone)
    except ValueError:
        return zone(None)


# --- dates and timeline -------------------------------------------------------------------------


def _policy_at(a: _Audit, index: int) -> Policy | None:
    """The policy that judges release ``index``: the one in force before it (the previous
    release's); the first release's own policy is the root."""
    judge = a.entries[index - 1] if index > 0 else a.entries[index]
    return a.reader.policy(judge.commit) if judge.commit else None


def _dates(a: _Audit) -> None:
    for index, e in enumerate(a.entries):
        r = e.record
        policy = _policy_at(a, index)
        change_class = policy.change_class(r.class_key) if policy else None
        if change_class is not None:
            earliest = r.published + dt.timedelta(days=change_class.notice_days)
            if r.effective < earliest:
                a.add(
                    diagnostic(
                        r.path, 0, 0, "MAN663",
                        f"{r.version}（{change_class.name}）{r.published} 发布、{r.effective} 实施，短于 {change_class.notice_days} 日的最短公告期（最早 {earliest}）",
                    )
                )  # fmt: skip
        manual = a.reader.manual(e.commit) if e.commit else None
        for cr_id in r.change_requests:
            cr = a.reader.request(e.commit, cr_id, manual.metadata.departments) if e.commit and manual else None
            if cr is None or not cr.consultation_required:
                continue
            consulted = as_date(cr.data["staff_consultation"].get("date"))
            if consulted is None or not cr.consultation_done or consulted >= r.effective:
                when = f"协商日期 {consulted}" if consulted else "没有协商记录"
                a.add(diagnostic(r.path, 0, 0, "MAN643", f"{r.version}：{cr_id} 涉及考核规则，{when}，须在实施日期 {r.effective} 之前完成职工协商和公示"))
    a.scope["dates"] = f"{len(a.entries)} 个版本的发布日期与实施日期"


def _timeline(a: _Audit) -> None:
    previous: ReleaseEntry | None = None
    for index, e in enumerate(a.entries):
        r = e.record
        if previous is None:
            if r.previous is not None or str(r.version) != "A/0":
                a.add(diagnostic(r.path, 0, 0, "MAN711", f"最早的版本 {r.version} 不是首次发布 A/0（上一版本记为 {r.previous}）；更早的版本记录缺失"))
        else:
            p = previous.record
            if r.previous != p.version:
                a.add(diagnostic(r.path, 0, 0, "MAN711", f"{r.version} 记录的上一版本为 {r.previous}，但前一个发布记录是 {p.version}；版本序列有缺口"))
            policy = _policy_at(a, index)
            expected = _next_version(p, r.class_key, policy)
            if expected is not None and expected != str(r.version):
                a.add(diagnostic(r.path, 0, 0, "MAN711", f"{p.version} 之后的{_class_name(policy, r.class_key)}应为 {expected}，实际为 {r.version}"))
            if r.effective <= p.effective:
                a.add(diagnostic(r.path, 0, 0, "MAN664", f"{r.version} 的实施日期 {r.effective} 不晚于 {p.version} 的实施日期 {p.effective}；两个版本的有效期重叠"))
            if r.published < p.published:
                a.add(diagnostic(r.path, 0, 0, "MAN665", f"{r.version} 的发布日期 {r.published} 早于 {p.version} 的发布日期 {p.published}"))
            if e.commit and previous.commit and e.commit in a.order and previous.commit in a.order and a.order[e.commit] < a.order[previous.commit]:
                a.add(diagnostic(r.path, 0, 0, "MAN712", f"{r.version} 的发布提交 {e.commit[:10]} 早于 {p.version} 的发布提交 {previous.commit[:10]}"))
        classes = {v.class_key for v in e.requests}
        if classes and policy_rank(r.class_key) != min(policy_rank(c) for c in classes):
            a.add(diagnostic(r.path, 0, 0, "MAN711", f"{r.version} 的修订类别 {r.class_key} 与其修订申请单中最高的类别不符"))
        previous = e
    if a.entries:
        first, last = a.entries[0].record, a.entries[-1].record
        a.scope["timeline"] = f"{first.version}（{first.effective} 起）至 {last.version}（{last.effective} 起），共 {len(a.entries)} 个版本"


def policy_rank(class_key: str) -> int:
    return CLASS_ORDER.index(class_key) if class_key in CLASS_ORDER else len(CLASS_ORDER)


def _next_version(previous: Any, class_key: str, policy: Policy | None) -> str | None:
    change_class = policy.change_class(class_key) if policy else None
    if change_class is None or policy is None:
        return None
    try:
        return str(previous.version.next(change_class.version_step, policy.revision_limit))
    except Exception:  # the letters ran out: MAN630 is the release's own refusal
        return None


def _class_name(policy: Policy | None, key: str) -> str:
    found = policy.change_class(key) if policy else None
    return found.name if found else key


# --- released text ----------------------------------------------------------------------------------


def section_map(manual: Manual | None) -> dict[str, tuple[str, str]]:
    """Section id → (title, body); ``N.0`` is a chapter's text before its first section and
    ``N.front`` its front matter (title, 负责部门, review cycle; the review date is proven by the
    signed review records instead)."""
    out: dict[str, tuple[str, str]] = {}
    if manual is None:
        return out
    for chapter in manual.chapters:
        out[f"{chapter.number}{FRONT}"] = ("", f"{chapter.title}\n{chapter.owner}\n{chapter.review_cycle_months}")
        if chapter.preamble:
            out[f"{chapter.number}.0"] = ("", chapter.preamble)
        for s in chapter.sections:
            out.setdefault(s.id, (s.title, s.body))
    return out


def _changed(before: Mapping[str, tuple[str, str]], after: Mapping[str, tuple[str, str]]) -> set[str]:
    return {sid for sid in set(before) | set(after) if before.get(sid) != after.get(sid)}


def changed_since(released: Manual | None, now: Manual | None) -> set[str]:
    """The sections (``N.0`` for a chapter's opening text) that differ between two manuals."""
    return _changed(section_map(released), section_map(now))


def _label(sid: str) -> str:
    return section_label(sid)


def _text(a: _Audit) -> None:
    released = [e for e in a.entries if e.commit is not None and e.commit in a.order]
    released.sort(key=lambda e: a.order[e.commit or ""])
    if not released or not a.order:
        a.scope["text"] = "尚无发布"
        return
    first = a.order[released[0].commit or ""]
    touching = git.text(a.root, "log", "--first-parent", "--reverse", "--format=%H", git.head(a.root) or "HEAD", "--", MANUAL_DIR + "/", CERTS_DIR + "/").split()
    commits = [c for c in touching if a.order.get(c, -1) > first]
    compared = [*(e.commit or "" for e in released), *commits]
    a.reader.files_at(compared)
    prefetch_controlled(a.reader.objects, compared)
    positions = [a.order[e.commit or ""] for e in released]

    def sections_at(commit: str) -> dict[str, tuple[str, str]]:
        # policy.yml and certs/ are compared as two more "sections" (records.trust).
        controlled = {k: ("", v) for k, v in controlled_at(a.reader.objects, commit).items()}
        return {**section_map(a.reader.manual(commit)), **controlled}

    open_sections: list[set[str]] = []

    def allowed(entry: ReleaseEntry | None) -> set[str]:
        if entry is None:  # after the last release: the open change requests may be in preparation
            if not open_sections:
                from manualkit.records.procedure import procedure_state  # a returned request allows no change

                returned = procedure_state(a.snap).returns if a.snap.policy is not None and a.snap.manual is not None else {}
                listed = {s for cr in open_requests(a.snap.requests, a.snap.records, returned) for s in cr.sections}
                open_sections.append(listed | front_matter_covered(listed))
            return open_sections[0]
        listed = {s for v in entry.requests for s in v.sections} | set(entry.record.sections)
        return listed | front_matter_covered(listed)

    for entry in released:  # what check refused before a release, found in one made all the same
        manual = a.reader.manual(entry.commit or "")
        for chapter in manual.chapters if manual is not None else ():
            lines = ChapterLines(chapter.number, [(s.id, s.line, s.body, s.body_line) for s in chapter.sections], chapter.preamble)
            for d in unsafe_findings(chapter.body, chapter.path, chapter.body_line):  # named by clause, not by source line
                where = f" {line_clause(lines, d.line)}" if d.line else ""
                a.add(d._replace(line=0, col=0, message=f"{entry.record.version} 版{where}：{d.message}"), "text")
    reported: set[tuple[str, str]] = set()
    for commit in commits:
        at = a.order[commit]
        k = max(i for i, p in enumerate(positions) if p <= at)
        base = released[k]
        nxt: ReleaseEntry | None = released[k + 1] if k + 1 < len(released) else None
        if base.commit == commit and k > 0:  # a release commit that itself changed manual/
            base, nxt = released[k - 1], base
        before, after = sections_at(base.commit or ""), sections_at(commit)
        changed = _changed(before, after) - allowed(nxt)
        for sid in sorted(changed, key=_sort_key):
            if (sid, str(base.record.version)) in reported:
                continue
            reported.add((sid, str(base.record.version)))
            subject = git.text(a.root, "show", "-s", "--format=%h %cs %s", commit)
            then = f"其后的发布 {nxt.record.version} 未列出该节" if nxt is not None else "也没有待发布的修订申请单列出该节"
            where = changed_clause_note(sid, before, after)
            a.add(diagnostic(MANUAL_DIR, 0, 0, "MAN710", f"已发布的{_label(sid)}（{base.record.version} 版）在提交 {subject} 中被修改{where}，{then}"))
    last = released[-1]
    if a.snap.manual is not None:
        now = {**section_map(a.snap.manual), **{k: ("", v) for k, v in controlled_in_worktree(a.root).items()}}
        before = sections_at(last.commit or "")
        changed = _changed(before, now) - allowed(None)
        for sid in sorted(changed, key=_sort_key):
            where = changed_clause_note(sid, before, now)
            a.add(diagnostic(MANUAL_DIR, 0, 0, "MAN710", f"工作区中已发布的{_label(sid)}（{last.record.version} 版）被修改{where}，但没有待发布的修订申请单列出该节"))
    a.scope["text"] = f"{len(commits)} 个修改 manual/ 的后续提交及工作区"


def _sort_key(sid: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in sid.split("."))


# --- periodic reviews ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    path: str
    chapter: int
    reviewed_on: dt.date
    valid: bool


def _reviews(a: _Audit) -> None:
    added = git.commits_adding(a.root, REVIEWS_DIR + "/") if a.order else {}
    raw_now = a.snap.reviews_raw
    for path, commit in sorted(added.items()):
        if path.endswith(".yml") and path not in raw_now:
            a.add(diagnostic(path, 0, 0, "MAN722", f"定期评审记录已被删除（由提交 {commit[:10]} 添加）"))
    reviews: list[Review] = []
    for path, raw in sorted(raw_now.items()):
        if not path.endswith(".yml"):
            continue
        added_by = added.get(path)
        if added_by is None:
            a.add(diagnostic(path, 0, 0, "MAN722", "定期评审记录尚未提交到 git 历史中，无法证明评审时间"))
        elif a.reader.objects.blob(added_by, path) != raw:
            a.add(diagnostic(path, 0, 0, "MAN722", f"定期评审记录在提交（{added_by[:10]}）之后被修改"))
        manual = a.reader.manual(added_by) if added_by else a.snap.manual
        policy = _policy_in_force_at(a, added_by)
        review = _verify_review(a, path, raw, manual, policy)
        if review is not None:
            reviews.append(review)
    manual = a.snap.manual
    first = a.entries[0] if a.entries else None
    baseline_manual = a.reader.manual(first.commit) if first and first.commit else None
    if manual is not None and first is not None:
        for chapter in manual.chapters:
            base_chapter = next((c for c in baseline_manual.chapters if c.number == chapter.number), None) if baseline_manual else None
            # The first release approved the chapter with its review date; later dates need a signed review.
            baseline = base_chapter.last_reviewed if base_chapter else first.record.effective
            dates = sorted({r.reviewed_on for r in reviews if r.valid and r.chapter == chapter.number})
            points = [baseline, *(d for d in dates if d > baseline)]
            for before, after in itertools.pairwise(points):
                due = add_months(before, chapter.review_cycle_months)
                if after > due:
                    a.add(
                        diagnostic(
                            chapter.path, chapter.review_line, 1, "MAN720",
                            f"第{chapter.number}章自 {before} 起应于 {due} 前评审，实际于 {after} 才评审（周期 {chapter.review_cycle_months} 个月）",
                        )
                    )  # fmt: skip
            due = add_months(points[-1], chapter.review_cycle_months)
            if due < a.today:
                a.add(diagnostic(chapter.path, chapter.review_line, 1, "MAN720", f"第{chapter.number}章的定期评审应于 {due} 前完成，至 {a.today} 已逾期"))
            if chapter.last_reviewed not in points:
                a.add(
                    diagnostic(
                        chapter.path, chapter.review_line, 1, "MAN721",
                        f"第{chapter.number}章的上次评审日期 {chapter.last_reviewed} 与签署的评审记录不符（最近一次有效评审：{points[-1]}）",
                    )
                )  # fmt: skip
    a.scope["reviews"] = f"{len(reviews)} 份评审记录、{len(manual.chapters) if manual else 0} 章的评审日期"


def _policy_in_force_at(a: _Audit, commit: str | None) -> Policy | None:
    """The policy of the last release at or before ``commit`` (first-parent order): a signed
    record is judged by the registry in force when it was made, not by what it brings."""
    at = a.order.get(commit or "", len(a.order))
    index = max((i for i, e in enumerate(a.entries) if e.commit is not None and a.order.get(e.commit, len(a.order) + 1) <= at), default=None)
    if index is None:
        return a.reader.policy(commit) if commit else a.snap.policy
    judge = a.entries[index].commit
    return a.reader.policy(judge) if judge else None


def _verify_review(a: _Audit, path: str, raw: bytes, manual: Manual | None, policy: Policy | None) -> Review | None:
    data, diags = parse_review(path, raw)
    if data is None:
        for d in diags:
            a.add(d)
        return None
    number = int(data["chapter"])
    day = as_date(data["reviewed_on"])
    assert day is not None
    problems: list[str] = []
    expected_name = f"{day.isoformat()}-ch{number}.yml"
    if not path.endswith("/" + expected_name):
        problems.append(f"文件名应为 {expected_name}")
    if day > a.today:
        problems.append(f"评审日期 {day} 晚于今天")
    if manual is None or policy is None:
        problems.append("评审时的手册或修订政策无法加载")
    else:
        chapter = next((c for c in manual.chapters if c.number == number), None)
        approver = policy.approver(str(data["reviewer"]))
        if chapter is None:
            problems.append(f"第 {number} 章不存在")
        elif chapter_digest(chapter) != data["digest"]:
            problems.append("摘要与评审时该章的内容不符")
        if approver is None:
            problems.append(f"评审人 {data['reviewer']} 不在签署人名录中")
        else:
            if REVIEWER_ROLE not in approver.roles:
                problems.append(f"{approver.name} 无权签署定期评审（需要“{REVIEWER_ROLE}”角色）")
            message = review_message(
                manual.metadata.document_number, number, approver.id, day.isoformat(), str(data["digest"]), str(data["conclusion"])
            )
            if approver.name != data["name"] or not sshsig.verify(message, str(data["signature"]), approver.public_key, policy.signing_namespace):
                problems.append("电子签名无效：签名被伪造、复用或记录被改动")
    for problem in problems:
        a.add(diagnostic(path, 0, 0, "MAN690", f"第{number}章 {day} 的定期评审记录无效：{problem}"))
    return Review(path, number, day, not problems)


# --- chapter 8's other obligations ------------------------------------------------------------


def _obligations(a: _Audit) -> None:
    from manualkit.records.procedure import obligation_findings, procedure_state
    from manualkit.records.requirements import rules_at_releases

    if a.snap.manual is None or a.snap.policy is None:
        return
    state = procedure_state(a.snap, a.root)
    for d in obligation_findings(a.snap, state, a.today, rules_at_releases(a.reader, a.entries)):
        a.add(d, "obligations")
    from manualkit.records.revocation import bound_findings

    for d in bound_findings(state.revocations):  # MAN853: a back-dated revocation read as bounded
        a.add(d, "obligations")
    a.scope["obligations"] = f"{len(state.returns)} 份退回、{len(state.revocations)} 份密钥停用、{len(state.training)} 份培训记录"
