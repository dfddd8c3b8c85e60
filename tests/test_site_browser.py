"""The staff website in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``) driven by
Playwright, over ``http://127.0.0.1`` from a Python ``http.server`` thread.

The site is built by the real ``manual build`` (DOCX included) from a copy of the demo history of
:class:`revision_repo.RevisionRepo`. Every test runs in a fresh browser context that aborts and
records any request to another host, and fails on any console error or uncaught page error.
Without Chromium the tests are skipped, except under ``CI=true`` where they fail.

The last test builds the site of this repository's own demo history (a clone, as ``make publish``
on a fresh clone does) and checks its banner for the approved B/1. Screenshots are written to the
tests' temporary folders; with ``MANUAL_UPDATE_SCREENSHOT=1`` that test also writes its home page
to ``docs/site-screenshot.png`` (the README shows it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
import pytest
from revision_repo import PROJECT_ROOT, RevisionRepo
from test_site import build, copy_of, site_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOT = PROJECT_ROOT / "docs" / "site-screenshot.png"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require_chromium() -> None:
    missing = None
    if not CHROMIUM.is_file():
        missing = f"{CHROMIUM} is not installed"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "Playwright for Python is not installed"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; CI must run the browser tests")
        pytest.skip(missing)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # the browser went on before the answer was sent
            return
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serving(directory: Path) -> Iterator[str]:
    """``directory`` served from a thread; yields its address, ``http://127.0.0.1:PORT/``."""
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Site:
    repo: RevisionRepo
    root: Path
    base: str  # http://127.0.0.1:PORT/

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_chromium()
    repo = copy_of(tmp_path_factory, "browser-site")
    build(repo)
    root = repo.root / "site"
    with serving(root) as base:
        yield Site(repo, root, base)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page, and everything that went wrong on it."""

    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


def _listen(w: Watched) -> None:
    """Record every console error and uncaught page error of ``w``'s page."""
    w.page.on("console", lambda m: w.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    w.page.on("pageerror", lambda e: w.errors.append(f"page error: {e}"))


@pytest.fixture
def watched(browser: Any, site: Site) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1200, "height": 760}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    w = Watched(page)
    local = urlsplit(site.base).netloc

    def route(r: Any) -> None:
        url = r.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != local:
            w.outside.append(url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)
    _listen(w)
    page.on("requestfailed", lambda r: w.errors.append(f"request failed: {r.url} {r.failure}"))
    try:
        yield w
    finally:
        context.close()
    assert not w.errors, w.errors
    assert not w.outside, f"requests to other hosts: {w.outside}"


def _open(w: Watched, site: Site, path: str) -> Any:
    response = w.page.goto(site.url(path))
    assert response is not None and response.status == 200, path
    w.page.wait_for_load_state("networkidle")
    return w.page


