"""``manual pdf``: the signed PDF/A of a release, laid out by LibreOffice from the release DOCX.

The DOCX is the one ``manual docx`` makes (rendered from the release's git tree, its table of
contents numbered by the same layout engine); LibreOffice exports it as PDF/A-2b with the Noto
CJK fonts embedded, and the release key signs it (PAdES, pyHanko). See ``docs/documents.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome, output_folder, output_path

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext
    from manualkit.commands.docx import ReleaseDocument


def build_release_pdf(
    root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False
) -> ReleaseDocument:
    """Render the release from git (``with_comparison``: with 附录 修订对照表), lay it out as
    PDF/A-2b, sign it with the release key."""
    from manualkit.commands.docx import ReleaseDocument, signing_time, unsigned_release
    from manualkit.documents.layout import docx_to_pdf
    from manualkit.documents.pdf_release import sign_pdf
    from manualkit.documents.toc import layout_cache_dir

    release = unsigned_release(root, version=version, as_of=as_of, today=today, env=env, with_comparison=with_comparison)
    moment = signing_time(env)
    reproducible = bool(env.get("SOURCE_DATE_EPOCH", "").strip())
    pdf = docx_to_pdf(release.docx, frozen_at=moment if reproducible else None, profile_cache=layout_cache_dir(env))
    if reproducible:  # LibreOffice orders the fonts it embeds by memory address
        from manualkit.documents.pdf_canonical import canonical_pdf

        pdf = canonical_pdf(pdf)
    reason = f"{release.document_number} {release.record.version} 版发布（{release.status.value}）"
    signed = sign_pdf(pdf, release.key, moment, reason=reason)
    return ReleaseDocument(signed, str(release.record.version), release.status, release.key.development, release.document_number, "pdf")


def release_pdf(root: Path, version: str, today: dt.date, env: Mapping[str, str]) -> bytes:
    """The signed PDF bytes of ``version`` (for the site's download page)."""
    return build_release_pdf(root, version=version, as_of=None, today=today, env=env).data


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", help="版本，如 B/0")
    which.add_argument("--as-of", type=parse_date, help="该日期现行有效的版本")
    p.add_argument("-o", "--output", help="输出文件（默认 dist/<文件编号>_<版本>.pdf）")
    p.add_argument("--with-comparison", action="store_true", help="附上与上一版本的修订对照表（附录）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.atomic import check_writable, write_atomic

    root = context.root
    check_writable(output_folder(root, args.output))  # before the layout's seconds
    document = build_release_pdf(root, version=args.version, as_of=args.as_of, today=context.today, env=context.env, with_comparison=args.with_comparison)
    out = output_path(root, args.output, document.file_name)
    write_atomic(out, document.data)
    dev = "；使用开发签名（非正式），请配置 MANUAL_SIGNING_KEY 以使用正式发布证书" if document.development else ""
    outcome = Outcome()
    outcome.say(f"已生成 {document.version} 版（{document.status.value}）的签名 PDF/A：{out}{dev}")
    return outcome


COMMANDS = (Command("pdf", "生成某一发布版本的签名 PDF/A（默认：今天现行有效的版本）", _arguments, _run),)
