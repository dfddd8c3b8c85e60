"""Property tests: whatever a chapter or manual.yml contains, the core check never raises and
only ever returns well-formed diagnostics.

They call :func:`manualkit.text.manual.load_manual` directly (no subprocess). To stay fast, the manual
they load holds manual.yml and one chapter; the other listed chapters are simply missing.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import yaml
from conftest import PROJECT_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manualkit.base.codes import CODES
from manualkit.text.manual import LoadResult, ManualFiles, load_manual
from manualkit.text.metadata import METADATA_PATH
from manualkit.text.worktree import read_manual_files

CHAPTER = "manual/03-execution.md"
REAL = read_manual_files(PROJECT_ROOT)
REAL_CHAPTER = REAL.contents[CHAPTER].decode("utf-8")
FRONT_END = REAL_CHAPTER.index("\n---\n", 4) + 1  # index of the closing ---
REAL_FRONT = REAL_CHAPTER[4:FRONT_END]
REAL_BODY = REAL_CHAPTER[FRONT_END + 4 :]

# ``make test-fast`` sets PROPERTY_EXAMPLES lower for the edit loop; ``make test`` runs 200.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# Pieces of the manual's own syntax, so that generated text often comes close to valid input.
FRAGMENTS = [
    "\n", "\n\n", " ", "    ", "\t", "\r\n", "---", "...", "#", "## ", "### ", "#### ", "##### ", "# 第三章 业务流程执行与实施",
    "## 3.2 业务流程实施步骤 {#sec-3-2}", "3.1 ", "{#sec-3-9}", "{#", "}", "见 3.2", "见 9.9", "第 3.7 节", "见第 6.1",
    "- ", "1. ", "* ", "> ", "| a | b |\n|---|---|\n| 1 | 2 |", "```", "~~~", "<br>", "<script>", "</script>", "<div>",
    "<!--", "[链接](", "](", ")", "![图](", "images/x.png", "../../x.png", "javascript:", "JaVaScRiPt:", "data:",
    "&#x6A;", "%20", "03-execution.md#sec-3-1", "#sec-3-1", "https://example.com", "**", "*", "`", "\\", "===",
    "chapter: 3", "title: ", "owner: 销售管理部", "review:", "  cycle_months: 12", "  last_reviewed: 2026-13-45",
    "sections: [", '"3.1"', "'", '"', "&a", "*a", "!!python/object", "? ", ": ", "- -", "{", "[", "]",
    "\r", "\ufeff", "\u2028", "待补充", "业务流程",
]  # fmt: skip
# Mostly without control characters: those stop the check at decoding (MAN009), before the rest.
printable = st.text(st.characters(exclude_categories=("Cc", "Cs"), include_characters="\n"), max_size=400)
markdownish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), printable.map(lambda t: t[:20])), max_size=40).map("".join)
texts = st.one_of(st.text(max_size=400), printable, markdownish)


def _files(chapter: bytes | None = None, metadata: bytes | None = None) -> ManualFiles:
    contents = {METADATA_PATH: REAL.contents[METADATA_PATH] if metadata is None else metadata}
    contents[CHAPTER] = REAL.contents[CHAPTER] if chapter is None else chapter
    return ManualFiles(contents, REAL.names, ())


def _assert_well_formed(result: LoadResult, sources: dict[str, bytes]) -> None:
    for d in result.diagnostics:
        assert d.code in CODES, d
        assert d.severity is CODES[d.code].severity, d
        assert d.line >= 0 and d.col >= 0, d
        assert d.message.strip(), d
        assert d.path in REAL.names or d.path == METADATA_PATH, d
        if d.path in sources:
            # A finding points into the file it is about (one past the end for "missing at the end").
            assert d.line <= _line_count(sources[d.path]) + 1, d


def _line_count(data: bytes) -> int:
    """Lines as the check counts them: LF, CRLF and a lone CR each end a line."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def _load(chapter: bytes | None = None, metadata: bytes | None = None) -> None:
    files = _files(chapter, metadata)
    _assert_well_formed(load_manual(files), dict(files.contents))


