"""``manual release``: bundle the fully approved change requests into the next version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from manualkit.base import git
from manualkit.base.diagnostics import fail
from manualkit.records.release import ReleaseRecord, commit_release, plan_release
from manualkit.records.repository import require_full_history, worktree_snapshot

CONTROLLED_PATHS = ("manual", "changelog", "templates")


def release(root: Path, *, effective: dt.date, published: dt.date, env: Mapping[str, str]) -> ReleaseRecord:
    require_full_history(root)
    snap = worktree_snapshot(root)
    # The controlled content must be committed; unrelated files (tools, tests) do not matter,
    # since the release commit is built from HEAD, not from the working tree.
    dirty = git.dirty_paths(root, CONTROLLED_PATHS)
    if dirty:
        shown = "、".join(dirty[:5]) + ("……" if len(dirty) > 5 else "")
        raise fail(".", 0, 0, "MAN661", f"工作区有未提交的修改（{shown}）；请先提交或撤销后再发布")
    manual, policy = snap.require()
    head = git.head(root)
    digest = git.tree_hash(root, head, "manual") if head else None
    if digest is None:
        raise fail(".", 0, 0, "MAN661", "仓库中还没有提交的 manual/；请先提交手册")
    from manualkit.records.procedure import procedure_state

    state = procedure_state(snap)
    plan = plan_release(
        manual, policy, snap.requests, snap.records, published=published, effective=effective, content_digest=digest,
        returned=state.returns, revocations=state.revocations,
    )  # fmt: skip
    commit_release(root, plan, snap.records, manual.metadata.title, env)
    return plan.record
