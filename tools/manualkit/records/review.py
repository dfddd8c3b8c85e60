"""Periodic reviews (定期评审): a signed record that a chapter was reviewed and needs no change.

A review changes no text and no version. It is kept in ``changelog/reviews/`` and moves the
chapter's ``review.last_reviewed`` date (records/review_date.py: a round-trip edit of the chapter,
every other byte stays). The kind ``manual-review/1`` is declared in the record registry
(records/signed.py) with its schema; its files carry no ``kind:`` line (they were written before
that rule, and record bytes never change).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manualkit.base import yamlfile
from manualkit.base.atomic import write_atomic
from manualkit.base.diagnostics import Diagnostic, diagnostic, fail
from manualkit.records import signed
from manualkit.records.review_date import set_last_reviewed
from manualkit.text.chapter import Chapter
from manualkit.text.manual import Manual

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.records.policy import Policy
    from manualkit.text.schema import Field

__all__ = ["set_last_reviewed"]

REVIEWS_DIR = "changelog/reviews"
REVIEWER_ROLE = "审核"


def _schema() -> Field:
    from manualkit.text.schema import Field

    return Field(
        "",
        dict,
        "定期评审记录",
        fields=(
            Field("chapter", int, "章编号", minimum=1, maximum=999),
            Field("reviewed_on", dt.date, "评审日期"),
            Field("reviewer", str, "评审人标识"),
            Field("name", str, "评审人姓名"),
            Field("conclusion", str, "评审结论"),
            Field("signed_at", str, "签署时间"),
            Field("digest", str, "所评审章节的摘要", pattern=r"sha256:[0-9a-f]{64}"),
            Field("signature", str, "SSH 签名"),
        ),
    )


KIND = signed.register(
    signed.RecordKind(
        "manual-review/1", REVIEWS_DIR, "定期评审记录",
        fields=("chapter", "reviewed_on", "reviewer", "name", "conclusion", "signed_at", "digest", "signature"),
        types={"chapter": int, "reviewed_on": dt.date},
        code="MAN690", codes=("MAN720", "MAN721", "MAN722"), generic=False, marked=False, schema=_schema,
    )
)  # fmt: skip


def parse_review(path: str, raw: bytes) -> tuple[Any, list[Diagnostic]]:
    """The mapping of the review record ``raw`` checked against the kind's schema, or a MAN690
    for each problem (said as unreadable, or as malformed)."""
    text, problems = signed.decode_record(path, raw, KIND)
    if text is None:
        return None, [diagnostic(path, d.line, d.col, "MAN690", f"定期评审记录无法读取：{d.message}") for d in problems]
    data, problems = signed.parse_schema(path, raw, KIND)
    if data is None:
        return None, [diagnostic(path, d.line, d.col, "MAN690", f"定期评审记录格式无效：{d.message}") for d in problems]
    return data, []


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


def record_review(run: Run, manual: Manual, policy: Policy, number: int, key_path: Path, conclusion: str) -> Path:
    """Write the review of chapter ``number`` made on ``run.today``, signed at ``run.now``, and the
    chapter's ``last_reviewed``."""
    root, day, now = run.root, run.today, run.now
    chapter = next((c for c in manual.chapters if c.number == number), None)
    if chapter is None:
        raise fail("manual", 0, 0, "MAN646", f"第 {number} 章不存在")
    from manualkit.base import sshsig

    approver = signed.approver_for_key(policy, key_path, registry="")
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
    if os.path.lexists(root / rel):
        raise fail(rel, 0, 0, "MAN690", "同一天已有该章的评审记录")
    chapter_path = root / chapter.path
    updated = set_last_reviewed(chapter_path.read_text(encoding="utf-8"), day)
    path = signed.write_new(root, rel, "\n".join(lines) + "\n", "review", code="MAN690", exists="同一天已有该章的评审记录")
    write_atomic(chapter_path, updated)
    return path