def test_the_reduced_manual_reports_only_the_missing_chapters() -> None:
    result = load_manual(_files())
    assert {d.code for d in result.diagnostics} == {"MAN006"}
    assert result.manual is not None and [c.path for c in result.manual.chapters] == [CHAPTER]


@PROPERTY_SETTINGS
@given(texts)
def test_any_text_as_a_chapter(text: str) -> None:
    _load(chapter=text.encode("utf-8"))


@PROPERTY_SETTINGS
@given(st.one_of(st.binary(max_size=400), texts.map(lambda t: t.encode("utf-8", "surrogatepass")[:300])))
def test_any_bytes_as_a_chapter(data: bytes) -> None:
    _load(chapter=data)


@PROPERTY_SETTINGS
@given(texts)
def test_any_text_as_the_front_matter(front: str) -> None:
    _load(chapter=f"---\n{front}\n---\n{REAL_BODY}".encode())


# YAML-ish structures: the real front matter with keys replaced, added or removed, and values of
# every shape YAML can express.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=15), st.dates(min_value=dt.date(1, 1, 1)), st.sampled_from(["3.1", "2026-13-45", "销售管理部", "~", ""]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), children, max_size=4),
    ),
    max_leaves=12,
)
keys = st.one_of(
    st.sampled_from(["chapter", "title", "owner", "review", "sections", "ownr", "cycle_months"]), st.text(max_size=8)
)


@PROPERTY_SETTINGS
@given(st.dictionaries(keys, values, max_size=6), st.lists(keys, max_size=3))
def test_any_yaml_structure_as_the_front_matter(overrides: dict[str, Any], removed: list[str]) -> None:
    front = yaml.safe_load(REAL_FRONT)
    assert isinstance(front, dict)
    for key in removed:
        front.pop(key, None)
    front.update(overrides)
    text = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    _load(chapter=f"---\n{text}---\n{REAL_BODY}".encode())


@PROPERTY_SETTINGS
@given(st.integers(min_value=0), texts)
def test_any_text_inserted_into_a_section(position: int, inserted: str) -> None:
    lines = REAL_CHAPTER.split("\n")
    first_body_line = REAL_CHAPTER[:FRONT_END].count("\n") + 1
    at = first_body_line + position % (len(lines) - first_body_line)
    lines.insert(at, inserted)
    _load(chapter="\n".join(lines).encode("utf-8"))


@PROPERTY_SETTINGS
@given(texts)
def test_any_text_as_manual_yml(text: str) -> None:
    _load(metadata=text.encode("utf-8"))


# --- the headings of a released chapter, read without the Markdown parser -------------------------
# Verifying a long history reads each released chapter's sections with ``plain_headings`` instead
# of markdown-it (``parse_chapter(check_body=False)``); it must find exactly the headings the parser
# finds, or decline (None) and leave the body to the parser.

LINES = [
    "", "# 第三章 业务流程执行与实施", "## 3.2 业务流程实施步骤 {#sec-3-2}", "## 3.1 x ##", "### 一、要求", "#### 四级", "##### 五级",
    "####### 七个", "#x", "#", "## ", " ## 缩进", "   # 三格", "    ## 代码", "\t# 制表", "- ## 列表中", "1. # 有序", "> ## 引用",
    "- 列表项", "    - 嵌套", "1. 第一", "> 引用文字", "| a | b |", "|---|---|", "| 1 | 2 |", "```", "~~~", "<div>", "</div>",
    "<!-- x -->", "===", "---", "- - -", "***", "  ---", "> ===", "段落文字", "见 3.2", "**加粗**", "## 标题 #", "## 标题 \\#",
    "## \u3000全角空格\u3000", "##\u00a0不换行", "# \ufeff", "## a\u2028", "## 结尾 ###   ",
]  # fmt: skip
bodies = st.one_of(
    st.lists(st.sampled_from(LINES), max_size=30).map("\n".join),
    st.lists(st.one_of(st.sampled_from(LINES), printable.map(lambda t: t[:15])), max_size=30).map("\n".join),
    markdownish,
)


