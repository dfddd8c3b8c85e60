"""``manual check``: every rule over the manual, collected as diagnostics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from manualkit.diagnostics import Diagnostic, Severity, diagnostic, strict
from manualkit.manual import Manual, load_manual
from manualkit.policy import load_policy, rule_table_findings
from manualkit.today import add_months
from manualkit.worktree import read_manual_files


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


def check(root: Path, today: dt.date, *, strict_mode: bool = False) -> CheckReport:
    """Check the working tree's manual under ``root``."""
    files = read_manual_files(root)
    result = load_manual(files)
    diags = list(result.diagnostics)
    policy, policy_diags = load_policy(files.contents)
    diags += policy_diags
    if result.manual is not None:
        diags += overdue_reviews(result.manual, today)
        if policy is not None:
            diags += rule_table_findings(result.manual, policy)
    if strict_mode:
        diags = strict(diags)
    diags.sort(key=lambda d: (d.path, d.line, d.col, d.code))
    manual = result.manual
    return CheckReport(
        diags,
        len(manual.chapters) if manual else 0,
        sum(len(c.sections) for c in manual.chapters) if manual else 0,
    )


def overdue_reviews(manual: Manual, today: dt.date) -> list[Diagnostic]:
    """定期评审: a chapter whose last review is older than its cycle is overdue (MAN112)."""
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