def _record(site: Site, version: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load((site.repo.root / "changelog" / "releases" / f"{version.replace('/', '-')}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --- tests ---------------------------------------------------------------------------------------------


def test_home_page_announces_the_approved_version(watched: Watched, site: Site, tmp_path: Path) -> None:
    from manualkit.base.clock import prose_date

    upcoming = _record(site, "B/1")
    page = _open(watched, site, "index.html")
    banner = page.locator(".mk-banner--upcoming")
    assert banner.is_visible()
    expected = f"B/1 版将于 {prose_date(dt.date.fromisoformat(str(upcoming['effective'])))} 生效"
    assert expected in banner.inner_text()
    assert "现行有效" in page.locator(".mk-meta").inner_text()
    page.screenshot(path=str(tmp_path / "home.png"))
    assert banner.locator("a", has_text="修订对照表").get_attribute("href") == "comparison/B-0_B-1.html"
    banner.locator("a", has_text="查看将要修订的内容").click()
    page.wait_for_load_state("networkidle")
    assert page.url.split("#")[0].endswith("/upcoming.html")
    assert page.locator(".mk-redline ins").first.is_visible()
    assert page.locator(".mk-training").inner_text() in ("需要培训", "无需培训")
    page.screenshot(path=str(tmp_path / "upcoming.png"), full_page=True)


def _plain(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html)


def _search(w: Watched, site: Site, term: str) -> set[str]:
    """Type ``term`` into the search box; the locations of every result shown (without ?h=)."""
    page = _open(w, site, "index.html")
    box = page.locator("input[data-md-component=search-query]")
    box.click()
    box.fill(term)
    page.keyboard.press("End")  # Material reads the query on key events
    page.wait_for_selector(".md-search-result__item")
    page.wait_for_function("document.querySelector('.md-search-result__meta').textContent.includes('个符合条件的结果')")
    links = page.eval_on_selector_all("a.md-search-result__link", "links => links.map(a => a.href)")
    return {re.sub(r"\?h=[^#]*", "", link).removeprefix(site.base) for link in links}


def _expected(site: Site, term: str) -> set[str]:
    """The sections whose text holds ``term``, and the page of each (Material groups results by page)."""
    index = json.loads((site.root / "search" / "search_index.json").read_text(encoding="utf-8"))
    found = {d["location"] for d in index["docs"] if term in _plain(d["title"]) + _plain(d["text"])}
    return found | {location.split("#")[0] for location in found}


def _mid_sentence_word(site: Site) -> str:
    """A word of B/0 that stands in the middle of sentences: Chinese before it, the sentence going on after."""
    text = site.repo.git("show", "release/B-0:manual/06-compliance.md")
    word = "款到发货"
    for m in re.finditer(word, text):
        before, after = text[m.start() - 1], text[m.end()]
        assert re.match(r"[\u4e00-\u9fff]", before) and after not in "。！？\n", (before, after)
    return word


@pytest.mark.parametrize("term", ["客户", "销售订单", "mid-sentence"])
def test_chinese_search_finds_the_sections_that_hold_the_words(watched: Watched, site: Site, term: str, tmp_path: Path) -> None:
    word = _mid_sentence_word(site) if term == "mid-sentence" else term
    expected = _expected(site, word)
    assert any("#" in e for e in expected), word
    assert _search(watched, site, word) == expected
    marks = watched.page.eval_on_selector_all(".md-search-result mark", "marks => marks.map(m => m.textContent)")
    assert marks and set(marks) == {word}
    watched.page.screenshot(path=str(tmp_path / f"search-{term}.png"))


def test_an_archived_page_is_marked_superseded(watched: Watched, site: Site, tmp_path: Path) -> None:
    page = _open(watched, site, "archive/A-0/03-execution.html")
    banner = page.locator(".mk-banner--superseded")
    assert banner.is_visible() and "已作废" in banner.inner_text()
    assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex, nofollow"
    assert "A/0" in page.locator(".mk-meta").inner_text()
    page.screenshot(path=str(tmp_path / "archived.png"))
    banner.locator("a").click()
    page.wait_for_load_state("networkidle")
    assert page.url == site.url("03-execution.html")  # the same chapter in the version in force


def test_the_download_link_returns_a_docx_that_manual_verify_accepts(watched: Watched, site: Site, tmp_path: Path) -> None:
    page = _open(watched, site, "downloads.html")
    link = page.locator('article a[href$=".docx"]')
    assert link.count() == 1
    with page.expect_download() as info:
        link.click(modifiers=["Alt"])  # Alt+click: save the target instead of opening it
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    data = saved.read_bytes()
    sums = page.request.get(urljoin(page.url, page.locator('article a[href$="SHA256SUMS"]').get_attribute("href")))
    assert sums.ok and f"{hashlib.sha256(data).hexdigest()}  {saved.name}\n" in sums.text()  # with the PDF/A's line
    verified = site.repo.manual("verify", str(saved), env=site_env(site.repo))
    assert verified.code == 0, verified.output


def test_every_internal_link_answers(watched: Watched, site: Site) -> None:
    """Every page reachable from the home page, and every link and resource on it, answer 200;
    a link to ``#anchor`` finds the anchor."""
    request = watched.page.request
    seen: dict[str, lxml.html.HtmlElement | None] = {}
    queue = [site.url("index.html")]
    anchors: list[tuple[str, str, str]] = []

    def fetch(url: str) -> lxml.html.HtmlElement | None:
        if url not in seen:
            response = request.get(url)
            assert response.status == 200, url
            is_html = url.endswith(".html") and "text/html" in response.headers.get("content-type", "")
            seen[url] = lxml.html.fromstring(response.body()) if is_html else None
            if is_html:
                queue.append(url)
        return seen[url]

    fetch(queue.pop())
    queue.append(site.url("index.html"))
    while queue:
        url = queue.pop()
        tree = seen[url]
        assert tree is not None
        for element in tree.xpath("//a[@href] | //link[@href] | //script[@src] | //img[@src]"):
            target = urljoin(url, element.get("href") or element.get("src"))
            address, fragment = urldefrag(target)
            if not address.startswith(site.base):
                continue
            fetch(address)
            if fragment and element.tag == "a":
                anchors.append((url, address, fragment))
    for source, address, fragment in anchors:
        tree = seen[address]
        assert tree is not None and tree.xpath(f'//*[@id="{fragment}"]'), f"{source} → {address}#{fragment}"
    pages = [u for u, t in seen.items() if t is not None]
    assert any("/archive/A-0/" in u for u in pages) and any("/requests/" in u for u in pages) and any("/diff/" in u for u in pages)


def test_no_console_errors_on_any_kind_of_page(watched: Watched, site: Site) -> None:
    for path in ("index.html", "03-execution.html", "upcoming.html", "revisions.html", "archive.html", "diff/A-1_B-0.html",
                 "requests/CR-2026-003.html", "downloads.html", "archive/A-1/index.html", "archive/A-1/05-assessment.html"):  # fmt: skip
        page = _open(watched, site, path)
        assert page.locator(".mk-meta").count() == 1, path


def test_a_printed_page_says_uncontrolled_copy_version_and_print_date(watched: Watched, site: Site, tmp_path: Path) -> None:
    page = _open(watched, site, "03-execution.html")
    page.emulate_media(media="print")
    mark = page.locator(".mk-print-mark")
    assert mark.is_visible()
    printed_on = page.evaluate("(() => { const d = new Date(); return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日` })()")
    text = mark.inner_text()
    assert "非受控（打印件）" in text and "版本 B/0" in text and printed_on in text
    assert not page.locator(".md-sidebar--primary").is_visible()
    pdf = tmp_path / "printed.pdf"
    page.pdf(path=str(pdf), format="A4")
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is missing")
        return
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    sheets = [s for s in text.split("\f") if s.strip()]
    assert len(sheets) >= 2
    for sheet in sheets:  # the top margin of every printed page (CSS @page margin boxes)
        assert "非受控（打印件）" in sheet and "B/0" in sheet and printed_on in sheet


def test_the_site_of_this_repositorys_own_demo_history(browser: Any, tmp_path: Path) -> None:
    """A clone of this repository (A/0 … B/0 in force on 2026-11-27, B/1 approved for 2027-01-15),
    built as ``make publish`` builds it: the version in force, and the banner for B/1."""
    from manualkit.base.clock import prose_date

    shallow = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True, check=False)
    if shallow.stdout.strip() == "true":
        pytest.skip("the project checkout is a shallow clone; its release history is not available")
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
    (tmp_path / "home").mkdir()
    repo = RevisionRepo.open(tmp_path)  # for its isolated environment and its CLI runner
    repo.today = "2026-11-27"  # the day the demo history was made: B/0 in force, B/1 approved
    build(repo, "--site-only")
    import yaml

    upcoming = yaml.safe_load((clone / "changelog" / "releases" / "B-1.yml").read_text(encoding="utf-8"))
    expected = f"{upcoming['version']} 版将于 {prose_date(upcoming['effective'])} 生效"
    with serving(clone / "site") as base:
        context = browser.new_context(viewport={"width": 1280, "height": 760}, locale="zh-CN")
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "index.html")
            page.wait_for_load_state("networkidle")
            assert expected in page.locator(".mk-banner--upcoming").inner_text()
            assert "B/0" in page.locator(".mk-meta").inner_text() and "现行有效" in page.locator(".mk-meta").inner_text()
            assert not errors, errors
            page.screenshot(path=str(tmp_path / "home.png"))
            if os.environ.get("MANUAL_UPDATE_SCREENSHOT") == "1":
                shutil.copyfile(tmp_path / "home.png", SCREENSHOT)
        finally:
            context.close()


# --- every screen and paper, point in time, search over records (issue 13) ------------------------------

VIEWPORTS = {"wide": (1366, 900), "narrow": (390, 844)}
SCREENSHOTS = {"home": "index.html", "chapter": "03-execution.html", "revisions": "revisions.html", "archived": "archive/A-0/03-execution.html"}
AXE = PROJECT_ROOT / "tests" / "support" / "node_modules" / "axe-core" / "axe.min.js"


def _at(browser: Any, site: Site, size: str, *, script: bool = True) -> Iterator[Watched]:
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", java_script_enabled=script)
    w = Watched(context.new_page())
    _listen(w)
    try:
        yield w
    finally:
        context.close()
    assert not w.errors, w.errors


@pytest.fixture(params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest, browser: Any, site: Site) -> Iterator[Watched]:
    yield from _at(browser, site, request.param)


@pytest.fixture
def wide(browser: Any, site: Site) -> Iterator[Watched]:
    yield from _at(browser, site, "wide")


@pytest.fixture
def no_script(browser: Any, site: Site) -> Iterator[Watched]:
    yield from _at(browser, site, "wide", script=False)


def _load(w: Watched, site: Site, path: str) -> Any:
    """Open ``path`` and wait for its load event (not for the network to be idle: quicker)."""
    response = w.page.goto(site.url(path), wait_until="load")
    assert response is not None and response.status == 200, path
    return w.page


def _pdf_sheets(page: Any, tmp_path: Path, name: str) -> list[str]:
    pdf = tmp_path / f"{name}.pdf"
    page.pdf(path=str(pdf), format="A4")
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.fail("pdftotext (poppler-utils) is missing") if os.environ.get("CI") == "true" else pytest.skip("no pdftotext")
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [s for s in text.split("\f") if s.strip()]


def test_revisions_show_every_column_inside_the_screen(screen: Watched, site: Site, tmp_path: Path) -> None:
    page = _load(screen, site, "revisions.html")
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing behind a sideways scroll
    cells = page.locator(".mk-revisions td")
    assert cells.count() == 11 * len(list((site.repo.root / "changelog" / "releases").glob("*.yml")))
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (i, box)
    if width > 1000:  # wide: a table row per version, its header row on screen
        headers = page.locator(".mk-revisions th")
        assert headers.count() == 11
        for i in range(11):
            box = headers.nth(i).bounding_box()
            assert box is not None and box["x"] + box["width"] <= width, (headers.nth(i).inner_text(), box)
    else:  # narrow: each value says which column it is
        labels = page.eval_on_selector_all(".mk-revisions td", "tds => tds.map(td => getComputedStyle(td, '::before').content)")
        assert '"批准"' in labels and '"状态"' in labels and '"实施日期"' in labels
        # the label stands left of the value, not over it
        room = page.eval_on_selector_all(
            ".mk-revisions td",
            "tds => tds.map(td => parseFloat(getComputedStyle(td).paddingLeft) - parseFloat(getComputedStyle(td, '::before').width))",
        )
        assert min(room) > 0, room


def test_the_comparison_table_fits_every_screen(screen: Watched, site: Site) -> None:
    page = _load(screen, site, "comparison/A-1_B-0.html")
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing behind a sideways scroll
    boxes = page.eval_on_selector_all(".mk-comparison td", "tds => tds.map(td => { const b = td.getBoundingClientRect(); return [b.left, b.right]; })")
    assert boxes and all(left >= 0 and right <= width + 0.5 for left, right in boxes), boxes
    if width < 1000:  # narrow: a card per row, each value under its column's name
        labels = page.eval_on_selector_all(".mk-comparison td", "tds => tds.map(td => getComputedStyle(td, '::before').content)")
        assert '"修订前"' in labels and '"修订后"' in labels and '"修订说明"' in labels


def test_identifiers_are_never_broken_and_the_identity_table_is_two_columns_wide(screen: Watched, site: Site) -> None:
    for path in ("index.html", "03-execution.html", "revisions.html", "downloads.html", "requests/CR-2026-004.html", "archive/A-0/03-execution.html"):
        page = _load(screen, site, path)
        broken = page.eval_on_selector_all(
            ".mk-id, .mk-date", "els => els.filter(e => e.getClientRects().length > 1).map(e => e.textContent)"
        )
        assert not broken, (path, broken)
        found = page.eval_on_selector_all(".mk-id", "els => els.map(e => e.textContent)")
        assert any(re.fullmatch(r"CR-\d{4}-\d{3}", t) for t in found), path
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], path
    page = _load(screen, site, "index.html")
    columns = page.eval_on_selector_all(
        ".mk-cover th, .mk-cover td:not(:empty)", "cells => [...new Set(cells.map(c => Math.round(c.getBoundingClientRect().left)))].length"
    )
    assert columns == (4 if page.viewport_size["width"] > 1000 else 2)


