"""``manual check``: every rule over the manual, collected as diagnostics."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.commands.registry import EXIT_FINDINGS, EXIT_OK, Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.policy import Policy
    from manualkit.records.repository import Snapshot
    from manualkit.records.revocation import Revocation
    from manualkit.text.manual import Manual


#: What the comparison of HEAD with the latest release reports (the open requests' own findings
#: come from the working tree).
GUARDED_CODES = frozenset({"MAN670", "MAN672", "MAN673", "MAN674", "MAN740"})


class CheckReport(NamedTuple):
    """What the check found (a named tuple: a dataclass would load ``inspect`` and ``ast``, some
    15 ms, in the kept answer's run)."""

    diagnostics: list[Diagnostic]
    chapters: int
    sections: int

    @property
    def errors(self) -> int:
        from manualkit.base.diagnostics import Severity

        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        from manualkit.base.diagnostics import Severity

        return sum(d.severity is Severity.WARNING for d in self.diagnostics)


def check(run: Run, *, strict_mode: bool = False, base: str | None = None) -> CheckReport:
    """Check the working tree under ``run.root``, as of ``run.today`` (the reviews overdue).

    Without ``base``, the working tree and HEAD are compared with the latest release: every
    changed section, and any change to policy.yml or certs/, must be listed by an open change
    request (so the pre-commit hook, ``make check`` and ``make publish`` guard released text).
    With ``base``, the change set since ``base`` is checked instead. Open change requests are
    judged by the policy in force (the latest release's), never by the one they bring.
    """
    from manualkit.base.diagnostics import strict
    from manualkit.records.policy import rule_table_findings
    from manualkit.records.repository import worktree_snapshot

    root, today = run.root, run.today
    head = worktree_snapshot(root)
    diags = list(head.diagnostics)
    manual, policy = head.manual, head.policy
    procedure: tuple[frozenset[str], tuple[Revocation, ...]] = (frozenset(), ())
    if manual is not None:
        diags += overdue_reviews(manual, today)
        if policy is not None:
            diags += rule_table_findings(manual, policy)
            from manualkit.records.obligation_map import obligation_findings
            from manualkit.records.procedure import procedure_state

            state = procedure_state(head, root)
            diags += state.problems
            from manualkit.records.procedure import released_after_revocation

            released = (cr for record in head.records for cr in record.change_requests)
            diags += released_after_revocation(head.requests, released, state.revocations)
            diags += obligation_findings(manual, head.files.contents)
            diags += _contact_findings(root, manual, policy)
            procedure = (frozenset(state.returns), tuple(state.revocations))
            diags += _review_findings(root, head, state.returns)
    diags += _record_history(root, head)
    if base is not None:
        diags += _change_set(root, base, head, procedure)
    elif manual is not None and policy is not None:
        diags += _since_release(root, head, policy, procedure)
    if strict_mode:
        diags = strict(diags)
    diags = sorted(set(diags), key=lambda d: (d.path, d.line, d.col, d.code, d.message))
    return CheckReport(diags, len(manual.chapters) if manual else 0, sum(len(c.sections) for c in manual.chapters) if manual else 0)


def _review_findings(root: Path, head: Snapshot, returned: Mapping[str, object]) -> list[Diagnostic]:
    """Invalid opinion or answer records, and (MAN932) open requests with unanswered opinions."""
    from manualkit.base.diagnostics import ManualError
    from manualkit.records.answers import review_state, signature_findings, unanswered_findings
    from manualkit.records.release import open_requests
    from manualkit.records.trust import judging

    records, answers, problems = review_state(head.changelog_files("changelog"))
    pending = [cr.id for cr in open_requests(head.requests, head.records, returned)]
    signed = [a for a in answers if a.signature]
    signed_records = [r for r in records if r.signature]
    if (signed or signed_records) and head.manual is not None and head.policy is not None:
        try:
            judge = judging(root, head.records, head.policy)
        except ManualError as exc:  # the policy in force cannot be loaded: reported by its own check
            judge = None
            problems += [d for d in exc.diagnostics if d not in head.diagnostics]
        if judge is not None:
            from manualkit.records.opinions import signature_findings as record_findings

            problems += signature_findings(signed, judge, head.manual.metadata.document_number)
            problems += record_findings(signed_records, judge, head.manual.metadata.document_number)
    return problems + unanswered_findings(records, answers, pending)
def _contact_findings(root: Path, manual: Manual, policy: Policy) -> list[Diagnostic]:
    """manual/contacts.yml (manual remind), once it exists: every signer of the registry this
    change brings has a contact, and every contact belongs to a signer or a department."""
    from manualkit.records.contacts import contact_findings, read_contacts

    contacts, problems = read_contacts(root)
    if contacts is None:
        return problems
    return problems + contact_findings(contacts, [a.id for a in policy.approvers], manual.metadata.departments)


def _record_history(root: Path, head: Snapshot) -> list[Diagnostic]:
    """Records under changelog/ deleted, edited or re-added in history or in the working tree
    (records.immutability), so that what audit refuses is refused before it is committed."""
    from manualkit.base import git
    from manualkit.records.immutability import immutability_findings

    if git.facts(root) is None:
        return []
    return immutability_findings(root, head.records)


def _since_release(root: Path, head: Snapshot, policy: Policy, procedure: tuple[frozenset[str], tuple[Revocation, ...]]) -> list[Diagnostic]:
    """The open change requests, judged by the policy in force, and what changed since the latest
    release (working tree and HEAD) that no open change request lists. ``procedure``: the returned
    requests (closed) and the revoked keys."""
    from manualkit.base import git
    from manualkit.base.diagnostics import diagnostic
    from manualkit.records.approval import approval_findings
    from manualkit.records.change_request import content_findings
    from manualkit.records.change_set import change_set_findings
    from manualkit.records.release import open_requests
    from manualkit.records.repository import ObjectReader, commit_snapshot
    from manualkit.records.trust import controlled_at, controlled_in_worktree, policy_at, release_commit

    manual = head.manual
    assert manual is not None
    returned, revocations = procedure
    after = controlled_in_worktree(root)
    last = release_commit(root, head.records[-1]) if head.records and git.facts(root) is not None else None
    if last is None:  # before the first release (or outside git): the policy being set up is the root
        out: list[Diagnostic] = []
        for cr in open_requests(head.requests, head.records, returned):
            out += content_findings(cr, manual, policy)
            out += approval_findings(cr, manual, policy, revocations, after)[1]
        return out
    judge = policy_at(root, last)
    if judge is None:
        return [diagnostic(head.records[-1].path, 0, 0, "MAN683", f"{head.records[-1].version} 发布时的修订政策无法加载；请运行 manual audit")]
    objects = ObjectReader(root)
    released = commit_snapshot(root, last)
    before = controlled_at(objects, last)
    out = change_set_findings(released, head, judge=judge, controlled=(before, after), returned=returned, revocations=revocations)
    commit = git.head(root)
    if commit is not None and commit != last and git.dirty_paths(root, ("manual", "changelog", "certs")):
        # Something committed since the release may be hidden by an uncommitted revert: HEAD too.
        preparing = frozenset(s for cr in open_requests(head.requests, head.records, returned) for s in cr.sections)
        committed = change_set_findings(
            released, commit_snapshot(root, commit), judge=judge, controlled=(before, controlled_at(objects, commit)),
            also_covered=preparing, returned=returned,
        )  # fmt: skip
        out += [d for d in committed if d.code in GUARDED_CODES]
    return out


def _change_set(root: Path, base: str, head: Snapshot, procedure: tuple[frozenset[str], tuple[Revocation, ...]]) -> list[Diagnostic]:
    from manualkit.base import git
    from manualkit.base.diagnostics import fail
    from manualkit.records.change_set import change_set_findings
    from manualkit.records.repository import ObjectReader, commit_snapshot, require_full_history
    from manualkit.records.trust import controlled_at, controlled_in_worktree, judging

    require_full_history(root)
    commit = git.resolve(root, base)
    if commit is None:
        raise fail("--base", 0, 0, "MAN604", f"找不到 git 引用 {base!r}；请先 git fetch，或检查分支名")
    judge = judging(root, head.records, head.policy) if head.policy is not None else None
    controlled = (controlled_at(ObjectReader(root), commit), controlled_in_worktree(root))
    returned, revocations = procedure
    return change_set_findings(
        commit_snapshot(root, commit), head, judge=judge, controlled=controlled, returned=returned, revocations=revocations
    )


def overdue_reviews(manual: Manual, today: dt.date) -> list[Diagnostic]:
    """定期评审: a chapter whose last review is older than its cycle is overdue (MAN112)."""
    from manualkit.base.clock import add_months
    from manualkit.base.diagnostics import diagnostic

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


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format", choices=("text", "json", "github", "gitlab"), default="text",
        help="输出格式（github：GitHub 注释；gitlab：GitLab 代码质量报告 JSON）",
    )  # fmt: skip
    p.add_argument("--strict", action="store_true", help="把警告视为错误")
    p.add_argument("--base", metavar="REF", help="与该 git 引用比较（合并请求检查）：修改的节须有修订申请单，已发布记录不可修改")


def kept_check(run: Run, *, strict_mode: bool = False, base: str | None = None) -> CheckReport:
    """:func:`check` of the run's working tree, answered from the kept answer of the same inputs
    when there is one (records/kept_check.py: no Markdown or YAML parser is loaded then), and kept
    for the next run otherwise."""
    from manualkit.records.kept_check import Answer, answer

    def fresh() -> Answer:
        report = check(run, strict_mode=strict_mode, base=base)
        return Answer(tuple(report.diagnostics), report.chapters, report.sections)

    found = answer(run, strict=strict_mode, base=base, compute=fresh)
    return CheckReport(list(found.diagnostics), found.chapters, found.sections)


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.report import render, summary_line

    report = kept_check(context.run, strict_mode=args.strict, base=args.base)
    summary = "" if args.format in ("json", "gitlab") else summary_line(report.errors, report.warnings, report.chapters, report.sections)
    outcome = Outcome(EXIT_FINDINGS if report.errors else EXIT_OK)
    outcome.write(render(report.diagnostics, args.format, summary))
    return outcome


COMMANDS = (Command("check", _arguments, _run),)
