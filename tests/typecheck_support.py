"""mypy strict on a probe module: how the tests show that a signature refuses a call."""

from __future__ import annotations

import textwrap
from pathlib import Path


def strict_mypy(folder: Path, body: str) -> tuple[str, int]:
    """mypy ``--strict`` on ``body`` (dedented) written to ``folder/probe.py``: its output and status."""
    from mypy import api

    source = folder / "probe.py"
    source.write_text(textwrap.dedent(body), encoding="utf-8")
    out, err, status = api.run(["--strict", "--no-incremental", "--config-file", "", "--python-version", "3.11", str(source)])
    return out + err, status
