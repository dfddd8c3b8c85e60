"""Time, owned in one place: the company's today and now, and dates as people write them.

The company keeps its records in its own time zone (``time_zone`` of the policy; China Standard
Time, UTC+8, by default), so "today" is today in that zone whatever the machine's zone is.
``MANUAL_NOW`` (ISO 8601) sets the signing time and today's date; a time without an offset is read
in the company's zone, and one with an offset is the same instant told in the company's zone
(``MANUAL_NOW=2026-12-07T23:30:00+00:00`` is 2026-12-08T07:30:00+08:00 for a company in China):
every record signed in a run carries the company's offset, as the records written without
``MANUAL_NOW`` always did. ``MANUAL_TODAY=YYYY-MM-DD`` sets only the date, for audits, demos and
tests. Every other module asks this one, and always says in which zone: the caller passes the
policy's (commands read it with ``records.policy_zone.declared_time_zone``; a release's documents use
the policy the release was made under), so no command can fall back on China Standard Time by
forgetting it: ``today``, ``now``, ``start_of_day`` and ``noon`` take the zone as a required
argument, and mypy strict refuses a call without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Mapping

from manualkit.base.diagnostics import fail

#: China Standard Time, the company's time zone unless the policy names another.
CST = dt.timezone(dt.timedelta(hours=8), "CST")
DEFAULT_ZONE = "Asia/Shanghai"

#: The dates the tool works with. A date outside (MANUAL_TODAY=9999-12-31, a release effective in
#: the year 9999) is refused where it enters, with MAN765: review cycles, notice periods and
#: retention are added to dates, and Python's dates end at 9999-12-31.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)
RANGE_TEXT = f"{EARLIEST.isoformat()} 至 {LATEST.isoformat()}"


def supported(day: dt.date) -> bool:
    return EARLIEST <= day <= LATEST


def _require_supported(name: str, day: dt.date) -> None:
    if not supported(day):
        raise fail(name, 0, 0, "MAN765", f"{name} 的日期 {day.isoformat()} 超出可处理的范围（{RANGE_TEXT}）；请检查该日期")


def zone(name: str | None) -> dt.tzinfo:
    """The time zone called ``name`` (IANA, e.g. ``Asia/Shanghai``); China Standard Time for None.

    Raises ``ValueError`` for a name the system does not know.
    """
    if not name or name == DEFAULT_ZONE:
        return CST
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"未知的时区 {name!r}") from exc


def zone_or_default(name: str | None) -> dt.tzinfo:
    """The zone called ``name``, or China Standard Time when it is not set or the system does not
    know it: for a policy read from a release in git, which ``manual check`` judged then (MAN750)."""
    try:
        return zone(name)
    except ValueError:
        return CST


def today(env: Mapping[str, str], company_zone: dt.tzinfo) -> dt.date:
    """The company's today: the date of ``MANUAL_NOW`` when set, else ``MANUAL_TODAY``, else
    today on the clock, always in the company's time zone (not the machine's)."""
    if env.get("MANUAL_NOW"):
        return now(env, company_zone).astimezone(company_zone).date()
    value = env.get("MANUAL_TODAY")
    if not value:
        return dt.datetime.now(company_zone).date()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise fail("MANUAL_TODAY", 0, 0, "MAN000", f"环境变量 MANUAL_TODAY 应为 YYYY-MM-DD 格式的日期，实际为 {value!r}") from None
    _require_supported("MANUAL_TODAY", day)
    return day


def now(env: Mapping[str, str], company_zone: dt.tzinfo) -> dt.datetime:
    """The signing time: ``MANUAL_NOW``, else 09:00 on ``MANUAL_TODAY``, else the clock, in the
    company's time zone: a ``MANUAL_NOW`` without an offset is read in that zone, one with an
    offset is converted to it (the same instant), so ``now(...).date()`` is the company's date."""
    value = env.get("MANUAL_NOW")
    if value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise fail("MANUAL_NOW", 0, 0, "MAN000", f"环境变量 MANUAL_NOW 应为 ISO 8601 时间，实际为 {value!r}") from None
        _require_supported("MANUAL_NOW", moment.date())
        if moment.tzinfo is None:
            return moment.replace(tzinfo=company_zone)
        converted = moment.astimezone(company_zone)
        _require_supported("MANUAL_NOW", converted.date())
        return converted
    if env.get("MANUAL_TODAY"):
        return dt.datetime.combine(today(env, company_zone), dt.time(9, 0), company_zone)
    return dt.datetime.now(company_zone).replace(microsecond=0)


