"""The staff website, built by the real ``manual build`` from real git repositories (no browser here;
``test_site_browser.py`` drives the built site in Chromium).

The fixture is the demo history of :class:`revision_repo.RevisionRepo`: A/0, A/1, B/0 in force on
2026-12-01, and B/1 approved for 2027-01-15. Expected values are read from the fixture itself (its
release records, change requests and chapter files), never written into the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
import yaml
from revision_repo import RevisionRepo, shared_history

from manualkit.base.clock import prose_date
from manualkit.base.diagnostics import ManualError
from manualkit.records.history import release_history
from manualkit.site.model import LastChange, chapter_page, last_change, relative, site_versions
from manualkit.site.pages import PageHeader, header_html
from manualkit.site.redlines import Block, align, blocks, display_text, render
from manualkit.site.render import Docs, mkdocs_config, run_mkdocs

FIXTURE_TODAY = "2026-12-01"

# --- the fixture: one demo history per test session, copied for each test that changes it ---------

_demo: dict[Path, RevisionRepo] = {}


def demo_repository(factory: pytest.TempPathFactory) -> RevisionRepo:
    """The demo history (built once per session; do not modify it: take :func:`copy_of`)."""
    base = factory.getbasetemp()
    if base not in _demo:
        repo = shared_history(factory, "demo").copy_to(factory.mktemp("site-demo") / "demo")
        repo.today = FIXTURE_TODAY
        _demo[base] = repo
    return _demo[base]


def copy_of(factory: pytest.TempPathFactory, name: str) -> RevisionRepo:
    return demo_repository(factory).copy_to(factory.mktemp(name) / "demo")


def site_env(repo: RevisionRepo, **extra: str) -> dict[str, str]:
    """The repository's isolated environment, with its own place for the development signing key."""
    return {"MANUAL_HOME": str(repo.base / "manual-home"), **extra}


def build(repo: RevisionRepo, *args: str, **env: str) -> str:
    result = repo.manual("build", *args, env=site_env(repo, **env), check=True)
    assert "Traceback" not in result.stderr
    return result.stdout


