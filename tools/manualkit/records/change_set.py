"""A change set: what a pull request changes relative to its base, and whether chapter 8's
revision procedure allows it (``manual check --base REF``).

Every changed section must be listed by a change request of the change set; released records
and released change requests are immutable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manualkit.base.diagnostics import Diagnostic, Severity, diagnostic
from manualkit.records.approval import approval_findings
from manualkit.records.change_request import CONTROLLED, ChangeRequest, content_findings
from manualkit.records.policy import Policy
from manualkit.records.release import section_label
from manualkit.records.repository import Snapshot
from manualkit.records.trust import CONTROLLED_PATH
from manualkit.text.manual import Manual

if TYPE_CHECKING:
    from manualkit.records.revocation import Revocation


@dataclass(frozen=True)
class SectionChange:
    section_id: str
    path: str
    line: int
    kind: str  # added | removed | modified


def changed_sections(base: Manual, head: Manual) -> list[SectionChange]:
    """Sections whose title or text differ between ``base`` and ``head``."""
    def index(manual: Manual) -> dict[str, tuple[str, int, str, str]]:
        return {s.id: (c.path, s.line, s.title, s.body) for c in manual.chapters for s in c.sections}

    before, after = index(base), index(head)
    out = []
    for sid, (path, line, title, body) in after.items():
        old = before.get(sid)
        if old is None:
            out.append(SectionChange(sid, path, line, "added"))
        elif (old[2], old[3]) != (title, body):
            out.append(SectionChange(sid, path, line, "modified"))
    for sid, (path, _, _, _) in before.items():
        if sid not in after:
            out.append(SectionChange(sid, path, 0, "removed"))
    return out


def requests_in_set(base: Snapshot, head: Snapshot, returned: Collection[str] = ()) -> list[ChangeRequest]:
    """The change requests of the change set from ``base`` to ``head``: added or modified, not
    released and not returned (``manual check --base`` and ``manual summary`` agree on them)."""
    released_ids = {cr for r in base.records for cr in r.change_requests}
    return [
        cr for cr_id, cr in head.requests.items()
        if cr_id not in released_ids and cr_id not in returned and (cr_id not in base.requests or _raw(base.requests[cr_id]) != _raw(cr))
    ]  # fmt: skip


def change_set_findings(
    base: Snapshot,
    head: Snapshot,
    *,
    judge: Policy | None = None,
    controlled: tuple[Mapping[str, str], Mapping[str, str]] | None = None,
    also_covered: frozenset[str] = frozenset(),
    returned: Collection[str] = (),
    revocations: Sequence[Revocation] = (),
) -> list[Diagnostic]:
    """What the change from ``base`` to ``head`` breaks. ``judge`` is the policy in force (the
    last release's) that the open change requests are checked against (``head``'s policy when
    None); ``controlled`` the digests of policy.yml and certs/ at ``base`` and ``head``
    (records.trust): a change to them must be listed (``policy`` / ``certs``) by a request;
    ``also_covered``: sections listed by requests not in ``head`` (being prepared in the working tree);
    ``returned``: requests returned (closed: they cover nothing); ``revocations``: revoked keys."""
    out: list[Diagnostic] = []
    released_ids = {cr for r in base.records for cr in r.change_requests}
    # Released records and released change requests never change.
    for path, raw in base.records_raw.items():
        now = head.records_raw.get(path)
        if now is None:
            out.append(diagnostic(path, 0, 0, "MAN672", "已发布的发布记录被删除；发布记录不可修改或删除"))
        elif now != raw:
            out.append(diagnostic(path, 1, 1, "MAN672", "已发布的发布记录被修改；发布记录不可修改，如有错误请提出新的修订申请"))
    for cr_id in released_ids:
        old = base.requests.get(cr_id)
        new = head.requests.get(cr_id)
        if old is None:
            continue
        if new is None:
            out.append(diagnostic(old.path, 0, 0, "MAN673", f"已发布的修订申请单 {cr_id} 被删除"))
        elif _raw(old) != _raw(new):
            out.append(diagnostic(new.path, 1, 1, "MAN673", f"已发布的修订申请单 {cr_id} 被修改；已发布的记录不可修改"))
    if base.manual is None or head.manual is None:
        return out
    in_set = requests_in_set(base, head, returned)
    added_here = {cr.id for cr in in_set if cr.id not in base.requests}
    covered = {s for cr in in_set for s in cr.sections} | also_covered
    broken = {d.path for d in head.diagnostics if d.severity is Severity.ERROR}
    # A chapter that fails to load is reported by its own errors, not as "all sections removed".
    changes = [c for c in changed_sections(base.manual, head.manual) if not (c.kind == "removed" and c.path in broken)]
    changed_ids = {c.section_id for c in changes}
    for change in changes:
        if change.section_id not in covered:
            what = {"added": "新增", "removed": "删除", "modified": "修改"}[change.kind]
            out.append(
                diagnostic(
                    change.path, change.line, 1, "MAN670",
                    f"{what}了第 {change.section_id} 节，但本次变更中没有列出该节的修订申请单；请运行 manual propose 提出修订申请",
                )
            )  # fmt: skip
    out += _chapter_metadata_findings(base, head, covered)
    for name in ("manual/manual.yml", "manual/policy.yml"):
        if base.files.contents.get(name) != head.files.contents.get(name):
            out.append(diagnostic(name, 0, 0, "MAN675", "该受控配置文件被修改：手册标识、修订政策或签署人名录的变更须经质量管理部评审（见 CODEOWNERS）"))
    policy = judge or head.policy
    after = controlled[1] if controlled else None
    if controlled is not None:
        before = controlled[0]
        changed_ids |= {k for k in after or {} if before.get(k) != (after or {}).get(k)}
        for key in CONTROLLED:
            if key in changed_ids and key not in covered:
                out.append(
                    diagnostic(
                        CONTROLLED_PATH[key], 0, 0, "MAN740",
                        f"{section_label(key)}被修改，但本次变更中没有列出 {key} 的修订申请单；请运行 manual propose --class minor --sections {key}",
                    )
                )  # fmt: skip
    for cr in in_set:
        if cr.class_key == "editorial" and any(k in cr.sections for k in CONTROLLED):
            out.append(diagnostic(cr.path, 1, 1, "MAN741", f"{cr.id} 修改{'、'.join(section_label(k) for k in CONTROLLED if k in cr.sections)}，须至少为一般修订（class: minor 或 major）并经批准签署"))
        if policy is not None:
            out += content_findings(cr, head.manual, policy)
            out += approval_findings(cr, head.manual, policy, revocations, after)[1]
        if cr.id in added_here:
            for sid in cr.sections:
                if sid not in changed_ids:
                    out.append(diagnostic(cr.path, 1, 1, "MAN671", f"{cr.id} 列出了第 {sid} 节，但本次变更没有修改该节"))
    return out


def _chapter_metadata_findings(base: Snapshot, head: Snapshot, covered: set[str]) -> list[Diagnostic]:
    """Front matter is controlled too: owner, title or review cycle change only with a change
    request naming a section of the chapter; the review date only with a new review record."""
    assert base.manual is not None and head.manual is not None
    before = {c.path: c for c in base.manual.chapters}
    new_reviews = {p for p in head.reviews_raw if p not in base.reviews_raw}
    out = []
    for chapter in head.manual.chapters:
        old = before.get(chapter.path)
        if old is None:
            continue
        listed = any(s.split(".")[0] == str(chapter.number) for s in covered)
        if (old.number, old.title, old.owner, old.review_cycle_months) != (chapter.number, chapter.title, chapter.owner, chapter.review_cycle_months) and not listed:
            out.append(
                diagnostic(
                    chapter.path, 2, 1, "MAN674",
                    f"第{chapter.number}章的前置元数据（章标题、负责部门或评审周期）被修改，但本次变更中没有列出该章任何一节的修订申请单",
                )
            )  # fmt: skip
        if old.last_reviewed != chapter.last_reviewed and not any(p.endswith(f"-ch{chapter.number}.yml") for p in new_reviews):
            out.append(
                diagnostic(
                    chapter.path, chapter.review_line, 1, "MAN674",
                    f"第{chapter.number}章的上次评审日期被修改，但本次变更中没有新的定期评审记录；请用 manual review 记录评审",
                )
            )  # fmt: skip
    return out


def _raw(cr: ChangeRequest) -> bytes:
    return cr.raw
