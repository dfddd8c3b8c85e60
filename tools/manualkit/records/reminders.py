"""Reminders (提醒, issue #23): the escalation ladder over chapter 8's deadlines, pure functions.

A ladder says on which working days, relative to an action's due date, the one person who must
act is reminded, and from which working day overdue the reminder also goes to the one above
(the 批准人 or the department head). It is written in policy (``reminders:`` in
``manual/policy.yml``); a released policy without one uses ``DEFAULT_LADDER``. Working days come
from the calendar the deadlines already use (records/workdays.py). Reading the ladder from policy,
the open actions and the channels are later increments.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from manualkit.records.workdays import WorkCalendar


class Ladder(NamedTuple):
    before: tuple[int, ...]  # working days before the due date on which to remind
    on_due: bool  # remind on the due day itself
    overdue_every: int  # remind every n-th working day overdue (0: never)
    escalate_after: int  # from this many working days overdue, also to the one above (0: never)


# The example: 2 working days before, on the day, every working day overdue, and after
# 3 working days overdue also the 批准人 or department head.
DEFAULT_LADDER = Ladder(before=(2,), on_due=True, overdue_every=1, escalate_after=3)


class Rung(NamedTuple):
    key: str  # stable name of the rung, recorded in the ledger: "before-2", "due", "overdue-4"
    escalate: bool


def rung_on(calendar: WorkCalendar, due: dt.date, as_of: dt.date, ladder: Ladder = DEFAULT_LADDER) -> Rung | None:
    """The rung that fires on ``as_of`` for an action due on ``due``, or None (no reminder today).

    Reminders go out on working days only; a rest day never fires a rung."""
    if not calendar.is_workday(as_of):
        return None
    if as_of < due:
        left = calendar.workdays_between(as_of, due)
        return Rung(f"before-{left}", False) if left in ladder.before else None
    if as_of == due:
        return Rung("due", False) if ladder.on_due else None
    late = calendar.workdays_between(due, as_of)
    if not ladder.overdue_every or late % ladder.overdue_every:
        return None
    return Rung(f"overdue-{late}", bool(ladder.escalate_after) and late > ladder.escalate_after)
