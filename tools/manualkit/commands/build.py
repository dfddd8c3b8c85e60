"""``manual build``: the staff site of the version in force (``site/``) and its signed DOCX (``dist/``).

Everything is read from git, never from the working tree: the release history of HEAD says which
version is in force on the day (``--as-of``, default today) and which approved version is still to
come; every page comes from a release commit. The signed DOCX and PDF/A of every release are made by
``manualkit.documents.release_document.release_docx`` and ``release_pdf``, each for the status its
cover states and signed at the moment that status began (:mod:`manualkit.site.release_files`), and
offered on the 下载 page with ``SHA256SUMS``; those of the version in force are also written to ``dist/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.site.build import DownloadFile, SiteBuild
    from manualkit.site.release_files import StatusPeriod
    from manualkit.text.metadata import ManualMetadata

DIST_DIR = "dist"


@dataclass(frozen=True)
class BuildResult:
    site: SiteBuild
    dist: tuple[Path, ...]  # files written to dist/


def build(run: Run, day: dt.date, *, site_only: bool = False) -> BuildResult:
    """Build ``site/`` (and, unless ``site_only``, ``dist/``) of ``run.root`` as they stand on ``day``."""
    from manualkit.base.atomic import check_writable, write_atomic
    from manualkit.site.build import DownloadFile, build_site, checksums
    from manualkit.site.model import CHECKSUMS

    root, env = run.root, run.env
    if not site_only:
        # The signed DOCX's page numbers and the PDF/A need the layout engine: stop before writing
        # anything, with the command that installs it, when it is missing; and before the seconds
        # they take when dist/ cannot be written.
        from manualkit.base.clock import reproducible
        from manualkit.documents.layout import require_engine

        require_engine(reproducible=reproducible(env))
        check_writable(root / DIST_DIR)

    def signed_docx(period: StatusPeriod, metadata: ManualMetadata) -> Sequence[DownloadFile]:
        # Imported here: the DOCX writer and the signing code load only when a DOCX is made.
        from manualkit.documents.release_document import release_docx, release_pdf

        # The release as it stood on the day its status began (the status its cover states),
        # signed at the moment that status began: the same bytes on every build.
        version, signed_at = period.version, period.signed_at
        as_of = period.since if signed_at is not None else day
        data = release_docx(root, version.name, as_of, env, signed_at=signed_at)
        name = f"{metadata.document_number}_{version.slug}.docx"
        pdf = release_pdf(root, version.name, as_of, env, signed_at=signed_at)
        return [
            DownloadFile(name, f"{version.name} 版 Word 文档，带数字签名", data),
            DownloadFile(f"{metadata.document_number}_{version.slug}.pdf", f"{version.name} 版 PDF/A 文档，带 PAdES 数字签名，可用任何 PDF 阅读器核验", pdf),
        ]

    site = build_site(run, day, downloads=None if site_only else signed_docx)
    written: list[Path] = []
    if site.downloads:
        dist = root / DIST_DIR
        for download in site.downloads:
            write_atomic(dist / download.name, download.data)
            written.append(dist / download.name)
        write_atomic(dist / CHECKSUMS, checksums(site.downloads))
        written.append(dist / CHECKSUMS)
    return BuildResult(site, tuple(written))


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    p.add_argument("--as-of", type=parse_date, help="按该日期构建（默认今天）：当日现行有效的版本、待实施的版本和已作废的版本")
    p.add_argument("--site-only", action="store_true", help="只构建站点，不生成签名 DOCX")


def build_report(outcome: Outcome, result: BuildResult, day: dt.date) -> None:
    """What a build made, as ``manual build`` and ``manual publish`` say it."""
    site = result.site
    upcoming = "；".join(f"{v.name} 版已批准，将于 {v.effective.isoformat()} 生效" for v in site.upcoming)
    outcome.say(
        f"已构建站点 {site.site_dir}：{day.isoformat()} 现行有效的 {site.in_force.name} 版（{site.in_force.effective.isoformat()} 起实施），"
        f"{site.pages} 页" + (f"；{upcoming}" if upcoming else "")
    )
    if site.archived:
        cached = len(site.archived) - len(site.rebuilt)
        outcome.say(f"已归档的作废版本：{'、'.join(v.name for v in site.archived)}（本次构建 {len(site.rebuilt)} 个，取自缓存 {cached} 个）")
    for path in result.dist:
        outcome.say(f"已写出 {path}")
    for d in site.invalid_signatures:  # built nevertheless: staff must see the manual (8.2 四)
        outcome.warn(d.render() + "（站点照常构建，该签署标为无效）\n")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    day = args.as_of or context.today
    outcome = Outcome()
    build_report(outcome, build(context.run, day, site_only=args.site_only), day)
    return outcome


COMMANDS = (Command("build", _arguments, _run),)
