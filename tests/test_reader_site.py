"""What staff read on the site (issue 24, points 1, 2 and 6), in headless Chromium: the 修订对照表
with the change marked (<del>/<ins> on exactly the changed characters) inside a 390-pixel screen,
tables captioned 表 X-X as the documents caption them, in-text references (见 8.3) as links to
their section, and the 修订记录 with a 会签 column.

The site of this repository's own history (A/0 … B/1, in force on 2026-12-07: B/0), built by the
real ``manual build --site-only`` in a clone and served on 127.0.0.1. With
``MANUAL_UPDATE_SCREENSHOT=1`` the screenshots are written to docs/screens/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import base_env, run_manual
from revision_repo import PROJECT_ROOT
from test_site_browser import Watched, _require_chromium, launched_chromium, serving, watched_context

from manualkit.documents.docx.model import Paragraph, plain, units
from manualkit.records.history import ReleaseReader, release_history
from manualkit.text.markup import parse

pytestmark = [pytest.mark.browser, pytest.mark.slow]


TODAY = "2026-12-07"
VIEWPORTS = {"wide": (1366, 900), "narrow": (390, 844)}


@dataclass
class Site:
    root: Path  # the clone
    base: str

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def site(project_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    home = tmp_path_factory.mktemp("home")
    code, out, err = run_manual(["build", "--site-only"], project_clone, base_env(home, MANUAL_TODAY=TODAY, MANUAL_HOME=str(home / "manual")))
    assert code == 0, out + err
    with serving(project_clone / "site") as base:
        yield Site(project_clone, base)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    yield from launched_chromium()


def _at(browser: Any, size: str) -> Iterator[Watched]:
    width, height = VIEWPORTS[size]
    yield from watched_context(browser, width, height)


def _shots(tmp_path: Path) -> Path:
    return PROJECT_ROOT / "docs" / "screens" if os.environ.get("MANUAL_UPDATE_SCREENSHOT") == "1" else tmp_path


def _in_force_captions(site: Site, chapter_number: int) -> tuple[str, list[str]]:
    """The chapter page of the version in force and the 表 captions its DOCX prints."""
    entries = release_history(site.root)
    entry = [e for e in entries if e.record.effective.isoformat() <= TODAY][-1]
    assert entry.commit is not None
    manual = ReleaseReader(site.root).manual(entry.commit)
    assert manual is not None
    chapter = next(c for c in manual.chapters if c.number == chapter_number)
    captions = [plain(u.segments) for u in units(parse(chapter.body), [], chapter.number, [0]) if isinstance(u, Paragraph) and u.style == "TableCaption"]
    return Path(chapter.path).with_suffix(".html").name, captions


@pytest.mark.parametrize("size", ["narrow", "wide"])
def test_the_comparison_table_marks_the_changed_characters(browser: Any, site: Site, size: str, tmp_path: Path) -> None:
    for w in _at(browser, size):
        page = w.page
        page.goto(site.url("comparison/A-1_B-0.html"), wait_until="load")
        row = page.locator(".mk-comparison tr", has=page.locator("td", has_text="表 5-1 第 2 行")).first
        before, after = row.locator("td").nth(2), row.locator("td").nth(3)
        assert before.inner_text() == "权重：30%" and after.inner_text() == "权重：25%"
        assert before.locator("del").all_inner_texts() == ["30%"] and after.locator("ins").all_inner_texts() == ["25%"]
        assert before.locator("ins").count() == 0 and after.locator("del").count() == 0
        style = before.locator("del").evaluate("e => getComputedStyle(e).textDecorationLine")
        assert "line-through" in style
        assert "underline" in after.locator("ins").evaluate("e => getComputedStyle(e).textDecorationLine")
        width = page.viewport_size["width"]
        box = after.locator("ins").bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width  # inside the screen
        page.screenshot(path=str(_shots(tmp_path) / f"comparison-{width}.png"), full_page=True)


def test_tables_carry_the_captions_of_the_documents(browser: Any, site: Site) -> None:
    page_name, captions = _in_force_captions(site, 5)
    assert captions
    for w in _at(browser, "wide"):
        w.page.goto(site.url(page_name), wait_until="load")
        shown = w.page.locator(".mk-table-caption").all_inner_texts()
        assert shown == captions
        # each caption stands right before its table (Material wraps a table in a scrolling div)
        following = w.page.locator(".mk-table-caption").evaluate_all("ps => ps.map(p => p.nextElementSibling && p.nextElementSibling.querySelector('table, tbody') !== null || (p.nextElementSibling && p.nextElementSibling.tagName === 'TABLE'))")
        assert following == [True] * len(captions)


def test_references_in_the_text_link_to_their_section(browser: Any, site: Site) -> None:
    for w in _at(browser, "wide"):
        page = w.page
        page.goto(site.url("01-overview.html"), wait_until="load")
        link = page.locator("article a", has_text=re.compile(r"^见 8\.3$")).first
        href = link.get_attribute("href")
        assert href is not None and re.fullmatch(r"08-[a-z-]+\.html#sec-8-3", href), href
        link.click()
        page.wait_for_url(re.compile(r"#sec-8-3$"))
        assert page.locator("#sec-8-3").inner_text().startswith("8.3")


def test_the_revision_record_has_a_cosign_column(browser: Any, site: Site) -> None:
    entries = release_history(site.root)
    for w in _at(browser, "narrow"):
        page = w.page
        page.goto(site.url("revisions.html"), wait_until="load")
        headers = page.locator(".mk-revisions th").all_inner_texts()
        assert headers[headers.index("审核") + 1] == "会签"
        column = headers.index("会签")
        for entry in entries:
            if entry.record.published.isoformat() > TODAY:
                continue
            row = page.locator(".mk-revisions tbody tr", has=page.locator("td", has_text=str(entry.record.version))).first
            cosigners = "、".join(dict.fromkeys(a.name for a in entry.approvals if a.role == "会签")) or "—"
            assert row.locator("td").nth(column).inner_text().strip() == cosigners


def test_the_banner_names_the_departments_to_train_and_what_staff_do_meanwhile(browser: Any, site: Site) -> None:
    """B/1 (approved, training required, none recorded) changes sections whose chapters these
    departments own: the banner names them, and says to keep to the version in force."""
    entries = release_history(site.root)
    b1 = next(e for e in entries if str(e.record.version) == "B/1")
    assert b1.commit is not None
    manual = ReleaseReader(site.root).manual(b1.commit)
    assert manual is not None
    owners = list(dict.fromkeys(c.owner for c in manual.chapters if any(s.id in b1.record.sections for s in c.sections)))
    assert owners
    for w in _at(browser, "narrow"):
        w.page.goto(site.url("index.html"), wait_until="load")
        banner = w.page.locator(".mk-banner--upcoming").inner_text()
        assert f"需培训部门：{'、'.join(owners)}；培训完成前按现行版本执行" in banner, banner
        assert "尚未完成" not in banner
