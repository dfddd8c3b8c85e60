"""Findings and the one error type of the tool.

A :class:`Diagnostic` is one finding at ``path:line:col`` with a stable code from
:mod:`manualkit.base.codes`. Rules return lists of diagnostics; a command that cannot go on raises
:class:`ManualError` carrying them. Both are rendered in exactly one place, the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from manualkit.base.codes import Severity, severity_of

__all__ = ["Diagnostic", "ManualError", "Severity", "diagnostic", "fail", "has_errors", "strict"]


class Diagnostic(NamedTuple):
    """One finding. ``line`` and ``col`` are 1-based; 0 means "the whole file"."""

    path: str
    line: int
    col: int
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def render(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{max(self.col, 1)}"
        return f"{where}: {self.code} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
        }


def diagnostic(path: str, line: int, col: int, code: str, message: str) -> Diagnostic:
    """Make a diagnostic whose severity is the one declared for ``code``."""
    return Diagnostic(path, line, col, code, message, severity_of(code))


def strict(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """``--strict``: every warning becomes an error (information stays information)."""
    return [d._replace(severity=Severity.ERROR) if d.severity is Severity.WARNING else d for d in diagnostics]


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


class ManualError(Exception):
    """A command could not be carried out. Carries the diagnostics that say why."""

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic]) -> None:
        self.diagnostics = [diagnostics] if isinstance(diagnostics, Diagnostic) else list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


def fail(path: str, line: int, col: int, code: str, message: str) -> ManualError:
    """Shorthand: ``raise fail(...)``."""
    return ManualError(diagnostic(path, line, col, code, message))
