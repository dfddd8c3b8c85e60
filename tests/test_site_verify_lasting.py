"""The 验证 page recognises every genuine copy staff may hold (issue 24, point 4): a release's
files are the same bytes on every build, and the page knows the files of every status a release
has had.

Real builds (the real ``manual build``, LibreOffice under faketime) of copies of the browser
tests' demo site (the ``site`` fixture, built as of 2026-12-01: B/0 in force, B/1 to come, A/0
and A/1 superseded), each with empty caches of its own (site cache, kept DOCX, layout cache):

- one on the same day, as another machine would make it (another zone, another moment of the
  day): every file, ``SHA256SUMS`` and ``releases.json`` byte for byte those of the fixture's build;
- one as of 2026-05-01, when A/1 was in force: its A/1 files (cover 现行有效) are listed by today's
  ``releases.json`` as A/1's files of that status, not offered for download, and dropped on
  today's 验证 page in headless Chromium they read 正式文件（下载时为现行有效）；现已作废…; a
  tampered one reads 不是发布文件.

Every file the list names (offered, or of an earlier status: those are read from the build's
site cache) is validly signed for poppler's ``pdfsig`` at the moment its status began (the later
of that day's 00:00 in the company's zone and the certificate's notBefore) and accepted by
``manual verify``. The expected statuses and moments are worked out here from the release records
and the certificate, not by the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from revision_repo import RevisionRepo
from test_site import site_env
from test_site_browser import Site, Watched, _open, watched_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZONE = ZoneInfo("Asia/Shanghai")  # the demo policy's time_zone
MAY = "2026-05-01"  # A/1 in force (2026-03-16 … 2026-06-30)
DATA_TRANSFER = """([name, data, type]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0))
  const transfer = new DataTransfer()
  transfer.items.add(new File([bytes], name, { type }))
  return transfer
}"""


def require_faketime() -> None:
    if shutil.which("faketime") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is required when CI=true (.ci/run installs it)")
        pytest.skip("faketime is not installed: the files cannot be made alike on every build")


@dataclass(frozen=True)
class Built:
    """A build's offered files (name → bytes), its releases.json, and every file it made
    (offered or kept for an earlier status), by SHA-256."""

    repo: RevisionRepo
    offered: dict[str, bytes]
    listed: dict[str, Any]
    made: dict[str, bytes]


def _made(repo: RevisionRepo, cache: Path) -> dict[str, bytes]:
    files = [p for p in cache.glob("files-*/*") if p.suffix in (".docx", ".pdf")]
    files += [p for p in (repo.root / "site" / "downloads").iterdir() if p.suffix in (".docx", ".pdf")]
    return {hashlib.sha256(p.read_bytes()).hexdigest(): p.read_bytes() for p in files}


def _read(repo: RevisionRepo, cache: Path) -> Built:
    downloads = repo.root / "site" / "downloads"
    offered = {p.name: p.read_bytes() for p in sorted(downloads.iterdir())}
    return Built(repo, offered, json.loads(offered["releases.json"]), _made(repo, cache))


def _fresh_build(site: Site, folder: Path, *args: str, **env: str) -> Built:
    """A build of a copy of the fixture's repository (the same development key) with caches of
    its own, all empty."""
    repo = site.repo.copy_to(folder / "demo")
    shutil.rmtree(repo.root / ".git" / "manualkit", ignore_errors=True)
    shutil.rmtree(repo.root / "site", ignore_errors=True)
    caches = {"MANUAL_SITE_CACHE": str(folder / "site-cache"), "MANUAL_LAYOUT_CACHE": str(folder / "layout")}
    # a process of its own: a browser test's Playwright may already hold this thread's event loop
    result = repo.manual("build", *args, env=site_env(repo, **caches, **env), timeout=1200)
    assert result.code == 0 and "Traceback" not in result.stderr, result.output
    return _read(repo, folder / "site-cache")


@pytest.fixture(scope="module")
def today(site: Site) -> Built:
    return _read(site.repo, site.repo.root / ".git" / "manualkit" / "site-cache")


@pytest.fixture(scope="module")
def elsewhere(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The same day's build on "another machine": empty caches, another zone, another moment."""
    require_faketime()
    folder = tmp_path_factory.mktemp("elsewhere")
    return _fresh_build(site, folder, TZ="America/Los_Angeles", MANUAL_NOW="2026-12-01T16:47:13+08:00")


