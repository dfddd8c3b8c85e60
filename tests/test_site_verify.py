"""验证文件 in a real browser (issue 24, point 4): staff drop the signed DOCX or PDF of a release on
the page; headless Chromium computes its SHA-256 with ``crypto.subtle`` (or, without it, the page's
own implementation), and the page says which release it is and its status on the build's day, or
不是发布文件. Nothing leaves the page: no request at all is made once a file is dropped.

Same browser and site as ``test_site_browser`` (the ``site`` and ``browser`` fixtures of
tests/conftest.py: the demo history built by the real ``manual build``, served from 127.0.0.1).
The files dropped are those the 下载 page offers, fetched from the server. Screenshots of 下载 and
验证 (with results shown) at 1366 and 390 pixels are written to the test's folder, and with
``MANUAL_UPDATE_SCREENSHOT=1`` to docs/screens/site-downloads-*.png and site-verify-*.png.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from revision_repo import PROJECT_ROOT
from test_site_browser import Site, Watched, _open, watched_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = PROJECT_ROOT / "docs" / "screens"
#: crypto.subtle as on a page served over plain http from another host than localhost
NO_SUBTLE = "Object.defineProperty(Crypto.prototype, 'subtle', { get() { return undefined } })"
# Builds a DataTransfer holding one file in the page and returns it (Playwright passes the handle
# to the drop event); run through the DevTools protocol, not as a script of the page.
DATA_TRANSFER = """([name, data, type]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0))
  const transfer = new DataTransfer()
  transfer.items.add(new File([bytes], name, { type }))
  return transfer
}"""


def _fetch(site: Site, path: str) -> bytes:
    with urllib.request.urlopen(site.url(path), timeout=30) as response:
        return bytes(response.read())


def _file(site: Site, version: str, suffix: str) -> tuple[str, bytes]:
    name = f"XS-QM-01_{version.replace('/', '-')}.{suffix}"
    return name, _fetch(site, f"downloads/{name}")


@pytest.fixture
def verify(browser: Any, site: Site) -> Iterator[Watched]:
    yield from _context(browser, site, 1200, 800)


def _context(browser: Any, site: Site, width: int, height: int, init: str | None = None) -> Iterator[Watched]:
    yield from watched_context(browser, width, height, init_script=init)


def _drop(page: Any, name: str, data: bytes) -> dict[str, Any]:
    """Drop one file on the page's drop zone; the result card it shows (status, verdict, lines)."""
    mime = "application/pdf" if name.endswith(".pdf") else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    before = page.locator(".mk-verify__result").count()
    transfer = page.evaluate_handle(DATA_TRANSFER, [name, base64.b64encode(data).decode(), mime])
    page.locator("#mk-verify-drop").dispatch_event("drop", {"dataTransfer": transfer})
    page.locator(".mk-verify__result").nth(before).wait_for()
    return _card(page.locator(".mk-verify__result").first)


def _card(card: Any) -> dict[str, Any]:
    lines = {}
    for row in card.locator(".mk-verify__line").all():
        lines[row.locator(".mk-verify__label").inner_text()] = row.locator(".mk-verify__value").inner_text()
    notes = card.locator(".mk-verify__note")
    return {
        "status": card.get_attribute("data-mk-status"),
        "verdict": card.locator(".mk-verify__verdict").inner_text(),
        "note": notes.first.inner_text() if notes.count() else "",
        "lines": lines,
    }


def _open_verify(w: Watched, site: Site) -> Any:
    page = _open(w, site, "verify.html")
    assert page.locator("#mk-verify").is_visible()
    return page


def _earlier_copy(site: Site, version: str, status: str, suffix: str) -> tuple[str, bytes]:
    """The file ``version`` had while it was ``status`` (not offered any more, only its digest
    listed in releases.json), as the build kept it in its site cache."""
    import json

    listed = json.loads(_fetch(site, "downloads/releases.json"))
    (release,) = [r for r in listed["releases"] if r["version"] == version]
    (earlier,) = [e for e in release["earlier"] if e["status"] == status]
    (entry,) = [f for f in earlier["files"] if f["name"].endswith(f".{suffix}")]
    for path in (site.repo.root / ".git" / "manualkit" / "site-cache").glob(f"files-*/{entry['name']}"):
        if hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]:
            return entry["name"], path.read_bytes()
    raise AssertionError(f"{version}'s {status} {suffix} is not in the site cache")


def _superseded(site: Site, version: str) -> str:
    """已作废（…起由 X 替代） for ``version`` of the demo history, from its successor's record."""
    import yaml

    from manualkit.base.clock import prose_date

    successor = {"A/0": "A/1", "A/1": "B/0"}[version]
    data = yaml.safe_load((site.repo.root / "changelog" / "releases" / f"{successor.replace('/', '-')}.yml").read_text(encoding="utf-8"))
    return f"已作废（{prose_date(dt.date.fromisoformat(str(data['effective'])))}起由 {successor} 替代）"


