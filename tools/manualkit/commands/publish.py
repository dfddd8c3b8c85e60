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
    report = check(root, today)
    if report.errors:
        return Publication(report, None)
    return Publication(report, build(root, today, env))