@pytest.fixture(scope="module")
def in_may(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The site as built on 2026-05-01 (A/1 in force), from empty caches."""
    require_faketime()
    folder = tmp_path_factory.mktemp("in-may")
    return _fresh_build(site, folder, "--as-of", MAY, MANUAL_NOW=f"{MAY}T00:05:00+08:00")


def _records(repo: RevisionRepo) -> dict[str, dict[str, Any]]:
    out = {}
    for p in (repo.root / "changelog" / "releases").glob("*.yml"):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        out[str(data["version"])] = data
    return out


def _date(value: object) -> dt.date:
    return dt.date.fromisoformat(str(value))


def _prose(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _release(listed: dict[str, Any], version: str) -> dict[str, Any]:
    (release,) = [r for r in listed["releases"] if r["version"] == version]
    return dict(release)


def _not_before(repo: RevisionRepo) -> dt.datetime:
    from cryptography import x509

    pem = (repo.base / "manual-home" / "dev-signing" / "signing-cert.pem").read_bytes()
    return x509.load_pem_x509_certificate(pem).not_valid_before_utc


def _expected_periods(repo: RevisionRepo, day: dt.date) -> dict[str, list[tuple[str, dt.date]]]:
    """version → [(status css name, since)] of every status it has had up to ``day``, the last
    its status that day, from the release records."""
    records = sorted((r for r in _records(repo).values() if _date(r["published"]) <= day), key=lambda r: _date(r["effective"]))
    out: dict[str, list[tuple[str, dt.date]]] = {}
    for i, r in enumerate(records):
        published, effective = _date(r["published"]), _date(r["effective"])
        until = _date(records[i + 1]["effective"]) if i + 1 < len(records) else None
        periods = [("approved", published)] if published < effective else []
        periods += [("in-force", effective)] if until is None or effective < until else []
        periods += [("superseded", until)] if until is not None else []
        out[str(r["version"])] = [(s, since) for s, since in periods if since <= day]
    return out


# --- the same bytes on every build -------------------------------------------------------------


def test_two_builds_with_empty_caches_give_the_same_files(today: Built, elsewhere: Built) -> None:
    assert sorted(today.offered) == sorted(elsewhere.offered)
    assert len([n for n in today.offered if n.endswith((".docx", ".pdf"))]) == 8
    for name, data in today.offered.items():
        assert elsewhere.offered[name] == data, name  # SHA256SUMS and releases.json included
    # and the files of the earlier statuses, which only their digests stand for
    assert sorted(elsewhere.made) == sorted(today.made)


def test_the_list_holds_every_status_each_release_has_had(today: Built) -> None:
    periods = _expected_periods(today.repo, dt.date(2026, 12, 1))
    assert {v: [s for s, _ in p] for v, p in periods.items()} == {
        "A/0": ["approved", "in-force", "superseded"],
        "A/1": ["approved", "in-force", "superseded"],
        "B/0": ["approved", "in-force"],
        "B/1": ["approved"],
    }
    for version, had in periods.items():
        release = _release(today.listed, version)
        *earlier, (status, _) = had
        assert release["status"] == status
        assert [(e["status"], e["since"]) for e in release["earlier"]] == [(s, since.isoformat()) for s, since in earlier], version
        names = sorted(f["name"] for f in release["files"])
        slug = version.replace("/", "-")
        assert names == [f"XS-QM-01_{slug}.docx", f"XS-QM-01_{slug}.pdf"]
        offered = {f["sha256"] for f in release["files"]}
        for e in release["earlier"]:
            assert sorted(f["name"] for f in e["files"]) == names
            assert all("href" not in f for f in e["files"])  # recognised, never offered
            assert not offered & {f["sha256"] for f in e["files"]}
    served = {hashlib.sha256(d).hexdigest() for d in today.offered.values()}
    earlier = {f["sha256"] for r in today.listed["releases"] for e in r["earlier"] for f in e["files"]}
    assert earlier and not earlier & served


# --- a copy downloaded in May ------------------------------------------------------------------


def _may_copies(in_may: Built) -> dict[str, bytes]:
    return {n: d for n, d in in_may.offered.items() if n.startswith("XS-QM-01_A-1.")}


def test_a_copy_from_a_build_in_may_is_listed_as_a1_issued_in_force(today: Built, in_may: Built) -> None:
    records = _records(today.repo)
    assert _release(in_may.listed, "A/1")["status"] == "in-force"  # as that build offered it
    copies = _may_copies(in_may)
    assert sorted(copies) == ["XS-QM-01_A-1.docx", "XS-QM-01_A-1.pdf"]
    release = _release(today.listed, "A/1")
    assert release["status"] == "superseded"
    (issued,) = [e for e in release["earlier"] if e["status"] == "in-force"]
    assert issued["since"] == str(records["A/1"]["effective"])
    listed = {f["name"]: f["sha256"] for f in issued["files"]}
    assert listed == {n: hashlib.sha256(d).hexdigest() for n, d in copies.items()}
    successor = _date(records["B/0"]["effective"])
    assert issued["verdict"] == f"正式文件（下载时为现行有效）；现已作废（{_prose(successor)}起由 B/0 替代）"
    assert "请改用现行有效的 B/0 版" in issued["advice"]
    # not offered today: the 下载 page offers A/1's file marked 已作废
    assert all(today.offered.get(n) != d for n, d in copies.items())
    # and a status both builds gave A/0 (已作废 since A/1) is the same file in both
    for suffix in ("docx", "pdf"):
        assert in_may.offered[f"XS-QM-01_A-0.{suffix}"] == today.offered[f"XS-QM-01_A-0.{suffix}"]


def _drop(page: Any, name: str, data: bytes) -> dict[str, Any]:
    mime = "application/pdf" if name.endswith(".pdf") else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    before = page.locator(".mk-verify__result").count()
    transfer = page.evaluate_handle(DATA_TRANSFER, [name, base64.b64encode(data).decode(), mime])
    page.locator("#mk-verify-drop").dispatch_event("drop", {"dataTransfer": transfer})
    page.locator(".mk-verify__result").nth(before).wait_for()
    card = page.locator(".mk-verify__result").first
    lines = {}
    for row in card.locator(".mk-verify__line").all():
        lines[row.locator(".mk-verify__label").inner_text()] = row.locator(".mk-verify__value").inner_text()
    return {
        "status": card.get_attribute("data-mk-status"),
        "issued": card.get_attribute("data-mk-issued"),
        "verdict": card.locator(".mk-verify__verdict").inner_text(),
        "note": card.locator(".mk-verify__note").first.inner_text(),
        "lines": lines,
    }


@pytest.fixture
def verify_page(browser: Any, site: Site) -> Iterator[Any]:
    yield from watched_context(browser, 1200, 800)


def _open_verify(w: Watched, site: Site) -> Any:
    page = _open(w, site, "verify.html")
    assert page.locator("#mk-verify").is_visible()
    return page


def test_the_may_copy_dropped_in_chromium_reads_issued_in_force_now_superseded(verify_page: Watched, site: Site, today: Built, in_may: Built) -> None:
    records = _records(today.repo)
    successor = _prose(_date(records["B/0"]["effective"]))
    page = _open_verify(verify_page, site)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for name, data in sorted(_may_copies(in_may).items()):
        card = _drop(page, name, data)
        assert card["verdict"] == f"正式文件（下载时为现行有效）；现已作废（{successor}起由 B/0 替代）", card
        assert card["status"] == "superseded" and card["issued"] == "in-force", card
        assert "请改用现行有效的 B/0 版" in card["note"] and "封面" in card["note"], card["note"]
        assert card["lines"]["版本"] == "A/1 版"
        assert card["lines"]["封面状态"] == f"现行有效（{_prose(_date(records['A/1']['effective']))}起，即下载时的状态）"
        assert card["lines"]["状态"] == f"已作废（{successor}起由 B/0 替代）（截至 2026年12月1日）"
        assert card["lines"]["SHA-256"].replace(" ", "") == hashlib.sha256(data).hexdigest()
        # a byte changed: not a release file, whatever it was
        middle = len(data) // 2
        card = _drop(page, name, data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])
        assert card["verdict"] == "不是发布文件" and card["status"] == "unknown" and card["issued"] is None, card
        assert "版本" not in card["lines"]
    # under a hostile name the copy is still recognised, and the name stays text
    hostile = '<img src=x onerror="document.title=1">\u202e\u200b' + "XS-QM-01_A-1.docx"
    card = _drop(page, hostile, _may_copies(in_may)["XS-QM-01_A-1.docx"])
    assert card["issued"] == "in-force" and card["lines"]["您的文件"] == hostile
    assert page.locator("#mk-verify-results img").count() == 0 and page.title() != "1"
    assert requests == [], f"a dropped file made requests: {requests}"


def test_axe_finds_no_serious_violation_with_an_earlier_copy_shown(browser: Any, site: Site, in_may: Built) -> None:
    from test_site_screens import _axe, serious_violations

    (site.root / "axe.min.js").write_text(_axe(), encoding="utf-8")
    for width, height in ((1366, 900), (390, 844)):
        for w in watched_context(browser, width, height):
            page = _open_verify(w, site)
            for name, data in sorted(_may_copies(in_may).items()):
                _drop(page, name, data)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
            result = serious_violations(page, site)
            assert not result, (width, result)


# --- every listed file is a genuine release, signed when its status began -----------------------


def _pdfsig_time(path: Path) -> dt.datetime:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, check=False, env={**os.environ, "TZ": "Asia/Shanghai"}).stdout.decode()
    assert "Signature is Valid" in out and "Total document signed" in out, out
    (stamp,) = re.findall(r"Signing Time:\s*(.+)", out)
    return dt.datetime.strptime(stamp.strip(), "%b %d %Y %H:%M:%S").replace(tzinfo=ZONE)


def _docx_time(data: bytes) -> dt.datetime:
    with zipfile.ZipFile(BytesIO(data)) as z:
        xml = z.read("_xmlsignatures/sig1.xml").decode("utf-8")
    (stamp,) = re.findall(r"<(?:\w+:)?SigningTime>([^<]+)<", xml)
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_every_listed_file_is_signed_when_its_status_began_and_verifies(today: Built, tmp_path: Path) -> None:
    not_before = _not_before(today.repo)
    listed = [
        (r["version"], status, since, f)
        for r in today.listed["releases"]
        for status, since, files in [*((e["status"], e["since"], e["files"]) for e in r["earlier"]), (r["status"], None, r["files"])]
        for f in files
    ]
    periods = _expected_periods(today.repo, dt.date(2026, 12, 1))
    assert len(listed) == 2 * sum(len(p) for p in periods.values())
    env = site_env(today.repo) | {"MANUAL_TODAY": today.repo.today}
    for version, status, since, f in listed:
        data = today.made[f["sha256"]]  # every digest the list names stands for a file the build made
        began = dict(periods[version])[status]
        assert since is None or since == began.isoformat()
        expected = max(dt.datetime.combine(began, dt.time(0, 0), ZONE), not_before)
        path = tmp_path / f"{status}-{f['name']}"
        path.write_bytes(data)
        moment = _pdfsig_time(path) if f["name"].endswith(".pdf") else _docx_time(data)
        assert moment == expected.replace(microsecond=0), (version, status, f["name"], moment, expected)
        result = today.repo.manual("verify", str(path), env=env, process=True)  # Playwright holds this thread's event loop
        assert result.code == 0 and "真实有效" in result.stdout and f"{version} 版" in result.stdout, result.output
