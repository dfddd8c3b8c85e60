"""The Markdown the site renders is the Markdown `check` checked: Python-Markdown's attribute
lists (``{: onfocus="…" }``, ``{: href="javascript:…" }``, ``{: style="display:none" }``), which
the site used to apply and the check never saw, are refused by ``check``, ``approve`` and
``release`` (MAN870), never applied by the site's renderer, and a version holding one is not
rendered. A heading's trailing ``{#id}`` is the one form that stays (its anchor)."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
from revision_repo import RevisionRepo, shared_history

from manualkit.text.markup import scan

# The three tricks of issue 26, as an editor would write them under a paragraph of section 3.2.
TRICKS = {
    "handler": '客户信息应当及时录入系统。\n{: tabindex="0" autofocus onfocus="document.title=\'pwned\'" }',
    "javascript-href": '详见[操作指引](https://intranet.example.com/guide){: href="javascript:alert(document.cookie)" }。',
    "hidden-text": '本条款自发布之日起停止执行。\n{: style="display:none" }',
}


def codes(body: str) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in scan(body, "manual/03-execution.md", 10, set()).diagnostics]


@pytest.mark.unit
@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_check_refuses_each_attribute_list_trick(trick: str) -> None:
    found = codes(TRICKS[trick] + "\n")
    assert [code for code, _ in found] == ["MAN870"]
    assert found[0][1] == (11 if "\n" in TRICKS[trick] else 10)  # the line holding the braces


@pytest.mark.unit
@pytest.mark.parametrize(
    "body",
    [
        "## 3.2 标题 {: onclick=\"x\" } {#sec-3-2}\n",  # before the anchor
        "## 3.2 标题 {: .hidden }\n",  # in place of it
        "- 列表项 {: .x }\n",
        "| 列 |\n|---|\n| 格 {: onmouseover=\"a&amp;b\" } |\n",  # split by an entity
        "**加粗**{: style=\"color:red\" }的文字\n",
        "文字 `代码`{ #x } 文字\n",
        "花括号 {客户名称} 里的文字\n",
    ],
)
def test_check_refuses_attribute_lists_in_every_place(body: str) -> None:
    assert [code for code, _ in codes(body)] == ["MAN870"]


@pytest.mark.unit
@pytest.mark.parametrize("body", ["## 3.2 业务流程实施步骤 {#sec-3-2}\n", "文字 `{a: 1}` 在代码里\n", "文字｛全角｝\n"])
def test_a_heading_anchor_and_code_stay_allowed(body: str) -> None:
    assert codes(body) == []


@pytest.mark.unit
@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_the_site_renderer_applies_no_attribute_list(trick: str, tmp_path: Path) -> None:
    import markdown

    from manualkit.site.render import Docs, mkdocs_config
    from manualkit.text.metadata import ManualMetadata

    metadata = ManualMetadata("销售业务流程规范手册（标准版）", "XS-QM-01", "晟达实业有限公司", "销售部", "销售部", (), ())
    config = mkdocs_config(metadata, tmp_path, tmp_path / "site", Docs(), search=False, cache_dir=None)
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in config["markdown_extensions"]]
    html = markdown.markdown(TRICKS[trick] + "\n\n## 3.2 标题 {#sec-3-2}\n", extensions=extensions)
    elements = [e for fragment in lxml.html.fragments_fromstring(html) for e in fragment.iter()]
    attributes = {(e.tag, name, value) for e in elements for name, value in e.attrib.items()}
    assert attributes <= {("a", "href", "https://intranet.example.com/guide"), ("h2", "id", "sec-3-2")}
    assert "{: " in html  # the braces are shown as text, as the DOCX shows them


@pytest.fixture
def released(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released").copy_to(tmp_path / "copy")


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_a_release_carrying_an_attribute_list_is_refused_before_it_is_made(released: RevisionRepo, trick: str) -> None:
    tags, head = released.tags(), released.head()
    cr = released.propose("minor", ["3.2"], today="2026-02-02")
    released.append_to_section("3.2", TRICKS[trick])
    check = released.manual("check")
    assert check.code == 1 and "MAN870" in check.codes(), check.output
    for hour, role in enumerate(released.roles_for("minor"), start=9):
        approved = released.approve(cr, role, now=f"2026-02-02T{hour:02d}:00:00+08:00", check=False)
        assert "Traceback" not in approved.output
    released.commit(f"{cr}: 3.2 with an attribute list")
    result = released.release("2026-02-10", "2026-02-20", check=False)
    assert result.code == 1 and "MAN870" in result.codes(), result.output
    assert "Traceback" not in result.output
    assert released.tags() == tags  # nothing released
    assert released.git("rev-parse", "HEAD~1").strip() == head


def test_audit_reports_an_attribute_list_in_a_released_version(released: RevisionRepo) -> None:
    """A release made past the check (its commit rewritten to carry the trick) is reported by
    the audit afterwards, with the version it is in."""
    message = released.git("log", "-1", "--format=%B").strip()
    tag = next(t for t in released.tags() if released.git("rev-list", "-n", "1", t).strip() == released.head())
    released.git("reset", "--soft", "HEAD~1")
    released.append_to_section("3.2", TRICKS["handler"])
    released.commit(message)
    released.git("tag", "-f", tag)
    released.git("checkout", "HEAD~1", "--", "manual/03-execution.md")  # today's text is clean again
    released.commit("3.2 without the attribute list")
    result = released.manual("audit", "--json")
    assert result.code == 1 and result.stdout.startswith("{"), result.output
    findings = [f for c in json.loads(result.stdout)["checks"] if c["key"] == "text" for f in c["findings"]]
    # the version, then the clause as the manual numbers it (text/clause.py), never a source line
    assert any(f["code"] == "MAN870" and f["message"].startswith("A/0 版 3.2") and "行" not in f["message"].split("：")[0] for f in findings), findings
