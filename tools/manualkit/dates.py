"""Dates as people write them: 2026-03-15, 2026/3/15, 2026年3月15日."""

from __future__ import annotations

import argparse
import datetime as dt
import re

_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


def parse_date(value: str) -> dt.date:
    """Parse a date; raises ``argparse.ArgumentTypeError`` (a usage error) when it is not one."""
    text = value.strip()
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise argparse.ArgumentTypeError(f"{value!r} 不是有效日期；请写成 2026-03-15、2026/3/15 或 2026年3月15日")


def prose_date(day: dt.date) -> str:
    """2026年1月1日 (no leading zeros), as dates are written in prose."""
    return f"{day.year}年{day.month}月{day.day}日"
