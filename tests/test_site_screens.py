"""The staff website in a real browser on every screen and on paper: the revisions and comparison
tables inside a 390-pixel screen, identifiers never broken, every printed sheet marked (Chromium
and Firefox, script on and off), the point-in-time picker, links between versions, search over
records, the 404 page, axe-core, and screenshots at 1366 and 390 pixels.

Same browser, site and rules as ``test_site_browser`` (the ``site`` and ``browser`` fixtures of
tests/conftest.py, made once per module); a module of its own so that ``make test`` runs the two
halves on two workers at once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from revision_repo import PROJECT_ROOT
from test_site_browser import Site, Watched, _open, _record, _search, serving, watched_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


VIEWPORTS = {"wide": (1366, 900), "narrow": (390, 844)}
SCREENSHOTS = {"home": "index.html", "chapter": "03-execution.html", "revisions": "revisions.html", "archived": "archive/A-0/03-execution.html"}
AXE = PROJECT_ROOT / "tests" / "support" / "node_modules" / "axe-core" / "axe.min.js"


#: Material's search worker builds the search index in the background of every page it starts on,
#: the most expensive thing a page of the site does (about 0.3 s of CPU). A test that never
#: searches and opens dozens of pages may leave it out: the page's own scripts all run, and the
#: tests that search (here and in test_site_browser) and those that watch a page to the end for
#: errors keep it.
NO_SEARCH_WORKER = "window.Worker = class { postMessage() {} addEventListener() {} removeEventListener() {} terminate() {} }"


def _at(browser: Any, site: Site, size: str, *, script: bool = True, search: bool = True) -> Iterator[Watched]:
    width, height = VIEWPORTS[size]
    yield from watched_context(browser, width, height, init_script=None if search else NO_SEARCH_WORKER, java_script_enabled=script)


@pytest.fixture(params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest, browser: Any, site: Site) -> Iterator[Watched]:
    yield from _at(browser, site, request.param, search=False)


@pytest.fixture
def wide(browser: Any, site: Site) -> Iterator[Watched]:
    yield from _at(browser, site, "wide")


@pytest.fixture
def wide_without_search(browser: Any, site: Site) -> Iterator[Watched]:
    yield from _at(browser, site, "wide", search=False)


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
    assert cells.count() == 12 * len(list((site.repo.root / "changelog" / "releases").glob("*.yml")))  # 会签 included
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (i, box)
    if width > 1000:  # wide: a table row per version, its header row on screen
        headers = page.locator(".mk-revisions th")
        assert headers.count() == 12
        for i in range(12):
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
    """The address the picker goes to for ``day``: read once the browser has committed to it (the
    page that loads there is another test's matter; the next case opens its own page)."""
    page.locator(".mk-pit > summary").click()
    page.fill("#mk-pit-date", day)
    with page.expect_navigation(wait_until="commit") as navigation:
        page.locator(".mk-pit__form button").click()
    response = navigation.value
    assert response is not None and response.status == 200, page.url
    return str(page.url)


def test_the_date_picker_goes_to_the_version_in_force_that_day(wide_without_search: Watched, site: Site) -> None:
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
            page = _load(wide_without_search, site, start)
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
    """axe-core, installed by npm on first use. The tests of one module may run on several xdist
    workers at once: the install is made under a lock, so that no worker reads a half-written file."""
    import fcntl

    support = AXE.parents[2]
    with open(support / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not AXE.is_file():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is missing (axe-core)") if os.environ.get("CI") == "true" else pytest.skip("npm is missing")
            subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=support, check=True, capture_output=True)
        return AXE.read_text(encoding="utf-8")


def serious_violations(page: Any, site: Site) -> list[str]:
    """axe-core's serious and critical violations in the page's content (Material's header,
    navigation and search are not ours), loaded from the site's own ``axe.min.js`` (the
    Content-Security-Policy runs no inline script): one line per rule, with its elements."""
    page.add_script_tag(url=site.url("axe.min.js"))
    result: list[str] = page.evaluate(
        "async () => (await axe.run({include: [['.md-content']]}, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return result


def test_axe_finds_no_serious_violation_in_the_sites_own_markup(screen: Watched, site: Site) -> None:
    """axe-core on every kind of page; Material's own markup (header, navigation, search) is not ours."""
    # Loaded from the site's own address: its Content-Security-Policy runs no inline script.
    (site.root / "axe.min.js").write_text(_axe(), encoding="utf-8")
    for path in ("index.html", "03-execution.html", "revisions.html", "archive.html", "requests/CR-2026-004.html",
                 "downloads.html", "diff/A-1_B-0.html", "archive/A-0/03-execution.html"):  # fmt: skip
        page = _load(screen, site, path)
        page.locator(".mk-pit > summary").click()
        result = serious_violations(page, site)
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
