"""``manual release``: bundle the fully approved change requests into the next version."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.release import ReleaseRecord

CONTROLLED_PATHS = ("manual", "changelog", "templates", "certs")  # records.trust.CERTS_DIR (checked in tests/test_commands_register.py)


def refuse_locked_index(root: Path) -> None:
    """A release ends by checking its files out: refuse at once, before anything is written, while
    git's index is locked (another git running, or a stale ``.git/index.lock``)."""
    from manualkit.base import git
    from manualkit.base.diagnostics import ManualError

    found = git.facts(root)
    lock = found.git_dir / "index.lock" if found else None
    if lock is not None and lock.exists():
        from manualkit.base.failures import git_failure

        raise ManualError(git_failure(f"Unable to create '{lock}': File exists (index.lock)")._replace(path=str(lock)))


def release(run: Run, *, effective: dt.date, published: dt.date) -> ReleaseRecord:
    """Release the open, fully signed change requests, judged by the policy in force before them
    on ``run.today``; refuses (writing nothing) whatever ``manual audit`` would then reject. The
    release commit carries the pinned time when the run's clock is pinned (demos, tests)."""
    from manualkit.base import git
    from manualkit.base.clock import pinned_commit_dates
    from manualkit.base.diagnostics import ManualError, fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.release import ReleaseContext, commit_release, plan_release
    from manualkit.records.repository import ObjectReader, commit_snapshot, require_full_history, worktree_snapshot
    from manualkit.records.trust import controlled_at, controlled_in_worktree, policy_at, release_commit

    root, today = run.root, run.today
    with repository_lock(root, "release"):
        from manualkit.records.audit import changed_since

        require_full_history(root)
        refuse_locked_index(root)
        snap = worktree_snapshot(root)
        # The controlled content must be committed; unrelated files (tools, tests) do not matter,
        # since the release commit is built from HEAD, not from the working tree.
        dirty = git.dirty_paths(root, CONTROLLED_PATHS)
        if dirty:
            shown = "、".join(dirty[:5]) + ("……" if len(dirty) > 5 else "")
            raise fail(".", 0, 0, "MAN661", f"工作区有未提交的修改（{shown}）；请先提交或撤销后再发布")
        manual, policy = snap.require()
        from manualkit.records.immutability import immutability_findings

        altered = immutability_findings(root, snap.records, worktree=False)
        if altered:
            raise ManualError(altered)
        head = git.head(root)
        digest = git.tree_hash(root, head, "manual") if head else None
        if digest is None:
            raise fail(".", 0, 0, "MAN661", "仓库中还没有提交的 manual/；请先提交手册")
        from manualkit.records.procedure import procedure_state

        state = procedure_state(snap, root)
        judge, before, changed, last = policy, None, frozenset[str](), None
        if snap.records:
            last = release_commit(root, snap.records[-1])
            if last is None:
                raise fail(snap.records[-1].path, 0, 0, "MAN680", f"{snap.records[-1].version} 的发布记录未提交到 git 历史中；请运行 manual audit")
            found = policy_at(root, last)
            if found is None:
                raise fail(snap.records[-1].path, 0, 0, "MAN683", f"{snap.records[-1].version} 发布时的修订政策无法加载；请运行 manual audit")
            judge, before = found, controlled_at(ObjectReader(root), last)
            changed = frozenset(changed_since(commit_snapshot(root, last).manual, manual))
        after = controlled_in_worktree(root)
        changed |= {k for k in after if before is not None and before.get(k) != after[k]}
        context = ReleaseContext(before, after, policy, changed, today, last)
        plan = plan_release(
            manual, judge, snap.requests, snap.records, published=published, effective=effective, content_digest=digest,
            context=context, returned=state.returns, revocations=state.revocations,
        )  # fmt: skip
        commit_release(root, plan, snap.records, manual.metadata.title, pinned_commit_dates(run.env, run.zone))
        return plan.record


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    p.add_argument("--effective", required=True, type=parse_date, help="实施日期 YYYY-MM-DD")
    p.add_argument("--published", type=parse_date, help="发布日期（默认今天）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    published = args.published or context.today
    record = release(context.run, effective=args.effective, published=published)
    return Outcome.said(
        f"已发布 {record.version}（{'、'.join(record.change_requests)}），发布日期 {record.published}，实施日期 {record.effective}；"
        f"已提交并打标签 release/{record.version.slug}"
    )


COMMANDS = (Command("release", _arguments, _run),)
