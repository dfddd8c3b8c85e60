"""``manual docx``: the signed DOCX of a release, built from the release's git tree."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome, output_folder, output_path

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", help="版本，如 B/0")
    which.add_argument("--as-of", type=parse_date, help="该日期现行有效的版本")
    p.add_argument("-o", "--output", help="输出文件（默认 dist/<文件编号>_<版本>.docx）")
    p.add_argument("--with-comparison", action="store_true", help="附上与上一版本的修订对照表（附录）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.atomic import check_writable, write_atomic
    from manualkit.documents.release_document import build_release_docx

    root = context.root
    check_writable(output_folder(root, args.output))  # before the layout's seconds
    document = build_release_docx(root, version=args.version, as_of=args.as_of, today=context.today, env=context.env, with_comparison=args.with_comparison)
    out = output_path(root, args.output, document.file_name)
    write_atomic(out, document.data)
    outcome = Outcome()
    dev = "；使用开发签名（非正式），请配置 MANUAL_SIGNING_KEY 以使用正式发布证书" if document.development else ""
    outcome.say(f"已生成 {document.version} 版（{document.status.value}）的签名 DOCX：{out}{dev}")
    return outcome


COMMANDS = (Command("docx", _arguments, _run),)
