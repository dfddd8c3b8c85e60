"""Today's date, overridable for audits and tests with ``MANUAL_TODAY=YYYY-MM-DD``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from manualkit.diagnostics import fail


def today(env: Mapping[str, str]) -> dt.date:
    value = env.get("MANUAL_TODAY")
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail("MANUAL_TODAY", 0, 0, "MAN000", f"环境变量 MANUAL_TODAY 应为 YYYY-MM-DD 格式的日期，实际为 {value!r}") from None


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
