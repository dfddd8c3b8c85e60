"""What the desk's pages show, as plain data: the 待办 list and one change request with its
application, 修订对照表, redline against the latest release, full proposed text, signatures with
their verification and any return. HTML fragments here come from the escaping renderers of
``documents/`` (comparison_table, html_redline); everything else is escaped by the templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from manualkit.base.diagnostics import fail
from manualkit.base.run import Run
from manualkit.documents.release_comparison import released_manual
from manualkit.records.approval import approval_findings
from manualkit.records.change_request import approval_digest, request_path
from manualkit.records.history import ReleaseReader, release_history
from manualkit.records.procedure import procedure_state, request_deadlines
from manualkit.records.repository import worktree_snapshot
from manualkit.records.trust import controlled_in_worktree, judging

INDENT_STYLE = re.compile(r' style="margin-left:(\d{1,2})em"')


def without_inline_style(html: str) -> str:
    """The redline's list indents as a data attribute (the desk's CSP allows no inline style)."""
    return INDENT_STYLE.sub(lambda m: f' data-indent="{min(int(m.group(1)), 12)}"', html)


@dataclass(frozen=True)
class TodoItem:
    id: str
    title: str
    status: str
    waiting_for: str | None
    since: str
    due: str
    overdue: bool


@dataclass(frozen=True)
class SignatureView:
    role: str
    signer: str
    name: str
    meaning: str
    signed_at: str
    method: str  # "SSH" or "WebAuthn"
    valid: bool
    problem: str


@dataclass(frozen=True)
class SignerChoice:
    id: str
    name: str
    department: str
    roles: tuple[str, ...]
    credentials: tuple[str, ...]  # WebAuthn credential ids (base64url)


@dataclass(frozen=True)
class OpinionView:
    """One 审核意见 (with its replies) and its 处理意见, for the request page."""

    label: str  # CR-2026-004#2
    where: str
    author: str
    date: str
    kind: str
    marked: str
    text: str  # a comment's text, or a change's "old → new"
    replies: tuple[str, ...]
    decision: str  # 采纳 / 不采纳 / ""
    reason: str
    answered_by: str


@dataclass(frozen=True)
class RequestView:
    id: str
    title: str
    class_name: str
    reason: str
    summary: str
    sections: tuple[str, ...]
    department: str
    applicant: str
    date: str
    consultation: str
    training: str
    digest: str
    base_version: str
    comparison_html: str
    redline_html: dict[str, str]
    proposed_html: dict[str, str]
    section_titles: dict[str, str]
    signatures: list[SignatureView]
    required_roles: tuple[str, ...]
    waiting_for: str | None
    due: str
    overdue: bool
    returned: dict[str, str] | None
    released: bool
    signers: list[SignerChoice] = field(default_factory=list)
    opinions: list[OpinionView] = field(default_factory=list)


def todo(run: Run) -> list[TodoItem]:
    """Every change request not released, with whom it waits for and its working-day due date
    (overdue as of ``run.today``)."""
    snap = worktree_snapshot(run.root)
    snap.require()
    state = procedure_state(snap)
    return [
        TodoItem(
            d.id, d.title, d.status, d.waiting_for, d.since.isoformat() if d.since else "", d.due.isoformat() if d.due else "", d.overdue
        )
        for d in request_deadlines(snap, state, run.today)
    ]


def request_view(run: Run, cr_id: str) -> RequestView:
    """The page of request ``cr_id`` at ``run.root``, its due date as of ``run.today``."""
    from manualkit.documents.comparison_table import Request, comparison_rows, table_html
    from manualkit.documents.html_redline import section_bodies, section_html
    from manualkit.records.manual_diff import compare, section_texts

    root, today = run.root, run.today
    snap = worktree_snapshot(root)
    manual, policy = snap.require()
    cr = snap.requests.get(cr_id)
    if cr is None:
        raise fail(request_path(cr_id), 0, 0, "MAN646", f"找不到修订申请单 {cr_id}；现有：{', '.join(sorted(snap.requests)) or '无'}")
    judge = judging(root, snap.records, policy)
    state = procedure_state(snap)
    controlled = controlled_in_worktree(root)
    checks, findings = approval_findings(cr, manual, judge, state.revocations, controlled)
    by_line = {d.line: d.message for d in findings}
    signatures = [
        SignatureView(
            c.approval.role, c.approval.signer, c.approval.name, c.approval.meaning, c.approval.signed_at,
            "WebAuthn" if c.approval.webauthn else "SSH", c.valid, by_line.get(c.approval.line, ""),
        )
        for c in checks
    ]  # fmt: skip
    entries = release_history(root, snap)
    old = released_manual(ReleaseReader(root), entries[-1]) if entries and entries[-1].commit else None
    listed = set(cr.sections)
    new_sections = {s.id: (s, c.number) for c in manual.chapters for s in c.sections}
    comparison = ""
    redlines: dict[str, str] = {}
    if old is not None:
        rows = comparison_rows(old, manual, {sid: [Request(cr.id, cr.reason)] for sid in cr.sections})
        rows = [r for r in rows if cr.id in r.requests]
        comparison = table_html(rows)
        changes = [(s.id, s.from_id, str(s.status)) for s in compare(section_texts(old), section_texts(manual)) if s.id in listed and s.status != "unchanged"]
        redlines = {k: without_inline_style(v) for k, v in section_bodies(old, manual, changes).items()}
    proposed = {
        sid: without_inline_style(section_html(new_sections[sid][0].body, new_sections[sid][0].body, new_sections[sid][1]))
        for sid in cr.sections
        if sid in new_sections
    }
    titles = {sid: new_sections[sid][0].title for sid in cr.sections if sid in new_sections}
    deadline = next((d for d in request_deadlines(snap, state, today) if d.id == cr_id), None)
    returned = state.returns.get(cr_id)
    change_class = judge.change_class(cr.class_key)
    signers = [
        SignerChoice(a.id, a.name, a.department, a.roles, tuple(c.credential_id for c in a.webauthn)) for a in judge.approvers if a.roles
    ]
    return RequestView(
        id=cr.id, title=cr.title, class_name=change_class.name if change_class else cr.class_key, reason=cr.reason, summary=cr.summary,
        sections=cr.sections, department=cr.department, applicant=cr.applicant, date=cr.date.isoformat(),
        consultation=("已协商" if cr.consultation_done else "未完成") if cr.consultation_required else "不涉及",
        training="需要" if cr.training_required else "不需要", digest=approval_digest(cr, manual, controlled),
        base_version=str(entries[-1].record.version) if entries else "（尚无发布版本）", comparison_html=comparison,
        redline_html=redlines, proposed_html=proposed, section_titles=titles, signatures=signatures,
        required_roles=change_class.roles if change_class else (), waiting_for=deadline.waiting_for if deadline else None,
        due=deadline.due.isoformat() if deadline and deadline.due else "", overdue=bool(deadline and deadline.overdue),
        returned=dict(returned.fields, name=returned.name, method="WebAuthn" if returned.webauthn else "SSH") if returned else None,
        released=any(cr_id in r.change_requests for r in snap.records), signers=signers,
        opinions=opinion_views(snap.changelog_files("changelog"), cr_id),
    )  # fmt: skip


def opinion_views(changelog: Mapping[str, bytes], cr_id: str) -> list[OpinionView]:
    from manualkit.records.answers import DECISIONS, review_state
    from manualkit.records.opinions import KIND_TITLES, of_request

    records, answers, _ = review_state(changelog)
    opinions = [o for _, o in of_request(records, cr_id)]
    answered = {a.number: a for a in answers if a.request == cr_id}
    out = []
    for o in opinions:
        if o.reply_to:
            continue
        where = f"{o.section} 第 {o.paragraph} 段" if o.section and o.paragraph else o.section or f"正文之外 {o.where}".strip()
        text = o.text if o.kind == "comment" else " → ".join(t for t in (o.old, o.new) if t) + (f"（{o.reason}）" if o.reason else "")
        replies = tuple(f"{r.author}：{r.text}" for r in opinions if r.reply_to == o.number)
        a = answered.get(o.number)
        out.append(
            OpinionView(
                o.label(cr_id), where, o.author, o.date[:10], KIND_TITLES.get(o.kind, o.kind), o.marked, text, replies,
                DECISIONS[a.decision] if a else "", a.reason if a else "", a.editor if a else "",
            )
        )  # fmt: skip
    return out
def signer_credentials(root: Path, signer: str) -> tuple[str, ...]:
    """The WebAuthn credential ids the registry in force holds for ``signer``."""
    snap = worktree_snapshot(root)
    _, policy = snap.require()
    approver = judging(root, snap.records, policy).approver(signer)
    return tuple(c.credential_id for c in approver.webauthn) if approver else ()


def registry_signers(root: Path) -> list[SignerChoice]:
    """The signers of the working tree's registry (where an enrolment is written)."""
    _, policy = worktree_snapshot(root).require()
    return [SignerChoice(a.id, a.name, a.department, a.roles, tuple(c.credential_id for c in a.webauthn)) for a in policy.approvers]


def in_force_signers(root: Path) -> list[SignerChoice]:
    """The signers of the registry in force (the latest valid release's policy, else the working tree's)."""
    snap = worktree_snapshot(root)
    _, policy = snap.require()
    judge = judging(root, snap.records, policy)
    return [SignerChoice(a.id, a.name, a.department, a.roles, tuple(c.credential_id for c in a.webauthn)) for a in judge.approvers if a.roles]
