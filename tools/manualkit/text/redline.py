"""Inline redlines of Chinese text: what was deleted and inserted, at character/word granularity.

Chinese has no spaces, so a line-based diff marks whole paragraphs as changed. Here text is cut
into tokens — each CJK character alone, Latin words and numbers whole (``15``, ``ERP``),
punctuation and spaces alone — and the token sequences are compared, so a change of
"30 日" to "15 日" shows as exactly that. Pure functions over strings; the HTML site, the
text diff and the DOCX tracked changes all render the same segments.

:func:`edit_ops` is the one engine that decides which tokens are marked: the DOCX redline and the
HTML redline (over formatted atoms, :mod:`manualkit.documents.docx.blocks`), the site's redline
and the text diff (over the text's tokens, :func:`inline_diff`) all render its answer, so the
three mark the same characters for the same change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Literal, NamedTuple

_TOKEN_RE = re.compile(r"[A-Za-z0-9_.%/+-]+|\s+|.", re.DOTALL)

Kind = Literal["equal", "delete", "insert"]


class Segment(NamedTuple):
    kind: Kind
    text: str


def tokenize(text: str) -> list[str]:
    """``"有效期 30 日（ERP）"`` → ``["有", "效", "期", " ", "30", " ", "日", "（", "ERP", "）"]``."""
    return _TOKEN_RE.findall(text)


Op = tuple[Literal["equal", "edit"], int, int, int, int]


def edit_ops(a: Sequence[Hashable], b: Sequence[Hashable], blank: Callable[[int], bool] = lambda i: False) -> list[Op]:
    """How token sequence ``a`` becomes ``b``: ``("equal", i1, i2, j1, j2)`` runs kept, and
    ``("edit", i1, i2, j1, j2)`` runs where ``a[i1:i2]`` is deleted and ``b[j1:j2]`` inserted
    (either may be empty), deletions read before insertions.

    A single unchanged token between two edits reads better as part of the change (``~~审~~核~~准~~``
    → ``~~审核~~核准``): it is folded into one edit, unless ``blank(i)`` says ``a[i]`` is a space."""
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    out: list[Op] = []
    for k, (op, i1, i2, j1, j2) in enumerate(ops):
        between = 0 < k < len(ops) - 1 and ops[k - 1][0] != "equal" and ops[k + 1][0] != "equal"
        edit = op != "equal" or (between and i2 - i1 == 1 and not blank(i1))
        if edit and out and out[-1][0] == "edit":
            out[-1] = ("edit", out[-1][1], i2, out[-1][3], j2)
        else:
            out.append(("edit" if edit else "equal", i1, i2, j1, j2))
    return out


def inline_diff(old: str, new: str) -> list[Segment]:
    """Segments that turn ``old`` into ``new``: equal runs, deletions, insertions (in that order
    within a replacement, as a reader expects: ~~old~~ new), as :func:`edit_ops` marks them."""
    a, b = tokenize(old), tokenize(new)
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in edit_ops(a, b, lambda i: not a[i].strip()):
        if op == "equal":
            _append(out, "equal", "".join(a[i1:i2]))
        else:
            _append(out, "delete", "".join(a[i1:i2]))
            _append(out, "insert", "".join(b[j1:j2]))
    return out


def _append(out: list[Segment], kind: Kind, text: str) -> None:
    if not text:
        return
    if out and out[-1].kind == kind:
        out[-1] = Segment(kind, out[-1].text + text)
    else:
        out.append(Segment(kind, text))


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
