"""An edition: what a rendered copy of the manual (DOCX, site page) says about itself.

It is plain data assembled from a release record (or from the working tree for a draft), so
the renderers never read git or the policy themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from manualkit.records.revision_table import signer_names

if TYPE_CHECKING:
    from manualkit.records.history import ReleaseEntry
    from manualkit.records.policy import Policy


class Status(StrEnum):
    IN_FORCE = "现行有效"  # the version in force on the edition's date
    APPROVED = "已批准待实施"  # released, effective date still to come
    SUPERSEDED = "作废"  # withdrawn: replaced by a later version
    DRAFT = "草稿（未生效）"  # working tree, not released


@dataclass(frozen=True)
class Signoff:
    """One signed approval as printed on the sign-off page (编制/审核/会签/批准)."""

    role: str  # 编制 | 审核 | 会签 | 批准
    meaning: str  # what signing in this role means (from the policy)
    signer: str  # full name
    signed_at: dt.datetime
    change_request: str  # e.g. CR-2026-003
    valid: bool = True


@dataclass(frozen=True)
class RevisionRow:
    """One row of the 修订记录 table."""

    number: int  # 序号
    version: str  # A/1
    sections: tuple[str, ...]  # 修订章节, e.g. ("3.2", "5.1"); empty for the first edition
    summary: str  # 修订内容摘要
    change_requests: tuple[str, ...]  # 修订申请单号
    prepared_by: str  # 编制
    reviewed_by: str  # 审核
    cosigned_by: str  # 会签 (— when no department co-signed)
    approved_by: str  # 批准
    published: dt.date
    effective: dt.date


@dataclass(frozen=True)
class Edition:
    version: str  # "A/0"
    status: Status
    published: dt.date | None
    effective: dt.date | None
    change_class: str | None = None  # 重大修订 / 一般修订 / 编辑性修改; None for the first edition
    signoffs: tuple[Signoff, ...] = ()
    revisions: tuple[RevisionRow, ...] = ()  # every version up to and including this one
    changed_sections: frozenset[str] = field(default_factory=frozenset)  # changed in this version
    content_digest: str = ""  # git tree hash of manual/ at the release
    development_signature: bool = False  # signed with a development key: 开发签名（非正式）
    superseded_by: str | None = None  # the version that replaced this one (作废 copies)
    superseded_on: dt.date | None = None  # the day it took effect
    copy_number: str = ""  # 分发号 of a numbered controlled copy (manual distribute); "" otherwise

    @property
    def controlled(self) -> bool:
        """受控 only for a released version that is (or will be) in force."""
        return self.status in (Status.IN_FORCE, Status.APPROVED)


def release_edition(
    entries: Sequence[ReleaseEntry],
    index: int,
    status: Status,
    policy: Policy,
    *,
    development_signature: bool,
) -> Edition:
    """The edition of release ``entries[index]`` (entries oldest first, as history gives them)."""
    entry = entries[index]
    record = entry.record
    signoffs = tuple(
        Signoff(
            role=a.role,
            meaning=policy.roles[a.role].meaning if a.role in policy.roles else "",
            signer=a.name,
            signed_at=dt.datetime.fromisoformat(a.signed_at),
            change_request=a.change_request,
            valid=a.valid,
        )
        for a in entry.approvals
    )
    rows = []
    for number, e in enumerate(entries[: index + 1], start=1):
        r = e.record
        rows.append(
            RevisionRow(
                number=number,
                version=str(r.version),
                sections=() if r.previous is None else r.sections,
                summary=r.summary,
                change_requests=r.change_requests,
                prepared_by=signer_names(e.approvals, "编制"),
                reviewed_by=signer_names(e.approvals, "审核"),
                approved_by=signer_names(e.approvals, "批准"),
                cosigned_by=signer_names(e.approvals, "会签"),
                published=r.published,
                effective=r.effective,
            )
        )
    return Edition(
        version=str(record.version),
        status=status,
        published=record.published,
        effective=record.effective,
        change_class=None if record.previous is None else _class_name(policy, record.class_key),
        signoffs=signoffs,
        revisions=tuple(rows),
        changed_sections=frozenset() if record.previous is None else frozenset(record.sections),
        content_digest=record.content_digest,
        development_signature=development_signature,
        superseded_by=str(entries[index + 1].record.version) if status is Status.SUPERSEDED and index + 1 < len(entries) else None,
        superseded_on=entries[index + 1].record.effective if status is Status.SUPERSEDED and index + 1 < len(entries) else None,
    )


def _class_name(policy: Policy, key: str) -> str:
    change_class = policy.change_class(key)
    return change_class.name if change_class else key


def status_on(entries: Sequence[ReleaseEntry], index: int, day: dt.date) -> Status:
    """Whether release ``index`` is in force, approved and waiting, or superseded on ``day``."""
    record = entries[index].record
    if record.effective > day:
        return Status.APPROVED
    later = [e for e in entries[index + 1 :] if e.record.effective <= day]
    return Status.SUPERSEDED if later else Status.IN_FORCE
