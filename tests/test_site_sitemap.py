"""``sitemap.xml`` of the staff site (manualkit.site.sitemap): the pages in force at the address
``MANUAL_SITE_URL`` gives, none without one, and a malformed address refused before any work.

Built by the real ``manual build --site-only`` from a copy of the demo history.
"""

from __future__ import annotations

from pathlib import Path

import lxml.etree
import pytest
from revision_repo import RevisionRepo
from test_site import build, copy_of, html_of, site_env, site_pages

from manualkit.base.diagnostics import ManualError
from manualkit.site.sitemap import site_url

pytestmark = [pytest.mark.slow]

ADDRESS = "https://manual.example.com/sales/"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    repo = copy_of(tmp_path_factory, "sitemap")
    build(repo, "--site-only", MANUAL_SITE_URL=ADDRESS.rstrip("/"))
    return repo


def _noindex(page: Path) -> bool:
    return bool(html_of(page).xpath('//meta[@name="robots"][contains(@content, "noindex")]'))


def test_the_sitemap_lists_every_page_in_force_and_nothing_else(built: RevisionRepo) -> None:
    site = built.root / "site"
    tree = lxml.etree.parse(str(site / "sitemap.xml"))
    locs = [str(loc) for loc in tree.xpath("//s:url/s:loc/text()", namespaces=NS)]
    assert len(locs) == len(set(locs)) and all(loc.startswith(ADDRESS) for loc in locs), locs
    listed = {loc.removeprefix(ADDRESS) for loc in locs}
    for must in ("index.html", "03-execution.html", "08-supplementary.html", "revisions.html", "archive.html", "downloads.html"):
        assert must in listed, must
    assert not any(p.startswith(("archive/", "upcoming/")) for p in listed), listed
    in_force = {
        str(p.relative_to(site)) for p in site_pages(site)
        if p.relative_to(site).parts[0] not in ("archive", "upcoming") and not _noindex(p)
    }  # fmt: skip
    assert listed == in_force
    for path in listed:  # each listed page names itself as canonical at the same address
        canonical = html_of(site / path).xpath('//link[@rel="canonical"]/@href')
        assert canonical == [ADDRESS + path], (path, canonical)
    assert not list((site / "archive").rglob("sitemap.xml*")) and not list((site / "upcoming").rglob("sitemap.xml*"))
    assert any(_noindex(p) for p in (site / "upcoming").rglob("*.html"))  # they exist, and are left out


def test_without_an_address_no_sitemap_is_written(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "sitemap-none")
    build(repo, "--site-only")
    site = repo.root / "site"
    assert (site / "index.html").is_file()
    assert not list(site.rglob("sitemap.xml*"))
    assert not html_of(site / "index.html").xpath('//link[@rel="canonical"]')


def test_a_malformed_address_is_refused_before_anything_is_written(built: RevisionRepo) -> None:
    before = (built.root / "site" / "sitemap.xml").read_bytes()
    result = built.manual("build", "--site-only", env=site_env(built, MANUAL_SITE_URL='https://x.example/"><script>alert(1)</script>'))
    assert result.code == 1
    assert "MANUAL_SITE_URL: MAN990" in result.stderr and "Traceback" not in result.stderr
    assert "<script>" in result.stderr or "\\" in result.stderr  # the value is shown, as text
    assert (built.root / "site" / "sitemap.xml").read_bytes() == before


@pytest.mark.parametrize(
    "value",
    ["javascript:alert(1)", "ftp://host/x/", "https://user@host/", "https://host/?q=1", "https://host/#x",
     "https://ho st/", "https://host/\u202eevil/", "https:///path", "https://host:99999/"],
)  # fmt: skip
def test_addresses_that_are_not_plain_http_sites_are_refused(value: str) -> None:
    with pytest.raises(ManualError) as caught:
        site_url({"MANUAL_SITE_URL": value})
    assert caught.value.diagnostics[0].code == "MAN990"


@pytest.mark.parametrize(
    "value, expected",
    [("", None), ("   ", None), ("https://host", "https://host/"), ("http://10.0.0.5:8080/manual", "http://10.0.0.5:8080/manual/"),
     ("https://手册.example.cn/销售/", "https://xn--26q012b.example.cn/%E9%94%80%E5%94%AE/"),
     ("http://[::1]:8000", "http://[::1]:8000/")],
)  # fmt: skip
def test_plain_addresses_end_in_a_slash(value: str, expected: str | None) -> None:
    assert site_url({"MANUAL_SITE_URL": value}) == expected
