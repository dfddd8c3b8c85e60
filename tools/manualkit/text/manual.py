"""The manual as a whole: its identity and its chapters, loaded from a set of files.

:func:`load_manual` is pure over plain data (a mapping of repository paths to bytes), so the same
code reads the working tree, a commit's tree or a release's tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from manualkit.base.characters import text_findings
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.base.encoding import decode_utf8
from manualkit.text.chapter import Chapter, ChapterParse, parse_chapter
from manualkit.text.metadata import METADATA_PATH, ManualMetadata, parse_metadata
from manualkit.text.outline import OUTLINE

MANUAL_DIR = "manual"


class ManualFiles(NamedTuple):
    """What a reader found under ``manual/``.

    ``contents`` holds the files that were read (bounded); ``problems`` the files a reader refused
    (too large, a link out of the repository); ``names`` every path that exists.
    """

    contents: Mapping[str, bytes]
    names: frozenset[str]
    problems: tuple[Diagnostic, ...] = ()


class Manual(NamedTuple):
    metadata: ManualMetadata
    chapters: tuple[Chapter, ...]

    def section(self, section_id: str) -> tuple[Chapter, int] | None:
        for chapter in self.chapters:
            for i, s in enumerate(chapter.sections):
                if s.id == section_id:
                    return chapter, i
        return None

    def section_ids(self) -> list[str]:
        return [s.id for c in self.chapters for s in c.sections]


class LoadResult:
    """The manual (None when it cannot be loaded) and every problem met loading it."""

    __slots__ = ("diagnostics", "manual")

    def __init__(self, manual: Manual | None, diagnostics: list[Diagnostic] | None = None) -> None:
        self.manual = manual
        self.diagnostics: list[Diagnostic] = diagnostics if diagnostics is not None else []


def decode(path: str, data: bytes) -> tuple[str | None, list[Diagnostic]]:
    """Bytes of a text file → text, or the diagnostic that says why not."""
    if not data.strip():
        return None, [diagnostic(path, 1, 1, "MAN003", "文件为空；请写入内容或从 manual.yml 中删除该文件")]
    diags: list[Diagnostic] = []
    if data.startswith(b"\xef\xbb\xbf"):
        diags.append(diagnostic(path, 1, 1, "MAN002", "文件以 UTF-8 BOM 开头；请以不带 BOM 的 UTF-8 保存"))
        data = data[3:]
    decoded, bad = decode_utf8(path, data)
    if decoded is None:
        return None, [*diags, *bad]
    text = decoded
    # A lone CR is a line break for YAML and markdown-it alike; count lines the same way here.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # The characters a controlled text may hold are defined once, in base/characters.
    refused = text_findings(path, text)
    if refused:
        return None, [*diags, *refused]
    return text, diags


def load_manual(files: ManualFiles, *, check_body: bool = True) -> LoadResult:
    """Load and check the whole manual from ``files``; never raises on bad content.
    ``check_body=False``: the same manual, without the findings about the chapters' bodies
    (their Markdown is not parsed): for a command that only reads it (``manual remind``)."""
    result = LoadResult(None, list(files.problems))
    raw = files.contents.get(METADATA_PATH)
    if raw is None:
        if not any(d.path == METADATA_PATH for d in files.problems):
            result.diagnostics.append(diagnostic(METADATA_PATH, 0, 0, "MAN008", "缺少 manual/manual.yml；请创建手册标识文件"))
        return result
    text, diags = decode(METADATA_PATH, raw)
    result.diagnostics += diags
    if text is None:
        return result
    metadata, diags = parse_metadata(text)
    result.diagnostics += diags
    if metadata is None:
        return result

    chapters: list[Chapter] = []
    parses: list[tuple[str, ChapterParse]] = []
    unread: set[int] = set()  # chapters whose sections are unknown (their file is already an error)
    refused = {d.path for d in files.problems}
    for position, name in enumerate(metadata.chapter_files, start=1):
        path = f"{MANUAL_DIR}/{name}"
        unread.add(position)
        if path in refused:
            continue
        data = files.contents.get(path)
        if data is None:
            line, col = _list_position(text, name)
            result.diagnostics.append(diagnostic(METADATA_PATH, line, col, "MAN006", f"manual.yml 列出的章节文件 {path} 不存在"))
            continue
        chapter_text, diags = decode(path, data)
        result.diagnostics += diags
        if chapter_text is None:
            continue
        parsed = parse_chapter(path, chapter_text, position, metadata.departments, files.names, check_body=check_body)
        result.diagnostics += parsed.diagnostics
        if parsed.body_read:
            unread.discard(position)
            parses.append((path, parsed))
        if parsed.chapter is not None:
            chapters.append(parsed.chapter)

    listed = {f"{MANUAL_DIR}/{n}" for n in metadata.chapter_files}
    for name in sorted(files.names):
        if name.endswith(".md") and name.count("/") == 1 and name not in listed:
            result.diagnostics.append(diagnostic(name, 0, 0, "MAN007", "该文件未在 manual.yml 的 chapters 中列出，不属于手册"))
    if len(metadata.chapter_files) != len(OUTLINE):
        result.diagnostics.append(
            diagnostic(
                METADATA_PATH, _list_position(text, "chapters:")[0], 1, "MAN215",
                f"手册应有 {len(OUTLINE)} 章，manual.yml 列出了 {len(metadata.chapter_files)} 章",
            )
        )  # fmt: skip
    result.diagnostics += _references(parses, unread)
    result.manual = Manual(metadata, tuple(chapters))
    return result


def _list_position(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, col) of ``needle`` in ``text``, preferring a list item ``- needle``."""
    m = re.search(rf"^[ \t]*-[ \t]+[\"']?({re.escape(needle)})", text, re.MULTILINE)
    idx = m.start(1) if m else text.find(needle)
    if idx < 0:
        return 1, 1
    return text.count("\n", 0, idx) + 1, idx - (text.rfind("\n", 0, idx) + 1) + 1


def _references(parses: list[tuple[str, ChapterParse]], unread: set[int]) -> list[Diagnostic]:
    """Every "见 3.2" and every link to a section names a section that exists.

    References into a chapter in ``unread`` (listed, but its file could not be read) are not
    judged: that file is reported already, and its sections are unknown, not missing.
    """
    out: list[Diagnostic] = []
    section_ids = {s.id for _, p in parses for s in p.sections}
    anchors = {path: {s.anchor for s in p.sections} for path, p in parses}
    for path, parsed in parses:
        body_scan = parsed.scan
        for ref in body_scan.section_refs:
            if ref.section_id not in section_ids and int(ref.section_id.split(".")[0]) not in unread:
                out.append(diagnostic(path, ref.line, ref.col, "MAN401", f"“{ref.text}”引用的第 {ref.section_id} 节不存在"))
        for link in body_scan.links:
            target = f"{MANUAL_DIR}/{link.target}" if link.target else path
            if link.anchor is None or target not in anchors:
                continue  # a link to a whole chapter, or to a chapter that failed to load
            if link.anchor not in anchors[target]:
                out.append(
                    diagnostic(path, link.line, link.col, "MAN402", f"链接指向 {target} 中不存在的锚点 #{link.anchor}")
                )
    return out
