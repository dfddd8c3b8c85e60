"""``manual audit``: the whole-chain audit as a report (Markdown, HTML or JSON)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Sequence
from pathlib import Path

from manualkit.records.audit import AuditReport, audit

__all__ = ["audit", "audit_with_witnesses", "render_html", "render_json", "render_markdown"]


def audit_with_witnesses(root: Path, today: dt.date, witnesses: Sequence[Path] = ()) -> AuditReport:
    """:func:`audit`, and every difference between the witnesses (earlier signed DOCX releases or
    ``manual history --json`` outputs) and the records in git, under 发布记录完整 (MAN749)."""
    report = audit(root, today)
    if not witnesses:
        return report
    from manualkit.commands.witness import witness_findings

    found = tuple(witness_findings(root, witnesses, report.releases))
    areas = tuple(
        dataclasses.replace(a, findings=a.findings + found, scope=f"{a.scope}；对照 {len(witnesses)} 份见证") if a.key == "records" else a
        for a in report.areas
    )
    return dataclasses.replace(report, areas=areas)


def render_json(report: AuditReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"


def _verdict(report: AuditReport) -> str:
    if report.passed:
        warnings = len(report.findings)
        return "通过：全部检查均未发现问题" + (f"（{warnings} 项提示）" if warnings else "")
    failed = [a.title for a in report.areas if not a.passed]
    return f"未通过：{len(failed)} 项检查发现问题（{'；'.join(failed)}）"


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
        f"- 结论：**{_verdict(report)}**",
        "",
        "| 检查 | 结果 | 范围 |",
        "|---|---|---|",
    ]
    for a in report.areas:
        result = "通过" if a.passed else f"**未通过**（{sum(1 for _ in a.findings)} 项）"
        lines.append(f"| {cell(a.title)} | {result} | {cell(a.scope)} |")
    if report.findings:
        lines += ["", "## 发现", ""]
        for a in report.areas:
            for d in a.findings:
                level = "错误" if d.severity == "error" else "提示"
                lines.append(f"- {level} {d.code}（{a.title}）`{d.path}`：{d.message}")
    lines += ["", "## 版本时间线", "", "| " + " | ".join(TIMELINE_HEADER) + " |", "|" + "---|" * len(TIMELINE_HEADER)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in _timeline_rows(report)]
    lines += ["", "## 签署人", "", "| " + " | ".join(SIGNERS_HEADER) + " |", "|" + "---|" * len(SIGNERS_HEADER)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in _signer_rows(report)]
    return "\n".join(lines) + "\n"


_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; max-width: 64em; margin: 2em auto; line-height: 1.6; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
.pass { color: #060; } .fail { color: #b00; font-weight: bold; } code { background: #f4f4f4; padding: 0 .2em; }
"""


def render_html(report: AuditReport) -> str:
    e = html.escape
    verdict_class = "pass" if report.passed else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>审计报告：{e(report.title)}（{e(report.document)}）</title><style>{_CSS}</style></head><body>",
        f"<h1>审计报告：{e(report.title)}（{e(report.document)}）</h1>",
        f"<p>审计日期：{report.today.isoformat()}<br>仓库 HEAD：<code>{e(report.head or '—')}</code></p>",
        f'<p class="{verdict_class}">结论：{e(_verdict(report))}</p>',
        "<table><tr><th>检查</th><th>结果</th><th>范围</th></tr>",
    ]
    for a in report.areas:
        result = '<span class="pass">通过</span>' if a.passed else f'<span class="fail">未通过（{len(a.findings)} 项）</span>'
        parts.append(f"<tr><td>{e(a.title)}</td><td>{result}</td><td>{e(a.scope)}</td></tr>")
    parts.append("</table>")
    if report.findings:
        parts.append("<h2>发现</h2><ul>")
        for a in report.areas:
            for d in a.findings:
                parts.append(f"<li><b>{e(d.code)}</b>（{e(a.title)}）<code>{e(d.path)}</code>：{e(d.message)}</li>")
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
