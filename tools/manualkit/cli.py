"""The ``manual`` command line: find the commands, parse arguments, run one, print what it returns.

Each command declares itself in its own module (``COMMANDS``, see ``commands/registry.py``);
``manualkit.commands.INDEX`` lists them, one line each, in the order ``manual --help`` shows.
Errors are rendered here and only here; exit status 0 = clean, 1 = findings or refusal,
2 = wrong usage.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from manualkit.base.diagnostics import ManualError
from manualkit.commands.registry import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from manualkit.commands.registry import Command, Outcome

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


class UsageError(Exception):
    pass


# The one place where text reaches the terminal: everything printed, diagnostics and the commands'
# answers alike, goes through these, which show control and escape sequences (from file names,
# titles, reasons) instead of letting the terminal obey them (base/characters.inert).
def _write(text: str, stream: Any = None) -> None:
    from manualkit.base.characters import inert

    (sys.stdout if stream is None else stream).write(inert(text))


def _err(text: str) -> None:
    _write(text, sys.stderr)


def _terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it: ``COLUMNS``, else the width of
    standard output's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, given the terminal's width: left to find it, argparse imports
    shutil, and with it the bz2, lzma and zlib modules, in every command (about 5 ms)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)

    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with Chinese messages, exit status 2 and "did you mean" for commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False  # argparse's own -h says it in English
        super().__init__(*args, **kwargs)
        # argparse's section titles are English words; the help is read by Chinese staff.
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

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


def _show(outcome: Outcome) -> int:
    """Print what a command returned, in its order, then run what it leaves running."""
    for to_stderr, text in outcome.parts:
        _write(text, sys.stderr if to_stderr else None)
    if outcome.then is not None:
        sys.stdout.flush()
        outcome.then()
    return outcome.status


def _declared(name: str, module: str) -> Command:
    """The command ``name`` as its module declares it (importing that module only)."""
    declared: tuple[Command, ...] = importlib.import_module(f"manualkit.{module}").COMMANDS
    return next(c for c in declared if c.name == name)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (``only``) the top level and that one command. The list of
    commands and their help come from ``manualkit.commands.INDEX`` alone: a command's module, and
    with it the cost of importing it, is loaded only for that command."""
    from manualkit.commands import INDEX

    parser = _Parser(prog="manual", description="销售业务流程规范手册的文件控制工具")
    parser.add_argument("--root", help="仓库根目录（默认：从当前目录向上查找 manual/manual.yml）")
    sub = parser.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)
    chosen = [entry for entry in INDEX if entry[0] == only]
    for name, module, summary in chosen or INDEX:
        if not chosen:  # the list of commands only (manual --help, a mistyped command)
            sub.add_parser(name, help=summary)
            continue
        command = _declared(name, module)
        p = sub.add_parser(name, help=summary, description=command.description)
        command.add_arguments(p)
        p.set_defaults(declared=command)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (skipping ``--root DIR``), or None."""
    words = iter(argv)
    for word in words:
        if word == "--root":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _suggest(argv: Sequence[str], parser: argparse.ArgumentParser) -> str:
    commands: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = list(action.choices)
    word = _command_word(argv)
    if word is not None and word not in commands:
        import difflib

        close = difflib.get_close_matches(word, commands, n=1)
        if close:
            return f"；是否想输入 manual {close[0]}？"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_word(argv))
    try:
        args = parser.parse_args(argv)
        command: Command | None = getattr(args, "declared", None)
        if command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        from manualkit.commands.context import RunContext

        return _show(command.run(args, RunContext(args.root, dict(os.environ))))
    except UsageError as exc:
        _err(f"manual: MAN000 用法错误：{exc}{_suggest(argv, parser)}\n")
        _err("请运行 manual --help 查看用法\n")
        return EXIT_USAGE
    except ManualError as exc:
        for d in exc.diagnostics:
            _err(d.render() + "\n")
        return EXIT_USAGE if any(d.code == "MAN000" for d in exc.diagnostics) else EXIT_FINDINGS
    except KeyboardInterrupt:
        _err("manual: 已中断\n")
        return 130
    except Exception as exc:  # OS, git and anything unforeseen: a coded diagnostic, never a traceback
        return _failure(exc)


def _failure(exc: Exception) -> int:
    from manualkit.base import git
    from manualkit.base.failures import git_failure, internal_failure, os_failure

    if os.environ.get("MANUAL_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, BrokenPipeError):  # the reader went away (manual history | head): not an error to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    if isinstance(exc, OSError):
        d = os_failure(exc)
    elif isinstance(exc, git.GitError):
        d = git_failure(str(exc))
    else:
        d = internal_failure(exc)
    try:
        _err(d.render() + "\n")
    except OSError:  # stderr itself is gone: the exit status still says it
        pass
    return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
