"""``manual publish`` (``make publish``): the main job.

Checks the working tree, then builds what staff and recipients get for the version in force
today: the site (``site/``) and the signed DOCX with ``SHA256SUMS`` (``dist/``), both read from
the release commits in git.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from manualkit.commands.build import BuildResult, build
from manualkit.commands.check import CheckReport, check


@dataclass(frozen=True)
class Publication:
    report: CheckReport
    build: BuildResult | None  # None when the check found errors


def publish(root: Path, today: dt.date, env: Mapping[str, str]) -> Publication:
    """Check, then build unless the check found an error. A signature voided by a key revocation
    (MAN812) is an error of the record, not of the text staff must follow: the site is built and
    shows it as invalid, and the report still carries the error."""
    from manualkit.base.diagnostics import Severity
    from manualkit.site.build import SHOWN_AS_INVALID

    report = check(root, today)
    if any(d.severity is Severity.ERROR and d.code not in SHOWN_AS_INVALID for d in report.diagnostics):
        return Publication(report, None)
    return Publication(report, build(root, today, env))
