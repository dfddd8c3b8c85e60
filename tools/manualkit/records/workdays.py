"""Working days (工作日) as chapter 8 counts them: China's statutory calendar.

8.1 四 defines 工作日 as the national statutory working days: Monday to Friday, minus the
statutory holidays the State Council announces each year, plus the weekend days it makes working
days (调休上班). The schedule of each year comes from the maintained PyPI package
``chinese-calendar`` (it carries the State Council's notices, 2004 to the latest published year);
``manual/calendar.yml`` gives the years the package does not cover yet and the company's own rest
days. A date in a year covered by neither is never counted silently as a weekday: the answer
carries a MAN806 warning that says the deadline is an estimate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.base.encoding import decode_utf8

CALENDAR_PATH = "manual/calendar.yml"
DEADLINE_WORKDAYS = 5  # 8.2 三 2–4 and 8.4 三: within 5 working days


class Deadline(NamedTuple):
    due: dt.date
    warnings: tuple[Diagnostic, ...]  # MAN806: a year neither calendar covers


class WorkCalendar:
    """The statutory calendar of the package, the company file's years, the company rest days."""

    def __init__(
        self, years: Mapping[int, tuple[frozenset[dt.date], frozenset[dt.date]]], rest_days: frozenset[dt.date]
    ) -> None:
        self.years = dict(years)  # year -> (holidays, make-up workdays) from the company file
        self.rest_days = rest_days

    def covers(self, day: dt.date) -> bool:
        return day.year in self.years or _package_covers(day.year)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.rest_days:
            return False
        if day.year in self.years:
            holidays, workdays = self.years[day.year]
            return day in workdays or (day.weekday() < 5 and day not in holidays)
        if _package_covers(day.year):
            import chinese_calendar

            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, count: int = DEADLINE_WORKDAYS) -> Deadline:
        """The ``count``-th working day after ``start`` (the day it arrived does not count)."""
        day, left, uncovered = start, count, set()
        while left:
            day += dt.timedelta(days=1)
            if not self.covers(day):
                uncovered.add(day.year)
            if self.is_workday(day):
                left -= 1
        warnings = tuple(
            diagnostic(
                CALENDAR_PATH, 0, 0, "MAN806",
                f"{year} 年的法定节假日安排既不在 chinese-calendar 中，也不在 {CALENDAR_PATH} 中：期限 {day.isoformat()} 仅按周一至周五估算；"
                f"请在 {CALENDAR_PATH} 中登记国务院公布的 {year} 年节假日安排",
            )
            for year in sorted(uncovered)
        )  # fmt: skip
        return Deadline(day, warnings)

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count


_COVERED: dict[int, bool] = {}


def _package_covers(year: int) -> bool:
    if year not in _COVERED:
        import chinese_calendar

        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
            _COVERED[year] = True
        except NotImplementedError:
            _COVERED[year] = False
    return _COVERED[year]


def _date_list(node: Any, path: str, label: str, out: list[Diagnostic]) -> frozenset[dt.date]:
    if node is None:
        return frozenset()
    if not isinstance(node, list):
        line, col = yamlfile.position(node)
        out.append(diagnostic(path, line + 1, col + 1, "MAN805", f"{label} 应为日期列表"))
        return frozenset()
    days = set()
    for i, item in enumerate(node):
        line, col = yamlfile.position(node, i)
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            days.add(item)
            continue
        try:
            days.add(dt.date.fromisoformat(str(item)))
        except ValueError:
            out.append(
                diagnostic(
                    path, line + 1, col + 1, "MAN805", f"{label} 中的 {str(item)[:40]!r} 不是存在的日期（YYYY-MM-DD）"
                )
            )
    return frozenset(days)


def load_calendar(contents: Mapping[str, bytes]) -> tuple[WorkCalendar, list[Diagnostic]]:
    """The calendar from ``manual/calendar.yml`` (optional) and the package."""
    raw = contents.get(CALENDAR_PATH)
    if raw is None:
        return WorkCalendar({}, frozenset()), []
    path = CALENDAR_PATH
    text, bad = decode_utf8(path, raw)
    if text is None:
        return WorkCalendar({}, frozenset()), bad
    data, problems = yamlfile.parse(text, path)
    if problems:
        return WorkCalendar({}, frozenset()), problems
    out: list[Diagnostic] = []
    if data is None:
        return WorkCalendar({}, frozenset()), []
    if not isinstance(data, dict):
        return WorkCalendar({}, frozenset()), [
            diagnostic(path, 1, 1, "MAN805", "工作日历应为键值映射（years、company_rest_days）")
        ]
    for key in data:
        if key not in ("years", "company_rest_days"):
            line, col = yamlfile.key_position(data, str(key))
            out.append(
                diagnostic(
                    path, line + 1, col + 1, "MAN805", f"未知的键 {str(key)[:40]!r}；可用：years、company_rest_days"
                )
            )
    years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = {}
    given = data.get("years") or {}
    if not isinstance(given, dict):
        out.append(diagnostic(path, 1, 1, "MAN805", "years 应为“年份: {holidays: [...], workdays: [...]}”的映射"))
        given = {}
    for year, spec in given.items():
        line, col = yamlfile.key_position(given, year)
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            out.append(diagnostic(path, line + 1, col + 1, "MAN805", f"年份 {str(year)[:20]!r} 无效"))
            continue
        if not isinstance(spec, dict):
            out.append(
                diagnostic(
                    path, line + 1, col + 1, "MAN805", f"{year} 年应给出 holidays（放假日）和 workdays（调休上班日）"
                )
            )
            continue
        holidays = _date_list(spec.get("holidays"), path, f"{year} 年 holidays", out)
        workdays = _date_list(spec.get("workdays"), path, f"{year} 年 workdays", out)
        for day in sorted(holidays | workdays):
            if day.year != year:
                out.append(diagnostic(path, line + 1, col + 1, "MAN805", f"{day.isoformat()} 不属于 {year} 年"))
        for day in sorted(holidays & workdays):
            out.append(diagnostic(path, line + 1, col + 1, "MAN805", f"{day.isoformat()} 既是放假日又是上班日"))
        years[year] = (holidays, workdays)
    rest = _date_list(data.get("company_rest_days"), path, "company_rest_days", out)
    return WorkCalendar(years, rest), out
