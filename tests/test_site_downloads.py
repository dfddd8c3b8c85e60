"""下载 offers every signed release (issue 24, point 4): the demo history's site, built by the real
``manual build`` (the ``site`` fixture of tests/conftest.py, served over http://127.0.0.1), lists
A/0, A/1 (已作废, with the day and the version that replaced each), B/0 (现行有效) and B/1 (即将生效),
each with its signed DOCX and PDF/A; the SHA-256 the page prints is that of the file the server
serves, ``SHA256SUMS`` and ``releases.json`` say the same, and ``manual verify`` accepts each file
as the release the page names. The files are made once per release and status (site cache).

The expected statuses are worked out here from the release records and the fixture's day, not by
the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml
from test_site import site_env
from test_site_browser import Site

pytestmark = [pytest.mark.slow]


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def _records(site: Site) -> list[dict[str, Any]]:
    folder = site.repo.root / "changelog" / "releases"
    records = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in folder.glob("*.yml")]
    return sorted(records, key=lambda r: dt.date.fromisoformat(str(r["effective"])))


def _expected(site: Site) -> dict[str, str]:
    """Each version's status on the site's day, as the 下载 page must word it."""
    from manualkit.base.clock import prose_date

    day = dt.date.fromisoformat(site.repo.today)
    records = [r for r in _records(site) if dt.date.fromisoformat(str(r["published"])) <= day]
    out = {}
    for i, r in enumerate(records):
        effective = dt.date.fromisoformat(str(r["effective"]))
        later = [n for n in records[i + 1 :] if dt.date.fromisoformat(str(n["effective"])) <= day]
        if effective > day:
            out[str(r["version"])] = f"即将生效（{prose_date(effective)}起实施）"
        elif later:
            successor = records[i + 1]
            out[str(r["version"])] = f"已作废（{prose_date(dt.date.fromisoformat(str(successor['effective'])))}起由 {successor['version']} 替代）"
        else:
            out[str(r["version"])] = "现行有效"
    return out


def _statuses_had(site: Site) -> list[tuple[str, str]]:
    """(version, status) for every status each release has had up to the site's day, worked out
    from the records: 即将生效 from its publication when that came before its effective date,
    现行有效 from its effective date, 已作废 from its successor's."""
    day = dt.date.fromisoformat(site.repo.today)
    records = [r for r in _records(site) if dt.date.fromisoformat(str(r["published"])) <= day]
    had = []
    for i, r in enumerate(records):
        published, effective = (dt.date.fromisoformat(str(r[k])) for k in ("published", "effective"))
        until = dt.date.fromisoformat(str(records[i + 1]["effective"])) if i + 1 < len(records) else None
        statuses = [("即将生效", published)] if published < effective else []
        statuses += [("现行有效", effective)] if until is None or effective < until else []
        statuses += [("已作废", until)] if until is not None else []
        had += [(str(r["version"]), s) for s, since in statuses if since <= day]
    return had


def _page(site: Site) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(_fetch(site.url("downloads.html")).decode("utf-8"))


def _text(element: lxml.html.HtmlElement) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


def _listed(site: Site) -> dict[str, dict[str, Any]]:
    """version → {status, effective, files: {name: (href, printed sha256)}} as the page shows them."""
    page = _page(site)
    listed: dict[str, dict[str, Any]] = {}
    for heading in page.xpath("//article//h2[starts-with(@id, 'release-')]"):
        version = _text(heading).split(" 版")[0]
        meta = heading.getnext()
        table = meta.getnext()
        assert "mk-release-meta" in meta.get("class", ""), _text(meta)
        files = {}
        for row in table.xpath(".//tbody/tr"):
            link = row.xpath("./td[@data-label='文件']//a")[0]
            digest = re.sub(r"\s", "", _text(row.xpath("./td[@data-label='SHA-256']")[0]))
            files[_text(link)] = (link.get("href"), digest)
        listed[version] = {
            "status": _text(meta.xpath(".//span[contains(@class, 'mk-status')]")[0]),
            "meta": _text(meta),
            "files": files,
        }
    return listed


