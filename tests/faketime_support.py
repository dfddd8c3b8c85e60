"""Commands run with the machine's clock really moved (``faketime``), the clock not pinned.

``late(repo, moment, *args)`` runs ``manual <args>`` as a whole process under ``faketime`` at
``moment`` (UTC), on a machine whose own zone is UTC, with no ``MANUAL_TODAY``, ``MANUAL_NOW`` or
``GIT_*_DATE``: what the command says about today is what ``base/clock.py`` made of the clock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

import pytest
from revision_repo import Result, RevisionRepo, manual_command

UNPINNED = ("MANUAL_TODAY", "MANUAL_NOW", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")


def require_faketime() -> None:
    if shutil.which("faketime") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is required when CI=true (.ci/run installs it)")
        pytest.skip("faketime is not installed")


def unpinned_env(repo: RevisionRepo, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The repository's environment in machine zone UTC, the clock not pinned."""
    env = repo.env({"TZ": "UTC", **(extra or {})})
    for name in UNPINNED:
        if name not in (extra or {}):
            env.pop(name, None)
    return env


def late(repo: RevisionRepo, moment: str, *args: str, extra: Mapping[str, str] | None = None, stdin: bytes | None = None) -> Result:
    """``manual <args>`` under ``faketime <moment>`` (UTC), machine zone UTC, clock not pinned."""
    require_faketime()
    proc = subprocess.run(
        ["faketime", moment, *manual_command(), *args], cwd=repo.root, env=unpinned_env(repo, extra), capture_output=True,
        check=False, input=stdin if stdin is not None else b"", timeout=300,
    )  # fmt: skip
    result = Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in result.output, result.output
    return result


def ok(result: Result) -> Result:
    assert result.code == 0, result.output
    return result
