"""What a command declares, and what it hands back to the face that ran it.

Each command module declares ``COMMANDS``: for every command its name, how it adds its options to
a parser (``add_arguments``), how it runs (``run(args, context)``) and the longer description of
its own help. The CLI lists them from ``manualkit.commands.INDEX`` (one line per command, with
its one-line Chinese help), imports the module of the command named, parses, runs it and prints
the :class:`Outcome` it returns; nothing in a command prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    from manualkit.commands.context import RunContext
    from manualkit.documents.release_document import ReleaseDocument

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class Outcome:
    """What a command says, in order, on standard output and standard error, and its exit status.
    ``then`` runs after the text is shown (a server that serves until interrupted). A plain class:
    a warm ``manual diff`` does not load ``dataclasses`` (tests/test_diff.py)."""

    def __init__(self, status: int = EXIT_OK, *, then: Callable[[], None] | None = None) -> None:
        self.status = status
        self.parts: list[tuple[bool, str]] = []  # (to standard error, text)
        self.then = then

    def say(self, *parts: object) -> None:
        """A line on standard output, as ``print`` writes it."""
        self.parts.append((False, " ".join(str(p) for p in parts) + "\n"))

    def write(self, text: str) -> None:
        self.parts.append((False, text))

    def warn(self, text: str) -> None:
        """Text on standard error."""
        self.parts.append((True, text))

    @classmethod
    def said(cls, *parts: object) -> Outcome:
        """An outcome that says one line (exit status 0)."""
        outcome = cls()
        outcome.say(*parts)
        return outcome


class Command(NamedTuple):
    """One verb of the command line, declared by its own module (its one-line help is its line in
    ``manualkit.commands.INDEX``)."""

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, RunContext], Outcome]
    description: str | None = None


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """``add_arguments`` of a command that takes none."""


def output_folder(root: Path, output: str | None) -> Path:
    """The folder a command writes its document into: that of ``-o``, else ``dist/``."""
    return Path(output).parent if output else root / "dist"


def output_path(root: Path, output: str | None, default_name: str) -> Path:
    """Where a command writes its document: ``-o``, else ``dist/<default_name>``."""
    return Path(output) if output else output_folder(root, None) / default_name


def write_output(outcome: Outcome, root: Path, output: str | None, default_name: str, data: bytes | str) -> Path | None:
    """Write ``data`` to ``output`` (or ``dist/<default_name>`` for binary data); None: it is
    shown on standard output instead."""
    from manualkit.base.atomic import write_atomic

    if output is None and isinstance(data, str):
        outcome.write(data)
        return None
    path = output_path(root, output, default_name)
    write_atomic(path, data)
    return path


def format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...], *, help: str = "输出格式", json_alias: bool = False) -> None:
    """``--format``, the one way every command is told its output format (its first choice is the
    default); ``json_alias`` keeps the older ``--json`` as another way to write ``--format json``."""
    parser.add_argument("--format", choices=choices, default=choices[0], help=f"{help}（默认 {choices[0]}）")
    if json_alias:
        parser.add_argument("--json", dest="format", action="store_const", const="json", help="输出 JSON（同 --format json）")


class ReleaseBuilder(Protocol):
    """``documents.release_document.build_release_docx`` or ``build_release_pdf``."""

    def __call__(
        self, root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False
    ) -> ReleaseDocument: ...


def release_file_command(name: str, builder: Callable[[], ReleaseBuilder], label: str, extension: str) -> Command:
    """``manual docx`` and ``manual pdf``: one command written once. ``builder`` gives the function
    that builds the signed file (imported only when the command runs, so that ``manual --help``
    loads no document code), ``label`` names the file in what the command says (DOCX, PDF/A),
    ``extension`` is that of the default ``-o``."""

    def add_arguments(p: argparse.ArgumentParser) -> None:
        from manualkit.base.clock import parse_date

        which = p.add_mutually_exclusive_group()
        which.add_argument("--version", help="版本，如 B/0")
        which.add_argument("--as-of", type=parse_date, help="该日期现行有效的版本")
        p.add_argument("-o", "--output", help=f"输出文件（默认 dist/<文件编号>_<版本>.{extension}）")
        p.add_argument("--with-comparison", action="store_true", help="附上与上一版本的修订对照表（附录）")

    def run(args: argparse.Namespace, context: RunContext) -> Outcome:
        from manualkit.base.atomic import check_writable, write_atomic

        root = context.root
        check_writable(output_folder(root, args.output))  # before the layout's seconds
        document = builder()(root, version=args.version, as_of=args.as_of, today=context.today, env=context.env, with_comparison=args.with_comparison)
        out = output_path(root, args.output, document.file_name)
        write_atomic(out, document.data)
        dev = "；使用开发签名（非正式），请配置 MANUAL_SIGNING_KEY 以使用正式发布证书" if document.development else ""
        return Outcome.said(f"已生成 {document.version} 版（{document.status.value}）的签名 {label}：{out}{dev}")

    return Command(name, add_arguments, run)
