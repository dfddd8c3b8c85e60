"""A reviewer's tracked changes as an edit of the chapters' Markdown (``manual import-review --apply``).

Each change of a returned review copy (:class:`~manualkit.documents.review_import.Change`) names its
section, the proposed text of its paragraph before and after it, the deleted and the inserted text.
It maps cleanly to the Markdown when the deleted text, with as little of the text around it as
makes it unique, occurs exactly once in that section's source: then that occurrence is replaced.
Anything else (a heading, text across Markdown markup, text not found or found twice, a change
outside the body) is not applied and is listed with the reason. Pure: texts in, texts out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from manualkit.documents.review_import import Change

_CONTEXTS = (0, 1, 2, 4, 8, 16, 32, 10_000)


@dataclass(frozen=True)
class Mapped:
    change: Change
    path: str  # manual/03-execution.md
    line: int  # 1-based line of the edit in the file as it was


@dataclass(frozen=True)
class Unmapped:
    change: Change
    reason: str


@dataclass(frozen=True)
class Edit:
    files: dict[str, str]  # path -> new text (only files that change)
    mapped: tuple[Mapped, ...]
    unmapped: tuple[Unmapped, ...]

    def diff(self, old: Mapping[str, str]) -> str:
        out: list[str] = []
        for path in sorted(self.files):
            out += difflib.unified_diff(
                old[path].splitlines(keepends=True), self.files[path].splitlines(keepends=True), f"a/{path}", f"b/{path}"
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def section_span(text: str, key: str) -> tuple[int, int] | None:
    """Character offsets of the body of block ``key`` ("3.2" or "ch3") in a chapter's source:
    after its heading line, up to the next heading of level 1 or 2 (or the end)."""
    if key.startswith("ch"):
        m = re.search(r"^# .*$", text, re.MULTILINE)
    else:
        m = re.search(rf"^## {re.escape(key)}(?:\s.*)?$", text, re.MULTILINE)
    if m is None:
        return None
    start = m.end()
    nxt = re.compile(r"^#{1,2} ", re.MULTILINE).search(text, start)
    return start, nxt.start() if nxt else len(text)


def _locate(body: str, change: Change) -> tuple[int, int, str] | str:
    """(start, end, replacement) inside ``body``, or why the change cannot be placed."""
    seen_many = False
    for k in _CONTEXTS:
        left = change.before[-k:] if k else ""
        right = change.after[:k] if k else ""
        needle = left + change.old + right
        if not needle:
            continue
        first = body.find(needle)
        if first < 0:
            if k >= max(len(change.before), len(change.after)):
                break
            continue
        if body.find(needle, first + 1) >= 0:
            seen_many = True
            if k >= max(len(change.before), len(change.after)):
                break
            continue
        return first, first + len(needle), left + change.new + right
    if seen_many:
        return "所改文字在该节的 Markdown 中出现不止一处，无法唯一定位"
    return "所改文字在该节的 Markdown 中找不到原样（可能跨越了加粗、链接等格式标记，或工作区已改动）"


def apply_changes(changes: Sequence[Change], chapters: Mapping[str, str], chapter_of: Mapping[str, str]) -> Edit:
    """The edit the ``changes`` make to ``chapters`` (path -> Markdown source); ``chapter_of`` maps
    a block key ("3.2", "ch3") to its chapter file's path."""
    texts = dict(chapters)
    mapped: list[Mapped] = []
    unmapped: list[Unmapped] = []
    # Right to left inside a paragraph: a change's left context is then still as the copy showed it.
    ordered = sorted(enumerate(changes), key=lambda item: (item[1].section, item[1].paragraph, -len(item[1].before), item[0]))
    for _, change in ordered:
        if change.kind == "unmapped":
            unmapped.append(Unmapped(change, change.reason))
            continue
        if change.paragraph == 0:
            unmapped.append(Unmapped(change, "标题的修改须由编辑人处理（章节标题属于固定大纲）"))
            continue
        path = chapter_of.get(change.section)
        span = section_span(texts[path], change.section) if path is not None and path in texts else None
        if path is None or span is None:
            unmapped.append(Unmapped(change, f"手册中没有 {change.section} 这一节"))
            continue
        body = texts[path][span[0] : span[1]]
        found = _locate(body, change)
        if isinstance(found, str):
            unmapped.append(Unmapped(change, found))
            continue
        start, end, replacement = found
        text = texts[path]
        at = span[0] + start
        line = chapters[path].count("\n", 0, min(at, len(chapters[path]))) + 1
        texts[path] = text[:at] + replacement + text[span[0] + end :]
        mapped.append(Mapped(change, path, line))
    files = {p: t for p, t in texts.items() if t != chapters[p]}
    return Edit(files, tuple(mapped), tuple(unmapped))


__all__ = ["Edit", "Mapped", "Unmapped", "apply_changes", "section_span"]
