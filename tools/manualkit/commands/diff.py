"""``manual diff --from X --to Y``: what changed between two versions (or the versions in force
on two dates), section by section, with the change requests that changed each section. The
comparison itself is ``documents/release_comparison.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import EXIT_FINDINGS, Command, Outcome, write_output

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext
    from manualkit.documents.release_comparison import Comparison


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_", required=True, metavar="版本或日期", help="起点：版本（A/0）或日期")
    p.add_argument("--to", required=True, metavar="版本或日期", help="终点：版本（B/1）或日期")
    p.add_argument("--format", choices=("text", "json", "html", "docx", "md"), default="text", help="输出格式（docx 为 Word 修订模式）")
    p.add_argument("--layout", choices=("redline", "table"), default="redline", help="redline：逐节修订对照（默认）；table：修订对照表（md/html/docx）")
    p.add_argument("-o", "--output", help="输出文件（docx 默认 dist/）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.diagnostics import fail
    from manualkit.documents.release_comparison import compare_versions, redline
    from manualkit.records.manual_diff import render_json, render_text

    root = context.root
    comparison = compare_versions(root, args.from_, args.to)
    d = comparison.diff
    outcome = Outcome()
    if args.layout == "table":
        _write_comparison_table(outcome, root, args, comparison)
    elif args.format == "md":
        raise fail("--format", 0, 0, "MAN000", "md 格式用于修订对照表：请加 --layout table；逐节修订对照可输出 text、json、html 或 docx")
    elif args.format == "docx":
        name = f"{comparison.new.metadata.document_number}_{d.from_point.version.replace('/', '-')}_{d.to_point.version.replace('/', '-')}_修订对照.docx"
        path = write_output(outcome, root, args.output, name, redline(comparison))
        outcome.say(f"已生成修订对照 DOCX（{d.from_point.version} → {d.to_point.version}，Word 修订模式，可逐项接受或拒绝）：{path}")
    else:
        title = comparison.new.metadata.title
        if args.format == "html":
            from manualkit.documents.html_redline import render_html, section_bodies

            changes = [(s.id, s.from_id, str(s.status)) for s in d.changes]
            text = render_html(d, title, section_bodies(comparison.old, comparison.new, changes))
        else:
            text = render_text(d) if args.format == "text" else render_json(d)
        path = write_output(outcome, root, args.output, "", text)
        if path is not None:
            outcome.say(f"已写出修订对照：{path}")
    invalid = [p.version for p in (d.from_point, d.to_point) if not p.valid]
    if invalid:
        outcome.warn(f"manual diff：警告：{'、'.join(invalid)} 版的验证未通过，请运行 manual audit\n")
        outcome.status = EXIT_FINDINGS
    return outcome


def _write_comparison_table(outcome: Outcome, root: Path, args: argparse.Namespace, comparison: Comparison) -> None:
    """``manual diff --layout table``: the 修订对照表 as Markdown (default), HTML or DOCX."""
    from manualkit.base.clock import noon, zone_or_default
    from manualkit.base.diagnostics import fail
    from manualkit.documents.comparison_table import table_docx, table_markdown, table_page
    from manualkit.documents.release_comparison import comparison_table, comparison_table_title

    rows = comparison_table(comparison)
    title = comparison_table_title(comparison)
    d = comparison.diff
    fmt = "md" if args.format in ("text", "md") else args.format
    if fmt == "json":
        raise fail("--format", 0, 0, "MAN000", "修订对照表（--layout table）可输出 md、html 或 docx")
    if fmt == "docx":
        meta = comparison.new.metadata
        header = f"{meta.title} · {meta.document_number} · 修订对照表 {d.from_point.version} → {d.to_point.version}"
        to_entry = comparison.entries[comparison.to_index]
        to_policy = comparison.reader.policy(to_entry.commit) if to_entry.commit else None
        created = noon(to_entry.record.published, zone_or_default(to_policy.time_zone if to_policy else None))
        intro = [f"比较：{d.from_point.describe()} → {d.to_point.describe()}", "逐条列出修订的条款；未修订的条款不列。修订前栏中删除的文字加删除线，修订后栏中新增的文字加下划线。修订说明为修订申请单所述的修订原因。"]
        data = table_docx(rows, manual=comparison.new, title=title, intro=intro, header=header, created=created)
        name = f"{meta.document_number}_{d.from_point.version.replace('/', '-')}_{d.to_point.version.replace('/', '-')}_修订对照表.docx"
        path = write_output(outcome, root, args.output, name, data)
        outcome.say(f"已生成修订对照表 DOCX（{d.from_point.version} → {d.to_point.version}，{len(rows)} 处修订）：{path}")
        return
    text = table_markdown(rows, title) if fmt == "md" else table_page(rows, title)
    path = write_output(outcome, root, args.output, "", text)
    if path is not None:
        outcome.say(f"已写出修订对照表：{path}")


COMMANDS = (Command("diff", _arguments, _run),)