@PROPERTY_SETTINGS
@given(bodies, st.integers(min_value=1, max_value=50))
def test_plain_headings_are_the_parsers_headings_or_none(body: str, offset: int) -> None:
    from manualkit.text.markup import plain_headings, scan

    plain = plain_headings(body, offset)
    if plain is not None:
        assert plain == scan(body, CHAPTER, offset, REAL.names).headings


@PROPERTY_SETTINGS
@given(st.integers(min_value=0), bodies)
def test_a_chapter_read_for_verification_is_the_checked_chapter(position: int, inserted: str) -> None:
    from manualkit.text.chapter import parse_chapter

    lines = REAL_CHAPTER.split("\n")
    first_body_line = REAL_CHAPTER[:FRONT_END].count("\n") + 1
    lines.insert(first_body_line + position % (len(lines) - first_body_line), inserted)
    text = "\n".join(lines)
    departments = load_manual(_files()).manual.metadata.departments  # type: ignore[union-attr]
    checked = parse_chapter(CHAPTER, text, 3, departments, REAL.names)
    assert parse_chapter(CHAPTER, text, 3, departments, REAL.names, check_body=False).chapter == checked.chapter


def test_every_chapter_of_the_manual_is_read_without_the_parser() -> None:
    """The fast reading applies to the manual as written (else verifying a history would be slow)."""
    from manualkit.text.chapter import split_front_matter
    from manualkit.text.markup import plain_headings, scan

    for path in sorted(p for p in REAL.names if p.endswith(".md") and p in REAL.contents):
        split = split_front_matter(REAL.contents[path].decode("utf-8"))
        assert split is not None, path
        _, body, line = split
        assert plain_headings(body, line) == scan(body, path, line, REAL.names).headings, path


def _with_link_and_image(text: str) -> str:
    """Chapter 3 with a link to ``09-new.md`` and an image ``images/new.png`` in its last section."""
    return text.rstrip("\n") + "\n\n另见[新章节](09-new.md)。\n\n![流程图](images/new.png)\n"


def test_a_parse_kept_for_the_same_text_follows_the_files_its_links_name() -> None:
    """One process may parse the same text again after a linked file came or went (``manual
    serve``): the kept parse is used only when every file it asked about gives the same answer."""
    from manualkit.text.chapter import _parse_chapter, parse_chapter

    text = _with_link_and_image(REAL_CHAPTER)
    departments = load_manual(_files()).manual.metadata.departments  # type: ignore[union-attr]
    with_files = REAL.names | {"manual/09-new.md", "manual/images/new.png"}
    with_link_only = REAL.names | {"manual/09-new.md"}
    unrelated = REAL.names | {"manual/images/unrelated.png"}
    steps = [(REAL.names, {"MAN403", "MAN311"}), (with_files, set()), (with_link_only, {"MAN311"}), (REAL.names, {"MAN403", "MAN311"}),
             (with_files, set()), (unrelated, {"MAN403", "MAN311"})]  # fmt: skip
    for files, expected in steps:
        parsed = parse_chapter(CHAPTER, text, 3, departments, files)
        assert {d.code for d in parsed.diagnostics} & {"MAN403", "MAN311"} == expected, sorted(files - REAL.names)
        assert parsed == _parse_chapter(CHAPTER, text, 3, departments, files, True)  # what a first parse gives


def test_each_caller_gets_its_own_copy_of_a_kept_parse() -> None:
    from manualkit.base.diagnostics import diagnostic
    from manualkit.text.chapter import parse_chapter

    text = _with_link_and_image(REAL_CHAPTER)
    departments = load_manual(_files()).manual.metadata.departments  # type: ignore[union-attr]
    first = parse_chapter(CHAPTER, text, 3, departments, REAL.names)
    expected = (list(first.diagnostics), list(first.scan.headings), list(first.scan.links), list(first.scan.diagnostics))
    assert expected[0] and expected[1]
    first.diagnostics.append(diagnostic(CHAPTER, 1, 1, "MAN403", "added by a caller"))
    first.scan.headings.clear()
    first.scan.links.clear()
    first.scan.diagnostics.clear()
    again = parse_chapter(CHAPTER, text, 3, departments, REAL.names)
    assert (again.diagnostics, again.scan.headings, again.scan.links, again.scan.diagnostics) == expected