def test_every_printed_sheet_is_marked_without_script(no_script: Watched, site: Site, tmp_path: Path) -> None:
    """With script off and without @page margin boxes (the site has none), each sheet still says
    非受控（打印件）, the version and the date the site was generated, labelled as such."""
    from manualkit.base.clock import prose_date

    css = (site.root / "assets" / "manualkit" / "site.css").read_text(encoding="utf-8")
    assert not re.search(r"@(top|bottom)-", css)
    generated = f"网页生成日期 {prose_date(dt.date.fromisoformat(site.repo.today))}"
    page = _load(no_script, site, "03-execution.html")
    sheets = _pdf_sheets(page, tmp_path, "chapter")
    assert len(sheets) >= 3
    for sheet in sheets:
        assert "非受控（打印件）" in sheet and "版本 B/0（现行有效）" in sheet and generated in sheet, sheet[:300]
    assert "查看将要修订的内容" in sheets[0]  # a printed banner keeps its link text
    page = _load(no_script, site, "revisions.html")
    sheets = _pdf_sheets(page, tmp_path, "revisions")
    text = "".join(sheets)
    for header in ("序号", "修订内容摘要", "修订申请单号", "编制", "审核", "批准", "发布日期", "实施日期", "状态"):
        assert header in text, header
    assert "已批准待实施" in text and "CR-2026-004" in text
    for sheet in sheets:
        assert "非受控（打印件）" in sheet and generated in sheet


