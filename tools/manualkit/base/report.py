"""Rendering diagnostics: the one place where findings become text (text, JSON, GitHub)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from manualkit.base.diagnostics import Diagnostic, Severity

FORMATS = ("text", "json", "github")


def render(diagnostics: Sequence[Diagnostic], fmt: str, summary: str = "") -> str:
    if fmt == "json":
        return json.dumps([d.as_dict() for d in diagnostics], ensure_ascii=False, indent=2) + "\n"
    if fmt == "github":
        return "".join(_annotation(d) + "\n" for d in diagnostics) + (summary + "\n" if summary else "")
    lines = [_text(d) for d in diagnostics]
    if summary:
        lines.append(summary)
    return "\n".join(lines) + ("\n" if lines else "")


def _text(d: Diagnostic) -> str:
    tag = "" if d.severity is Severity.ERROR else "（警告）"
    return d.render() + tag


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _annotation(d: Diagnostic) -> str:
    level = "error" if d.severity is Severity.ERROR else "warning"
    props = [f"file={_escape(d.path, True)}"]
    if d.line:
        props += [f"line={d.line}", f"col={max(d.col, 1)}"]
    props.append(f"title={_escape(d.code, True)}")
    return f"::{level} {','.join(props)}::{_escape(d.message)}"


def summary_line(errors: int, warnings: int, chapters: int, sections: int) -> str:
    if not errors and not warnings:
        return f"manual check：{chapters} 章 {sections} 节，未发现问题"
    return f"manual check：{errors} 个错误，{warnings} 个警告"
