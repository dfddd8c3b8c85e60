"""Every page of the staff site carries a Content-Security-Policy that lets no inline script or
event handler run and scripts come only from the site itself: as a ``<meta http-equiv>`` before
any script in every page, and as a header from ``manual serve``. Tested in headless Chromium on
the site the real ``manual build`` made of the demo history: the pages run as before (no
violation, no console error), and a page with injected handlers runs none of them — the browser
reports each violation — where the same page without the policy runs them all."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from revision_repo import RevisionRepo, manual_command
from test_site import _free_port, _wait_for, copy_of, site_env
from test_site_browser import Site

from manualkit.site.csp import HEADER_POLICY, POLICY

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Recorded before any script of the page runs (Playwright's init scripts are not the page's).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""
INJECTED = (
    '<img src="missing.png" onerror="window.__ran.push(\'onerror\')">'
    '<p id="focus-me" tabindex="0" autofocus onfocus="window.__ran.push(\'onfocus\')">聚焦</p>'
    "<script>window.__ran.push('inline')</script>"
    '<a id="js-link" href="javascript:window.__ran.push(\'javascript-url\')">链接</a>'
)


def _pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if "assets" not in p.parts)


def test_every_page_carries_the_policy_before_any_script_and_no_inline_script(site: Site) -> None:
    pages = _pages(site.root)
    assert len(pages) > 30  # the version in force, the archive, the change requests, 404
    for page in pages:
        tree = lxml.html.fromstring(page.read_bytes())
        metas = tree.xpath('//meta[@http-equiv="Content-Security-Policy"]')
        assert [m.get("content") for m in metas] == [POLICY], page
        scripts = tree.xpath("//script")
        first = tree.xpath("//head/*").index(metas[0])
        assert all(tree.xpath("//head/*").index(s) > first for s in scripts if s.getparent().tag == "head"), page
        for script in scripts:
            assert script.get("src") or script.get("type") == "application/json", (page, (script.text or "")[:80])
        handlers = [(e.tag, name) for e in tree.iter() if isinstance(e.tag, str) for name in e.attrib if name.lower().startswith("on")]
        assert handlers == [], page


def _open(browser: Any, url: str, state: str = "networkidle") -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1200, "height": 760}, locale="zh-CN")
    context.add_init_script(RECORD_VIOLATIONS + "window.__ran = [];")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_load_state(state)
    return context, page, errors


@pytest.mark.parametrize("path", ["index.html", "03-execution.html", "archive.html", "404.html"])
def test_the_pages_run_under_the_policy_without_a_violation(browser: Any, site: Site, path: str) -> None:
    context, page, errors = _open(browser, site.url(path))
    try:
        assert page.evaluate("window.__violations") == []
        assert errors == []
        assert page.evaluate("typeof __md_get") == "function"  # Material's moved helpers ran
        assert page.evaluate("document.documentElement.classList.contains('js')")  # and its bundle
    finally:
        context.close()


def _injected_page(site: Site, *, keep_policy: bool) -> str:
    html = (site.root / "03-execution.html").read_text(encoding="utf-8")
    if not keep_policy:
        html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    html = html.replace('<article class="md-content__inner md-typeset">', '<article class="md-content__inner md-typeset">' + INJECTED, 1)
    assert INJECTED in html
    name = f"injected-{'with' if keep_policy else 'without'}-policy.html"
    (site.root / name).write_text(html, encoding="utf-8")
    return name


def _try_everything(page: Any) -> list[str]:
    page.focus("#focus-me")
    page.click("#js-link")
    page.wait_for_timeout(300)
    return sorted(page.evaluate("window.__ran"))


def test_a_page_with_injected_handlers_runs_nothing(browser: Any, site: Site) -> None:
    context, page, _ = _open(browser, site.url(_injected_page(site, keep_policy=True)))
    try:
        assert _try_everything(page) == []
        violations = page.evaluate("window.__violations")
        assert sum(v.startswith("script-src-attr") for v in violations) >= 2, violations  # onerror, onfocus
        assert any(v.startswith("script-src-elem") for v in violations), violations  # the inline script
    finally:
        context.close()


def test_without_the_policy_the_same_page_runs_every_handler(browser: Any, site: Site) -> None:
    context, page, _ = _open(browser, site.url(_injected_page(site, keep_policy=False)))
    try:
        assert _try_everything(page) == ["inline", "javascript-url", "onerror", "onfocus"]
    finally:
        context.close()


def _wait_until(page: Any, expression: str, seconds: float = 10) -> None:
    """Poll ``expression`` from outside the page (Playwright's wait_for_function evaluates a string
    in the page, which the policy rightly refuses as eval)."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + seconds
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error:  # the live reload navigated while the expression ran: ask the new page
            pass
        assert time.monotonic() < deadline, f"{expression} stayed false"
        page.wait_for_timeout(200)


@pytest.fixture
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RevisionRepo, str]]:
    repo = copy_of(tmp_path_factory, "site-csp-serve")
    port = _free_port()
    log = repo.base / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*manual_command(), "serve", "--dev-addr", f"127.0.0.1:{port}"],
            cwd=repo.root, env=repo.env(site_env(repo)), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield repo, f"http://127.0.0.1:{port}/"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
    shutil.rmtree(repo.root / "site", ignore_errors=True)


def test_serve_sends_the_policy_as_a_header_and_its_live_reload_obeys_it(browser: Any, serving: tuple[RevisionRepo, str]) -> None:
    repo, base = serving
    _wait_for(base + "03-execution.html", "草稿（未生效）")
    for path in ("03-execution.html", "assets/manualkit/site.css", "no-such-page.html"):
        try:
            response = urllib.request.urlopen(base + path, timeout=5)
        except urllib.error.HTTPError as error:
            response = error  # held by its own traceback's frame: closed here, not by a later collection
        with response:
            assert response.headers["Content-Security-Policy"] == HEADER_POLICY, path
    context, page, errors = _open(browser, base + "03-execution.html", "load")  # live reload polls on
    _wait_until(page, "typeof __md_get === 'function' && document.documentElement.classList.contains('js')")
    try:
        assert page.evaluate("window.__violations") == [] and errors == []
        assert page.locator('script[src*="manualkit-livereload.js"]').count() == 1
        repo.append_to_section("3.2", "（编辑中的草稿）预览应当自动重新载入。")
        _wait_until(page, "document.body.innerText.includes('预览应当自动重新载入')", 60)
    finally:
        context.close()
