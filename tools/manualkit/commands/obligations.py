"""``manual obligations``: every obligation of chapter 8 and how it is enforced."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import EXIT_FINDINGS, EXIT_OK, Command, Outcome, format_option

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext
    from manualkit.records.obligation_map import ObligationReport

KIND_LABEL = {"check": "检查", "command": "命令与记录", "people": "由人执行"}


def obligations(root: Path) -> ObligationReport:
    from manualkit.records.obligation_map import obligation_report
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(root)
    manual, _ = snap.require()
    return obligation_report(manual, snap.files.contents)


def as_rows(report: ObligationReport) -> list[dict[str, object]]:
    return [
        {
            "section": o.section, "clause": o.where, "fingerprint": o.fingerprint, "text": o.text, "mapped": m is not None,
            "enforced_by": m.kind if m else None, "how": m.how if m else None, "codes": list(m.codes) if m else [],
            "command": (m.command or None) if m else None, "record": (m.record or None) if m else None,
        }
        for o, m in report.obligations
    ]  # fmt: skip


def render_json(report: ObligationReport) -> str:
    data = {
        "obligations": as_rows(report),
        "unmapped": len(report.unmapped),
        "stale": [{"section": m.section, "fingerprint": m.fingerprint} for m in report.stale],
        "problems": [d.as_dict() for d in report.problems],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render_text(report: ObligationReport) -> str:
    lines = []
    for o, m in report.obligations:
        lines.append(f"{o.where} [{o.fingerprint}] {o.text}")
        if m is None:
            lines.append("    未登记执行方式！（MAN830）")
            continue
        evidence = "、".join(m.codes) if m.kind == "check" else f"{m.command} → {m.record}" if m.kind == "command" else ""
        lines.append(f"    {KIND_LABEL[m.kind]}：{m.how}" + (f"（{evidence}）" if evidence else ""))
    lines.append(f"共 {len(report.obligations)} 项义务，未登记 {len(report.unmapped)} 项，失效条目 {len(report.stale)} 项")
    lines += [d.render() for d in report.problems]
    return "\n".join(lines) + "\n"


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    format_option(p, ("text", "json"), json_alias=True)


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    report = obligations(context.root)
    outcome = Outcome(EXIT_FINDINGS if report.unmapped else EXIT_OK)
    outcome.write(render_json(report) if args.format == "json" else render_text(report))
    return outcome


COMMANDS = (Command("obligations", _arguments, _run),)
