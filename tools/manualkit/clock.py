"""Today's date and the current time, overridable for audits, demos and tests.

``MANUAL_TODAY=YYYY-MM-DD`` sets the date every date-dependent command uses; ``MANUAL_NOW``
(ISO 8601 with offset) sets the signing time. Times are China Standard Time unless given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from manualkit.diagnostics import fail
from manualkit.today import today

CST = dt.timezone(dt.timedelta(hours=8), "CST")


def now(env: Mapping[str, str]) -> dt.datetime:
    value = env.get("MANUAL_NOW")
    if value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise fail("MANUAL_NOW", 0, 0, "MAN000", f"环境变量 MANUAL_NOW 应为 ISO 8601 时间，实际为 {value!r}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=CST)
    if env.get("MANUAL_TODAY"):
        return dt.datetime.combine(today(env), dt.time(9, 0), CST)
    return dt.datetime.now(CST).replace(microsecond=0)
