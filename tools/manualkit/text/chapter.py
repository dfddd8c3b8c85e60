"""A chapter file: YAML front matter, a ``#`` title, and its ``##`` sections.

:func:`parse_chapter` is pure: text in, a :class:`Chapter` (or ``None``) and diagnostics out.
"""

from __future__ import annotations

import _thread
import datetime as dt
import functools
import re
from collections import OrderedDict
from collections.abc import Container, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.base import yamlfile
from manualkit.base.characters import FULLWIDTH_NUMBER_RE, ascii_digits, has_fullwidth_digits
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.text.outline import OutlineChapter, anchor_for, outline_chapter
from manualkit.text.schema import Field, as_date, validate

if TYPE_CHECKING:
    from manualkit.text.markup import Scan

SECTION_HEADING_RE = re.compile(r"^([0-9]+)\.([0-9]+)\s+(\S.*)$")  # ASCII digits only (base/characters)
PLACEHOLDER_RE = re.compile(r"待补充|待完善|待编写|占位|TODO|TBD|FIXME|lorem ipsum", re.IGNORECASE)
MIN_SECTION_CHARS = 40


class Section(NamedTuple):
    id: str  # "3.2"
    title: str
    anchor: str
    line: int  # file line of the heading
    body: str  # Markdown after the heading, up to the next section
    body_line: int  # file line where ``body`` starts


class Chapter(NamedTuple):
    path: str  # repository-relative, e.g. manual/03-execution.md
    number: int
    title: str
    owner: str
    review_cycle_months: int
    last_reviewed: dt.date
    review_line: int  # file line of ``review.last_reviewed``
    sections: tuple[Section, ...]
    body: str  # Markdown after the front matter
    body_line: int  # file line where ``body`` starts
    preamble: str  # Markdown between the chapter title and the first section

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


class ChapterParse(NamedTuple):
    """What :func:`parse_chapter` found, even when the chapter is unusable (``chapter`` None)."""

    chapter: Chapter | None
    sections: tuple[Section, ...]
    scan: Scan
    diagnostics: list[Diagnostic]
    body_read: bool = True  # False when no front matter could be split off: sections are unknown


def front_matter_schema(departments: Sequence[str]) -> Field:
    """The one declared schema of a chapter's front matter."""

    def depts() -> Sequence[str]:
        return departments

    return Field(
        "",
        dict,
        "章节前置元数据",
        fields=(
            Field("chapter", int, "章编号，1 起连续", minimum=1, maximum=999),
            Field("title", str, "章标题，与大纲一致"),
            Field("owner", str, "负责部门，取自 manual.yml 的 departments", choices=depts),
            Field(
                "review",
                dict,
                "定期评审",
                fields=(
                    Field("cycle_months", int, "评审周期（月）", minimum=1, maximum=36),
                    Field("last_reviewed", dt.date, "上次评审日期"),
                ),
            ),
            Field("sections", list, "本章各节编号，如 [\"3.1\", \"3.2\"]", items=Field("", str, "节编号", pattern=r"[0-9]+\.[0-9]+")),
        ),
    )


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """``(yaml_text, body, body_first_line)`` or ``None`` when there is no closed front matter."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r") in ("---", "..."):
            return "\n".join(lines[1:i]) + "\n", "\n".join(lines[i + 1 :]), i + 2
    return None


def parse_chapter(
    path: str, text: str, position: int, departments: Sequence[str], files: frozenset[str], *, check_body: bool = True
) -> ChapterParse:
    """Parse chapter ``position`` (1-based order in manual.yml) from ``text``.

    ``check_body=False`` gives the same chapter (or ``None``) but not the findings about its body
    (the Markdown subset, links, references, placeholder sections): verifying a release needs
    only its chapters' sections, and reading those from plain headings skips the Markdown parser.

    The same text gives the same parse, and one process often asks again: ``check`` reads each
    chapter of the working tree and of the last release (mostly the same text), an audit or a site
    build every released version (most chapters unchanged from one to the next), ``manual serve``
    the whole manual after each edit. The last parses are kept with the files each one asked about
    (links and images): one is used again when those files are still there or still missing, and
    each caller gets its own copy of its lists.
    """
    key = (path, text, position, tuple(departments), check_body)
    with _KEPT_LOCK:
        parsed = next((kept for asked, kept in _KEPT.get(key, ()) if all((name in files) is there for name, there in asked)), None)
        if parsed is not None:
            _KEPT.move_to_end(key)
    if parsed is None:
        queries = _FileQueries(files)
        parsed = _parse_chapter(path, text, position, departments, queries, check_body)
        with _KEPT_LOCK:
            variants = _KEPT.setdefault(key, [])
            variants.append((tuple(queries.asked.items()), parsed))
            del variants[:-_KEPT_VARIANTS]
            _KEPT.move_to_end(key)
            while len(_KEPT) > _KEPT_TEXTS:
                _KEPT.popitem(last=False)
    return parsed._replace(diagnostics=list(parsed.diagnostics), scan=parsed.scan.copy())


_KEPT_TEXTS = 64  # chapter texts kept: every chapter of several versions
_KEPT_VARIANTS = 4  # parses kept of one text, for other answers about its links and images
_KEPT: OrderedDict[tuple[str, str, int, tuple[str, ...], bool], list[tuple[tuple[tuple[str, bool], ...], ChapterParse]]] = OrderedDict()
_KEPT_LOCK = _thread.allocate_lock()  # _thread's own lock: importing threading costs every command 1.4 ms


class _FileQueries:
    """The repository's files as one parse sees them: each path it asked about, and the answer."""

    def __init__(self, files: frozenset[str]) -> None:
        self.files = files
        self.asked: dict[str, bool] = {}

    def __contains__(self, name: object) -> bool:
        there = name in self.files
        self.asked[str(name)] = there
        return there


