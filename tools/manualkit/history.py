"""The release history: every released version with its dates, approvals and their verification.

Each release is verified where it was made: its record must be unchanged since the commit that
added it, its content digest must be that commit's ``manual/`` tree, and every approval must be
a valid signature over the text as released, by a signer who held the role then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from manualkit import git
from manualkit.approval import approval_findings, missing_roles
from manualkit.diagnostics import Diagnostic, diagnostic
from manualkit.release import RELEASES_DIR, ReleaseRecord
from manualkit.repository import Snapshot, commit_snapshot, require_full_history, worktree_snapshot


@dataclass(frozen=True)
class ApprovalView:
    change_request: str
    role: str
    signer: str
    name: str
    signed_at: str
    valid: bool


@dataclass(frozen=True)
class ReleaseEntry:
    record: ReleaseRecord
    commit: str | None
    effective_to: dt.date | None
    approvals: tuple[ApprovalView, ...]
    digest_valid: bool
    problems: tuple[Diagnostic, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

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
                }
                for a in self.approvals
            ],
            "digest": r.content_digest,
            "digest_valid": self.digest_valid,
            "commit": self.commit,
            "valid": self.valid,
            "problems": [d.as_dict() for d in self.problems],
        }


def release_history(root: Path, head: Snapshot | None = None) -> list[ReleaseEntry]:
    """Every release recorded in the current tree, oldest first, each verified at its commit."""
    require_full_history(root)
    head = head or worktree_snapshot(root)
    added = git.commits_adding(root, RELEASES_DIR + "/")
    entries: list[ReleaseEntry] = []
    records = head.records
    for i, record in enumerate(records):
        effective_to = records[i + 1].effective if i + 1 < len(records) else None
        entries.append(verify_release(root, record, added.get(record.path), head, effective_to))
    return entries


def verify_release(root: Path, record: ReleaseRecord, commit: str | None, head: Snapshot, effective_to: dt.date | None) -> ReleaseEntry:
    problems: list[Diagnostic] = []
    views: list[ApprovalView] = []
    digest_valid = False
    if commit is None:
        problems.append(diagnostic(record.path, 0, 0, "MAN680", f"{record.version} 的发布记录未提交到 git 历史中，无法验证"))
        return ReleaseEntry(record, None, effective_to, (), False, tuple(problems))
    at_release = git.show(root, commit, record.path)
    if at_release != head.records_raw.get(record.path):
        problems.append(diagnostic(record.path, 0, 0, "MAN681", f"{record.version} 的发布记录在发布（{commit[:10]}）之后被修改"))
    tree = git.tree_hash(root, commit, "manual")
    digest_valid = tree == record.content_digest
    if not digest_valid:
        problems.append(
            diagnostic(record.path, 0, 0, "MAN682", f"{record.version} 的内容摘要 {record.content_digest[:12]} 与发布提交中 manual/ 的树哈希 {str(tree)[:12]} 不符")
        )
    snap = commit_snapshot(root, commit)
    if snap.manual is None or snap.policy is None:
        problems.append(diagnostic(record.path, 0, 0, "MAN683", f"{record.version} 发布时的手册或修订政策无法加载"))
        return ReleaseEntry(record, commit, effective_to, (), digest_valid, tuple(problems))
    for cr_id in record.change_requests:
        cr = snap.requests.get(cr_id)
        if cr is None:
            problems.append(diagnostic(record.path, 0, 0, "MAN684", f"{record.version} 所列修订申请单 {cr_id} 在发布提交中不存在"))
            continue
        checks, findings = approval_findings(cr, snap.manual, snap.policy)
        problems += [diagnostic(record.path, 0, 0, d.code, f"{record.version}：{d.message}") for d in findings]
        for role in missing_roles(cr, checks, snap.policy):
            problems.append(diagnostic(record.path, 0, 0, "MAN660", f"{record.version}：{cr_id} 缺少有效的“{role}”签署"))
        views += [
            ApprovalView(cr_id, c.approval.role, c.approval.signer, c.approval.name, c.approval.signed_at, c.valid) for c in checks
        ]
    return ReleaseEntry(record, commit, effective_to, tuple(views), digest_valid, tuple(problems))


def in_force(entries: list[ReleaseEntry], day: dt.date) -> ReleaseEntry | None:
    """The version in force on ``day``: the latest whose effective date has come."""
    current = None
    for entry in entries:
        if entry.record.effective <= day:
            current = entry
    return current


def upcoming(entries: list[ReleaseEntry], day: dt.date) -> list[ReleaseEntry]:
    return [e for e in entries if e.record.effective > day]
