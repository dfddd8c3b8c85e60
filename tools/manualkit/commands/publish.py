"""``manual publish`` (``make publish``): the main job.

Checks the manual, then publishes the version in force today: the signed DOCX (and
``SHA256SUMS``) in ``dist/`` and, when the site builder is present, the staff site in ``site/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from manualkit.atomic import write_atomic
from manualkit.commands.check import CheckReport, check
from manualkit.commands.docx import build_release_docx


@dataclass
class Publication:
    report: CheckReport
    outputs: list[str] = field(default_factory=list)


def publish(root: Path, today: dt.date, env: Mapping[str, str]) -> Publication:
    report = check(root, today)
    result = Publication(report)
    if report.errors:
        return result
    document = build_release_docx(root, version=None, as_of=None, today=today, env=env)
    dist = root / "dist"
    path = dist / document.file_name
    write_atomic(path, document.data)
    sums = f"{hashlib.sha256(document.data).hexdigest()}  {document.file_name}\n"
    write_atomic(dist / "SHA256SUMS", sums)
    signature = "开发签名（非正式）" if document.development else "正式发布证书签名"
    result.outputs.append(f"{path.relative_to(root)}：{document.version} 版（{document.status.value}），{signature}")
    result.outputs.append(f"{(dist / 'SHA256SUMS').relative_to(root)}")
    return result