def _parse_chapter(
    path: str, text: str, position: int, departments: Sequence[str], files: Container[str], check_body: bool
) -> ChapterParse:
    # Imported here: commands that read chapters parsed before (from the cache) never load the
    # Markdown parser (see history.ReleaseReader).
    from manualkit.text.markup import Scan, plain_headings, scan

    diags: list[Diagnostic] = []
    if not text.startswith("---"):
        d = diagnostic(path, 1, 1, "MAN101", "章节文件缺少前置元数据；文件须以 --- 开头的 YAML 块开始（见 docs/authoring.md）")
        return ChapterParse(None, (), Scan(), [d], body_read=False)
    split = split_front_matter(text)
    if split is None:
        d = diagnostic(path, 1, 1, "MAN102", "前置元数据没有结束标记；请在 YAML 块后加一行 ---")
        return ChapterParse(None, (), Scan(), [d], body_read=False)
    yaml_text, body, body_line = split
    meta, front_diags = _front_matter(yaml_text, path, tuple(departments))
    diags += front_diags
    outline = outline_chapter(position)
    number: int = meta["chapter"] if isinstance(meta.get("chapter"), int) else position
    if isinstance(meta.get("chapter"), int) and meta["chapter"] != position:
        line, col = yamlfile.position(meta, "chapter")
        diags.append(
            diagnostic(path, 2 + line, col + 1, "MAN201", f"章编号为 {meta['chapter']}，但该文件在 manual.yml 中排第 {position} 位")
        )
    if outline is not None and isinstance(meta.get("title"), str) and meta["title"] != outline.title:
        line, col = yamlfile.position(meta, "title")
        diags.append(diagnostic(path, 2 + line, col + 1, "MAN202", f"章标题应为“{outline.title}”（大纲规定），实际为“{meta['title']}”"))

    headings = None if check_body else plain_headings(body, body_line)
    body_scan = scan(body, path, body_line, files) if headings is None else Scan(headings=headings)
    diags += body_scan.diagnostics
    sections, structure_diags = _structure(path, body, body_line, body_scan, outline, position, check_body)
    diags += structure_diags
    diags += _front_matter_sections(path, meta, sections)

    first_section_line = sections[0].line if sections else body_line + len(body.split("\n"))
    h1 = next((h for h in body_scan.headings if h.level == 1), None)
    pre_start = (h1.line + 1 - body_line) if h1 else 0
    preamble = "\n".join(body.split("\n")[pre_start : first_section_line - body_line]).strip()
    if preamble and h1 is not None:
        # Text outside every section could be changed without any change request naming it.
        at = h1.line + 1 + next(i for i, line in enumerate(body.split("\n")[pre_start:]) if line.strip())
        diags.append(diagnostic(path, at, 1, "MAN214", "章标题与第一节之间不得有正文：每段内容都须属于某一节，修订才能追溯；请移入相应的节"))
    if not meta or any(d.code in ("MAN103", "MAN104", "MAN105", "MAN107", "MAN108", "MAN109", "MAN110", "MAN111") for d in diags):
        return ChapterParse(None, tuple(sections), body_scan, diags)
    review = meta["review"]
    last = as_date(review["last_reviewed"])
    assert last is not None  # validated above
    chapter = Chapter(
        path=path,
        number=number,
        title=str(meta["title"]),
        owner=str(meta["owner"]),
        review_cycle_months=int(review["cycle_months"]),
        last_reviewed=last,
        review_line=2 + yamlfile.position(review, "last_reviewed")[0],
        sections=tuple(sections),
        body=body,
        body_line=body_line,
        preamble=preamble,
    )
    return ChapterParse(chapter, tuple(sections), body_scan, diags)


