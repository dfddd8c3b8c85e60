"""The run's context: made once where a command starts, passed to it as one value.

The repository's root, the environment, the company's time zone (the policy's ``time_zone``),
the company's today and the signing time. Each is worked out at most once per run and only when
the command asks for it: ``manual codes`` needs no repository, ``manual init`` no policy yet.
The clock itself is read in ``base/clock.py`` only; this holds what it answered for the run.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manualkit.base.run import Run


def find_root(value: str | None, cwd: Path | None = None) -> Path:
    """``--root``, else the nearest folder at or above ``cwd`` holding ``manual/manual.yml``,
    else ``cwd``."""
    if value:
        return Path(value)
    here = Path.cwd() if cwd is None else cwd
    for candidate in (here, *here.parents):
        if (candidate / "manual" / "manual.yml").is_file():
            return candidate
    return here


class RunContext:
    """One run of one command: where, with which environment, and when in the company's zone."""

    def __init__(self, root_option: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.root_option = root_option
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env

    @functools.cached_property
    def root(self) -> Path:
        return find_root(self.root_option)

    @functools.cached_property
    def zone(self) -> dt.tzinfo:
        """The company's time zone, as the policy in the working tree names it (issue 9)."""
        from manualkit.records.policy_zone import declared_time_zone

        return declared_time_zone(self.root)

    @functools.cached_property
    def today(self) -> dt.date:
        """The company's today (``MANUAL_NOW``/``MANUAL_TODAY`` as ``base.clock`` reads them)."""
        from manualkit.base.clock import today

        return today(self.env, self.zone)

    @functools.cached_property
    def now(self) -> dt.datetime:
        """The signing time of this run, in the company's zone."""
        from manualkit.base.clock import now

        return now(self.env, self.zone)

    @functools.cached_property
    def run(self) -> Run:
        """This run as plain data (``base/run.Run``), for the core functions that take it."""
        from manualkit.base.run import Run

        return Run(self.root, self.zone, self.today, self.now, self.env)

    def author_env(self) -> dict[str, str]:
        """git's author and committer dates for a commit made in this run: the pinned time when
        the clock is pinned (demos, tests), else nothing (git reads the clock)."""
        from manualkit.base.clock import pinned_commit_dates

        return pinned_commit_dates(self.env, self.zone)

    def git_user(self) -> str:
        """Who runs the command, as git knows them, else the login name."""
        from manualkit.base import git

        return git.user_name(self.root) or self.env.get("USER", "") or "未署名"
