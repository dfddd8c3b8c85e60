"""``manual review``: record a signed periodic review of one chapter."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext



def review(run: Run, chapter: int, key_path: Path, conclusion: str) -> Path:
    """Record ``chapter``'s periodic review, signed with ``key_path``, reviewed on ``run.today``."""
    from manualkit.base.characters import require_field
    from manualkit.base.lock import repository_lock
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.review import record_review
    from manualkit.records.trust import judging

    with repository_lock(run.root, "review"):
        require_field("--conclusion", conclusion, multiline=True)
        snap = worktree_snapshot(run.root)
        manual, policy = snap.require()
        # Signed under the registry in force (the latest release's), as audit will check it.
        return record_review(run, manual, judging(run.root, snap.records, policy), chapter, key_path, conclusion)


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("chapter", type=int, help="章编号")
    p.add_argument("--key", required=True, help="评审人本人的 SSH 私钥文件")
    p.add_argument("--conclusion", default="经评审，本章内容适宜，无需修订", help="评审结论")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    path = review(context.run, args.chapter, Path(args.key), args.conclusion)
    return Outcome.said(f"已记录第 {args.chapter} 章的定期评审：{path.relative_to(context.root)}；版本不变。请提交该记录。")


COMMANDS = (Command("review", _arguments, _run),)