def _versions(site: Site) -> list[tuple[str, dt.date]]:
    records = [_record(site, p.stem.replace("-", "/")) for p in (site.repo.root / "changelog" / "releases").glob("*.yml")]
    return sorted((str(r["version"]), dt.date.fromisoformat(str(r["effective"]))) for r in records)


def _picked(page: Any, day: str) -> str:
    page.locator(".mk-pit > summary").click()
    page.fill("#mk-pit-date", day)
    with page.expect_navigation(wait_until="load"):
        page.locator(".mk-pit__form button").click()
    return str(page.url)


def test_the_date_picker_goes_to_the_version_in_force_that_day(wide: Watched, site: Site) -> None:
    versions = _versions(site)
    assert [v for v, _ in versions] == ["A/0", "A/1", "B/0", "B/1"]
    where = {"A/0": "archive/A-0/", "A/1": "archive/A-1/", "B/0": "", "B/1": "upcoming/B-1/"}
    cases: list[tuple[dt.date, str | None]] = [(versions[0][1] - dt.timedelta(days=1), None)]
    for i, (name, effective) in enumerate(versions):
        cases += [(effective, name), (effective + dt.timedelta(days=1), name)]
        if i + 1 < len(versions):  # the last day before the switch-over
            cases.append((versions[i + 1][1] - dt.timedelta(days=1), name))
    cases.append((versions[-1][1] + dt.timedelta(days=3650), versions[-1][0]))
    switch_overs = [c for c in cases if c[1] is None or c[0] in (effective for _, effective in versions)]
    for start, days in (("03-execution.html", cases), ("archive/A-1/03-execution.html", switch_overs), ("revisions.html", switch_overs)):
        for day, expected in days:
            page = _load(wide, site, start)
            if expected is None:
                page.locator(".mk-pit > summary").click()
                page.fill("#mk-pit-date", day.isoformat())
                page.locator(".mk-pit__form button").click()
                assert "尚未生效" in page.locator(".mk-pit__result").inner_text()
                assert page.url == site.url(start)
                continue
            target = "03-execution.html" if "03-" in start else "index.html"
            assert _picked(page, day.isoformat()) == site.url(where[expected] + target), (start, day, expected)


