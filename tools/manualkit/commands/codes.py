"""``manual codes``: every diagnostic code, as the table docs/diagnostics.md is made from."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("md",), default="md", help="输出格式（md：Markdown 表格）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.codes import codes_markdown

    outcome = Outcome()
    outcome.write(codes_markdown())
    return outcome


COMMANDS = (Command("codes", _arguments, _run),)
