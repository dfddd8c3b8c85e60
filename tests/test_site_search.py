"""Search on the staff site, in headless Chromium on the real site of the demo history: the rule
ranks above the records that talk about it, and every snippet is a readable sentence (a table row
as 列名：值；…), never table cells run together.

Same browser, site and rules as ``test_site_browser`` (the ``site`` and ``browser`` fixtures of
tests/conftest.py). With ``MANUAL_UPDATE_SCREENSHOT=1`` the results for 报价 at 390 px are
written to docs/screens/site-search-390.png.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from revision_repo import PROJECT_ROOT
from test_site import html_of, site_pages
from test_site_browser import Site, Watched, typed_query, watched_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTER = re.compile(r"^\d{2}-[a-z-]+\.html$")
RECORD_PAGES = ("requests/", "revisions.html")


@dataclass(frozen=True)
class Result:
    page: str  # site path, without ?h= and #fragment
    title: str
    snippet: str  # the text shown under the title ("" for the page's further results)


@pytest.fixture
def narrow(browser: Any, site: Site) -> Iterator[Watched]:
    yield from watched_context(browser, 390, 844)


@pytest.fixture
def wide(browser: Any, site: Site) -> Iterator[Watched]:
    yield from watched_context(browser, 1366, 900)


def search(w: Watched, site: Site, term: str) -> list[Result]:
    """Type ``term`` into the search box; every result shown, in the order shown."""
    # the search box sits behind the header's button on a narrow screen
    page = typed_query(w, site, term, open_box=w.page.viewport_size["width"] < 700)
    results = []
    for link in page.locator("a.md-search-result__link").all():
        href = link.get_attribute("href") or ""
        path = re.sub(r"\?h=[^#]*", "", href).split("#")[0].removeprefix(site.base)
        article = link.locator("article")
        heading = article.locator("h1, h2").first.inner_text()
        paragraphs = article.locator(":scope > p:not(.md-search-result__terms)").all_inner_texts()
        results.append(Result(path, heading, "\n".join(paragraphs)))
    return results


def test_searching_quote_shows_the_quote_rule_of_chapter_3_first(wide: Watched, site: Site) -> None:
    results = search(wide, site, "报价")
    pages = list(dict.fromkeys(r.page for r in results))
    assert pages[0] == "03-execution.html", pages
    assert results[0].title.startswith("第三章")
    assert any("询价与报价" in r.title for r in results if r.page == "03-execution.html"), results
    # every chapter that holds the word comes before every change request and the 修订记录
    kinds = ["chapter" if CHAPTER.match(p) else "record" if p.startswith(RECORD_PAGES) else "other" for p in pages]
    assert "record" in kinds, pages  # CR-2026-001 (缩短报价有效期…) is found too
    assert kinds.index("record") > max(i for i, k in enumerate(kinds) if k == "chapter"), pages


def _cells(site: Site, page: str) -> list[str]:
    """The text of every table cell of a built page."""
    tree = html_of(site.root / page)
    return [re.sub(r"\s+", " ", c.text_content()).strip() for c in tree.xpath("//article//table//*[self::td or self::th]")]


def test_a_change_request_snippet_reads_as_label_and_value_not_cells_run_together(wide: Watched, site: Site) -> None:
    results = search(wide, site, "报价")
    shown = [r for r in results if r.page == "requests/CR-2026-001.html" and r.snippet]
    assert shown, results
    snippet = shown[0].snippet
    import yaml

    title = yaml.safe_load((site.repo.root / "changelog" / "requests" / "CR-2026-001.yml").read_text(encoding="utf-8"))["title"]
    assert f"修订标题：{title}。" in snippet.split("\n"), snippet
    cells = [c for c in _cells(site, "requests/CR-2026-001.html") if c]
    for before, after in itertools.pairwise(cells):  # no two neighbouring cells run together
        assert before + after not in snippet, (before, after, snippet)
    assert "项目内容" not in snippet and "申请单号CR" not in snippet, snippet


def test_the_revisions_snippet_names_each_column(wide: Watched, site: Site) -> None:
    results = search(wide, site, "首次发布")
    shown = [r for r in results if r.page == "revisions.html" and r.snippet]
    assert shown, results
    assert "版本：A/0；修订章节：全文；修订内容摘要：首次发布；" in shown[0].snippet, shown[0].snippet


def test_a_snippet_is_the_sentence_that_holds_the_words(wide: Watched, site: Site) -> None:
    results = search(wide, site, "报价有效期")
    rule = next(r for r in results if r.page == "03-execution.html" and r.snippet)
    # the item of 3.2 一、 that sets the validity, whole, and not the items around it
    assert rule.snippet == "报价单经审批后发送客户，报价有效期一般为 15 日；原材料价格波动较大的产品，报价有效期不超过 7 日。", rule
    for r in results:
        for line in filter(None, r.snippet.split("\n")):
            assert line.endswith(("。", "！", "？", "…", "：", "；")) or len(line) < 90, (r, line)


def test_the_pages_carry_nothing_of_what_only_search_reads(site: Site) -> None:
    for path in site_pages(site.root):
        text = path.read_text(encoding="utf-8")
        assert "mk-search-only" not in text and "data-search-exclude" not in text, path


def test_search_results_at_390_pixels(narrow: Watched, site: Site, tmp_path: Any) -> None:
    results = search(narrow, site, "报价")
    assert results[0].page == "03-execution.html"
    page = narrow.page
    width = page.locator("html").evaluate("e => e.scrollWidth")
    assert width <= 390, width
    out = PROJECT_ROOT / "docs" / "screens" if os.environ.get("MANUAL_UPDATE_SCREENSHOT") == "1" else tmp_path
    target = out / "site-search-390.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 5000
