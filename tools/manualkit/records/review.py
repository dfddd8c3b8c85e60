"""Periodic reviews (定期评审): a signed record that a chapter was reviewed and needs no change.

A review changes no text and no version. It is kept in ``changelog/reviews/`` and moves the
chapter's ``review.last_reviewed`` date (a round-trip edit: every other byte stays).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.base import yamlfile
from manualkit.base.atomic import write_atomic
from manualkit.base.diagnostics import fail
from manualkit.text.chapter import Chapter, split_front_matter
from manualkit.text.manual import Manual

if TYPE_CHECKING:
    from manualkit.records.policy import Policy

REVIEWS_DIR = "changelog/reviews"
REVIEWER_ROLE = "审核"


def chapter_digest(chapter: Chapter) -> str:
    payload = json.dumps([[s.id, s.title, s.body] for s in chapter.sections], ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def review_message(document_number: str, chapter: int, reviewer: str, reviewed_on: str, digest: str, conclusion: str) -> bytes:
    """The exact bytes a reviewer signs."""
    from manualkit.base import sshsig  # not loaded by the commands that only read the history

    return sshsig.signed_text(
        "manual-review/1",
        [("document", document_number), ("chapter", chapter), ("reviewer", reviewer), ("reviewed-on", reviewed_on), ("digest", digest), ("conclusion", conclusion)],
    )


def set_last_reviewed(text: str, day: dt.date) -> str:
    """The chapter file with ``review.last_reviewed`` set to ``day``; nothing else changes."""
    split = split_front_matter(text)
    if split is None:
        raise fail("chapter", 1, 1, "MAN101", "章节文件缺少前置元数据")
    yaml_text, body, _ = split
    data, diags = yamlfile.parse_roundtrip(yaml_text, "chapter", 2)
    if diags or not isinstance(data, dict):
        raise fail("chapter", 2, 1, "MAN103", "前置元数据无法解析")
    data["review"]["last_reviewed"] = day
    head = "---\n" + yamlfile.dump(data) + "---\n"
    return head + body


def record_review(root: Path, manual: Manual, policy: Policy, number: int, key_path: Path, day: dt.date, now: dt.datetime, conclusion: str) -> Path:
    chapter = next((c for c in manual.chapters if c.number == number), None)
    if chapter is None:
        raise fail("manual", 0, 0, "MAN646", f"第 {number} 章不存在")
    from manualkit.base import sshsig

    public = sshsig.public_key_of(key_path)
    approver = next((a for a in policy.approvers if " ".join(a.public_key.split()[:2]) == public), None)
    if approver is None:
        from manualkit.records.approval import registration_hint

        raise fail(str(key_path), 0, 0, "MAN651", f"该私钥对应的公钥不在 policy.yml 的签署人名录中。{registration_hint(policy)}")
    if REVIEWER_ROLE not in approver.roles:
        raise fail(str(key_path), 0, 0, "MAN652", f"{approver.name} 无权签署定期评审（需要“{REVIEWER_ROLE}”角色）")
    digest = chapter_digest(chapter)
    message = review_message(manual.metadata.document_number, number, approver.id, day.isoformat(), digest, conclusion)
    signature = sshsig.sign(message, key_path, policy.signing_namespace)
    rel = f"{REVIEWS_DIR}/{day.isoformat()}-ch{number}.yml"
    lines = [
        "# 定期评审记录: written by `manual review`; never edit.",
        f"chapter: {number}",
        f"reviewed_on: {day.isoformat()}",
        f"reviewer: {approver.id}",
        f"name: {yamlfile.quoted(approver.name)}",
        f"conclusion: {yamlfile.quoted(conclusion)}",
        f"signed_at: {yamlfile.quoted(now.isoformat(timespec='seconds'))}",
        f"digest: {digest}",
        "signature: |",
        *("  " + line for line in signature.splitlines()),
    ]
    path = root / rel
    if path.exists():
        raise fail(rel, 0, 0, "MAN690", "同一天已有该章的评审记录")
    chapter_path = root / chapter.path
    updated = set_last_reviewed(chapter_path.read_text(encoding="utf-8"), day)
    write_atomic(path, "\n".join(lines) + "\n")
    write_atomic(chapter_path, updated)
    return path
