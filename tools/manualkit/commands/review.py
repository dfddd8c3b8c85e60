"""``manual review``: record a signed periodic review of one chapter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from manualkit.records.repository import worktree_snapshot
from manualkit.records.review import record_review


def review(root: Path, chapter: int, key_path: Path, today: dt.date, now: dt.datetime, conclusion: str) -> Path:
    from manualkit.records.trust import judging

    snap = worktree_snapshot(root)
    manual, policy = snap.require()
    # Signed under the registry in force (the latest release's), as audit will check it.
    return record_review(root, manual, judging(root, snap.records, policy), chapter, key_path, today, now, conclusion)
