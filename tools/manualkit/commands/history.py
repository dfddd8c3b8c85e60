"""``manual history``: the table of released versions (same data as ``--json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.records.history import ApprovalView, ReleaseEntry, release_history

if TYPE_CHECKING:
    from manualkit.records.policy import Policy


def history(root: Path) -> list[ReleaseEntry]:
    """Every released version, verified (answered from the timeline cache when nothing changed)."""
    return release_history(root)


def returned_requests_text(root: Path) -> str:
    """Lines for the returned change requests (8.2 三 4: 退回 is archived with its reason); nothing,
    and no cost beyond one stat, when none was ever returned."""
    from manualkit.records.procedure import RETURNS_DIR

    if not (root / RETURNS_DIR).is_dir():
        return ""
    from manualkit.records.procedure import procedure_state
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(root)
    if snap.manual is None or snap.policy is None:
        return ""
    lines = []
    for cr_id, r in sorted(procedure_state(snap).returns.items()):
        cr = snap.requests.get(cr_id)
        again = [i for i, c in sorted(snap.requests.items()) if c.data.get("replaces") == cr_id]
        resubmitted = f"；已由 {'、'.join(again)} 重新提交" if again else ""
        title = cr.title if cr else ""
        lines.append(f"已退回：{cr_id} {title}（{r.fields['role']} {r.name}，{r.fields['returned_at']}）：{r.fields['reason']}{resubmitted}\n")
    return "".join(lines)


def worktree_policy(root: Path) -> Policy | None:
    """The working tree's policy, for the names of the revision classes in the table."""
    from manualkit.records.policy import load_policy
    from manualkit.text.worktree import read_manual_files

    return load_policy(read_manual_files(root).contents)[0]


def render_json(entries: Sequence[ReleaseEntry]) -> str:
    return json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=2) + "\n"


def signatures_by_request(approvals: Sequence[ApprovalView]) -> str:
    """The signatures of a release grouped by change request: ``CR-2026-001［编制 张伟 2026-02-11
    09:10，审核 …］ CR-2026-002［…］`` (✗ marks a signature that did not verify)."""
    groups: dict[str, list[str]] = {}
    for a in approvals:
        groups.setdefault(a.change_request, []).append(f"{a.role} {a.name} {a.signed_at[:16].replace('T', ' ')}{'' if a.valid else '✗'}{_revoked_mark(a)}")
    return " ".join(f"{cr}［{'，'.join(signs)}］" for cr, signs in groups.items())


def render_table(entries: Sequence[ReleaseEntry], policy: Policy | None) -> str:
    if not entries:
        return "尚无发布记录。\n"
    header = ["版本", "修订类别", "发布日期", "实施日期", "失效日期", "修订申请单", "签署", "验证"]
    rows = []
    for e in entries:
        r = e.record
        cls = policy.change_class(r.class_key) if policy else None
        signers = signatures_by_request(e.approvals)
        verdict = "通过" if e.valid else "失败：" + "；".join(d.code for d in e.problems)
        rows.append(
            [
                str(r.version), cls.name if cls else r.class_key, r.published.isoformat(), r.effective.isoformat(),
                e.effective_to.isoformat() if e.effective_to else "—", "、".join(r.change_requests), signers or "—",
                verdict + ("" if e.digest_valid else "（内容摘要不符）"),
            ]
        )  # fmt: skip
    return _table(header, rows) + "".join(f"  {d.render()}\n" for e in entries for d in e.problems)


def _revoked_mark(a: ApprovalView) -> str:
    """The key of this signature was revoked (8.2 四): before it was made, or only later."""
    if not a.key_revoked_at:
        return ""
    return "（签署时密钥已停用）" if not a.valid else f"（密钥于 {a.key_revoked_at[:16].replace('T', ' ')} 停用）"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]) + "\n"
