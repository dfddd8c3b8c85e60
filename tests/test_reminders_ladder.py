"""The reminder ladder over the 2026 National Day holidays (statutory calendar, 1–8 October)."""

from __future__ import annotations

import datetime as dt

from manualkit.records.reminders import DEFAULT_LADDER, Ladder, Rung, rung_on
from manualkit.records.workdays import WorkCalendar

CAL = WorkCalendar({}, frozenset())


def _rungs(due: dt.date, start: dt.date, end: dt.date, ladder: Ladder = DEFAULT_LADDER) -> dict[dt.date, Rung]:
    out, day = {}, start
    while day <= end:
        rung = rung_on(CAL, due, day, ladder)
        if rung:
            out[day] = rung
        day += dt.timedelta(days=1)
    return out


def test_a_review_submitted_before_national_day_escalates_on_the_right_working_day() -> None:
    submitted = dt.date(2026, 9, 28)
    due = CAL.add_workdays(submitted).due
    rungs = _rungs(due, submitted, dt.date(2026, 10, 31))
    # no rung ever fires on a holiday or weekend
    assert all(CAL.is_workday(day) for day in rungs)
    assert rungs[due] == Rung("due", False)
    before = [day for day, rung in rungs.items() if rung.key == "before-2"]
    assert before == [day for day in rungs if day < due] and CAL.workdays_between(before[0], due) == 2
    overdue = sorted(day for day in rungs if day > due)
    assert [rungs[d].key for d in overdue[:5]] == [f"overdue-{n}" for n in range(1, 6)]
    # escalated only from the 4th working day overdue on (after 3)
    assert [rungs[d].escalate for d in overdue[:5]] == [False, False, False, True, True]
    # the holidays lie between submission and due date: due is not 5 calendar weekdays later
    assert due > dt.date(2026, 10, 8)


def test_a_ladder_without_overdue_reminders_stops_on_the_due_day() -> None:
    due = dt.date(2026, 10, 15)
    ladder = Ladder(before=(1, 3), on_due=False, overdue_every=0, escalate_after=0)
    rungs = _rungs(due, dt.date(2026, 10, 1), dt.date(2026, 11, 30), ladder)
    assert sorted(rung.key for rung in rungs.values()) == ["before-1", "before-3"]
