"""Hostile text from records is shown, never run: script, markup and quotes in every field that a
record carries (change request title, reason, summary, applicant, department; an approver's name
and department in the policy; the company's name in manual.yml) go through a real release, a real
``manual build`` and headless Chromium, and through every other output (search index, DOCX, the
HTML reports of ``audit`` and ``diff``).

A field "runs" if the page sets ``window.__pwned`` (a script element, an event handler, a
``javascript:`` URL) or grows an element the text spelled; it "shows literally" if the page's text
holds the exact characters that were typed.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest
from revision_repo import RevisionRepo
from test_site_browser import CHROMIUM, CHROMIUM_ARGS, _require_chromium, serving

# Each field gets its own marker so a finding names the field it came from.
PAYLOAD = "<script>window.__pwned='{0}'</script><img src=x onerror=\"window.__pwned='{0}'\">\"'&amp;</title><b>{0}</b>"
FIELDS = ("title", "reason", "summary", "applicant", "department", "approver", "approver_department", "company")


def hostile(field: str) -> str:
    return f"{field}:" + PAYLOAD.format(field)


@dataclass
class Hostile:
    repo: RevisionRepo
    cr: str


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML string


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    repo = RevisionRepo(tmp_path_factory.mktemp("hostile") / "r")
    # the records' other sources, the registry of approvers and the manual's own metadata, as they
    # stand from the first release on (changing them later needs a change request listing policy)
    repo.replace_in_manual("policy.yml", "name: 李娜", f"name: {_yaml_string(hostile('approver'))}")
    repo.replace_in_manual(
        "policy.yml", "department: 质量管理部", f"department: {_yaml_string(hostile('approver_department'))}"
    )
    repo.replace_in_manual("manual.yml", "company: 晟达实业有限公司", f"company: {_yaml_string(hostile('company'))}")
    repo.replace_in_manual("manual.yml", "  - 物流仓储部", f"  - 物流仓储部\n  - {_yaml_string(hostile('department'))}")
    repo.commit("hostile registry and metadata")
    repo.first_release()
    result = repo.run(
        "propose", "--class", "minor", "--sections", "3.2", "--title", hostile("title"), "--reason", hostile("reason"),
        "--summary", hostile("summary"), "--applicant", hostile("applicant"), "--department", hostile("department"),
        env={"MANUAL_TODAY": "2026-02-10"},
    )  # fmt: skip
    cr = result.stdout.split("changelog/requests/")[1].split(".yml")[0]
    repo.append_to_section("3.2", "报价单的有效期为 15 日；超过有效期的报价须重新审批。")
    repo.approve_all(cr, "2026-02-20")
    repo.commit(f"{cr} approved")
    repo.release("2026-03-01", "2026-03-16")
    repo.today = "2026-04-01"
    built = repo.manual("build", env={"MANUAL_HOME": str(repo.base / "manual-home")})
    assert built.code == 0 and "Traceback" not in built.stderr, built.output
    return Hostile(repo, cr)


def _site_pages(repo: RevisionRepo) -> list[Path]:
    return sorted((repo.root / "site").rglob("*.html"))


def _assert_inert(document: lxml.html.HtmlElement, where: str) -> None:
    """No element or attribute that the payload spelled exists in ``document``."""
    for script in document.iter("script"):
        assert "__pwned" not in (script.text or ""), f"{where}: a record's <script> became an element"
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            handler = name.startswith("on") or value.strip().lower().startswith("javascript:")
            assert not (handler and "__pwned" in value), f"{where}: <{element.tag} {name}={value!r}> came from a record"
        assert not (element.tag == "img" and element.get("src") == "x"), f"{where}: a record's <img> became an element"


def test_every_page_of_the_site_keeps_record_text_inert(hostile_repo: Hostile) -> None:
    seen: set[str] = set()
    for path in _site_pages(hostile_repo.repo):
        text = path.read_text(encoding="utf-8")
        _assert_inert(lxml.html.fromstring(text), str(path))
        shown = lxml.html.fromstring(text).text_content()
        seen.update(f for f in FIELDS if hostile(f) in shown)
    # every field reached some page, as the exact characters typed
    assert seen >= {"title", "reason", "summary", "applicant", "department", "approver", "company"}, seen


def test_page_titles_and_the_search_index_hold_escaped_text(hostile_repo: Hostile) -> None:
    page = hostile_repo.repo.root / "site" / "requests" / f"{hostile_repo.cr}.html"
    document = lxml.html.fromstring(page.read_text(encoding="utf-8"))
    title = document.find(".//title")
    assert title is not None and hostile("title") in (title.text or "")
    index = json.loads((hostile_repo.repo.root / "site" / "search" / "search_index.json").read_text(encoding="utf-8"))
    for doc in index["docs"]:
        for key in ("title", "text"):
            assert "<script" not in doc[key] and "<img" not in doc[key], doc["location"]


def test_headless_chromium_runs_nothing_and_shows_the_text(hostile_repo: Hostile) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    dialogs: list[str] = []
    with serving(hostile_repo.repo.root / "site") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requested.append(r.url))
        for path in _site_pages(hostile_repo.repo):
            rel = path.relative_to(hostile_repo.repo.root / "site").as_posix()
            # goto returns after the load event: by then every script in the page has run and
            # every image has loaded or failed (an onerror handler included).
            response = page.goto(base + rel)
            assert response is not None and response.status == 200, rel
            assert page.evaluate("window.__pwned") is None, f"script from a record ran on {rel}"
            assert page.locator("img[src='x']").count() == 0, rel
        # the change request's page shows the title literally, in the tab title and the heading
        page.goto(base + f"requests/{hostile_repo.cr}.html")
        assert hostile("title") in page.title()
        body = page.locator("body").inner_text()
        for field in ("title", "reason", "summary", "applicant", "department", "approver"):
            assert hostile(field) in body, field
        # search shows the hostile title as text too
        box = page.locator("input[data-md-component=search-query]")
        box.click()
        box.fill("报价单")
        page.keyboard.press("End")
        page.wait_for_selector(".md-search-result__item")
        assert page.evaluate("window.__pwned") is None
        browser.close()
    assert not dialogs
    assert not [u for u in requested if u.endswith("/x")], "an <img src=x> from a record was requested"


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def test_docx_and_html_reports_escape_record_text(hostile_repo: Hostile, tmp_path: Path) -> None:
    repo = hostile_repo.repo
    out = tmp_path / "a.docx"
    result = repo.manual(
        "docx", "--version", "A/1", "-o", str(out), env={"MANUAL_HOME": str(repo.base / "manual-home")}
    )
    assert result.code == 0, result.output
    import docx

    document = docx.Document(str(out))
    cells = " ".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert hostile("title") in cells or hostile("summary") in cells
    assert "<script>" not in _docx_text(out)  # the XML holds &lt;script&gt;
    for args in (("audit", "--format", "html"), ("diff", "--from", "A/0", "--to", "A/1", "--format", "html")):
        target = tmp_path / f"{args[0]}.html"
        result = repo.manual(*args, "-o", str(target))
        assert "Traceback" not in result.stderr, result.stderr
        html = target.read_text(encoding="utf-8")
        _assert_inert(lxml.html.fromstring(html), args[0])
    diff_html = (tmp_path / "diff.html").read_text(encoding="utf-8")
    assert hostile("title") in lxml.html.fromstring(diff_html).text_content()


def test_the_revision_history_file_holds_record_text_as_text(hostile_repo: Hostile) -> None:
    text = (hostile_repo.repo.root / "changelog" / "revision-history.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if hostile_repo.cr in line)
    assert "<script" not in text and "<img" not in text
    assert row.count(" | ") == text.splitlines()[4].count(" | "), "a record's | split the table row"
