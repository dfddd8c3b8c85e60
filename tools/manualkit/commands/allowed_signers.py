"""``manual allowed-signers``: the registry of signers as an OpenSSH ``allowed_signers`` file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome, no_arguments

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.records.repository import worktree_snapshot

    _, policy = worktree_snapshot(context.root).require()
    outcome = Outcome()
    outcome.write(policy.allowed_signers())
    return outcome


COMMANDS = (Command("allowed-signers", no_arguments, _run),)