def test_every_release_is_listed_with_its_status_today(site: Site) -> None:
    from manualkit.base.clock import prose_date

    expected = _expected(site)
    assert set(expected) == {"A/0", "A/1", "B/0", "B/1"}  # the demo history (manual history)
    listed = _listed(site)
    assert list(listed) == ["B/0", "B/1", "A/1", "A/0"]  # in force, to come, superseded newest first
    assert {v: item["status"] for v, item in listed.items()} == expected
    for record in _records(site):
        item = listed[str(record["version"])]
        assert f"生效日期 {prose_date(dt.date.fromisoformat(str(record['effective'])))}" in item["meta"]
        slug = str(record["version"]).replace("/", "-")
        assert sorted(item["files"]) == [f"XS-QM-01_{slug}.docx", f"XS-QM-01_{slug}.pdf"]
    assert f"状态截至 {prose_date(dt.date.fromisoformat(site.repo.today))}" in _text(_page(site))


def test_each_sha256_is_that_of_the_file_served(site: Site, tmp_path: Path) -> None:
    listed = _listed(site)
    sums = dict(reversed(line.split("  ", 1)) for line in _fetch(site.url("downloads/SHA256SUMS")).decode().splitlines())
    published = json.loads(_fetch(site.url("downloads/releases.json")))
    in_list = {f["name"]: (r["version"], r["status_text"], f["sha256"]) for r in published["releases"] for f in r["files"]}
    assert published["as_of"] == site.repo.today
    names = [name for item in listed.values() for name in item["files"]]
    assert sorted(sums) == sorted(in_list) == sorted(names) and len(names) == 8
    for version, item in listed.items():
        for name, (href, printed) in item["files"].items():
            served = _fetch(site.url(href))
            digest = hashlib.sha256(served).hexdigest()
            assert printed == sums[name] == digest, name
            assert in_list[name] == (version, item["status"], digest)
            assert served.startswith(b"%PDF-" if name.endswith(".pdf") else b"PK\x03\x04")
            (tmp_path / name).write_bytes(served)
    # every file offered is a genuine release, as `manual verify` (the auditors' tool) says
    for name in names:
        version = name.removeprefix("XS-QM-01_").rsplit(".", 1)[0].replace("-", "/")
        result = site.repo.manual("verify", str(tmp_path / name), env=site_env(site.repo) | {"MANUAL_TODAY": site.repo.today})
        assert result.code == 0, result.output
        assert f"{version} 版" in result.stdout and "真实有效" in result.stdout, result.stdout
        if listed[version]["status"].startswith("已作废"):
            assert "已作废" in result.stdout


def test_the_files_are_made_once_per_release_and_kept(site: Site) -> None:
    """A second build takes every release's files from the site cache: the same bytes, so the
    digests the 验证 page knows stay those of the files already downloaded."""
    from test_site import build

    before = {p.name: p.read_bytes() for p in (site.repo.root / "site" / "downloads").iterdir()}
    cache = site.repo.root / ".git" / "manualkit" / "site-cache"
    kept = sorted(p.name for p in cache.glob("files-*"))
    had = _statuses_had(site)
    # one entry per release and status it has had (without faketime, no reproducible layout: only
    # each release's status today has files)
    assert len(kept) == (len(had) if shutil.which("faketime") else len({v for v, _ in had})), kept
    build(site.repo)
    after = {p.name: p.read_bytes() for p in (site.repo.root / "site" / "downloads").iterdir()}
    assert after == before
    assert sorted(p.name for p in cache.glob("files-*")) == kept


def test_a_pdf_is_laid_out_once_per_docx(site: Site, tmp_path: Path) -> None:
    """The PDF/A of a release DOCX is kept by the DOCX's digest (documents/pdf_cache.py): the
    second time the same DOCX gives the same bytes without LibreOffice; with MANUAL_NO_CACHE=1
    it is laid out again (LibreOffice writes the time into each PDF: other bytes)."""
    from manualkit.documents.pdf_cache import FOLDER, release_pdf_of

    docx = _fetch(site.url("downloads/XS-QM-01_A-0.docx"))
    env = {"MANUAL_LAYOUT_CACHE": str(tmp_path / "layout"), "HOME": str(tmp_path)}
    first = release_pdf_of(docx, frozen_at=None, env=env)
    assert first.startswith(b"%PDF-") and len(list((tmp_path / "layout" / FOLDER).glob("*.pdf"))) == 1
    assert release_pdf_of(docx, frozen_at=None, env=env) == first
    assert release_pdf_of(docx, frozen_at=None, env=env | {"MANUAL_NO_CACHE": "1"}) != first