def test_chapters_link_their_other_versions_and_titles_say_version_and_status(wide: Watched, site: Site) -> None:
    page = _open(wide, site, "03-execution.html")
    assert "B/0 版（现行有效）" in page.title()
    others = page.locator(".mk-versions")
    assert "本章的其他版本" in others.inner_text()
    hrefs = others.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert set(hrefs) == {site.url(p) for p in ("archive/A-0/03-execution.html", "archive/A-1/03-execution.html", "upcoming/B-1/03-execution.html")}
    assert "2026年1月1日 至 2026年3月15日" in others.inner_text()
    page = _open(wide, site, "archive/A-0/03-execution.html")
    assert "A/0 版（已作废）" in page.title()
    page.locator(".mk-banner--superseded a").click()
    page.wait_for_load_state("load")
    assert page.url == site.url("03-execution.html")
    page = _open(wide, site, "upcoming/B-1/03-execution.html")
    assert "B/1 版（已批准待实施）" in page.title()
    assert "已批准待实施" in page.locator(".mk-banner--upcoming").inner_text()
    assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex, nofollow"
    assert "电子合同" in _open(wide, site, "upcoming/B-1/02-preparation.html").locator("article").inner_text()


@pytest.mark.parametrize("term, expected", [("CR-2026-004", "requests/CR-2026-004.html"), ("ERP", "02-preparation.html"), ("首次发布", "revisions.html")])
def test_search_finds_change_requests_revisions_and_words_in_fullwidth_brackets(wide: Watched, site: Site, term: str, expected: str) -> None:
    found = _search(wide, site, term)
    assert expected in {f.split("#")[0] for f in found}, found
    if term.startswith("CR-"):
        first = wide.page.locator("a.md-search-result__link").first
        assert re.sub(r"\?h=[^#]*", "", first.get_attribute("href") or "").split("#")[0].endswith(expected)
        first.click()
        wide.page.wait_for_load_state("load")
        assert urlsplit(wide.page.url).path.endswith("/" + expected)


