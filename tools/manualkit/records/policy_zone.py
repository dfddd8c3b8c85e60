"""The company's time zone as the working tree's policy names it, without loading the policy.

Every dated command asks for it before anything else (``commands/context.py``), so it lives
apart from ``records/policy.py``, whose imports (the schema, the Markdown subset's rule tables,
WebAuthn credentials) a command answered from its caches never needs.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

POLICY_PATH = "manual/policy.yml"


def declared_time_zone(root: Path) -> dt.tzinfo:
    """The company's time zone as ``manual/policy.yml`` in the working tree names it (a cheap
    line read, so every command can know today before it loads anything); CST by default."""
    from manualkit.base.clock import CST, zone_or_default

    try:
        with open(root / POLICY_PATH, "rb") as handle:
            head = handle.read(256 * 1024).decode("utf-8", "replace")
    except OSError:
        return CST
    m = re.search(r"^time_zone:[ \t]*[\"']?([A-Za-z0-9_+/-]+)", head, re.MULTILINE)
    return zone_or_default(m.group(1) if m else None)
