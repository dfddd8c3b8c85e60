"""The ``manual`` command line: parse arguments, call one core function, print what it returns.

Errors are rendered here and only here; exit status 0 = clean, 1 = findings or refusal,
2 = wrong usage.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from manualkit.diagnostics import ManualError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with Chinese messages, exit status 2 and "did you mean" for commands."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(_translate(message))


def _translate(message: str) -> str:
    replacements = {
        "the following arguments are required": "缺少必需的参数",
        "unrecognized arguments": "无法识别的参数",
        "invalid choice": "无效的选项",
        "expected one argument": "需要一个参数值",
        "argument": "参数",
        "choose from": "可选",
    }
    for en, zh in replacements.items():
        message = message.replace(en, zh)
    return message


def _root(value: str | None) -> Path:
    if value:
        return Path(value)
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "manual" / "manual.yml").is_file():
            return candidate
    return here


def cmd_check(args: argparse.Namespace) -> int:
    from manualkit.commands.check import check
    from manualkit.report import render, summary_line
    from manualkit.today import today

    report = check(_root(args.root), today(os.environ), strict_mode=args.strict)
    summary = "" if args.format == "json" else summary_line(report.errors, report.warnings, report.chapters, report.sections)
    sys.stdout.write(render(report.diagnostics, args.format, summary))
    return EXIT_FINDINGS if report.errors else EXIT_OK


def cmd_codes(args: argparse.Namespace) -> int:
    from manualkit.codes import codes_markdown

    sys.stdout.write(codes_markdown())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="manual", description="销售业务流程规范手册的文件控制工具")
    parser.add_argument("--root", help="仓库根目录（默认：从当前目录向上查找 manual/manual.yml）")
    sub = parser.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)

    p = sub.add_parser("check", help="检查手册（前置元数据、结构、Markdown 子集、引用）")
    p.add_argument("--format", choices=("text", "json", "github"), default="text", help="输出格式")
    p.add_argument("--strict", action="store_true", help="把警告视为错误")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("codes", help="列出全部诊断代码")
    p.add_argument("--format", choices=("md",), default="md")
    p.set_defaults(func=cmd_codes)
    return parser


def _suggest(argv: Sequence[str], parser: argparse.ArgumentParser) -> str:
    commands: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = list(action.choices)
    words = [a for a in argv if not a.startswith("-")]
    if words and words[0] not in commands:
        close = difflib.get_close_matches(words[0], commands, n=1)
        if close:
            return f"；是否想输入 manual {close[0]}？"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except UsageError as exc:
        sys.stderr.write(f"manual: MAN000 用法错误：{exc}{_suggest(argv, parser)}\n")
        sys.stderr.write("请运行 manual --help 查看用法\n")
        return EXIT_USAGE
    except ManualError as exc:
        for d in exc.diagnostics:
            sys.stderr.write(d.render() + "\n")
        return EXIT_USAGE if any(d.code == "MAN000" for d in exc.diagnostics) else EXIT_FINDINGS
    except KeyboardInterrupt:
        sys.stderr.write("manual: 已中断\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
