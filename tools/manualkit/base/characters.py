"""The characters a controlled text may hold: one definition for the manual and every record.

A signed text must read the same to everyone who reads it, and every record must be readable
again by the tool that wrote it. So neither the manual's files nor any field of a record
(change request, release record, review, policy, ``manual.yml``), nor a value given on the command
line that a command writes into a record, may hold:

- control characters (C0 and C1, DEL) other than the line break and, in files, the tab
  (MAN009); the Unicode line and paragraph separators, which YAML counts as line breaks and
  Markdown does not;
- bidirectional controls (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069) and invisible
  characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+00AD, every other format character and the
  tag characters): text that displays differently from the characters that were signed, or hides
  characters between others (MAN762);
- non-characters (U+FDD0–U+FDEF and the last two code points of every plane, e.g. U+FFFE) and
  lone surrogates (a command-line argument that was not UTF-8): YAML cannot carry them and a
  record holding one can never be read again (MAN763).

Section numbers and section references use ASCII digits: ``## ３.２`` and ``见 ３.９`` are refused
with MAN764 and the ASCII form (``3.2``) to write instead, by ``check`` and by ``propose``.

:func:`first_disallowed` is the one test; :func:`text_findings` reports it for a file's text,
:func:`field_problem` for a single value, and :func:`require_field` refuses a command-line value.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from manualkit.base.diagnostics import Diagnostic, diagnostic, fail

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029"
# Every format character (Unicode category Cf): bidi controls, zero-width and other invisible ones.
_INVISIBLE = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_NONCHARACTER = "\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
)
# The tab (\x09), line feed (\x0a) and carriage return (\x0d) are not in _CONTROL: a file may
# hold them; a single-line field may not (see first_disallowed).
_DISALLOWED_RE = re.compile(f"[{_CONTROL}{_INVISIBLE}{_NONCHARACTER}]")
_LINE_BREAK_RE = re.compile("[\t\n\r]")

FULLWIDTH_DIGITS = "０１２３４５６７８９"
_TO_ASCII = str.maketrans({**{c: str(i) for i, c in enumerate(FULLWIDTH_DIGITS)}, "．": "."})
# A section number with at least one fullwidth digit (or a fullwidth full stop between digits).
FULLWIDTH_NUMBER_RE = re.compile(r"[0-9０-９]+[.．][0-9０-９]+")


class Disallowed(NamedTuple):
    at: int  # the index of the character in the text
    char: str
    code: str  # MAN009 | MAN762 | MAN763
    kind: str  # what it is, in Chinese


def first_disallowed(text: str, *, multiline: bool = True) -> Disallowed | None:
    """The first character ``text`` may not hold; ``multiline=False`` also refuses tabs and line breaks."""
    if (text.replace("\n", "") if multiline else text).isprintable():
        # Every character refused here is one Python does not count as printable (categories
        # Cc, Cf, Zl, Zp, Cs and Cn): a text that is all printable (but for its line feeds, where
        # they are allowed) holds none of them, and is known so without the slower search.
        return None
    m = _DISALLOWED_RE.search(text)
    if not multiline:
        b = _LINE_BREAK_RE.search(text)
        if b and (m is None or b.start() < m.start()):
            return Disallowed(b.start(), b.group(), "MAN009", "换行符或制表符")
    if m is None:
        return None
    char = m.group()
    if re.match(f"[{_CONTROL}]", char):
        return Disallowed(m.start(), char, "MAN009", "控制字符")
    if re.match(f"[{_INVISIBLE}]", char):
        return Disallowed(m.start(), char, "MAN762", "双向控制字符或零宽（不可见）字符")
    return Disallowed(m.start(), char, "MAN763", "Unicode 非字符或无效字符（无法存入 YAML）")


def describe(found: Disallowed) -> str:
    return f"U+{ord(found.char):04X}（{found.kind}）"


def text_findings(path: str, text: str, first_line: int = 1) -> list[Diagnostic]:
    """The first disallowed character of a file's ``text`` (line breaks already normalised), as a finding."""
    found = first_disallowed(text)
    if found is None:
        return []
    line = text.count("\n", 0, found.at) + first_line
    col = found.at - (text.rfind("\n", 0, found.at) + 1) + 1
    return [diagnostic(path, line, col, found.code, f"文件含有不允许的字符 {describe(found)}；请删除")]


def field_problem(value: str, *, multiline: bool = True) -> Disallowed | None:
    return first_disallowed(value, multiline=multiline)


def require_field(option: str, value: str, *, multiline: bool = False) -> str:
    """A command-line ``value`` that a command writes into a record, or a refusal naming ``option``."""
    found = first_disallowed(value, multiline=multiline)
    if found is not None:
        raise fail(option, 0, 0, found.code, f"{option} 的第 {found.at + 1} 个字符是不允许的字符 {describe(found)}；请删除后重试")
    return value


def has_fullwidth_digits(text: str) -> bool:
    return any(c in FULLWIDTH_DIGITS or c == "．" for c in text)


def ascii_digits(text: str) -> str:
    """``text`` with fullwidth digits (and the fullwidth full stop) written in ASCII."""
    return text.translate(_TO_ASCII)


# What a terminal obeys instead of showing, or shows other than the text says: every C0 control
# but line feed and tab (ESC starts the escape sequences that move the cursor, clear the screen,
# set the window title or write a hyperlink; CR overwrites a line), DEL, every C1 control (CSI,
# OSC), and the bidirectional and invisible characters that reorder or hide text.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def inert(text: str) -> str:
    """``text`` as a terminal shows it and never interprets: each character a terminal would obey
    (above) is written as its escape ``\\u001b``, which also reads the same inside a JSON string."""
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