def test_the_404_page_works_from_a_subfolder(browser: Any, site: Site) -> None:
    with serving(site.root.parent) as base:
        context = browser.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            failed: list[str] = []
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            page.goto(f"{base}{site.root.name}/404.html")
            page.wait_for_load_state("networkidle")
            assert not failed, failed
            assert "PingFang SC" in page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "页面不存在" in page.locator("article").inner_text()
        finally:
            context.close()


def _axe() -> str:
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing (axe-core)") if os.environ.get("CI") == "true" else pytest.skip("npm is missing")
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=AXE.parents[2], check=True, capture_output=True)
    return AXE.read_text(encoding="utf-8")


def test_axe_finds_no_serious_violation_in_the_sites_own_markup(screen: Watched, site: Site) -> None:
    """axe-core on every kind of page; Material's own markup (header, navigation, search) is not ours."""
    script = _axe()
    for path in ("index.html", "03-execution.html", "revisions.html", "archive.html", "requests/CR-2026-004.html",
                 "downloads.html", "diff/A-1_B-0.html", "archive/A-0/03-execution.html"):  # fmt: skip
        page = _load(screen, site, path)
        page.locator(".mk-pit > summary").click()
        page.add_script_tag(content=script)
        result = page.evaluate(
            "async () => (await axe.run({include: [['.md-content']]}, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert not result, (path, result)


def test_screenshots_at_both_widths(browser: Any, site: Site, tmp_path: Path) -> None:
    """The home page, a chapter, 修订记录 and an archived chapter at 1366 and 390 pixels; with
    ``MANUAL_UPDATE_SCREENSHOT=1`` written (reduced to 64 colours) to docs/screens/."""
    out = PROJECT_ROOT / "docs" / "screens" if os.environ.get("MANUAL_UPDATE_SCREENSHOT") == "1" else tmp_path
    out.mkdir(exist_ok=True)
    for size in VIEWPORTS:
        for w in _at(browser, site, size):
            for name, path in SCREENSHOTS.items():
                page = _open(w, site, path)
                target = out / f"{name}-{page.viewport_size['width']}.png"
                page.screenshot(path=str(target))
                convert = shutil.which("convert")
                if convert and out != tmp_path:
                    subprocess.run([convert, str(target), "-dither", "None", "-colors", "64", "-strip", f"PNG8:{target}"], check=True)
                assert target.stat().st_size > 5000


FIREFOX = Path("/usr/bin/firefox-esr")


def _firefox_pdf(url: str, out: Path, profile: Path) -> None:
    """Print ``url`` to ``out`` in headless Firefox with script off, over WebDriver BiDi (Playwright
    drives only its own patched Firefox, not Debian's firefox-esr)."""
    import base64
    import select

    from websockets.sync.client import connect

    profile.mkdir()
    (profile / "user.js").write_text('user_pref("javascript.enabled", false);\nuser_pref("remote.active-protocols", 1);\n')
    args = [str(FIREFOX), "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        port = None
        while port is None:
            ready, _, _ = select.select([proc.stderr], [], [], 90)
            line = proc.stderr.readline() if ready else ""
            assert line, "Firefox did not start its WebDriver BiDi server"
            found = re.search(r"WebDriver BiDi listening on ws://127\.0\.0\.1:(\d+)", line)
            port = found.group(1) if found else None
        with connect(f"ws://127.0.0.1:{port}/session", max_size=None, open_timeout=60) as ws:
            counter = iter(range(1, 1000))

            def send(method: str, params: dict[str, Any]) -> dict[str, Any]:
                number = next(counter)
                ws.send(json.dumps({"id": number, "method": method, "params": params}))
                while True:
                    message = json.loads(ws.recv(timeout=120))
                    if message.get("id") == number:
                        assert message.get("type") == "success", message
                        return dict(message["result"])

            send("session.new", {"capabilities": {}})
            context = send("browsingContext.getTree", {})["contexts"][0]["context"]
            send("browsingContext.navigate", {"context": context, "url": url, "wait": "complete"})
            margin = {"top": 0, "bottom": 0, "left": 0, "right": 0}
            pdf = send("browsingContext.print", {"context": context, "background": True, "page": {"width": 21.0, "height": 29.7}, "margin": margin})
            out.write_bytes(base64.b64decode(pdf["data"]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_every_sheet_printed_by_firefox_without_script_is_marked(site: Site, tmp_path: Path) -> None:
    """Firefox (Debian's firefox-esr), script off: the mark repeats on every sheet there too.
    (Firefox's PDF maps some Chinese glyphs to other code points, so the check reads its Latin part
    and the date.)"""
    if not FIREFOX.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{FIREFOX} is not installed; CI must print with Firefox too")
        pytest.skip(f"{FIREFOX} is not installed")
    pdf = tmp_path / "firefox.pdf"
    _firefox_pdf(site.url("03-execution.html"), pdf, tmp_path / "profile")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    sheets = [s for s in text.split("\f") if s.strip()]
    day = dt.date.fromisoformat(site.repo.today)
    assert len(sheets) >= 3
    for sheet in sheets:
        top = sheet.strip().splitlines()[0]
        assert "XS-QM-01" in top and "B/0" in top and f"{day.year}年{day.month}" in top, top
