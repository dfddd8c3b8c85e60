"""The furniture of a controlled copy, as a quality manager checks it: a superseded copy says when
and by what it was superseded, 修订记录 keeps dates, request numbers and section lists whole,
tables are numbered 表 X-X with a gap after them, change bars reach into tables, and the text ends
with （以下空白）."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import base_env, run_manual
from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def copies(project_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    home = tmp_path_factory.mktemp("home")
    env = base_env(home, MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(home / "mh"))
    out: dict[str, dict[str, bytes]] = {}
    for version in ("A/1", "B/0"):
        target = home / f"{version.replace('/', '-')}.docx"
        code, stdout, err = run_manual(["docx", "--version", version, "-o", str(target)], project_clone, env)
        assert code == 0, stdout + err
        with zipfile.ZipFile(target) as z:
            out[version] = {name: z.read(name) for name in z.namelist()}
    return out


def _text(xml: bytes) -> str:
    return "".join(etree.fromstring(xml).itertext())


def test_a_superseded_copy_names_its_successor_and_the_day_on_cover_and_header(copies: dict[str, dict[str, bytes]]) -> None:
    parts = copies["A/1"]
    assert "自 2026-07-01 起由 B/0 版替代" in _text(parts["word/document.xml"])
    headers = [_text(xml) for name, xml in parts.items() if name.startswith("word/header")]
    assert all("作废（2026-07-01 起由 B/0 替代）" in text for text in headers)
    assert "替代" not in "".join(_text(xml) for name, xml in copies["B/0"].items() if name.startswith("word/header"))


def test_the_revision_table_keeps_each_date_request_and_section_whole(copies: dict[str, dict[str, bytes]]) -> None:
    root = etree.fromstring(copies["B/0"]["word/document.xml"])
    table = next(t for t in root.iter(f"{W}tbl") if "修订内容摘要" in "".join(t.itertext()))
    widths = [int(c.get(f"{W}w")) for c in table.iter(f"{W}gridCol")]
    # 五号 Liberation Serif: "2026-03-16" needs about 1,060 twips with the cell margins, "CR-2026-001" 1,240
    assert widths[-1] >= 1100 and widths[-2] >= 1100 and widths[4] >= 1240
    a1_row = next(r for r in table.iter(f"{W}tr") if "A/1" in "".join(r.itertext()))
    cells = a1_row.findall(f"{W}tc")
    sections = cells[2].find(f"{W}p")
    assert [t.text for t in sections.iter(f"{W}t")] == ["1.3", "3.2", "3.3", "7.4"] and len(sections.findall(f".//{W}br")) == 3


def _style(element: etree._Element) -> str:
    found = element.find(f"{W}pPr/{W}pStyle")
    return "" if found is None else str(found.get(f"{W}val"))


def test_tables_have_captions_a_gap_after_them_and_change_bars_on_changed_rows(copies: dict[str, dict[str, bytes]]) -> None:
    root = etree.fromstring(copies["B/0"]["word/document.xml"])
    body = root.find(f"{W}body")
    styles = [(el, _style(el)) for el in body]
    manual_tables = [i for i, (el, _) in enumerate(styles) if el.tag == f"{W}tbl" and el.find(f"{W}tblPr/{W}tblStyle") is not None and "序号" not in "".join(el.itertext())[:20]]
    captioned = [i for i in manual_tables if styles[i - 1][1] == "TableCaption"]
    assert len(captioned) >= 15
    assert all(styles[i + 1][1] == "TableSpacer" for i in captioned)
    captions = ["".join(styles[i - 1][0].itertext()) for i in captioned]
    assert "表 5-1" in captions and "表 5-2" in captions and "表 1-1" in captions
    # 5.1 changed in B/0: every row of its table carries the change bar on its left edge
    table_51 = styles[captioned[captions.index("表 5-1")]][0]
    rows = table_51.findall(f"{W}tr")
    assert all(r.find(f"{W}tc/{W}tcPr/{W}tcBorders/{W}left[@{W}color='C00000']") is not None for r in rows)
    table_11 = styles[captioned[captions.index("表 1-1")]][0]
    assert table_11.find(f".//{W}tcBorders") is None  # 1.1 did not change


def test_the_text_ends_with_the_end_mark(copies: dict[str, dict[str, bytes]]) -> None:
    body = etree.fromstring(copies["B/0"]["word/document.xml"]).find(f"{W}body")
    last = [p for p in body.findall(f"{W}p")][-1]
    assert "".join(last.itertext()) == "（以下空白）"
