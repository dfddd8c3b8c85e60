"""Version identifiers in A/0 notation: the letter is the 版次 (edition), the number the 修改次数."""

from __future__ import annotations

import re
from typing import NamedTuple

from manualkit.base.diagnostics import fail

_RE = re.compile(r"^([A-Z])/([0-9]{1,3})$")
EDITION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # A/0, B/0 … Z/0


_PARSED: dict[str, Version] = {}


class Version(NamedTuple):
    edition: str
    revision: int

    @classmethod
    def parse(cls, text: str) -> Version:
        found = _PARSED.get(text)
        if found is not None:
            return found
        m = _RE.match(text.strip())
        if not m:
            raise fail("version", 0, 0, "MAN000", f"版本号 {text!r} 的格式应为“字母/数字”，如 A/0、B/2")
        version = cls(m.group(1), int(m.group(2)))
        if len(_PARSED) < 10_000:  # a history reads each version twice (as itself, as previous)
            _PARSED[text] = version
        return version

    @classmethod
    def first(cls) -> Version:
        return cls("A", 0)

    def __str__(self) -> str:
        return f"{self.edition}/{self.revision}"

    @property
    def slug(self) -> str:
        """For file names and tags: ``A/1`` → ``A-1``."""
        return f"{self.edition}-{self.revision}"

    def next(self, step: str, revision_limit: int) -> Version:
        """The version after this one for a release whose class steps by ``step``.

        A new edition (next letter, revision 0) for ``edition`` steps, or once the revision count
        has reached ``revision_limit``; otherwise the revision count goes up by one.
        """
        if step == "edition" or self.revision >= revision_limit:
            letters = EDITION_LETTERS
            index = letters.index(self.edition)
            if index + 1 >= len(letters):
                raise fail("version", 0, 0, "MAN630", "版次已用到 Z，无法再换版；请启用新的文件编号")
            return Version(letters[index + 1], 0)
        return Version(self.edition, self.revision + 1)


def is_version(text: str) -> bool:
    return bool(_RE.match(text.strip()))
