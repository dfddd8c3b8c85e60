"""Inline redlines of Chinese text: what was deleted and inserted, at character/word granularity.

Chinese has no spaces, so a line-based diff marks whole paragraphs as changed. Here text is cut
into tokens — each CJK character alone, Latin words and numbers whole (``15``, ``ERP``),
punctuation and spaces alone — and the token sequences are compared, so a change of
"30 日" to "15 日" shows as exactly that. Pure functions over strings; the HTML site, the
text diff and the DOCX tracked changes all render the same segments.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

_TOKEN_RE = re.compile(r"[A-Za-z0-9_.%/+-]+|\s+|.", re.DOTALL)

Kind = Literal["equal", "delete", "insert"]


class Segment(NamedTuple):
    kind: Kind
    text: str


def tokenize(text: str) -> list[str]:
    """``"有效期 30 日（ERP）"`` → ``["有", "效", "期", " ", "30", " ", "日", "（", "ERP", "）"]``."""
    return _TOKEN_RE.findall(text)


def inline_diff(old: str, new: str) -> list[Segment]:
    """Segments that turn ``old`` into ``new``: equal runs, deletions, insertions (in that order
    within a replacement, as a reader expects: ~~old~~ new)."""
    a, b = tokenize(old), tokenize(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _append(out, "equal", "".join(a[i1:i2]))
        else:
            if i2 > i1:
                _append(out, "delete", "".join(a[i1:i2]))
            if j2 > j1:
                _append(out, "insert", "".join(b[j1:j2]))
    return _absorb_short_equals(out)


def _append(out: list[Segment], kind: Kind, text: str) -> None:
    if not text:
        return
    if out and out[-1].kind == kind:
        out[-1] = Segment(kind, out[-1].text + text)
    else:
        out.append(Segment(kind, text))


def _absorb_short_equals(segments: list[Segment]) -> list[Segment]:
    """A single unchanged character between two changes reads better as part of the change
    (``~~审~~批~~核~~`` → ``~~审批核~~ …``): fold one-token equal runs between edits."""
    if len(segments) < 3:
        return segments
    out: list[Segment] = []
    i = 0
    while i < len(segments):
        seg = segments[i]
        between_edits = 0 < i < len(segments) - 1 and segments[i - 1].kind != "equal" and segments[i + 1].kind != "equal"
        if seg.kind == "equal" and between_edits and len(tokenize(seg.text)) == 1 and seg.text.strip():
            _append(out, "delete", seg.text)
            _append(out, "insert", seg.text)
        else:
            _append(out, seg.kind, seg.text)
        i += 1
    return _regroup(out)


def _regroup(segments: list[Segment]) -> list[Segment]:
    """Within each run of edits, all deletions first, then all insertions."""
    out: list[Segment] = []
    pending_del, pending_ins = "", ""
    for seg in segments:
        if seg.kind == "equal":
            if pending_del:
                out.append(Segment("delete", pending_del))
            if pending_ins:
                out.append(Segment("insert", pending_ins))
            pending_del, pending_ins = "", ""
            _append(out, "equal", seg.text)
        elif seg.kind == "delete":
            pending_del += seg.text
        else:
            pending_ins += seg.text
    if pending_del:
        out.append(Segment("delete", pending_del))
    if pending_ins:
        out.append(Segment("insert", pending_ins))
    return out


def old_text(segments: Sequence[Segment]) -> str:
    return "".join(s.text for s in segments if s.kind != "insert")


def new_text(segments: Sequence[Segment]) -> str:
    return "".join(s.text for s in segments if s.kind != "delete")


def changed(segments: Sequence[Segment]) -> bool:
    return any(s.kind != "equal" for s in segments)


def to_html(segments: Sequence[Segment]) -> str:
    """``<del>``/``<ins>`` markup, every text escaped."""
    from html import escape  # the HTML renderings only

    parts = []
    for s in segments:
        text = escape(s.text)
        if s.kind == "delete":
            parts.append(f'<del class="redline-del">{text}</del>')
        elif s.kind == "insert":
            parts.append(f'<ins class="redline-ins">{text}</ins>')
        else:
            parts.append(text)
    return "".join(parts)


def to_text(segments: Sequence[Segment]) -> str:
    """Terminal form: ``[-deleted-]{+inserted+}`` (as ``git diff --word-diff`` writes it)."""
    marks = {"delete": ("[-", "-]"), "insert": ("{+", "+}"), "equal": ("", "")}
    return "".join(marks[s.kind][0] + s.text + marks[s.kind][1] for s in segments)
