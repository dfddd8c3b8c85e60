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
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext

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
