"""``manual status``: the version in force today, what is coming, open requests, reviews due."""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome, format_option

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.history import ReleaseEntry
    from manualkit.records.procedure import (
        CopyDue,
        RequestDeadline,
        TrainingDue,
    )

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
    requests: list[RequestDeadline] = field(default_factory=list)  # 8.2 三: whom each waits for, due
    training: list[TrainingDue] = field(default_factory=list)  # 8.4 二, 6.4
    copies: list[CopyDue] = field(default_factory=list)  # 8.4 三: copies of superseded versions out
    warnings: list[Diagnostic] = field(default_factory=list)  # invalid chapter 8 records, calendar gaps


def status(run: Run) -> Status:
    """The repository at ``run.root`` as it stands on ``run.today``."""
    root, today = run.root, run.today
    from manualkit.base.clock import add_months
    from manualkit.records.approval import approval_findings, missing_roles
    from manualkit.records.history import in_force, release_history, upcoming
    from manualkit.records.procedure import copies_due, procedure_state, request_deadlines, training_due
    from manualkit.records.release import open_requests
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(root)
    manual, policy = snap.require()
    entries = release_history(root, snap)
    state = procedure_state(snap)
    requests = []
    from manualkit.records.trust import controlled_in_worktree, judging

    policy = judging(root, snap.records, policy)  # open requests are judged by the policy in force
    controlled = controlled_in_worktree(root)
    for cr in open_requests(snap.requests, snap.records, state.returns):
        checks, findings = approval_findings(cr, manual, policy, state.revocations, controlled)
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
    deadlines = request_deadlines(snap, state, today)
    copies, problems = copies_due(snap, state, today)
    warnings = [*state.problems, *problems, *(w for d in deadlines for w in d.warnings)]
    training = training_due(snap, state, today)
    if any(t.late for t in training):  # judged by the rules in force at each release (records.requirements)
        from manualkit.records.history import ReleaseReader
        from manualkit.records.requirements import rules_at_releases

        training = training_due(snap, state, today, rules_at_releases(ReleaseReader(root), entries))
    return Status(
        today, in_force(entries, today), upcoming(entries, today), requests, reviews,
        deadlines, training, copies, list(dict.fromkeys(warnings)),
    )  # fmt: skip


def render_status_json(s: Status) -> str:
    import json

    data = {
        "today": s.today.isoformat(),
        "in_force": str(s.in_force.record.version) if s.in_force else None,
        "upcoming": [str(e.record.version) for e in s.upcoming],
        "requests": [d.as_dict() for d in s.requests],
        "training": [
            {
                "version": t.version,
                "effective": t.effective.isoformat(),
                "done": t.done.date.isoformat() if t.done else None,
                "record": t.done.path if t.done else None,
                "late": t.late,
                "predates_requirement": t.predates,
            }
            for t in s.training
        ],
        "copies_not_recalled": [
            {**c.copy.as_dict(), "superseded": c.superseded.isoformat(), "due": c.due.isoformat(), "overdue": c.overdue}
            for c in s.copies
        ],
        "reviews_due": [{"chapter": r.chapter, "due": r.due.isoformat(), "overdue": r.overdue} for r in s.reviews_due],
        "warnings": [d.as_dict() for d in s.warnings],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render_status(s: Status) -> str:
    lines = [f"今天：{s.today.isoformat()}"]
    if s.in_force is None:
        lines.append("现行有效版本：无（尚无已生效的版本）")
    else:
        r = s.in_force.record
        mark = "" if s.in_force.valid else "（验证失败！运行 manual history 查看）"
        lines.append(
            f"现行有效版本：{r.version}，{r.published.isoformat()} 发布，{r.effective.isoformat()} 起实施{mark}"
        )
    for e in s.upcoming:
        lines.append(
            f"待实施版本：{e.record.version} 已批准，将于 {e.record.effective.isoformat()} 生效（{'、'.join(e.record.change_requests)}）"
        )
    if not s.open_requests:
        lines.append("未发布的修订申请单：无")
    for cr in s.open_requests:
        lack = "尚缺签署：" + "、".join(cr.lacking) if cr.lacking else "签署齐全，可以发布"
        lines.append(f"修订申请单 {cr.id}〔{cr.class_name}〕{cr.title}（{', '.join(cr.sections)}）：{lack}")
        lines += [f"    {p}" for p in cr.problems]
    for d in s.requests:
        if d.status == "returned" and d.returned is not None:
            lines.append(
                f"修订申请单 {d.id} 已退回（{d.returned.fields['role']} {d.returned.name}，{d.returned.fields['returned_at']}）：{d.returned.fields['reason']}"
            )
        elif d.due is not None:
            late = "，已逾期！" if d.overdue else ""
            lines.append(
                f"修订申请单 {d.id} 自 {d.since} 起等待“{d.waiting_for}”签署，应于 {d.due}（5 个工作日）前完成{late}"
            )
        if d.replaces:
            lines.append(f"    重新提交，替代已退回的 {d.replaces}")
    for t in s.training:
        if t.done is not None:
            lines.append(f"培训：{t.version} 版已于 {t.done.date} 完成培训（{t.done.path}）")
        elif t.predates:
            lines.append(f"培训：{t.version} 版于 {t.effective} 实施，没有培训记录；其发布时尚无培训记录的要求（早于该要求）")
        elif t.late:
            lines.append(f"培训：{t.version} 版已于 {t.effective} 实施，但实施前没有培训记录！")
        else:
            lines.append(f"培训：{t.version} 版须在 {t.effective} 实施前完成培训，并用 manual training 记录")
    for c in s.copies:
        late = "，已逾期！" if c.overdue else ""
        lines.append(
            f"未回收的受控副本：{c.copy.number}（{c.copy.version} 版，{c.copy.holder}，{c.copy.department}），应于 {c.due} 前回收{late}"
        )
    lines += [f"警告：{d.render()}" for d in s.warnings]
    for due in s.reviews_due:
        state = "已逾期" if due.overdue else "即将到期"
        lines.append(f"定期评审{state}：第{due.chapter}章 {due.title}，应于 {due.due.isoformat()} 前完成")
    return "\n".join(lines) + "\n"


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    format_option(p, ("text", "json"), json_alias=True)


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    result = status(context.run)
    outcome = Outcome()
    outcome.write(render_status_json(result) if args.format == "json" else render_status(result))
    return outcome


COMMANDS = (Command("status", _arguments, _run),)
