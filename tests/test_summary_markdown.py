"""The merge-request summary's Markdown and the GitLab Code Quality report, on plain data.

Hostile text (a title with Markdown, @mentions, HTML, references, control and bidi characters,
very long) is rendered by two real GFM renderers, markdown-it-py (CommonMark + GFM tables, as
GitLab's and GitHub's comment renderers) and pandoc's ``gfm`` reader, and the HTML they make is
read back: the table keeps its cells, nothing mentions anyone, no element or link is injected.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import json
import shutil
import subprocess

import pytest
from markdown_it import MarkdownIt

from manualkit.base.diagnostics import Diagnostic, Severity
from manualkit.base.markdown_text import COMMENT_LIMIT, MARKER, cell, inline
from manualkit.base.report import render
from manualkit.commands.summary import RequestSummary, SectionLine, SignatureLine, Summary, WaitingRole, render_markdown
from manualkit.documents.comparison_table import ComparisonRow

HOSTILE = (
    "标题 | 第二格 | **粗体** _斜_ `代码` <script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[点我](javascript:alert(3)) ![图](http://evil.example/x.png) @everyone @zhang.wei #12 !34 ~urgent %5 $7 &8 "
    "&#64;entity &lt;b&gt; <!-- manualkit:summary --> \\| \u202eevil\u202c zero\u200bwidth \x1b[31mred\n# 标题行\n| a | b |"
)


class _Reader(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.rows: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append(0)
        if tag in ("td", "th") and self.rows:
            self.rows[-1] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _renderings(markdown: str) -> list[str]:
    import markdown as python_markdown

    out = [MarkdownIt("commonmark").enable("table").render(markdown), python_markdown.markdown(markdown, extensions=["tables"])]
    pandoc = shutil.which("pandoc")
    if pandoc is not None:
        out.append(subprocess.run([pandoc, "-f", "gfm", "-t", "html"], input=markdown, capture_output=True, text=True, check=True).stdout)
    return out


def _summary(title: str = HOSTILE, rows: int = 1, text: str = HOSTILE) -> Summary:
    request = RequestSummary(
        "CR-2026-009", title, "一般修订", text, ("3.2",), "waiting",
        (SignatureLine("编制", "zhang.wei", "张伟", "2026-09-29T10:00:00+08:00", "SSH", True, ""),),
        (WaitingRole("审核", dt.date(2026, 9, 29), dt.date(2026, 10, 12), False), WaitingRole("批准", dt.date(2026, 10, 12), dt.date(2026, 10, 19), False)),
        dt.date(2026, 10, 19), dt.date(2026, 10, 26),
    )  # fmt: skip
    table = tuple(ComparisonRow(n, f"3.2 {text}", "新增", text, text, "CR-2026-009") for n in range(1, rows + 1))
    findings = (Diagnostic("manual/03-execution.md", 12, 1, "MAN670", f"修改了第 3.1 节：{text}", Severity.ERROR),)
    return Summary("main", "0123456789abcdef", dt.date(2026, 10, 9), (request,), (SectionLine("3.2", "modified", text, ("CR-2026-009",)),), table, findings)


def test_hostile_text_stays_text_in_both_renderers() -> None:
    markdown = render_markdown(_summary())
    assert markdown.startswith(MARKER + "\n")
    assert markdown.count(MARKER) == 1  # the request's own copy of the marker is escaped
    for rendered in _renderings(markdown):
        reader = _Reader()
        reader.feed(rendered)
        tags = {t for t, _ in reader.tags}
        assert not tags & {"script", "img", "strong", "em", "code", "iframe", "h1"}, tags
        links = [a.get("href") for t, a in reader.tags if t == "a"]
        assert links == [], links
        text = "".join(reader.text)
        assert "@" not in text  # no mention: every @ is the full-width ＠
        assert "＠everyone" in text and "＃12" in text and "！34" in text and "～urgent" in text and "\\" not in text.replace("\\|", "")
        assert "<script>alert(1)</script>" in text  # shown as written, as text
        assert "\u202e" not in text and "\u200b" not in text and "\x1b" not in text
        assert "U+202E" in text and "U+200B" in text and "U+001B" in text
        # Every row of every table keeps its number of cells: nothing broke out of a cell.
        assert set(reader.rows) <= {4, 5, 6, 7}, reader.rows
        assert reader.rows.count(6) == 2  # the 对照表's header and its one row


def test_inline_escapes_every_markdown_meaning() -> None:
    assert inline("a|b") == "a\\|b"
    assert inline("<b>&amp;</b>") == "&lt;b&gt;＆amp;&lt;/b&gt;"  # &amp is GitLab's epic reference syntax too
    assert inline("a & b") == "a &amp; b"
    assert inline("{+ 插入 +} ~~删~~") == "\\{\\+ 插入 \\+\\} ～～删～～"
    assert inline("@li.na") == "＠li\\.na"
    assert inline("30% 与 !") == "30% 与 \\!"
    assert inline("第一行\n第二行") == "第一行 ¶ 第二行"
    assert cell("") == "—"
    long = inline("长" * 1000, 200)
    assert long.startswith("长" * 200) and long.endswith("……（已截断）") and len(long) < 220


def test_a_long_comparison_is_cut_under_the_limit_with_a_link() -> None:
    s = _summary(title="短标题", rows=400, text="条款内容" * 100)
    markdown = render_markdown(s, link="https://gitlab.example.com/g/p/-/jobs/1/artifacts/file/summary-full.md")
    assert len(markdown) <= COMMENT_LIMIT
    assert "对照表共 400 行" in markdown
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert 'href="https://gitlab.example.com/g/p/-/jobs/1/artifacts/file/summary-full.md"' in html
    whole = render_markdown(s, limit=0)
    assert len(whole) > COMMENT_LIMIT and "对照表共" not in whole
    assert whole.count("\n| ") > markdown.count("\n| ")


def test_a_hostile_link_is_not_made_a_link() -> None:
    markdown = render_markdown(_summary(title="t", rows=400, text="x" * 400), link="javascript:alert(1)")
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<a " not in html and "javascript:alert\\(1\\)" in markdown


def _diagnostics() -> list[Diagnostic]:
    return [
        Diagnostic("manual/03-execution.md", 12, 1, "MAN670", "修改了第 3.1 节", Severity.ERROR),
        Diagnostic("manual/03-execution.md", 40, 1, "MAN670", "修改了第 3.1 节", Severity.ERROR),
        Diagnostic("changelog/requests/CR-2026-001.yml", 0, 0, "MAN112", "定期评审已逾期", Severity.WARNING),
    ]


def test_code_quality_report_has_gitlabs_fields_and_stable_fingerprints() -> None:
    issues = json.loads(render(_diagnostics(), "gitlab"))
    assert [i["check_name"] for i in issues] == ["MAN670", "MAN670", "MAN112"]
    assert [i["severity"] for i in issues] == ["major", "major", "minor"]
    assert issues[0]["location"] == {"path": "manual/03-execution.md", "lines": {"begin": 12}}
    assert issues[2]["location"]["lines"]["begin"] == 1  # GitLab needs a line: the file's first
    assert issues[0]["description"] == "MAN670 修改了第 3.1 节"
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == 3  # two identical findings are still two issues
    assert fingerprints == [i["fingerprint"] for i in json.loads(render(_diagnostics(), "gitlab"))]
    moved = [d._replace(line=d.line + 5) for d in _diagnostics()]
    assert fingerprints == [i["fingerprint"] for i in json.loads(render(moved, "gitlab"))]  # a line moved is not a new finding
    assert render([], "gitlab").strip() == "[]"


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200d", "\ufeff", "\x00", "\x85"])
def test_invisible_and_control_characters_are_shown(char: str) -> None:
    shown = inline(f"a{char}b")
    assert char not in shown and f"U\\+{ord(char):04X}" in shown
