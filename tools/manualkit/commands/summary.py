"""``manual summary --base REF``: what a pull or merge request changes, for every reviewer.

The change requests it carries, the sections it changes with the 修订对照表 rows, the signatures
present and whether each verifies, the roles still waiting with their working-day due dates, the
findings of ``manual check --base`` (this command composes check), and the earliest dates the
version could be published and take effect. Rendered as Markdown for a comment on GitHub or
GitLab (every text from a request or the manual escaped by :mod:`manualkit.base.markdown_text`,
no raw HTML, at most :data:`COMMENT_LIMIT` characters) or as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manualkit.base.markdown_text import COMMENT_LIMIT
from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.documents.comparison_table import ComparisonRow

CELL_LIMIT = 400  # characters of one cell of the 对照表 (a whole clause is usually far shorter)
TITLE_LIMIT = 200


@dataclass(frozen=True)
class SignatureLine:
    role: str
    signer: str
    name: str
    signed_at: str
    method: str  # SSH | WebAuthn
    valid: bool
    problem: str  # why it does not count ("" when valid)


@dataclass(frozen=True)
class WaitingRole:
    role: str
    since: dt.date | None  # when it reached (or, after the roles before it, will reach) the role
    due: dt.date | None  # 5 working days later (None: 编制, the editor's own step)
    overdue: bool


@dataclass(frozen=True)
class RequestSummary:
    id: str
    title: str
    class_name: str
    reason: str
    sections: tuple[str, ...]
    status: str  # waiting | ready | returned
    signatures: tuple[SignatureLine, ...]
    waiting: tuple[WaitingRole, ...]
    published: dt.date | None  # the earliest publication date (all signatures in)
    effective: dt.date | None  # the earliest effective date after the notice period


@dataclass(frozen=True)
class SectionLine:
    section_id: str
    kind: str  # added | removed | modified
    title: str
    requests: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    base: str
    base_commit: str
    today: dt.date
    requests: tuple[RequestSummary, ...]
    sections: tuple[SectionLine, ...]
    rows: tuple[ComparisonRow, ...]
    findings: tuple[Diagnostic, ...]

    @property
    def errors(self) -> int:
        from manualkit.base.diagnostics import Severity

        return sum(d.severity is Severity.ERROR for d in self.findings)

    @property
    def warnings(self) -> int:
        from manualkit.base.diagnostics import Severity

        return sum(d.severity is Severity.WARNING for d in self.findings)


def summary(run: Run, base: str) -> Summary:
    """The summary of the change from ``base`` to the working tree, judged as ``manual check
    --base`` judges it (whose findings it carries)."""
    from manualkit.base import git
    from manualkit.base.clock import company_day, zone_or_default
    from manualkit.base.diagnostics import fail
    from manualkit.commands.check import check
    from manualkit.documents.comparison_table import Request, comparison_rows
    from manualkit.records.approval import approval_findings
    from manualkit.records.change_set import changed_sections, requests_in_set
    from manualkit.records.procedure import procedure_state, request_deadlines
    from manualkit.records.repository import commit_snapshot, require_full_history, worktree_snapshot
    from manualkit.records.trust import controlled_in_worktree, judging

    root, today = run.root, run.today
    require_full_history(root)
    commit = git.resolve(root, base)
    if commit is None:
        raise fail("--base", 0, 0, "MAN604", f"找不到 git 引用 {base!r}；请先 git fetch，或检查分支名")
    findings = check(run, base=base).diagnostics
    head = worktree_snapshot(root)
    manual, policy = head.require()
    before = commit_snapshot(root, commit)
    judge = judging(root, head.records, policy)
    state = procedure_state(head, root)
    in_set = requests_in_set(before, head, state.returns)
    controlled = controlled_in_worktree(root)
    deadlines = {d.id: d for d in request_deadlines(head, state, today)}
    company_zone = zone_or_default(policy.time_zone)  # a signature's day is the company's, whatever its offset
    previous = head.records[-1] if head.records else None
    requests = []
    for cr in in_set:
        checks, problems = approval_findings(cr, manual, judge, state.revocations, controlled)
        by_line: dict[int, str] = {}
        for d in problems:
            by_line.setdefault(d.line, d.message)
        signatures = tuple(
            SignatureLine(
                c.approval.role, c.approval.signer, c.approval.name, c.approval.signed_at,
                "WebAuthn" if c.approval.webauthn else "SSH", c.valid,
                "" if c.valid else by_line.get(c.approval.line, "签署无效"),
            )
            for c in checks
        )  # fmt: skip
        change_class = judge.change_class(cr.class_key)
        required = change_class.roles if change_class else ()
        signed = {c.approval.role for c in checks if c.valid}
        deadline = deadlines.get(cr.id)
        waiting: list[WaitingRole] = []
        since = deadline.since if deadline is not None else None
        due = deadline.due if deadline is not None else None
        for role in (r for r in required if r not in signed):
            if waiting:  # the roles after the one waited for: each has its 5 working days in turn
                since = due or since
                due = state.calendar.add_workdays(since).due if since is not None else None
            waiting.append(WaitingRole(role, since, due, due is not None and due < today))
        status = deadline.status if deadline is not None else ("ready" if not waiting else "waiting")
        last_signed = max((d for c in checks if c.valid for d in [company_day(c.approval.signed_at, company_zone)] if d), default=None)
        last_due = next((w.due for w in reversed(waiting) if w.due), None)
        published = max(today, last_signed or today) if not waiting else (max(today, last_due) if last_due else None)
        effective = None
        if published is not None and change_class is not None:
            effective = published + dt.timedelta(days=change_class.notice_days)
            if previous is not None and effective <= previous.effective:
                effective = previous.effective + dt.timedelta(days=1)
        requests.append(
            RequestSummary(
                cr.id, cr.title, change_class.name if change_class else cr.class_key, cr.reason, cr.sections, status,
                signatures, tuple(waiting), published if status != "returned" else None, effective if status != "returned" else None,
            )
        )  # fmt: skip
    listing: dict[str, list[str]] = {}
    for cr in in_set:
        for sid in cr.sections:
            listing.setdefault(sid, []).append(cr.id)
    titles = {s.id: s.title for c in manual.chapters for s in c.sections}
    sections: list[SectionLine] = []
    rows: list[ComparisonRow] = []
    if before.manual is not None:
        old_titles = {s.id: s.title for c in before.manual.chapters for s in c.sections}
        for change in changed_sections(before.manual, manual):
            title = titles.get(change.section_id) or old_titles.get(change.section_id, "")
            sections.append(SectionLine(change.section_id, change.kind, title, tuple(listing.get(change.section_id, ()))))
        reasons = {sid: [Request(cr.id, cr.reason) for cr in in_set if sid in cr.sections] for sid in listing}
        rows = comparison_rows(before.manual, manual, reasons)
    return Summary(base, commit, today, tuple(requests), tuple(sections), tuple(rows), tuple(findings))


# --------------------------------------------------------------------------- renderings

_STATUS = {"waiting": "等待签署", "ready": "签署齐全，可以发布", "returned": "已退回"}
_KIND = {"added": "新增", "removed": "删除", "modified": "修改"}


def render_markdown(s: Summary, *, limit: int = COMMENT_LIMIT, link: str = "") -> str:
    """The summary as a comment: at most ``limit`` characters (0: no limit); when the 对照表 does
    not fit, its first rows and a note saying where the whole table is (``link``, a URL)."""
    from manualkit.base.diagnostics import Severity
    from manualkit.base.markdown_text import MARKER, cell, inline, table
    from manualkit.documents.comparison_table import COLUMNS

    head: list[str] = [MARKER, f"## 修订摘要：{len(s.requests)} 份修订申请单，{len(s.sections)} 节有改动", ""]
    verdict = "✓ manual check 未发现问题" if not s.findings else f"✗ manual check：{s.errors} 个错误，{s.warnings} 个警告"
    head += [f"与 {inline(s.base)}（{s.base_commit[:10]}）比较；今天 {s.today.isoformat()}（公司时区）。{verdict}", ""]
    head += ["### 修订申请单", ""]
    if s.requests:
        head += table(
            ("申请单", "标题", "类别", "修订章节", "状态", "最早发布", "最早实施"),
            [
                (
                    cell(r.id), cell(r.title, TITLE_LIMIT), cell(r.class_name), cell("、".join(r.sections)), cell(_STATUS.get(r.status, r.status)),
                    cell(r.published.isoformat() if r.published else ""), cell(r.effective.isoformat() if r.effective else ""),
                )
                for r in s.requests
            ],
        )  # fmt: skip
    else:
        head.append("本次变更没有修订申请单。")
    for r in s.requests:
        head += ["", f"#### {inline(r.id)} {inline(r.title, TITLE_LIMIT)}", "", f"修订原因：{inline(r.reason, CELL_LIMIT)}", ""]
        if r.signatures:
            head += table(
                ("角色", "签署人", "签署时间", "方式", "验证"),
                [
                    (cell(g.role), cell(f"{g.name}（{g.signer}）"), cell(g.signed_at), cell(g.method), cell("✓ 有效" if g.valid else f"✗ {g.problem}", CELL_LIMIT))
                    for g in r.signatures
                ],
            )  # fmt: skip
        else:
            head.append("尚无签署。")
        if r.waiting:
            head += ["", "尚待签署（每一角色 5 个工作日，见 8.2 三）：", ""]
            head += table(
                ("角色", "自", "应于", "逾期"),
                [
                    (cell(w.role), cell(w.since.isoformat() if w.since else ""), cell(w.due.isoformat() if w.due else "（编制人自行完成）"), cell("⚠ 已逾期" if w.overdue else ""))
                    for w in r.waiting
                ],
            )  # fmt: skip
    head += ["", "### 改动的节", ""]
    if s.sections:
        head += table(
            ("节", "标题", "改动", "修订申请单"),
            [(cell(x.section_id), cell(x.title, TITLE_LIMIT), cell(_KIND[x.kind]), cell("、".join(x.requests) or "✗ 无")) for x in s.sections],
        )  # fmt: skip
    else:
        head.append("没有改动的节。")
    findings: list[str] = ["", "### manual check 的发现", ""]
    if s.findings:
        for d in s.findings[:50]:
            where = d.path + (f":{d.line}" if d.line else "")
            mark = "✗" if d.severity is Severity.ERROR else "⚠"
            findings.append(f"- {mark} {inline(where)}：{inline(d.code)} {inline(d.message, CELL_LIMIT)}")
        if len(s.findings) > 50:
            findings.append(f"- ……另有 {len(s.findings) - 50} 项，请运行 manual check --base 查看")
    else:
        findings.append("未发现问题。")
    body = ["", "### 修订对照表", ""]
    rows = [tuple(cell(str(v), CELL_LIMIT) for v in r) for r in s.rows]
    text = "\n".join(head + findings + body) + "\n"
    if not rows:
        return text + "本次变更没有修改条款。\n"
    lines = table(COLUMNS, [])
    budget = (limit or 10**12) - len(text) - 400  # room for the note
    used = sum(len(x) + 1 for x in lines)
    shown = 0
    for row in rows:
        line = "| " + " | ".join(row) + " |"
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    out = text + "\n".join(lines) + "\n"
    if shown < len(rows):
        where = f"完整的修订对照表：{_link(link)}" if link else "完整的修订对照表请运行 manual summary --base REF --limit 0 查看"
        out += f"\n对照表共 {len(rows)} 行，评论篇幅有限，此处列出前 {shown} 行。{where}\n"
    return out


def _link(url: str) -> str:
    """A link the host renders, with nothing in it that could end it early."""
    from manualkit.base.markdown_text import inline

    if not url.startswith(("https://", "http://")) or any(c in url for c in "<>()[] \n\"'`"):
        return inline(url)
    return f"[下载]({url})"


def render_json(s: Summary) -> str:
    data = {
        "base": s.base,
        "base_commit": s.base_commit,
        "today": s.today.isoformat(),
        "requests": [
            {
                "id": r.id, "title": r.title, "class": r.class_name, "reason": r.reason, "sections": list(r.sections), "status": r.status,
                "signatures": [
                    {"role": g.role, "signer": g.signer, "name": g.name, "signed_at": g.signed_at, "method": g.method, "valid": g.valid, "problem": g.problem}
                    for g in r.signatures
                ],
                "waiting": [
                    {"role": w.role, "since": _iso(w.since), "due": _iso(w.due), "overdue": w.overdue} for w in r.waiting
                ],
                "published": _iso(r.published), "effective": _iso(r.effective),
            }
            for r in s.requests
        ],
        "sections": [{"id": x.section_id, "kind": x.kind, "title": x.title, "requests": list(x.requests)} for x in s.sections],
        "comparison": [dict(zip(("number", "clause", "before", "after", "explanation", "requests"), r, strict=True)) for r in s.rows],
        "findings": [d.as_dict() for d in s.findings],
    }  # fmt: skip
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", required=True, metavar="REF", help="与该 git 引用比较（合并请求的目标分支，如 origin/main）")
    p.add_argument("--format", choices=("md", "json"), default="md", help="输出格式（md：GitHub/GitLab 评论用的 Markdown）")
    p.add_argument("--limit", type=int, default=65_000, metavar="N", help="Markdown 的最大字符数（0：不限；默认 65000）")
    p.add_argument("--link", metavar="URL", help="对照表超出篇幅时，指向完整对照表的链接")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    found = summary(context.run, args.base)
    outcome = Outcome()
    outcome.write(render_json(found) if args.format == "json" else render_markdown(found, limit=args.limit, link=args.link or ""))
    return outcome


COMMANDS = (Command("summary", _arguments, _run),)
