"""``manual audit``: the whole-chain audit as a report (Markdown, HTML or JSON)."""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.base.codes import Severity
from manualkit.commands.registry import Command, Outcome, write_output

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.audit import Area, AuditReport

__all__ = ["audit_with_witnesses", "exit_status", "render_html", "render_json", "render_markdown", "verdict_text"]


def audit_with_witnesses(run: Run, witnesses: Sequence[Path] = ()) -> AuditReport:
    """:func:`audit`, and every difference between the witnesses (earlier signed DOCX releases or
    ``manual history --json`` outputs) and the records in git, under 发布记录完整 (MAN749)."""
    from manualkit.records.audit import audit

    report = audit(run)
    if not witnesses:
        return report
    from manualkit.commands.witness import witness_findings

    found = tuple(witness_findings(run.root, witnesses, report.releases))
    areas = tuple(
        dataclasses.replace(a, findings=a.findings + found, scope=f"{a.scope}；对照 {len(witnesses)} 份见证") if a.key == "records" else a
        for a in report.areas
    )
    return dataclasses.replace(report, areas=areas)


def render_json(report: AuditReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"


#: How each severity is named in the report's findings.
LEVELS = {Severity.ERROR: "错误", Severity.WARNING: "须关注", Severity.INFO: "信息"}

#: The exit statuses of ``manual audit`` (documented in docs/release-model.md and its help).
EXIT_STATUS = {"pass": 0, "attention": 0, "fail": 1}


def exit_status(report: AuditReport, *, strict: bool = False) -> int:
    """0 通过, 0 通过（有 N 项须关注）(1 with ``strict``), 1 不通过; information never fails."""
    return 1 if strict and report.verdict == "attention" else EXIT_STATUS[report.verdict]


def verdict_text(report: AuditReport) -> str:
    """The conclusion in three levels: 通过, 通过（有 N 项须关注）, 不通过 (which checks)."""
    notes = report.count(Severity.INFO)
    noted = f"；另有 {notes} 项信息" if notes else ""
    if report.verdict == "fail":
        failed = [a.title for a in report.areas if not a.passed]
        return f"不通过：{len(failed)} 项检查发现错误（{'；'.join(failed)}）"
    if report.verdict == "attention":
        return f"通过（有 {report.count(Severity.WARNING)} 项须关注）：没有错误；须关注的第八章事项见“发现”{noted}"
    return "通过：全部检查均未发现问题" + noted


def _by_level(report: AuditReport) -> list[tuple[Area, Diagnostic]]:
    """Every finding with its check: errors first, then what needs attention, then information."""
    found = [(a, d) for a in report.areas for d in a.findings]
    return sorted(found, key=lambda pair: list(LEVELS).index(pair[1].severity))


def _area_result(area: Area) -> tuple[str, str]:
    """An area's result and its class: 通过, 须关注（N 项）or 不通过（N 项）."""
    errors = sum(d.severity is Severity.ERROR for d in area.findings)
    warnings = sum(d.severity is Severity.WARNING for d in area.findings)
    if errors:
        return f"不通过（{errors} 项）", "fail"
    if warnings:
        return f"须关注（{warnings} 项）", "attention"
    return "通过", "pass"


def _timeline_rows(report: AuditReport) -> list[list[str]]:
    rows = []
    for e in report.releases:
        r = e.record
        rows.append(
            [
                str(r.version), r.published.isoformat(), r.effective.isoformat(),
                e.effective_to.isoformat() if e.effective_to else "—", "、".join(r.change_requests),
                (e.commit or "—")[:10], "通过" if e.valid else "失败",
            ]
        )  # fmt: skip
    return rows


TIMELINE_HEADER = ["版本", "发布日期", "实施日期", "失效日期", "修订申请单", "发布提交", "验证"]
SIGNERS_HEADER = ["版本", "修订申请单", "签署角色", "签署人", "签署时间", "签名验证"]


def _signer_rows(report: AuditReport) -> list[list[str]]:
    """Who signed each release: every signature of its change requests, with role and time."""
    rows = []
    for e in report.releases:
        for a in e.approvals:
            when = a.signed_at[:16].replace("T", " ") + (f"（UTC{a.signed_at[19:]}）" if len(a.signed_at) > 19 else "")
            rows.append([str(e.record.version), a.change_request, a.role, f"{a.name}（{a.signer}）", when, "有效" if a.valid else "无效"])
    return rows


def render_markdown(report: AuditReport) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        f"# 审计报告：{report.title}（{report.document}）",
        "",
        f"- 审计日期：{report.today.isoformat()}",
        f"- 仓库 HEAD：{report.head or '—'}",
        f"- 结论：**{verdict_text(report)}**",
        "",
        "| 检查 | 结果 | 范围 |",
        "|---|---|---|",
    ]
    for a in report.areas:
        result, kind = _area_result(a)
        lines.append(f"| {cell(a.title)} | {f'**{result}**' if kind == 'fail' else result} | {cell(a.scope)} |")
    if report.findings:
        lines += ["", "## 发现", ""]
        for a, d in _by_level(report):
            lines.append(f"- {LEVELS[d.severity]} {d.code}（{a.title}）`{d.path}`：{d.message}")
    lines += ["", "## 版本时间线", "", "| " + " | ".join(TIMELINE_HEADER) + " |", "|" + "---|" * len(TIMELINE_HEADER)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in _timeline_rows(report)]
    lines += ["", "## 签署人", "", "| " + " | ".join(SIGNERS_HEADER) + " |", "|" + "---|" * len(SIGNERS_HEADER)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in _signer_rows(report)]
    return "\n".join(lines) + "\n"