def test_dropped_release_files_say_which_release_and_its_status(verify: Watched, site: Site) -> None:
    from manualkit.base.clock import prose_date

    page = _open_verify(verify, site)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    expected = {"A/1": _superseded(site, "A/1"), "B/0": "现行有效"}
    effective = {"A/1": "2026-03-16", "B/0": "2026-07-01"}
    for version in ("A/1", "B/0"):
        for suffix, kind in (("docx", "Word 文档"), ("pdf", "PDF/A 文档")):
            name, data = _file(site, version, suffix)
            card = _drop(page, name, data)
            assert card["verdict"] == expected[version], (name, card)
            assert card["status"] == ("superseded" if version == "A/1" else "in-force")
            assert card["lines"]["版本"] == f"{version} 版"
            assert card["lines"]["文件"] == f"{name}（{kind}）"
            assert card["lines"]["生效日期"] == prose_date(dt.date.fromisoformat(effective[version]))
            assert card["lines"]["状态"].startswith(expected[version])
            assert ("请按现行有效的 B/0 版执行" in card["note"]) is (version == "A/1"), card["note"]
            assert card["lines"]["SHA-256"].replace(" ", "") == hashlib.sha256(data).hexdigest()
    assert "已作废" in expected["A/1"]
    assert requests == [], f"a dropped file made requests: {requests}"


def test_a_tampered_copy_is_not_a_release_file(verify: Watched, site: Site) -> None:
    page = _open_verify(verify, site)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for suffix in ("pdf", "docx"):
        name, data = _file(site, "B/0", suffix)
        middle = len(data) // 2
        tampered = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
        card = _drop(page, name, tampered)
        assert card["verdict"] == "不是发布文件" and card["status"] == "unknown", card
        assert "版本" not in card["lines"]
    assert requests == []


def test_picked_files_and_the_version_to_come(verify: Watched, site: Site, tmp_path: Path) -> None:
    """The file field (选择文件) does what a drop does; B/1, approved, reads 即将生效."""
    page = _open_verify(verify, site)
    name, data = _file(site, "B/1", "pdf")
    (tmp_path / name).write_bytes(data)
    page.locator("#mk-verify-file").set_input_files(str(tmp_path / name))
    page.locator(".mk-verify__result").first.wait_for()
    card = _card(page.locator(".mk-verify__result").first)
    assert card["status"] == "approved" and card["verdict"].startswith("即将生效（2027年1月15日起实施）"), card


def test_without_crypto_subtle_the_page_computes_the_same_digest(browser: Any, site: Site) -> None:
    """Over plain http from another host crypto.subtle is missing: the page's own SHA-256 gives the
    same answers (a real release file, and a file of 0 and of 64 bytes, padding's edge cases)."""
    for w in _context(browser, site, 1200, 800, init=NO_SUBTLE):
        page = _open_verify(w, site)
        name, data = _file(site, "A/1", "docx")
        card = _drop(page, name, data)
        assert card["verdict"] == _superseded(site, "A/1"), card
        for sample in (b"", b"x" * 55, b"y" * 64):
            card = _drop(page, "sample.pdf", sample)
            assert card["verdict"] == "不是发布文件"
            assert card["lines"]["SHA-256"].replace(" ", "") == hashlib.sha256(sample).hexdigest()


def test_hostile_file_names_are_shown_as_text(verify: Watched, site: Site) -> None:
    page = _open_verify(verify, site)
    hostile = '<img src=x onerror="document.title=1">\u202e\u200bfdp.docx'
    card = _drop(page, hostile, b"not a release")
    assert card["lines"]["您的文件"] == hostile
    assert page.locator("#mk-verify-results img").count() == 0
    assert page.title() != "1"


def _shot(page: Any, out: Path, name: str, width: int) -> None:
    target = out / f"{name}-{width}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 5000


def test_screenshots_of_downloads_and_verify(browser: Any, site: Site, tmp_path: Path) -> None:
    """下载 and 验证 (an in-force, a superseded, an earlier-status and a tampered file dropped) at
    1366 and 390 pixels."""
    out = SCREENS if os.environ.get("MANUAL_UPDATE_SCREENSHOT") == "1" else tmp_path
    out.mkdir(exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        for w in _context(browser, site, width, height):
            page = _open(w, site, "downloads.html")
            assert page.locator("h2#release-A-0").is_visible()
            # nothing wider than the screen: the page never scrolls sideways
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
            _shot(page, out, "site-downloads", width)
            page = _open_verify(w, site)
            name, data = _file(site, "B/0", "pdf")
            _drop(page, name[:-4] + "（篡改）.pdf", data[:-1] + bytes([data[-1] ^ 1]))
            _drop(page, *_file(site, "A/1", "docx"))
            if shutil.which("faketime"):  # a copy downloaded while A/1 was in force
                _drop(page, *_earlier_copy(site, "A/1", "in-force", "pdf"))
            _drop(page, name, data)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
            _shot(page, out, "site-verify", width)


def test_axe_finds_no_serious_violation_on_the_verify_page(browser: Any, site: Site) -> None:
    """axe-core on 验证文件 with its drop zone and three results shown, at both widths."""
    from test_site_screens import _axe, serious_violations

    (site.root / "axe.min.js").write_text(_axe(), encoding="utf-8")
    for width, height in ((1366, 900), (390, 844)):
        for w in _context(browser, site, width, height):
            page = _open_verify(w, site)
            name, data = _file(site, "B/0", "docx")
            _drop(page, name, data)
            _drop(page, *_file(site, "A/1", "pdf"))
            _drop(page, "x.pdf", b"x")
            result = serious_violations(page, site)
            assert not result, (width, result)
