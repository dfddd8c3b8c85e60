"""One run of one command, as plain data: the repository, the company's zone, today, now and the
environment. Made once where a command starts (``commands/context.RunContext.run``, from the
clock ``base/clock.py`` read once; the desk makes one for each request it serves, :meth:`Run.at`)
and passed as one value to the core functions, so that no function takes ``root``, ``today``,
``now`` and ``env`` as loose arguments in its own order (tests/test_architecture.py lists the
ones that still do, and refuses a new one). It lives on the ground floor so that ``records/`` may
take it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple


class Run(NamedTuple):
    """Where a command runs and when, in the company's zone (``now`` is that zone's time). A named
    tuple, not a dataclass: ``manual check`` answered from its kept answer makes one, and the
    dataclasses module would load ``inspect`` (some 7 ms of that run)."""

    root: Path
    zone: dt.tzinfo
    today: dt.date
    now: dt.datetime
    env: Mapping[str, str]

    @classmethod
    def at(cls, root: Path, env: Mapping[str, str], zone: dt.tzinfo) -> Run:
        """The run at ``root`` with ``env``, the clock read once in ``zone``: today is the date of
        that moment (``base/clock`` makes ``today()`` the date of ``now()`` for every setting of
        ``MANUAL_NOW``/``MANUAL_TODAY``), so that a run started at midnight has one date."""
        from manualkit.base import clock

        moment = clock.now(env, zone)
        return cls(root, zone, moment.date(), moment, env)