@functools.lru_cache(maxsize=256)
def _front_matter(yaml_text: str, path: str, departments: tuple[str, ...]) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """The front matter read and validated, or ``{}``, and the findings. Kept for the process
    (read-only): the thousand released versions of a chapter mostly share their front matter."""
    data, yaml_diags = yamlfile.parse(yaml_text, path, 2)
    if yaml_diags:
        return {}, tuple(yaml_diags)
    if not isinstance(data, dict):
        return {}, (diagnostic(path, 2, 1, "MAN104", "前置元数据应为键值映射（key: value）"),)
    return data, tuple(validate(data, front_matter_schema(departments), path, 2))


def _structure(
    path: str, body: str, body_line: int, body_scan: Scan, outline: OutlineChapter | None, position: int, check_body: bool = True
) -> tuple[list[Section], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    headings = body_scan.headings
    h1s = [h for h in headings if h.level == 1]
    if not h1s:
        diags.append(diagnostic(path, body_line, 1, "MAN203", "缺少一级标题；请在正文开头写“# 第N章 章标题”"))
    else:
        if headings[0].level != 1:
            diags.append(diagnostic(path, headings[0].line, 1, "MAN203", "一级标题（# 第N章 …）必须是正文的第一个标题"))
        for extra in h1s[1:]:
            diags.append(diagnostic(path, extra.line, 1, "MAN203", "每个章节文件只能有一个一级标题"))
        if outline is not None and h1s[0].text != outline.heading:
            code = "MAN202" if h1s[0].text.startswith(outline.heading.split(" ")[0]) else "MAN203"
            diags.append(diagnostic(path, h1s[0].line, 1, code, f"一级标题应为“{outline.heading}”，实际为“{h1s[0].text}”"))
    previous = 0
    for h in headings:
        if h.level > previous + 1:
            diags.append(diagnostic(path, h.line, 1, "MAN209", f"标题从 {previous} 级跳到 {h.level} 级；请不要跳级"))
        previous = h.level

    lines = body.split("\n")
    h2s = [h for h in headings if h.level == 2]
    sections: list[Section] = []
    seen_ids: dict[str, int] = {}
    seen_titles: dict[str, int] = {}
    seen_anchors: dict[str, int] = {}
    expected = 1
    for index, h in enumerate(h2s):
        m = SECTION_HEADING_RE.match(h.text)
        number = FULLWIDTH_NUMBER_RE.match(h.text)
        if not m and number and has_fullwidth_digits(number.group()):
            ascii_form = ascii_digits(number.group())
            diags.append(diagnostic(path, h.line, 1, "MAN764", f"节编号“{number.group()}”使用了全角数字；请改为半角“{ascii_form}”"))
            continue
        if not m:
            diags.append(diagnostic(path, h.line, 1, "MAN204", f"节标题应为“{position}.N 标题 {{#sec-{position}-N}}”，实际为“{h.text}”"))
            continue
        chap, num, title = int(m.group(1)), int(m.group(2)), m.group(3).strip()
        sid = f"{chap}.{num}"
        if sid in seen_ids:
            diags.append(diagnostic(path, h.line, 1, "MAN205", f"节编号 {sid} 重复（第 {seen_ids[sid]} 行已有）"))
            continue
        seen_ids[sid] = h.line
        if chap != position:
            diags.append(diagnostic(path, h.line, 1, "MAN205", f"节编号 {sid} 不属于第 {position} 章"))
        elif num != expected:
            what = "跳号" if num > expected else "顺序错误"
            diags.append(diagnostic(path, h.line, 1, "MAN205", f"节编号{what}：应为 {position}.{expected}，实际为 {sid}"))
        if chap == position:
            expected = max(expected, num + 1)  # one section out of place is one finding, not two
        if outline is not None and chap == position and 1 <= num <= len(outline.sections):
            want = outline.sections[num - 1]
            if title != want:
                diags.append(diagnostic(path, h.line, 1, "MAN206", f"{sid} 的标题应为“{want}”（大纲规定），实际为“{title}”"))
        if title in seen_titles:
            diags.append(diagnostic(path, h.line, 1, "MAN208", f"节标题“{title}”重复（第 {seen_titles[title]} 行已有）"))
        seen_titles.setdefault(title, h.line)
        anchor = anchor_for(sid)
        if h.anchor is None:
            diags.append(diagnostic(path, h.line, 1, "MAN207", f"节标题缺少锚点；请在标题末尾加上 {{#{anchor}}}"))
        elif h.anchor != anchor:
            diags.append(diagnostic(path, h.line, 1, "MAN207", f"{sid} 的锚点应为 {{#{anchor}}}，实际为 {{#{h.anchor}}}"))
        if h.anchor is not None:
            if h.anchor in seen_anchors:
                diags.append(diagnostic(path, h.line, 1, "MAN208", f"锚点 {h.anchor} 重复（第 {seen_anchors[h.anchor]} 行已有）"))
            seen_anchors.setdefault(h.anchor, h.line)
        end = h2s[index + 1].line if index + 1 < len(h2s) else body_line + len(lines)
        raw_lines = lines[h.line - body_line + 1 : end - body_line]
        leading = next((i for i, text in enumerate(raw_lines) if text.strip()), len(raw_lines))
        section_body = "\n".join(raw_lines[leading:]).rstrip("\n")
        if check_body and _is_placeholder(section_body):
            diags.append(diagnostic(path, h.line, 1, "MAN213", f"{sid} 没有正式内容（为空、过短或含占位文字）；请写完本节"))
        sections.append(Section(sid, title, anchor, h.line, section_body, h.line + 1 + leading))
    if outline is not None:
        present = {s.id for s in sections}
        for sid in outline.section_ids():
            if sid not in present:
                at = h2s[-1].line if h2s else body_line
                diags.append(diagnostic(path, at, 1, "MAN211", f"缺少大纲规定的第 {sid} 节“{outline.sections[int(sid.split('.')[1]) - 1]}”"))
    return sections, diags


def _is_placeholder(body: str) -> bool:
    text = re.sub(r"[\s#*>|\-:`]", "", body)
    return len(text) < MIN_SECTION_CHARS or bool(PLACEHOLDER_RE.search(body))


def _front_matter_sections(path: str, meta: dict[str, Any], sections: list[Section]) -> list[Diagnostic]:
    declared = meta.get("sections")
    if not isinstance(declared, list) or not all(isinstance(s, str) for s in declared):
        return []
    found = [s.id for s in sections]
    if list(declared) == found:
        return []
    line, col = yamlfile.position(meta, "sections")
    return [
        diagnostic(
            path, 2 + line, col + 1, "MAN210",
            f"sections 列出 {', '.join(declared) or '（空）'}，正文中的节为 {', '.join(found) or '（无）'}；请使两者一致",
        )
    ]  # fmt: skip

