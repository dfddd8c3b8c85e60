"""Which of chapter 8's record requirements were in force when a release was made.

An obligation is judged by the rules in force when the release was made (issue 24): the
requirement to prove a training with a signed record (``changelog/training``, MAN817/MAN818) exists
for a release only if ``manual/obligations.yml`` of its release commit registers it. A release made
before that cannot have met it: it is reported as 早于该要求 (MAN970, information), not as a
missing record. The map is read from the release commits in git, never from the working tree, so
editing ``obligations.yml`` today changes nothing about an earlier release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from manualkit.records.obligation_map import load_mapping

if TYPE_CHECKING:
    from manualkit.records.history import ReleaseEntry, ReleaseReader


class RulesAtRelease:
    """The codes ``manual/obligations.yml`` named at each release, by version (``A/0``)."""

    def __init__(self, codes: Mapping[str, frozenset[str]]) -> None:
        self._codes = dict(codes)

    def required(self, version: str, code: str) -> bool:
        """Whether the rules in force when ``version`` was released asked for what ``code`` checks.
        A version this map does not know (its release commit missing) is judged by today's rules:
        the absence of evidence is no exemption."""
        codes = self._codes.get(version)
        return codes is None or code in codes

    def introduced_after(self, version: str, code: str) -> bool:
        return not self.required(version, code)


def rules_at_releases(reader: ReleaseReader, entries: Sequence[ReleaseEntry]) -> RulesAtRelease:
    """Read ``manual/obligations.yml`` at every release commit (one batch through ``reader``)."""
    known = [(str(e.record.version), e.commit) for e in entries if e.commit is not None]
    files = reader.files_at([commit for _, commit in known])
    codes = {}
    for (version, _), manual_files in zip(known, files, strict=True):
        enforcements, _problems = load_mapping(manual_files.contents)  # a broken map requires nothing new
        codes[version] = frozenset(c for e in enforcements for c in e.codes)
    return RulesAtRelease(codes)
