"""Rendering diagnostics: the one place where findings become text (text, JSON, GitHub
annotations, GitLab Code Quality)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from manualkit.base.diagnostics import Diagnostic, Severity

FORMATS = ("text", "json", "github", "gitlab")


def render(diagnostics: Sequence[Diagnostic], fmt: str, summary: str = "") -> str:
    if fmt == "json":
        return json.dumps([d.as_dict() for d in diagnostics], ensure_ascii=False, indent=2) + "\n"
    if fmt == "gitlab":
        return code_quality(diagnostics)
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


def code_quality(diagnostics: Sequence[Diagnostic]) -> str:
    """The GitLab Code Quality report (a JSON array), shown in the merge request's widget.

    A finding's fingerprint is a digest of its code, file and message, and of how many identical
    findings come before it, never of its line: GitLab tells new findings from old ones by the
    fingerprint, and a finding that only moved down with an edit above it is not a new one. The
    same diagnostics therefore give the same fingerprints in every run."""
    seen: dict[tuple[str, str, str], int] = {}
    issues = []
    for d in diagnostics:
        key = (d.code, d.path, d.message)
        seen[key] = seen.get(key, 0) + 1
        digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode("utf-8")).hexdigest()
        issues.append(
            {
                "description": f"{d.code} {d.message}",
                "check_name": d.code,
                "fingerprint": digest,
                "severity": "major" if d.severity is Severity.ERROR else "minor",
                "location": {"path": d.path, "lines": {"begin": max(d.line, 1)}},
            }
        )
    return json.dumps(issues, ensure_ascii=False, indent=2) + "\n"


def summary_line(errors: int, warnings: int, chapters: int, sections: int) -> str:
    if not errors and not warnings:
        return f"manual check：{chapters} 章 {sections} 节，未发现问题"
    return f"manual check：{errors} 个错误，{warnings} 个警告"