def company_day(moment: str, company_zone: dt.tzinfo) -> dt.date | None:
    """The company's date of an ISO 8601 time (a signature's ``signed_at``); None if unreadable.
    A time without an offset is read in the company's zone."""
    try:
        parsed = dt.datetime.fromisoformat(moment)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=company_zone)
    return parsed.astimezone(company_zone).date()


def utc_now() -> dt.datetime:
    """The clock in UTC, to the second: when a document or certificate was made."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def seconds_since_epoch() -> float:
    """The clock as a POSIX timestamp, to compare with file times (cache ages)."""
    return dt.datetime.now(dt.UTC).timestamp()


def start_of_day(day: dt.date, company_zone: dt.tzinfo) -> dt.datetime:
    """Midnight at the start of ``day`` in the company's time zone (a release's documents are
    dated so: its 发布日期 at 00:00 where the company is)."""
    return dt.datetime.combine(day, dt.time(0, 0), company_zone)


def noon(day: dt.date, company_zone: dt.tzinfo) -> dt.datetime:
    """Noon of ``day`` in the company's time zone."""
    return dt.datetime.combine(day, dt.time(12, 0), company_zone)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:  # only from a date outside the supported range
        return dt.date.max if months > 0 else dt.date.min
    for candidate in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


def parse_date(value: str) -> dt.date:
    """Parse a date as people write it (2026-03-15, 2026/3/15, 2026年3月15日).

    Raises ``argparse.ArgumentTypeError`` (a usage error) when it is not one.
    """
    text = value.strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
            if not supported(day):
                raise argparse.ArgumentTypeError(f"{value!r} 超出可处理的日期范围（{RANGE_TEXT}）")
            return day
    raise argparse.ArgumentTypeError(f"{value!r} 不是有效日期；请写成 2026-03-15、2026/3/15 或 2026年3月15日")


def prose_date(day: dt.date) -> str:
    """2026年1月1日 (no leading zeros), as dates are written in prose."""
    return f"{day.year}年{day.month}月{day.day}日"


def pinned_commit_dates(env: Mapping[str, str], company_zone: dt.tzinfo) -> dict[str, str]:
    """git's author and committer dates for a commit: the pinned time when ``MANUAL_NOW`` or
    ``MANUAL_TODAY`` pins the clock (demos, tests; an explicit ``GIT_*_DATE`` wins), else none."""
    if env.get("MANUAL_NOW") or env.get("MANUAL_TODAY"):
        stamp = now(env, company_zone).isoformat()
        return {"GIT_AUTHOR_DATE": env.get("GIT_AUTHOR_DATE", stamp), "GIT_COMMITTER_DATE": env.get("GIT_COMMITTER_DATE", stamp)}
    return {}


def source_date(env: Mapping[str, str]) -> dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` (whole seconds since 1970, UTC) for a reproducible build, or None
    when it is not set; DOC512 when it is not a whole number of seconds."""
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None
    if not epoch.isdigit():
        raise fail("SOURCE_DATE_EPOCH", 0, 0, "DOC512", f"SOURCE_DATE_EPOCH 应为整数秒，实际为 {epoch!r}")
    try:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise fail("SOURCE_DATE_EPOCH", 0, 0, "DOC512", f"SOURCE_DATE_EPOCH 超出可处理的范围：{epoch!r}") from None


def reproducible(env: Mapping[str, str]) -> bool:
    """Whether this is a reproducible build (``SOURCE_DATE_EPOCH`` set)."""
    return bool(env.get("SOURCE_DATE_EPOCH", "").strip())


def signing_time(env: Mapping[str, str]) -> dt.datetime:
    """When a document is signed: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    return source_date(env) or utc_now()
