"""``manual status``: the version in force today, what is coming, open requests, reviews due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from manualkit.base.clock import add_months
from manualkit.records.approval import approval_findings, missing_roles
from manualkit.records.history import ReleaseEntry, in_force, release_history, upcoming
from manualkit.records.release import open_requests
from manualkit.records.repository import worktree_snapshot

REVIEW_WARNING_DAYS = 30


@dataclass(frozen=True)
class OpenRequest:
    id: str
    title: str
    class_name: str
    sections: tuple[str, ...]
    lacking: tuple[str, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ReviewDue:
    chapter: int
    title: str
    due: dt.date
    overdue: bool


@dataclass(frozen=True)
class Status:
    today: dt.date
    in_force: ReleaseEntry | None
    upcoming: list[ReleaseEntry]
    open_requests: list[OpenRequest]
    reviews_due: list[ReviewDue]


def status(root: Path, today: dt.date) -> Status:
    snap = worktree_snapshot(root)
    manual, policy = snap.require()
    entries = release_history(root, snap)
    requests = []
    from manualkit.records.trust import controlled_in_worktree, judging

    policy = judging(root, snap.records, policy)  # open requests are judged by the policy in force
    controlled = controlled_in_worktree(root)
    for cr in open_requests(snap.requests, snap.records):
        checks, findings = approval_findings(cr, manual, policy, controlled)
        change_class = policy.change_class(cr.class_key)
        requests.append(
            OpenRequest(
                cr.id, cr.title, change_class.name if change_class else cr.class_key, cr.sections,
                tuple(missing_roles(cr, checks, policy)), tuple(d.message for d in findings),
            )
        )  # fmt: skip
    reviews = []
    for chapter in manual.chapters:
        due = add_months(chapter.last_reviewed, chapter.review_cycle_months)
        if due <= today + dt.timedelta(days=REVIEW_WARNING_DAYS):
            reviews.append(ReviewDue(chapter.number, chapter.title, due, due < today))
    return Status(today, in_force(entries, today), upcoming(entries, today), requests, reviews)


def render_status(s: Status) -> str:
    lines = [f"今天：{s.today.isoformat()}"]
    if s.in_force is None:
        lines.append("现行有效版本：无（尚无已生效的版本）")
    else:
        r = s.in_force.record
        mark = "" if s.in_force.valid else "（验证失败！运行 manual history 查看）"
        lines.append(f"现行有效版本：{r.version}，{r.published.isoformat()} 发布，{r.effective.isoformat()} 起实施{mark}")
    for e in s.upcoming:
        lines.append(f"待实施版本：{e.record.version} 已批准，将于 {e.record.effective.isoformat()} 生效（{'、'.join(e.record.change_requests)}）")
    if not s.open_requests:
        lines.append("未发布的修订申请单：无")
    for cr in s.open_requests:
        lack = "尚缺签署：" + "、".join(cr.lacking) if cr.lacking else "签署齐全，可以发布"
        lines.append(f"修订申请单 {cr.id}〔{cr.class_name}〕{cr.title}（{', '.join(cr.sections)}）：{lack}")
        lines += [f"    {p}" for p in cr.problems]
    for due in s.reviews_due:
        state = "已逾期" if due.overdue else "即将到期"
        lines.append(f"定期评审{state}：第{due.chapter}章 {due.title}，应于 {due.due.isoformat()} 前完成")
    return "\n".join(lines) + "\n"