def html_of(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


def text_of(element: lxml.html.HtmlElement) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the site, archived versions included (not Material's 404 page)."""
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html" and "assets" not in p.relative_to(site).parts)


def records(repo: RevisionRepo) -> list[dict[str, object]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((repo.root / "changelog" / "releases").glob("*.yml"))]


def request(repo: RevisionRepo, cr_id: str) -> dict[str, object]:
    data = yaml.safe_load((repo.root / "changelog" / "requests" / f"{cr_id}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def front_matter(repo: RevisionRepo, chapter_file: str) -> dict[str, object]:
    text = (repo.root / "manual" / chapter_file).read_text(encoding="utf-8")
    data = yaml.safe_load(text.split("---")[1])
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A copy of the demo history with ``manual build --site-only`` run once."""
    repo = copy_of(tmp_path_factory, "site-built")
    build(repo, "--site-only")
    return repo


# --- pure parts ------------------------------------------------------------------------------------


def test_links_are_relative_to_the_page() -> None:
    assert relative("index.html", "requests/CR-2026-001.html") == "requests/CR-2026-001.html"
    assert relative("requests/CR-2026-001.html", "index.html") == "../index.html"
    assert relative("archive/A-0/03-execution.html", "requests/CR-2025-001.html#approvals") == "../../requests/CR-2025-001.html#approvals"
    assert relative("diff/A-0_A-1.html", "#sec-3-2") == "#sec-3-2"
    assert chapter_page("manual/03-execution.md", "archive/A-1/") == "archive/A-1/03-execution.html"


def test_redline_of_chinese_text_marks_only_what_changed() -> None:
    old = "执行中应遵守以下规定：\n\n- 确因客户紧急需要先行发货的，须在 5 个工作日内补签合同；\n\n| 环节 | 完成时限 |\n|---|---|\n| 开票 | 客户签收后 3 个工作日内开票 |\n"
    new = "执行中应遵守以下规定：\n\n- 确因客户紧急需要先行发货的，须在 3 个工作日内补签合同；\n\n| 环节 | 完成时限 |\n|---|---|\n| 开票 | 客户签收后 2 个工作日内开票 |\n\n新增的**一段**说明。\n"
    rows = align(blocks(old), blocks(new))
    assert [r.state for r in rows] == ["same", "changed", "same", "changed", "added"]
    markup = render(rows)
    assert '<del class="redline-del">5</del><ins class="redline-ins">3</ins>' in markup
    assert '<del class="redline-del">3</del><ins class="redline-ins">2</ins>' in markup
    assert '<ins class="redline-ins">新增的一段说明。</ins>' in markup  # inline Markdown shown as text
    assert "<th>环节</th>" in markup  # the table is a table, its header row a header
    assert "确因客户紧急需要先行发货的" in markup and "<del class=\"redline-del\">确因" not in markup


def test_header_block_escapes_and_links_its_change_requests() -> None:
    header = PageHeader("XS-QM-01", "B/0", __import__("manualkit.records.edition", fromlist=["Status"]).Status.IN_FORCE, dt.date(2026, 7, 1), "销售<管理>部", LastChange("A/1", dt.date(2026, 3, 16), ("CR-2026-001",)))
    markup = header_html("archive/A-1/03-execution.html", header)
    tree = lxml.html.fromstring(f"<div>{markup}</div>")
    fields = {text_of(dt_): text_of(dd) for dt_, dd in zip(tree.iter("dt"), tree.iter("dd"), strict=True)}
    assert fields["文件编号"] == "XS-QM-01"
    assert fields["版本"].startswith("B/0")
    assert fields["实施日期"] == "2026年7月1日"  # dates are written one way on every page
    assert fields["负责部门"] == "销售<管理>部"
    assert "CR-2026-001" in fields["最近修订"] and "2026年3月16日" in fields["最近修订"]
    assert tree.xpath("//dd//a/@href") == ["../../requests/CR-2026-001.html"]
    assert "非受控（打印件）" in text_of(tree.find_class("mk-print-mark")[0])


def test_versions_on_a_day_and_what_last_changed_a_chapter(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = demo_repository(tmp_path_factory)
    entries = release_history(repo.root)
    on = site_versions(entries, dt.date(2026, 12, 1), {})
    assert [(v.name, v.status.value) for v in on] == [("A/0", "作废"), ("A/1", "作废"), ("B/0", "现行有效"), ("B/1", "已批准待实施")]
    assert on[0].superseded_by == "A/1" and on[0].effective_to == on[1].effective
    # --as-of a day before B/0 was published: B/0 and B/1 did not exist yet
    published = {str(r["version"]): dt.date.fromisoformat(str(r["published"])) for r in records(repo)}
    before = site_versions(entries, published["B/0"] - dt.timedelta(days=1), {})
    assert [v.name for v in before] == ["A/0", "A/1"]
    # chapter 3 was last changed by A/1's request for 3.2; chapter 2 by nothing after A/0 until B/1
    a1 = next(r for r in records(repo) if r["version"] == "A/1")
    cr_32 = next(cr for cr in a1["change_requests"] if "3.2" in request(repo, cr)["sections"])  # type: ignore[union-attr]
    change = last_change(on, 2, ["3.1", "3.2", "3.3", "3.4"])
    assert change is not None and (change.version, change.change_requests) == ("A/1", (cr_32,))
    assert last_change(on, 2, ["2.1", "2.2"]) == LastChange("A/0", on[0].effective, on[0].change_requests)
    change = last_change(on, 3, ["2.1", "2.2"])
    assert change is not None and change.version == "B/1"


def test_a_broken_link_fails_the_build_with_a_diagnostic(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from manualkit.text.metadata import parse_metadata

    repo = demo_repository(tmp_path_factory)
    metadata, _ = parse_metadata((repo.root / "manual" / "manual.yml").read_text(encoding="utf-8"))
    assert metadata is not None
    docs = Docs(files={"index.md": "# 首页\n\n见 [第三章](03-missing.md#sec-3-2)。\n".encode()}, nav=[{"首页": "index.md"}])
    (tmp_path / "docs").mkdir()
    docs.write(tmp_path / "docs")
    with pytest.raises(ManualError) as raised:
        run_mkdocs(mkdocs_config(metadata, tmp_path / "docs", tmp_path / "out", docs, search=False, cache_dir=None), tmp_path)
    assert [d.code for d in raised.value.diagnostics] == ["MAN730"]
    assert "03-missing.md" in raised.value.diagnostics[0].message


# --- the built site ----------------------------------------------------------------------------------


def test_the_site_shows_the_version_in_force_read_from_git(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "site-from-git")
    # An unreleased change, committed, and an uncommitted one: neither may reach the site.
    repo.append_to_section("3.2", "（已提交但未发布的修改）本段不得出现在网站上。")
    repo.commit("an unreleased edit")
    repo.append_to_section("3.3", "（未提交的修改）本段也不得出现在网站上。")
    build(repo, "--site-only")
    site = repo.root / "site"
    page = (site / "03-execution.html").read_text(encoding="utf-8")
    assert "已提交但未发布的修改" not in page and "未提交的修改" not in page
    released = repo.git("show", "release/B-0:manual/03-execution.md")
    last_line = [line for line in released.split("\n") if line.strip()][-1]
    assert re.sub(r"[*`]", "", last_line)[:20] in text_of(html_of(site / "03-execution.html"))
    home = html_of(site / "index.html")
    assert home.get_element_by_id("__config") is not None
    assert "B/0" in text_of(home.find_class("mk-meta")[0]) and "现行有效" in text_of(home.find_class("mk-meta")[0])


def test_every_page_shows_document_version_date_department_and_last_change(built: RevisionRepo) -> None:
    site = built.root / "site"
    number = yaml.safe_load((built.root / "manual" / "manual.yml").read_text(encoding="utf-8"))["document_number"]
    effective = {str(r["version"]): prose_date(dt.date.fromisoformat(str(r["effective"]))) for r in records(built)}
    pages = site_pages(site)
    assert len(pages) > 20
    for path in pages:
        tree = html_of(path)
        meta = tree.find_class("mk-meta")
        assert len(meta) == 1, path
        fields = {text_of(a): b for a, b in zip(meta[0].iter("dt"), meta[0].iter("dd"), strict=True)}
        assert list(fields) == ["文件编号", "版本", "实施日期", "负责部门", "最近修订"], path
        assert text_of(fields["文件编号"]) == number
        version = text_of(fields["版本"]).split(" ")[0]
        assert text_of(fields["实施日期"]) == effective[version], path
        for href in fields["最近修订"].xpath(".//a/@href"):
            target = (path.parent / href).resolve()
            assert target.is_file() and target.parent.name == "requests", (path, href)
        assert re.search(r"CR-\d{4}-\d{3}", text_of(fields["最近修订"])), path
    for chapter in (built.root / "manual").glob("0*.md"):
        tree = html_of(site / chapter_page(chapter.name))
        fields = {text_of(a): text_of(b) for a, b in zip(tree.iter("dt"), tree.iter("dd"), strict=False)}
        assert fields["负责部门"] == front_matter(built, chapter.name)["owner"]


def test_every_page_of_the_version_in_force_announces_the_approved_version(built: RevisionRepo) -> None:
    site = built.root / "site"
    upcoming = next(r for r in records(built) if r["version"] == "B/1")
    training = any(request(built, cr)["training_required"] for cr in upcoming["change_requests"])  # type: ignore[union-attr]
    expected = f"B/1 版将于 {prose_date(dt.date.fromisoformat(str(upcoming['effective'])))} 生效"
    assert expected == "B/1 版将于 2027年1月15日 生效"
    for path in site_pages(site):
        banners = html_of(path).find_class("mk-banner--upcoming")
        if path.relative_to(site).parts[0] == "archive" and path.name != "archive.html":
            assert not banners, path  # superseded versions carry 已作废 instead
            continue
        if path.relative_to(site).parts[0] == "upcoming" and path.name != "upcoming.html":
            assert len(banners) == 1 and "已批准待实施" in text_of(banners[0]), path  # B/1 in full
            continue
        assert len(banners) == 1, path
        assert expected in text_of(banners[0])
        text = text_of(banners[0])
        assert ("需培训部门" in text and "培训完成前按现行版本执行" in text) if training else "培训" not in text
        link = banners[0].xpath(".//a/@href")[0]
        assert (path.parent / link).resolve() == (site / "upcoming.html").resolve()
    page = html_of(site / "upcoming.html")
    assert ("需要培训" if training else "无需培训") in text_of(page.find_class("mk-upcoming-lead")[0])
    inserted = " ".join(text_of(e) for e in page.xpath('//div[@class="mk-redline"]//ins'))
    for sid in upcoming["sections"]:  # type: ignore[union-attr]
        assert page.get_element_by_id(f"sec-{str(sid).replace('.', '-')}") is not None
    assert "电子合同" in inserted  # the fixture's B/1 adds sentences about electronic contracts


def test_superseded_versions_are_archived_with_a_banner_and_noindex(built: RevisionRepo) -> None:
    site = built.root / "site"
    chapters = sorted(p.name for p in (built.root / "manual").glob("0*.md"))
    for version in ("A/0", "A/1"):
        folder = site / "archive" / version.replace("/", "-")
        assert sorted(p.name for p in folder.glob("0*.html")) == [chapter_page(c) for c in chapters]
        for path in folder.glob("*.html"):
            if path.name == "404.html":
                continue
            tree = html_of(path)
            banner = tree.find_class("mk-banner--superseded")
            assert len(banner) == 1 and "已作废" in text_of(banner[0]), path
            assert tree.xpath('//meta[@name="robots"]/@content') == ["noindex, nofollow"], path
            assert text_of(tree.find_class("mk-meta")[0]).count(version) >= 1
        released = built.git("show", f"release/{version.replace('/', '-')}:manual/01-overview.md")
        assert re.sub(r"\s+", "", released.split("## 1.1")[1].split("\n", 2)[2].split("\n")[0])[:15] in re.sub(r"\s+", "", text_of(html_of(folder / "01-overview.html")))
    assert not html_of(site / "index.html").xpath('//meta[@name="robots"]')
    archive = text_of(html_of(site / "archive.html"))
    assert all(v in archive for v in ("A/0", "A/1", "B/0", "B/1"))


def test_a_redline_between_each_pair_of_consecutive_versions(built: RevisionRepo) -> None:
    site = built.root / "site"
    versions = [str(r["version"]) for r in records(built)]
    for old, new in itertools.pairwise(versions):
        page = site / "diff" / f"{old.replace('/', '-')}_{new.replace('/', '-')}.html"
        tree = html_of(page)
        record = next(r for r in records(built) if r["version"] == new)
        for sid in record["sections"]:  # type: ignore[union-attr]
            assert tree.get_element_by_id(f"sec-{str(sid).replace('.', '-')}") is not None, (page, sid)
        # what the release added to its sections is marked as inserted; it deleted nothing
        inserted = [text_of(e) for e in tree.xpath('//div[@class="mk-redline"]//ins')]
        assert inserted and not tree.xpath('//div[@class="mk-redline"]//del')
        for text in inserted:
            assert text in built.git("show", f"release/{new.replace('/', '-')}:manual/{_chapter_of(built, text, new)}")


def test_a_comparison_table_for_each_release_linked_from_the_records_and_the_banner(built: RevisionRepo) -> None:
    site = built.root / "site"
    versions = [str(r["version"]) for r in records(built)]
    for old, new in itertools.pairwise(versions):
        name = f"comparison/{old.replace('/', '-')}_{new.replace('/', '-')}.html"
        tree = html_of(site / name)
        table = tree.xpath('//div[contains(@class, "mk-comparison")]/table')
        assert len(table) == 1, name
        assert "mk-stack" in table[0].getparent().get("class")  # a card per row on a narrow screen
        assert [text_of(th) for th in table[0].xpath(".//thead//th")] == ["序号", "条款", "修订前", "修订后", "修订说明", "修订申请单"]
        rows = table[0].xpath(".//tbody/tr")
        assert rows and [text_of(r.xpath("td")[0]) for r in rows] == [str(i) for i in range(1, len(rows) + 1)], name
        assert all(td.get("data-label") for r in rows for td in r.xpath("td"))
        record = next(r for r in records(built) if r["version"] == new)
        for cr in record["change_requests"]:  # type: ignore[union-attr]
            assert any(text_of(r.xpath("td")[5]) == cr for r in rows), (name, cr)
        for page in ("revisions.html", "archive.html", f"diff/{old.replace('/', '-')}_{new.replace('/', '-')}.html"):
            links = [(site / page).parent / h for h in html_of(site / page).xpath("//a/@href")]
            assert (site / name).resolve() in [link.resolve() for link in links], (page, name)
    b0 = [[text_of(td) for td in r.xpath("td")] for r in html_of(site / "comparison/A-1_B-0.html").xpath('//div[contains(@class, "mk-comparison")]//tbody/tr')]
    reason = " ".join(str(request(built, "CR-2026-003")["reason"]).split())
    for section in ("5.1 ", "6.2 "):
        found = [r for r in b0 if r[1].startswith(section)]
        assert found and all(r[5] == "CR-2026-003" and " ".join(r[4].split()) == reason for r in found), section
        assert all(r[2] != r[3] for r in found)
    banner = html_of(site / "index.html").find_class("mk-banner--upcoming")[0]
    assert "comparison/B-0_B-1.html" in banner.xpath(".//a/@href")


def test_the_comparison_page_escapes_every_text() -> None:
    from manualkit.documents.comparison_table import ComparisonRow
    from manualkit.records.edition import Status
    from manualkit.site.model import SiteVersion
    from manualkit.site.pages import comparison_markdown

    hostile = "<script>alert(1)</script>"

    def version(name: str) -> SiteVersion:
        return SiteVersion(
            name, name.replace("/", "-"), Status.IN_FORCE, "一般修订", dt.date(2026, 1, 1), dt.date(2026, 2, 1), None, None,
            ("CR-2026-009",), ("3.2",), f"摘要 {hostile}", False, (), (), "0" * 40, "0" * 40,
        )  # fmt: skip

    rows = [ComparisonRow(1, f"3.2 {hostile}", "新增", hostile, f"原因 {hostile} & <b>", "CR-2026-009")]
    page = comparison_markdown("comparison/A-0_A-1.html", version("A/0"), version("A/1"), rows)
    assert "<script>" not in page and "<b>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 4  # clause, after, reason, summary
    assert '<td data-label="修订前" class="mk-added">新增</td>' in page


def _chapter_of(repo: RevisionRepo, text: str, version: str) -> str:
    for path in sorted((repo.root / "manual").glob("0*.md")):
        if text in repo.git("show", f"release/{version.replace('/', '-')}:manual/{path.name}"):
            return path.name
    raise AssertionError(f"{text!r} is in no chapter of {version}")


def test_redline_of_an_edit_inside_a_sentence_is_at_character_level(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "site-edit")
    cr = repo.propose("minor", ["3.1"], title="缩短补签合同时限", today="2026-11-30")
    repo.replace_in_manual("changelog/requests/" + cr + ".yml", "training_required: false", "training_required: true")
    repo.replace_in_manual("03-execution.md", "并在 5 个工作日内补签合同", "并在 3 个工作日内补签合同")
    repo.approve_all(cr, "2026-11-30")
    repo.commit(f"{cr} approved")
    repo.release("2026-12-01", "2027-02-01")
    build(repo, "--site-only")
    site = repo.root / "site"
    tree = html_of(site / "diff" / "B-1_B-2.html")
    assert [text_of(e) for e in tree.xpath('//div[@class="mk-redline"]//del')] == ["5"]
    assert [text_of(e) for e in tree.xpath('//div[@class="mk-redline"]//ins')] == ["3"]
    banners = [text_of(b) for b in html_of(site / "index.html").find_class("mk-banner--upcoming")]
    assert len(banners) == 2 and "B/2 版将于 2027年2月1日 生效" in banners[1] and "需培训部门" in banners[1]


# A 1×1 PNG (a complete, valid file)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a8a3b1c60000000049454e44ae426082"
)


def test_images_released_with_a_chapter_are_on_the_site(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "site-image")
    (repo.root / "manual" / "images").mkdir()
    (repo.root / "manual" / "images" / "流程图.png").write_bytes(PNG)
    repo.prepared("editorial", ["3.1"], day="2026-11-30", text="销售业务流程如下图所示：\n\n![销售业务流程图](images/流程图.png)")
    repo.release("2026-12-01", "2027-02-01")
    build(repo, "--site-only", "--as-of", "2027-02-01")
    site = repo.root / "site"
    img = html_of(site / "03-execution.html").xpath("//article//img")
    assert len(img) == 1 and img[0].get("alt") == "销售业务流程图"
    assert (site / "03-execution.html").parent.joinpath(urllib.request.url2pathname(img[0].get("src"))).read_bytes() == PNG
    assert not (site / "archive" / "B-1" / "images").exists()  # B/1 had no images


def test_each_change_request_has_a_page_with_its_verified_approvals(built: RevisionRepo) -> None:
    site = built.root / "site"
    ids = [cr for r in records(built) for cr in r["change_requests"]]  # type: ignore[attr-defined]
    assert sorted(p.stem for p in (site / "requests").glob("*.html")) == sorted(ids)
    for cr_id in ids:
        data = request(built, cr_id)
        tree = html_of(site / "requests" / f"{cr_id}.html")
        table = tree.find_class("mk-signatures")[0]
        rows = [[text_of(td) for td in tr.iter("td")] for tr in table.iter("tr") if tr.find("td") is not None]
        approvals = data["approvals"]
        assert isinstance(approvals, list) and len(rows) == len(approvals)
        for row, approval in zip(rows, approvals, strict=True):
            assert approval["role"] in row[0]
            assert approval["name"] in row[1] and approval["signer"] in row[1]
            assert row[3].startswith(str(approval["signed_at"])[:16].replace("T", " "))
            assert row[4].startswith("✓ 有效")
        assert str(data["title"]) in text_of(tree.find_class("mk-cover")[0])


def test_search_indexes_chapters_requests_and_revisions_and_leaves_chinese_to_the_browser(built: RevisionRepo) -> None:
    site = built.root / "site"
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    chapters = {chapter_page(p.name) for p in (built.root / "manual").glob("0*.md")}
    requests = {f"requests/{p.stem}.html" for p in (built.root / "changelog" / "requests").glob("CR-*.yml")}
    assert {d["location"].split("#")[0] for d in index["docs"]} == chapters | requests | {"revisions.html"}
    assert not any("\u200b" in d["text"] for d in index["docs"])  # jieba stayed out of the build
    assert any("sec-3-2" in d["location"] for d in index["docs"])  # section anchors {#sec-3-2} kept
    config = html_of(site / "index.html").get_element_by_id("__config").text or ""
    assert "manualkit-search.js?material=search." in json.loads(config)["search"]
    assert not (site / "archive" / "A-0" / "search").exists()


def test_the_site_is_static_with_relative_links_and_no_outside_requests(built: RevisionRepo) -> None:
    site = built.root / "site"
    for path in site_pages(site):
        tree = html_of(path)
        for attribute in ("src", "href"):
            for element in tree.xpath(f"//*[@{attribute}]"):
                value = element.get(attribute)
                assert not value.startswith("/"), (path, value)
                if element.tag != "a":  # a resource the browser would fetch
                    assert not re.match(r"^[a-z]+:", value), (path, value)
    for path in [*site.rglob("*.css"), *site.rglob("*.js")]:
        if "manualkit" in path.parts or path.parent.name in ("stylesheets",):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path
            assert "fonts.googleapis" not in text, path


def test_switch_over_on_the_effective_date_rebuilds_only_the_newly_superseded_version(built: RevisionRepo) -> None:
    repo = built
    second = build(repo, "--site-only")
    assert "本次构建 0 个，取自缓存 2 个" in second
    effective = next(str(r["effective"]) for r in records(repo) if r["version"] == "B/1")
    out = build(repo, "--site-only", "--as-of", effective)
    assert "现行有效的 B/1 版" in out and "本次构建 1 个，取自缓存 2 个" in out
    site = repo.root / "site"
    assert not html_of(site / "index.html").find_class("mk-banner--upcoming")
    assert "B/1" in text_of(html_of(site / "index.html").find_class("mk-meta")[0])
    assert "已作废" in text_of(html_of(site / "archive" / "B-0" / "index.html").find_class("mk-banner--superseded")[0])
    # the archived versions in the site are links to the cache, keyed by content digest
    cache = repo.root / ".git" / "manualkit" / "site-cache"
    entries = sorted(cache.glob("archive-*"))
    built_versions = sorted((e / ".complete").read_text().strip() for e in entries)
    assert built_versions == ["A/0", "A/1", "B/0", "B/1"]  # B/1 from the builds before, in full as approved
    cached = next(e for e in entries if (e / ".complete").read_text().strip() == "A/0")
    assert (cached / "03-execution.html").stat().st_ino == (site / "archive" / "A-0" / "03-execution.html").stat().st_ino
    build(repo, "--site-only")  # and back: every page built again from the cache


def test_as_of_a_date_shows_the_site_as_it_stood_then(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "site-as-of")
    b0 = next(r for r in records(repo) if r["version"] == "B/0")
    day = (dt.date.fromisoformat(str(b0["published"])) - dt.timedelta(days=1)).isoformat()
    assert "现行有效的 A/1 版" in build(repo, "--site-only", "--as-of", day)
    site = repo.root / "site"
    revisions = text_of(html_of(site / "revisions.html"))
    assert "A/1" in revisions and "B/0" not in revisions
    assert not html_of(site / "index.html").find_class("mk-banner--upcoming")
    early = repo.manual("build", "--site-only", "--as-of", "2025-06-01", env=site_env(repo))
    assert early.code == 1 and "MAN687" in early.stderr


def test_a_tampered_history_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "site-tampered")
    repo.replace_in_manual("changelog/releases/A-1.yml", "summary: ", "summary: 篡改")
    repo.commit("edit a released record")
    result = repo.manual("build", "--site-only", env=site_env(repo))
    assert result.code == 1 and "MAN681" in result.stderr and "Traceback" not in result.stderr
    assert not (repo.root / "site").exists()


def test_text_holding_raw_html_is_never_rendered(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``manual check``, ``approve`` and ``release`` refuse raw HTML; should a release hold some
    anyway, the site refuses to render it (MkDocs would pass it to every reader's browser)."""
    from manualkit.site.build import refuse_unsafe_markup
    from manualkit.text.manual import ManualFiles, load_manual
    from manualkit.text.worktree import read_manual_files

    repo = demo_repository(tmp_path_factory)
    files = read_manual_files(repo.root)
    manual = load_manual(files).manual
    assert manual is not None
    refuse_unsafe_markup("B/1", manual, files)  # the released text is fine
    for bad, code in (("<script>alert('x')</script>", "MAN302"), ("[点此](javascript:alert(1))", "MAN303"), ("<b>粗</b>", "MAN301")):
        path = "manual/03-execution.md"
        contents = {**files.contents, path: files.contents[path] + f"\n{bad}\n".encode()}
        tampered = ManualFiles(contents, files.names, files.problems)
        loaded = load_manual(tampered).manual
        assert loaded is not None
        with pytest.raises(ManualError) as raised:
            refuse_unsafe_markup("B/1", loaded, tampered)
        assert {d.code for d in raised.value.diagnostics} == {code}, bad


def test_the_site_is_never_written_over_the_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    from manualkit.base import clock
    from manualkit.base.run import Run
    from manualkit.site.build import build_site

    repo = demo_repository(tmp_path_factory)
    run = Run.at(repo.root, {"MANUAL_TODAY": "2026-12-01"}, clock.CST)
    for target in (repo.root, repo.root / "manual" / ".."):
        with pytest.raises(ManualError) as raised:
            build_site(run, dt.date(2026, 12, 1), site_dir=target)
        assert [d.code for d in raised.value.diagnostics] == ["MAN731"]


def test_the_full_build_offers_the_signed_docx_that_manual_verify_accepts(tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = copy_of(tmp_path_factory, "site-docx")
    out = build(repo)
    site = repo.root / "site"
    # every release is offered on the site (issue 24); dist/ holds the version in force
    assert sorted(p.name for p in (site / "downloads").glob("*.docx")) == [f"XS-QM-01_{v}.docx" for v in ("A-0", "A-1", "B-0", "B-1")]
    docx = [site / "downloads" / "XS-QM-01_B-0.docx"]
    data = docx[0].read_bytes()
    assert (repo.root / "dist" / docx[0].name).read_bytes() == data
    pdf = (site / "downloads" / "XS-QM-01_B-0.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and (repo.root / "dist" / "XS-QM-01_B-0.pdf").read_bytes() == pdf
    sums = f"{hashlib.sha256(data).hexdigest()}  {docx[0].name}\n{hashlib.sha256(pdf).hexdigest()}  XS-QM-01_B-0.pdf\n"
    assert (repo.root / "dist" / "SHA256SUMS").read_text() == sums
    assert set(sums.splitlines()) < set((site / "downloads" / "SHA256SUMS").read_text().splitlines())
    assert "dist/SHA256SUMS" in out
    page = html_of(site / "downloads.html")
    assert hashlib.sha256(data).hexdigest() in text_of(page)
    verified = repo.manual("verify", str(docx[0]), env=site_env(repo))
    assert verified.code == 0, verified.output


# --- manual serve ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read()).decode("utf-8")


def _wait_for(url: str, needle: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            last = _get(url)
            if needle in last:
                return last
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} did not appear at {url}")


@pytest.fixture
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RevisionRepo, str]]:
    from revision_repo import manual_command

    repo = copy_of(tmp_path_factory, "site-serve")
    port = _free_port()
    log = repo.base / "serve.log"
    temporary = repo.base / "tmp"  # the preview's own TMPDIR: empty again once it has stopped
    temporary.mkdir()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*manual_command(), "serve", "--dev-addr", f"127.0.0.1:{port}"],
            cwd=repo.root, env=repo.env(site_env(repo, TMPDIR=str(temporary))), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
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
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text
    assert f"http://127.0.0.1:{port}/" in text
    assert proc.returncode is not None
    assert not list(temporary.iterdir()), "manual serve left temporary folders behind"


def test_serve_previews_the_working_tree_as_a_draft(serving: tuple[RevisionRepo, str]) -> None:
    repo, base = serving
    home = _wait_for(base + "index.html", "草稿（未生效）")
    assert "mk-banner--draft" in home
    chapter = _wait_for(base + "03-execution.html", "草稿（未生效）")
    assert "mk-banner--upcoming" not in chapter
    version = lxml.html.fromstring(chapter).xpath('//dl[@class="mk-meta"]/div[dt="版本"]/dd')[0]
    assert text_of(version) == "草稿（未生效）"  # the badge says it once, not 草稿 草稿（未生效）
    repo.append_to_section("3.2", "（编辑中的草稿）预览应当立即显示这一段。")
    page = _wait_for(base + "03-execution.html", "编辑中的草稿")
    assert "草稿（未生效）" in page
    changes = _wait_for(base + "changes.html", "编辑中的草稿")
    assert "redline-ins" in changes
    shutil.rmtree(repo.root / "site", ignore_errors=True)


# --- the blocks of a section body, as the site's redlines read them (markdown-it tokens) ------------


def test_nested_bullet_lists_keep_their_depth() -> None:
    body = "适用范围：\n\n- 线上渠道\n    - 官方网站\n        - 移动端页面\n    - 电商平台\n- 线下渠道\n"
    assert blocks(body) == [
        Block("p", 0, ("适用范围：",)),
        Block("li", 0, ("线上渠道",)),
        Block("li", 1, ("官方网站",)),
        Block("li", 2, ("移动端页面",)),
        Block("li", 1, ("电商平台",)),
        Block("li", 0, ("线下渠道",)),
    ]


def test_ordered_list_items_keep_their_numbers_and_a_nested_bullet_its_depth() -> None:
    body = "1. **提出申请**：填写《流程变更申请表》。\n2. **实施准备**：\n    - 信息技术部完成系统调整；\n3. **发布实施**。\n"
    assert blocks(body) == [
        Block("ol", 0, ("1. 提出申请：填写《流程变更申请表》。",)),
        Block("ol", 0, ("2. 实施准备：",)),
        Block("li", 1, ("信息技术部完成系统调整；",)),
        Block("ol", 0, ("3. 发布实施。",)),
    ]


def test_table_rows_are_cells_with_the_header_row_marked_and_escaped_pipes_kept_in_their_cell() -> None:
    body = "| 环节 | 完成时限 |\n|---|---|\n| 开票 | 金额 \\| 税额当日核对 |\n| 回款 | `A\\|B` 类客户 30 日 |\n"
    rows = blocks(body)
    assert rows == [
        Block("tr", 0, ("环节", "完成时限"), header=True),
        Block("tr", 0, ("开票", "金额 | 税额当日核对")),
        Block("tr", 0, ("回款", "A|B 类客户 30 日")),
    ]
    assert rows[1].text == "开票 | 金额 | 税额当日核对"


def test_a_block_quote_is_one_quote_block_between_paragraphs() -> None:
    body = "目标值见上表。\n\n> 注：上表目标值以**总经理办公室**下达的文件为准。\n\n其余按 5.1 执行。\n"
    assert blocks(body) == [
        Block("p", 0, ("目标值见上表。",)),
        Block("quote", 0, ("注：上表目标值以总经理办公室下达的文件为准。",)),
        Block("p", 0, ("其余按 5.1 执行。",)),
    ]


def test_sub_headings_keep_their_level_and_lose_their_anchor() -> None:
    body = "### 一、执行前确认 {#step-1}\n\n#### （一）资料准备\n\n正文。\n"
    assert blocks(body) == [
        Block("h", 3, ("一、执行前确认",)),
        Block("h", 4, ("（一）资料准备",)),
        Block("p", 0, ("正文。",)),
    ]


def test_inline_markdown_is_shown_as_the_text_a_reader_sees() -> None:
    markdown = "在 `ERP` 中填写[合同评审表](04-records.md#sec-4-1)，见![销售流程图](images/flow.png)；**必须**在*当日*完成。"
    expected = "在 ERP 中填写合同评审表，见〔图片：销售流程图〕；必须在当日完成。"
    assert display_text(markdown) == expected
    assert blocks(markdown) == [Block("p", 0, (expected,))]
    assert display_text("`**不是粗体**` 与 a\\*b") == "**不是粗体** 与 a*b"


def test_a_paragraph_wrapped_over_two_lines_is_one_block() -> None:
    body = "报价单的有效期为 15 日；\n超过有效期的报价须重新审批。\n\n客户资料录入 CRM\nsystem 后方可报价。\n\n- 列表项的第一行\n    与续行合为一项\n"
    assert blocks(body) == [
        Block("p", 0, ("报价单的有效期为 15 日；超过有效期的报价须重新审批。",)),
        Block("p", 0, ("客户资料录入 CRM system 后方可报价。",)),
        Block("li", 0, ("列表项的第一行与续行合为一项",)),
    ]
