"""``manual check``: every rule over the manual, collected as diagnostics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.base.diagnostics import Diagnostic, Severity, diagnostic, fail, strict
from manualkit.text.manual import Manual

if TYPE_CHECKING:
    from manualkit.records.repository import Snapshot


@dataclass(frozen=True)
class CheckReport:
    diagnostics: list[Diagnostic]
    chapters: int
    sections: int

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)


def check(root: Path, today: dt.date, *, strict_mode: bool = False, base: str | None = None) -> CheckReport:
    """Check the working tree under ``root``; with ``base``, also the change set since ``base``."""
    from manualkit.records.approval import approval_findings
    from manualkit.records.change_request import content_findings
    from manualkit.records.policy import rule_table_findings
    from manualkit.records.release import open_requests
    from manualkit.records.repository import worktree_snapshot

    head = worktree_snapshot(root)
    diags = list(head.diagnostics)
    manual, policy = head.manual, head.policy
    if manual is not None:
        diags += overdue_reviews(manual, today)
        if policy is not None:
            diags += rule_table_findings(manual, policy)
            from manualkit.records.obligation_map import obligation_findings
            from manualkit.records.procedure import procedure_state

            state = procedure_state(head)
            diags += state.problems
            diags += obligation_findings(manual, head.files.contents)
            if base is None:  # with a base, the change set check covers the open requests
                for cr in open_requests(head.requests, head.records, state.returns):
                    diags += content_findings(cr, manual, policy)
                    diags += approval_findings(cr, manual, policy, state.revocations)[1]
    if base is not None:
        diags += _change_set(root, base, head)
    if strict_mode:
        diags = strict(diags)
    diags = sorted(set(diags), key=lambda d: (d.path, d.line, d.col, d.code, d.message))
    return CheckReport(diags, len(manual.chapters) if manual else 0, sum(len(c.sections) for c in manual.chapters) if manual else 0)


def _change_set(root: Path, base: str, head: Snapshot) -> list[Diagnostic]:
    from manualkit.base import git
    from manualkit.records.change_set import change_set_findings
    from manualkit.records.repository import commit_snapshot, require_full_history

    require_full_history(root)
    commit = git.resolve(root, base)
    if commit is None:
        raise fail("--base", 0, 0, "MAN604", f"找不到 git 引用 {base!r}；请先 git fetch，或检查分支名")
    return change_set_findings(commit_snapshot(root, commit), head)


def overdue_reviews(manual: Manual, today: dt.date) -> list[Diagnostic]:
    """定期评审: a chapter whose last review is older than its cycle is overdue (MAN112)."""
    from manualkit.base.clock import add_months

    out = []
    for chapter in manual.chapters:
        due = add_months(chapter.last_reviewed, chapter.review_cycle_months)
        if due < today:
            out.append(
                diagnostic(
                    chapter.path, chapter.review_line, 1, "MAN112",
                    f"第{chapter.number}章的定期评审应于 {due.isoformat()} 前完成，已逾期；请组织评审并用 manual review 记录",
                )
            )  # fmt: skip
    return out
