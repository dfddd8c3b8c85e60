"""What the site adds to a chapter's Markdown so that a locator can be found on the page (issue
24, point 2): each table gets the caption the documents print (表 3-1, numbered per chapter by
:mod:`manualkit.text.clause`, the one locator), and each in-text reference to a section (见 7.2,
第 8.2 节) becomes a link to that section.

Only text the site generates is added: a caption paragraph with a fixed class, and Markdown links
whose text is the reference itself and whose target is a chapter page of the same version.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from manualkit.text.clause import section_clauses
from manualkit.text.markup import SECTION_REF_RE

CAPTION_CLASS = "mk-table-caption"


def table_captions(body: str, chapter: int) -> str:
    """``body`` with a caption paragraph (``表 chapter-N``) before each of its tables."""
    clauses, _ = section_clauses(body, "", chapter)
    starts = {c.first: c.where for c in clauses if c.where.startswith("表 ") and "第" not in c.where}
    if not starts:
        return body
    out = []
    for number, line in enumerate(body.split("\n"), start=1):
        if number in starts:
            caption = html.escape(starts[number])
            out += ["", f'<p class="{CAPTION_CLASS}" id="tab-{caption.split(" ")[1]}">{caption}</p>', ""]
        out.append(line)
    return "\n".join(out)


def linked_references(body: str, pages: Mapping[str, str]) -> str:
    """``body`` with 见 N.M / 第 N.M 节 linked to section N.M on its chapter page (``pages``: section
    id → the Markdown file of its chapter). A line that already holds a link or code, a heading, and
    a reference to a section the version does not have are left as they are."""
    out = []
    fence = False
    for line in body.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
        if fence or stripped.startswith("#") or "](" in line or "`" in line or "<" in line:
            out.append(line)
            continue

        def link(m: re.Match[str]) -> str:
            major, minor = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            page = pages.get(f"{major}.{minor}")
            return f"[{m.group(0)}]({page}#sec-{major}-{minor})" if page else m.group(0)

        out.append(SECTION_REF_RE.sub(link, line))
    return "\n".join(out)
