"""An edition: what a rendered copy of the manual (DOCX, site page) says about itself.

It is plain data assembled from a release record (or from the working tree for a draft), so
the renderers never read git or the policy themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


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

    @property
    def controlled(self) -> bool:
        """受控 only for a released version that is (or will be) in force."""
        return self.status in (Status.IN_FORCE, Status.APPROVED)
