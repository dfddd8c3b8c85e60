"""A chapter's ``review.last_reviewed`` date moved by a periodic review (records/review.py).

A round-trip edit of the chapter's front matter: every other byte of the chapter stays. A
chapter is no record of changelog/, so its YAML is read here, not in the record registry.
"""

from __future__ import annotations

import datetime as dt

from manualkit.base import yamlfile
from manualkit.base.diagnostics import fail
from manualkit.text.chapter import split_front_matter


def set_last_reviewed(text: str, day: dt.date) -> str:
    """The chapter file with ``review.last_reviewed`` set to ``day``; nothing else changes."""
    split = split_front_matter(text)
    if split is None:
        raise fail("chapter", 1, 1, "MAN101", "章节文件缺少前置元数据")
    yaml_text, body, _ = split
    data, diags = yamlfile.parse_roundtrip(yaml_text, "chapter", 2)
    if diags or not isinstance(data, dict):
        raise fail("chapter", 2, 1, "MAN103", "前置元数据无法解析")
    data["review"]["last_reviewed"] = day
    head = "---\n" + yamlfile.dump(data) + "---\n"
    return head + body
