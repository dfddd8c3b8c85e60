"""Untrusted text as inert Markdown for the comments of GitHub and GitLab.

A change request's title, reason and the manual's text reach a pull or merge request comment,
which both hosts render as Markdown with their own extensions: tables, @mentions, references
(``#12``, ``!12``, ``~label``, ``%milestone``, ``$snippet``, ``&epic``), raw HTML, autolinks. The
text a reviewer reads must be exactly the text that was written, and nothing in it may act:

- the ASCII punctuation that Markdown gives a meaning is escaped with a backslash, so ``*``,
  ``_``, `````, ``[``, ``]``, ``{``, ``}`` (GitLab's ``{+ +}``), ``|`` (GFM tables split cells on
  it, even in code spans) stay characters; ``<``, ``>`` and ``&`` become the entities ``&lt;``,
  ``&gt;``, ``&amp;`` (no tag, no entity of the text's own survives);
- the characters the hosts read as mentions and references outside Markdown's own syntax (on
  the rendered text, where a backslash no longer stands) are written in their full-width forms:
  ``@`` → ``＠``, ``#`` → ``＃``, ``~`` → ``～``, and ``!%$&`` before a letter or digit;
- control, bidirectional and invisible characters are shown as ``U+XXXX`` instead of acting;
- line breaks become ``¶`` inside a table cell (a cell is one line; no ``<br>``, which would be
  raw HTML);
- a cell longer than ``limit`` characters is cut, with ``……（已截断）``.
"""

from __future__ import annotations

import re

from manualkit.base.characters import first_disallowed

# ASCII punctuation with a meaning somewhere in CommonMark or GFM; escaping the rest would only
# make the source harder to read.
# (every one of them is also escapable in Python-Markdown, MkDocs's renderer).
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()|!+\-.])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_FULLWIDTH = {"@": "＠", "#": "＃", "~": "～"}
_REFERENCE = re.compile(r"([!%$&])(?=[A-Za-z0-9_\"])")
_REFERENCE_FULLWIDTH = {"!": "！", "%": "％", "$": "＄", "&": "＆"}
_SPACES = re.compile(r"[ \t]+")
TRUNCATED = "……（已截断）"

#: Both hosts refuse a comment longer than this (GitHub: 65,536 characters; GitLab: 1,000,000):
#: the summary stays under GitHub's with room for the host's own additions.
COMMENT_LIMIT = 65_000
#: The first line of every summary: how the comment poster finds the comment it wrote before.
#: An HTML comment, which both hosts leave unshown; nothing from a request can produce it
#: (``<`` and ``!`` are escaped).
MARKER = "<!-- manualkit:summary -->"


def _visible(text: str) -> str:
    """Control, bidirectional and invisible characters as ``U+XXXX``."""
    out = []
    rest = text
    while True:
        found = first_disallowed(rest)
        if found is None:
            out.append(rest)
            return "".join(out)
        out.append(rest[: found.at])
        out.append(f" U+{ord(found.char):04X} ")
        rest = rest[found.at + 1 :]


def inline(text: str, limit: int = 0) -> str:
    """``text`` as one line of inert Markdown (line breaks as ``¶``); cut at ``limit`` characters
    of the original when ``limit`` is positive."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if limit > 0 and len(text) > limit:
        text = text[:limit] + TRUNCATED
    text = _visible(text)
    text = " ¶ ".join(part.strip() for part in text.split("\n"))
    text = _SPACES.sub(" ", text).strip()
    text = "".join(_FULLWIDTH.get(c, c) for c in text)
    text = _REFERENCE.sub(lambda m: _REFERENCE_FULLWIDTH[m.group(1)], text)
    text = _PUNCTUATION.sub(r"\\\1", text)
    return "".join(_ENTITIES.get(c, c) for c in text)


def cell(text: str, limit: int = 0) -> str:
    """``text`` as the content of a GFM table cell (never empty: ``—``)."""
    return inline(text, limit) or "—"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A GFM table of already escaped cells, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
