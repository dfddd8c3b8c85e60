"""``manual history``: the table of released versions (same data as ``--json``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import EXIT_FINDINGS, EXIT_OK, Command, Outcome, format_option

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext
    from manualkit.records.history import ApprovalView, ReleaseEntry
    from manualkit.records.policy import Policy
    from manualkit.records.procedure import ReturnedRequest


def history(root: Path) -> list[ReleaseEntry]:
    """Every released version, verified (answered from the timeline cache when nothing changed)."""
    from manualkit.records.history import release_history

    return release_history(root)


def returned(root: Path) -> list[ReturnedRequest]:
    """The returned change requests (8.2 三 4: 退回 is archived with its reason); none, at no cost
    beyond one stat, when none was ever returned."""
    from manualkit.records.procedure import RETURNS_DIR

    if not (root / RETURNS_DIR).is_dir():
        return []
    from manualkit.records.procedure import returned_requests
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(root)
    if snap.manual is None or snap.policy is None:
        return []
    return returned_requests(snap)


def returned_requests_text(requests: Sequence[ReturnedRequest]) -> str:
    lines = []
    for r in requests:
        f = r.record.fields
        resubmitted = f"；已由 {'、'.join(r.replaced_by)} 重新提交" if r.replaced_by else ""
        unverified = "" if r.verified else "（退回记录的签名无效）"
        lines.append(
            f"已退回：{r.request.id} {r.request.title}（{f['role']} {r.record.name}，{f['returned_at']}）{unverified}：{f['reason']}{resubmitted}\n"
        )
    return "".join(lines)


def worktree_policy(root: Path) -> Policy | None:
    """The working tree's policy, for the names of the revision classes in the table."""
    from manualkit.records.policy import load_policy
    from manualkit.text.worktree import read_manual_files

    return load_policy(read_manual_files(root).contents)[0]


def render_json(entries: Sequence[ReleaseEntry], returned: Sequence[ReturnedRequest] = ()) -> str:
    """``{"releases": [...], "returned_requests": [...]}`` (see docs/release-model.md)."""
    data = {"releases": [e.as_dict() for e in entries], "returned_requests": [r.as_dict() for r in returned]}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def signatures_by_request(approvals: Sequence[ApprovalView]) -> str:
    """The signatures of a release grouped by change request: ``CR-2026-001［编制 张伟 2026-02-11
    09:10，审核 …］ CR-2026-002［…］`` (✗ marks a signature that did not verify)."""
    groups: dict[str, list[str]] = {}
    for a in approvals:
        groups.setdefault(a.change_request, []).append(f"{a.role} {a.name} {a.signed_at[:16].replace('T', ' ')}{'' if a.valid else '✗'}{_revoked_mark(a)}")
    return " ".join(f"{cr}［{'，'.join(signs)}］" for cr, signs in groups.items())


#: The width a terminal table of ``manual history`` keeps to (without ``--wide``).
TABLE_COLUMNS = 120


def render_table(entries: Sequence[ReleaseEntry], policy: Policy | None, today: dt.date, *, wide: bool = False) -> str:
    """The releases, one row each, with their 状态 on ``today``; the signatures follow each row on
    lines of their own, indented and wrapped at :data:`TABLE_COLUMNS` (``wide``: in a 签署 column
    of the row, as long as it takes)."""
    from manualkit.records.edition import status_on

    if not entries:
        return "尚无发布记录。\n"
    header = ["版本", "修订类别", "发布日期", "实施日期", "失效日期", "状态", "修订申请单", "验证"]
    if wide:
        header.insert(-1, "签署")
    rows, signatures = [], []
    for index, e in enumerate(entries):
        r = e.record
        cls = policy.change_class(r.class_key) if policy else None
        verdict = "通过" if e.valid else "失败：" + "；".join(d.code for d in e.problems)
        row = [
            str(r.version), cls.name if cls else r.class_key, r.published.isoformat(), r.effective.isoformat(),
            e.effective_to.isoformat() if e.effective_to else "—",
            "尚未发布" if r.published > today else status_on(entries, index, today).value,
            "、".join(r.change_requests), verdict + ("" if e.digest_valid else "（内容摘要不符）"),
        ]  # fmt: skip
        if wide:
            row.insert(-1, signatures_by_request(e.approvals) or "—")
        rows.append(row)
        signatures.append(_signature_lines(e.approvals))
    lines = _table_lines(header, rows)
    if not wide:
        lines = lines[:2] + [part for line, signed in zip(lines[2:], signatures, strict=True) for part in (line, *signed)]
    return "\n".join(lines) + "\n" + "".join(f"  {d.render()}\n" for e in entries for d in e.problems)


def _signature_lines(approvals: Sequence[ApprovalView]) -> list[str]:
    """``  签署：CR-…［编制 张伟 …，…］`` wrapped between signatures so that no line is wider than
    :data:`TABLE_COLUMNS` (a single signature longer than that stays whole)."""
    groups: dict[str, list[str]] = {}
    for a in approvals:
        groups.setdefault(a.change_request, []).append(f"{a.role} {a.name} {a.signed_at[:16].replace('T', ' ')}{'' if a.valid else '✗'}{_revoked_mark(a)}")
    if not groups:
        return ["  签署：—"]
    lead, indent = "  签署：", " " * 8
    lines: list[str] = []
    for cr, signs in groups.items():
        line = f"{lead if not lines else indent}{cr}［"
        for i, sign in enumerate(signs):
            piece = sign + ("］" if i == len(signs) - 1 else "，")
            if _width(line) + _width(piece) > TABLE_COLUMNS and line.strip() and not line.endswith("［"):
                lines.append(line)
                line = indent + "  "
            line += piece
        lines.append(line)
    return lines


def _revoked_mark(a: ApprovalView) -> str:
    """The key of this signature was revoked (8.2 四): before it was made, or only later."""
    if not a.key_revoked_at:
        return ""
    return "（签署时密钥已停用）" if not a.valid else f"（密钥于 {a.key_revoked_at[:16].replace('T', ' ')} 停用）"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _table_lines(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    format_option(p, ("text", "json"), json_alias=True)
    p.add_argument("--wide", action="store_true", help="签署写在表格的一列中（默认每个版本下另起一行，表格不超过 120 列）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    root = context.root
    entries = history(root)
    returns = returned(root)
    outcome = Outcome(EXIT_OK if all(e.valid for e in entries) else EXIT_FINDINGS)
    if args.format == "json":
        outcome.write(render_json(entries, returns))
    else:
        table = render_table(entries, worktree_policy(root), context.today, wide=args.wide)
        outcome.write(table + returned_requests_text(returns))
    return outcome


COMMANDS = (Command("history", _arguments, _run),)
