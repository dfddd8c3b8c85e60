"""``manual publish`` (``make publish``): the main job.

Checks the working tree, then builds what staff and recipients get for the version in force
today: the site (``site/``) and the signed DOCX with ``SHA256SUMS`` (``dist/``), both read from
the release commits in git.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manualkit.commands.registry import EXIT_FINDINGS, Command, Outcome, no_arguments

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.build import BuildResult
    from manualkit.commands.check import CheckReport
    from manualkit.commands.context import RunContext


@dataclass(frozen=True)
class Publication:
    report: CheckReport
    build: BuildResult | None  # None when the check found errors


def publish(run: Run) -> Publication:
    """Check, then build as of ``run.today`` unless the check found an error. A signature voided
    by a key revocation (MAN812) is an error of the record, not of the text staff must follow: the
    site is built and shows it as invalid, and the report still carries the error."""
    from manualkit.base.diagnostics import Severity
    from manualkit.commands.build import build
    from manualkit.commands.check import check
    from manualkit.site.build import SHOWN_AS_INVALID

    report = check(run)
    if any(d.severity is Severity.ERROR and d.code not in SHOWN_AS_INVALID for d in report.diagnostics):
        return Publication(report, None)
    return Publication(report, build(run, run.today))


# --- the command line ---------------------------------------------------------------------------


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.report import render, summary_line
    from manualkit.commands.build import build_report

    day = context.today
    result = publish(context.run)
    report = result.report
    outcome = Outcome()
    outcome.write(render(report.diagnostics, "text", summary_line(report.errors, report.warnings, report.chapters, report.sections)))
    if result.build is None:
        outcome.warn("manual publish：手册检查未通过，未发布\n")
        outcome.status = EXIT_FINDINGS
        return outcome
    build_report(outcome, result.build, day)
    return outcome


COMMANDS = (Command("publish", no_arguments, _run),)
