"""``manual docx --with-comparison``: the release DOCX with 附录 修订对照表 against the release
before it, rendered by the release document's renderer; the default DOCX stays as it was."""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path

import docx
import pytest
from conftest import base_env, run_manual
from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def made(project_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, bytes]]:
    home = tmp_path_factory.mktemp("home")
    env = base_env(home, MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(home / "mh"), SOURCE_DATE_EPOCH="1780000000")
    out: dict[str, bytes] = {}
    for name, extra in (("default", []), ("again", []), ("appendix", ["--with-comparison"])):
        target = home / f"{name}.docx"
        code, stdout, err = run_manual(["docx", "--version", "B/0", "-o", str(target), *extra], project_clone, env)
        assert code == 0, stdout + err
        out[name] = target.read_bytes()
    return project_clone, env, out


def _document(data: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return etree.fromstring(z.read("word/document.xml"))


def _style(element: etree._Element) -> str:
    found = element.find(f"{W}pPr/{W}pStyle")
    return "" if found is None else str(found.get(f"{W}val"))


def test_the_appendix_holds_the_comparison_table_with_its_header_row(made: tuple[Path, dict[str, str], dict[str, bytes]]) -> None:
    document = docx.Document(io.BytesIO(made[2]["appendix"]))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name.lower() == "heading 1"]
    assert headings[-1] == "附录　修订对照表"
    table = next(t for t in document.tables if [c.text for c in t.rows[0].cells] == ["序号", "条款", "修订前", "修订后", "修订说明", "修订申请单"])
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    assert any(r[1].startswith("5.1 ") and r[5] == "CR-2026-003" for r in rows)
    assert any(r[1].startswith("6.2 ") and r[5] == "CR-2026-003" for r in rows)
    assert not any(r[1].startswith("2.2 ") for r in rows)  # a B/1 change is not in B/0's table
    header = table.rows[0]._tr.find(f"{W}trPr/{W}tblHeader")
    assert header is not None  # repeated on every page
    toc = [p.text for p in document.paragraphs if p.style is not None and p.style.name.lower() == "toc 1"]
    assert any(t.startswith("附录　修订对照表") and t.rstrip()[-1].isdigit() for t in toc)  # listed with its page


def test_the_default_docx_is_unchanged_and_the_appendix_only_adds(made: tuple[Path, dict[str, str], dict[str, bytes]]) -> None:
    out = made[2]
    assert out["default"] == out["again"]
    with_appendix = _document(out["appendix"])
    body = with_appendix.find(f"{W}body")
    children = list(body)
    start = next(i for i, el in enumerate(children) if "附录　修订对照表" in "".join(el.itertext()) and _style(el) == "Heading1")
    end = next(i for i, el in enumerate(children) if _style(el) == "EndMark")
    stripped = copy.deepcopy(with_appendix)
    stripped_body = stripped.find(f"{W}body")
    for el in list(stripped_body)[start:end]:
        stripped_body.remove(el)
    toc_line = next(el for el in stripped_body if _style(el) == "TOC1" and "附录" in "".join(el.itertext()))
    stripped_body.remove(toc_line)
    assert etree.tostring(stripped) == etree.tostring(_document(out["default"]))


def test_a_copy_with_the_appendix_verifies_and_the_first_edition_has_none(made: tuple[Path, dict[str, str], dict[str, bytes]], tmp_path: Path) -> None:
    root, env, out = made
    path = tmp_path / "appendix.docx"
    path.write_bytes(out["appendix"])
    code, stdout, err = run_manual(["verify", str(path)], root, env)
    assert code == 0 and "真实有效" in stdout, stdout + err
    code, stdout, err = run_manual(["docx", "--version", "A/0", "--with-comparison", "-o", str(tmp_path / "a0.docx")], root, env)
    assert code == 1 and "MAN780" in err and not (tmp_path / "a0.docx").exists()
