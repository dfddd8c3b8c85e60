"""The staff website in a real browser: headless Chromium (Debian's ``chromium-headless-shell``, else
its ``chromium``) driven by Playwright, over ``http://127.0.0.1`` from a Python ``http.server`` thread.

The site is built by the real ``manual build`` (DOCX included) from a copy of the demo history of
:class:`revision_repo.RevisionRepo`. Every test runs in a fresh browser context that records any
request to another host (Chromium resolves no other host), and fails on any console error or
uncaught page error.
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
from revision_repo import PROJECT_ROOT, RevisionRepo, built_once
from test_site import build, demo_repository, site_env

# Debian's headless-only build of Chromium first (the build Playwright itself runs headless tests
# in): the full browser run headless spends about half as much CPU again on the same pages (the
# browser modules alone, one process: 72 s against 48 s). Same Blink, same layout, same fonts.
CHROMIUM_BUILDS = (Path("/usr/bin/chromium-headless-shell"), Path("/usr/bin/chromium"))
CHROMIUM = next((p for p in CHROMIUM_BUILDS if p.is_file()), CHROMIUM_BUILDS[0])
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no request leaves this machine
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


def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A copy of the demo history, its site built by the real ``manual build`` and served (the
    ``site`` fixture of tests/conftest.py, one per browser test module)."""
    _require_chromium()

    def make(folder: Path) -> None:
        build(demo_repository(tmp_path_factory).copy_to(folder / "demo"))

    built = built_once("browser-site", make, tmp_path_factory)  # one build for the run: the modules take copies
    repo = RevisionRepo.open(built / "demo").copy_to(tmp_path_factory.mktemp("browser-site") / "demo")
    repo.today = demo_repository(tmp_path_factory).today
    root = repo.root / "site"
    with serving(root) as base:
        yield Site(repo, root, base)


def launched_chromium() -> Iterator[Any]:
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


def watched_context(browser: Any, width: int, height: int, *, init_script: str | None = None, **options: Any) -> Iterator[Watched]:
    """A fresh Chinese-locale context of ``width`` x ``height`` (further Playwright context
    ``options`` as given, ``init_script`` run before every page's own), its one page watched for
    errors; closed afterwards, and failing the test if anything went wrong on the page."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", **options)
    if init_script:
        context.add_init_script(init_script)
    w = Watched(context.new_page())
    _listen(w)
    try:
        yield w
    finally:
        context.close()
    assert not w.errors, w.errors


@pytest.fixture
def watched(browser: Any, site: Site) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1200, "height": 760}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    w = Watched(page)
    local = urlsplit(site.base).netloc

    def request(r: Any) -> None:
        if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != local:
            w.outside.append(r.url)  # and Chromium resolves no other host (CHROMIUM_ARGS)

    # Watched, not intercepted: Playwright turns the HTTP cache off for a routed context, and every
    # page would fetch the theme's scripts, styles and fonts again through this process.
    page.on("request", request)
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


def typed_query(w: Watched, site: Site, term: str, *, open_box: bool = False) -> Any:
    """Open 首页 and type ``term`` into the search box (``open_box``: first press the header's
    search button, behind which the box sits on a narrow screen); the page, once results show."""
    page = _open(w, site, "index.html")
    if open_box:
        page.locator("label.md-header__button[for=__search]").click()
    box = page.locator("input[data-md-component=search-query]")
    box.click()
    box.fill(term)
    page.keyboard.press("End")  # Material reads the query on key events
    page.wait_for_selector(".md-search-result__item")
    # a selector, not wait_for_function: the site's Content-Security-Policy refuses Playwright's eval
    page.wait_for_selector(".md-search-result__meta:has-text('个符合条件的结果')")
    return page


def _search(w: Watched, site: Site, term: str) -> set[str]:
    """Type ``term`` into the search box; the locations of every result shown (without ?h=)."""
    page = typed_query(w, site, term)
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
    assert page.locator('article a[href$=".docx"]').count() == 4  # every release (issue 24)
    link = page.locator('article a[href$="_B-0.docx"]')  # the version in force
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