_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; max-width: 64em; margin: 2em auto; line-height: 1.6; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
.pass { color: #060; } .attention { color: #8a5a00; font-weight: bold; } .fail { color: #b00; font-weight: bold; } code { background: #f4f4f4; padding: 0 .2em; }
"""


def render_html(report: AuditReport) -> str:
    e = html.escape
    verdict_class = report.verdict
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>审计报告：{e(report.title)}（{e(report.document)}）</title><style>{_CSS}</style></head><body>",
        f"<h1>审计报告：{e(report.title)}（{e(report.document)}）</h1>",
        f"<p>审计日期：{report.today.isoformat()}<br>仓库 HEAD：<code>{e(report.head or '—')}</code></p>",
        f'<p class="{verdict_class}">结论：{e(verdict_text(report))}</p>',
        "<table><tr><th>检查</th><th>结果</th><th>范围</th></tr>",
    ]
    for a in report.areas:
        text, kind = _area_result(a)
        result = f'<span class="{kind}">{e(text)}</span>'
        parts.append(f"<tr><td>{e(a.title)}</td><td>{result}</td><td>{e(a.scope)}</td></tr>")
    parts.append("</table>")
    if report.findings:
        parts.append("<h2>发现</h2><ul>")
        for a, d in _by_level(report):
            parts.append(f"<li>{LEVELS[d.severity]} <b>{e(d.code)}</b>（{e(a.title)}）<code>{e(d.path)}</code>：{e(d.message)}</li>")
        parts.append("</ul>")
    parts.append("<h2>版本时间线</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in TIMELINE_HEADER) + "</tr>")
    for row in _timeline_rows(report):
        parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
    parts.append("</table>")
    parts.append("<h2>签署人</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in SIGNERS_HEADER) + "</tr>")
    for row in _signer_rows(report):
        parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", dest="format", action="store_const", const="json", default="md", help="输出 JSON（同 --format json）")
    p.add_argument("--strict", action="store_true", help="有须关注的发现时也按不通过处理（退出状态 1）")
    p.add_argument("--format", choices=("md", "html", "json"), default="md", help="报告格式")
    p.add_argument("-o", "--output", help="输出文件（默认输出到终端）")
    p.add_argument(
        "--witness", nargs="+", metavar="FILE",
        help="对照见证：早先签名的 DOCX 发布文件或 manual history --json 的输出；报告与之不一致的每个版本",
    )  # fmt: skip


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    root = context.root
    report = audit_with_witnesses(context.run, [Path(w) for w in args.witness or ()])
    text = render_json(report) if args.format == "json" else render_html(report) if args.format == "html" else render_markdown(report)
    outcome = Outcome()
    path = write_output(outcome, root, args.output, "", text)
    if path is not None:
        outcome.say(f"已写出审计报告：{path}")
    outcome.status = exit_status(report, strict=args.strict)
    if report.verdict != "pass":
        outcome.warn(f"manual audit：{verdict_text(report)}" + ("（--strict：按不通过处理）" if outcome.status and report.passed else "") + "\n")
    return outcome


COMMANDS = (
    Command("audit", _arguments, _run,
        description="结论分三级：通过（退出状态 0）；通过（有 N 项须关注）（退出状态 0，加 --strict 为 1）；不通过（退出状态 1）。“信息”（如早于该要求）从不导致不通过。",
    ),
)  # fmt: skip
