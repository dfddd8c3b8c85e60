"""``manual diff``: what changed between two versions (or the versions in force on two dates), on a
clone of this repository's own history (A/0 2026-01-01, A/1 2026-03-16, B/0 2026-07-01, B/1
2027-01-15), plus the pure parts (section matching, inline diffs) on made-up texts.

The DOCX redline is rendered like the release DOCX and checked the way LibreOffice applies it:
accepting every tracked change gives exactly the paragraph texts of the "to" release's DOCX body,
rejecting every change those of the "from" release's; LibreOffice opens it and lists the changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import base_env, new_libreoffice_profile, run_manual
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from manualkit.records.manual_diff import SectionText, match_sections, text_diff
from manualkit.text.redline import new_text, old_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SOFFICE = Path("/usr/bin/soffice")
DEMO_MODIFIED = {"1.3", "2.2", "3.2", "3.3", "4.3", "5.1", "5.3", "6.2", "7.4"}




@pytest.fixture(scope="module")
def clone(project_clone: Path) -> Path:
    return project_clone


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return base_env(tmp_path_factory.mktemp("home"), MANUAL_TODAY="2026-11-27")


def diff_json(clone: Path, env: dict[str, str], *args: str) -> dict[str, object]:
    code, out, err = run_manual(["diff", *args, "--format", "json"], clone, env)
    assert code == 0, out + err
    data: dict[str, object] = json.loads(out)
    return data


# --- the demo history ----------------------------------------------------------------------------


def test_dates_resolve_to_the_versions_in_force_and_every_changed_section_names_its_request(clone: Path, env: dict[str, str]) -> None:
    data = diff_json(clone, env, "--from", "2026/1/15", "--to", "2027年2月1日")
    assert data["from"] == {**data["from"], "version": "A/0", "date": "2026-01-15"}  # type: ignore[dict-item]
    assert data["to"] == {**data["to"], "version": "B/1", "date": "2027-02-01"}  # type: ignore[dict-item]
    sections = {s["id"]: s for s in data["sections"]}  # type: ignore[attr-defined]
    assert {sid for sid, s in sections.items() if s["status"] == "modified"} == DEMO_MODIFIED
    assert {s["status"] for s in sections.values()} == {"modified", "unchanged"}
    assert len(sections) == 32
    by_cr = {sid: [cr["id"] for cr in s["change_requests"]] for sid, s in sections.items() if s["status"] == "modified"}
    assert by_cr == {
        "1.3": ["CR-2026-002"], "7.4": ["CR-2026-002"], "3.2": ["CR-2026-001"], "3.3": ["CR-2026-001"],
        "5.1": ["CR-2026-003"], "5.3": ["CR-2026-003"], "6.2": ["CR-2026-003"], "2.2": ["CR-2026-004"], "4.3": ["CR-2026-004"],
    }  # fmt: skip
    approval = sections["3.2"]["change_requests"][0]
    assert [(a["role"], a["name"], a["valid"]) for a in approval["approvals"]] == [("编制", "张伟", True), ("审核", "李娜", True), ("批准", "陈刚", True)]
    assert approval["approved_at"] == "2026-02-24T10:30:00+08:00"
    body = sections["3.2"]["redline"]["body"]
    assert {"kind": "delete", "text": "30"} in body
    assert old_text([_seg(s) for s in body]).count("30 日") >= 1
    assert all(s["unexplained"] is False for s in sections.values())


def _seg(d: dict[str, str]) -> object:
    from manualkit.text.redline import Segment

    return Segment(d["kind"], d["text"])  # type: ignore[arg-type]


def test_text_output_shows_word_level_changes_not_whole_lines(clone: Path, env: dict[str, str]) -> None:
    code, out, err = run_manual(["diff", "--from", "A/0", "--to", "A/1"], clone, env)
    assert code == 0, err
    assert out.startswith("修订对照：A/0 版（2026-01-01 起实施，2026-03-16 失效） → A/1 版")
    assert "报价有效期一般为 [-30-]{+15 日；原材料价格波动较大的产品，报价有效期不超过 7+} 日。" in out
    assert "不超过 [-3-]{+2+} 个工作日" in out
    assert "[修改] 3.2 业务流程实施步骤" in out and "修订申请单 CR-2026-001「缩短报价有效期与订单处理时限」" in out
    assert "5.1" not in out  # B/0 is not between A/0 and A/1


def test_both_dates_in_one_version_is_an_empty_diff_that_says_so(clone: Path, env: dict[str, str]) -> None:
    code, out, _ = run_manual(["diff", "--from", "2026-08-01", "--to", "2026-12-01"], clone, env)
    assert code == 0
    assert "两个时点现行有效的是同一版本 B/0" in out and "无差异" in out  # B/1 is approved, not in force before 2027-01-15
    data = diff_json(clone, env, "--from", "2026-08-01", "--to", "2026-12-01")
    assert data["same_version"] is True
    assert {s["status"] for s in data["sections"]} == {"unchanged"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("frm", "to"), [("B/1", "A/0"), ("2026-05-01", "2026-04-01"), ("B/0", "2026-04-01")])
def test_from_later_than_to_is_an_error(clone: Path, env: dict[str, str], frm: str, to: str) -> None:
    code, out, err = run_manual(["diff", "--from", frm, "--to", to], clone, env)
    assert code == 1 and out == ""
    assert "MAN701" in err and "晚于终点" in err and "Traceback" not in err


def test_a_version_that_does_not_exist_lists_the_versions(clone: Path, env: dict[str, str]) -> None:
    code, _, err = run_manual(["diff", "--from", "A/7", "--to", "B/1"], clone, env)
    assert code == 1
    assert "MAN686" in err and "A/0、A/1、B/0、B/1" in err


def test_a_date_before_the_first_version_is_an_error(clone: Path, env: dict[str, str]) -> None:
    code, _, err = run_manual(["diff", "--from", "2025年12月31日", "--to", "B/1"], clone, env)
    assert code == 1
    assert "MAN687" in err and "2026-01-01" in err


def test_neither_version_nor_date_is_a_usage_error(clone: Path, env: dict[str, str]) -> None:
    code, _, err = run_manual(["diff", "--from", "上个月", "--to", "B/1"], clone, env)
    assert code == 2 and "MAN000" in err


def test_html_marks_deletions_and_insertions(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    out_file = tmp_path / "diff.html"
    code, _, err = run_manual(["diff", "--from", "A/0", "--to", "B/1", "--format", "html", "-o", str(out_file)], clone, env)
    assert code == 0, err
    page = out_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<del class="redline-del">30</del>' in page
    assert "CR-2026-004" in page and "<script" not in page


def test_cold_and_warm_runs_answer_the_same(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    """The caches under .git/manualkit are keyed by content: they never change an answer."""
    copy = tmp_path / "copy"
    subprocess.run(["git", "clone", "-q", str(clone), str(copy)], check=True)
    args = ["diff", "--from", "A/0", "--to", "B/1", "--format", "json"]
    cold = run_manual(args, copy, {**env, "MANUAL_NO_CACHE": "1"})
    assert not (copy / ".git" / "manualkit").exists()
    first = run_manual(args, copy, env)
    assert (copy / ".git" / "manualkit").is_dir()
    warm = run_manual(args, copy, env)
    assert cold == first == warm and cold[0] == 0
    history = [run_manual(["history", "--json"], copy, e)[1] for e in ({**env, "MANUAL_NO_CACHE": "1"}, env)]
    assert history[0] == history[1]


def test_a_shallow_clone_asks_for_the_full_history(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{clone}", str(shallow)], check=True)
    code, _, err = run_manual(["diff", "--from", "A/0", "--to", "B/1"], shallow, env)
    assert code == 1 and "MAN603" in err and "git fetch --unshallow" in err


# --- the DOCX redline ------------------------------------------------------------------------------


SYSTEM_PYTHON = Path("/usr/bin/python3")
UNO_PARAGRAPHS = Path(__file__).with_name("uno_paragraphs.py")


def _lo_paragraphs(*actions: tuple[str, Path]) -> list[list[str]]:
    """Paragraph texts LibreOffice sees in each file after each action (accept or reject all
    changes, or none), in one LibreOffice session."""
    _soffice_available()
    argv = [str(part) for action in actions for part in action]
    with tempfile.TemporaryDirectory(prefix="uno-profile-") as folder:
        env = {**os.environ, "UNO_PROFILE": str(new_libreoffice_profile(Path(folder) / "profile"))}
        proc = subprocess.run([str(SYSTEM_PYTHON), str(UNO_PARAGRAPHS), *argv], env=env, capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    result: dict[str, list[str]] = json.loads(proc.stdout)
    return [result[f"{mode} {path}"] for mode, path in actions]


def _body(paragraphs: list[str]) -> list[str]:
    """From the first chapter heading (the last 第一章 line: the first may be the contents'), without
    the release DOCX's own notes (本版修订) and the empty gaps after tables."""
    start = max(i for i, text in enumerate(paragraphs) if text.startswith("第一章"))
    return [text for text in paragraphs[start:] if text and not text.startswith("本版修订：")]


@pytest.fixture(scope="module")
def redline_file(clone: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("redline") / "A0-B1.docx"
    code, stdout, err = run_manual(["diff", "--from", "A/0", "--to", "B/1", "--format", "docx", "-o", str(out)], clone, env)
    assert code == 0, stdout + err
    return out


@pytest.mark.libreoffice
def test_redline_accept_all_gives_the_to_text_and_reject_all_the_from_text(redline_file: Path, clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    releases = {}
    for version in ("A/0", "B/1"):
        releases[version] = tmp_path / f"{version.replace('/', '-')}.docx"
        code, out, err = run_manual(["docx", "--version", version, "-o", str(releases[version])], clone, env)
        assert code == 0, out + err
    accepted, rejected, to_text, from_text = _lo_paragraphs(
        ("accept", redline_file), ("reject", redline_file), ("none", releases["B/1"]), ("none", releases["A/0"])
    )
    assert _body(accepted) == _body(to_text)
    assert _body(rejected) == _body(from_text)
    assert len(_body(accepted)) > 1000  # the whole manual, tables cell by cell
    assert _body(accepted) != _body(rejected)


def test_the_redline_is_the_formatted_manual_not_its_markdown(redline_file: Path) -> None:
    with zipfile.ZipFile(redline_file) as z:
        xml = z.read("word/document.xml")
        styles = z.read("word/styles.xml")
        headers = b"".join(z.read(n) for n in z.namelist() if n.startswith("word/header"))
        footers = b"".join(z.read(n) for n in z.namelist() if n.startswith("word/footer"))
    root = etree.fromstring(xml)
    text = "".join(root.itertext())
    assert "|---" not in text and "###" not in text and "**" not in text and ".md#" not in text
    assert len(root.findall(f".//{W}tbl")) >= 20  # the manual's tables as Word tables
    changed_cells = [tc for tc in root.iter(f"{W}tc") if tc.find(f".//{W}ins") is not None or tc.find(f".//{W}del") is not None]
    assert changed_cells  # tracked changes inside table cells
    assert {p.get(f"{W}val") for p in root.iter(f"{W}pStyle")} >= {"Heading1", "Heading2", "Heading3", "ListParagraph", "TableCaption"}
    assert root.find(f".//{W}numPr") is not None
    assert b'w:eastAsia="zh-CN"' in styles and "宋体".encode() in styles and "黑体".encode() in styles
    assert "修订对照稿 A/0 → B/1".encode() in headers
    assert b"PAGE" in footers and b"NUMPAGES" in footers


def test_redline_changes_are_authored_by_the_change_request_at_its_approval(redline_file: Path) -> None:
    with zipfile.ZipFile(redline_file) as z:
        root = etree.fromstring(z.read("word/document.xml"))
        settings_xml = z.read("word/settings.xml")
    changes = [el for el in root.iter(f"{W}ins", f"{W}del")]
    assert changes
    authors = {el.get(f"{W}author") for el in changes}
    assert authors == {
        "CR-2026-001 缩短报价有效期与订单处理时限", "CR-2026-002 更正范围表述与系统名称",
        "CR-2026-003 调整销售考核指标权重并加强客户信用风险控制", "CR-2026-004 推行电子合同并明确电子档案归档要求",
    }  # fmt: skip
    fifteen = next(el for el in root.iter(f"{W}ins") if "".join(el.itertext()).startswith("15 日；"))
    assert fifteen.get(f"{W}author") == "CR-2026-001 缩短报价有效期与订单处理时限"
    assert fifteen.get(f"{W}date") == "2026-02-24T02:30:00Z"  # 批准 at 10:30 +08:00
    ids = [el.get(f"{W}id") for el in changes]
    assert len(ids) == len(set(ids))
    assert b"trackRevisions" in settings_xml


def _soffice_available() -> bool:
    if SOFFICE.exists():
        return True
    if os.environ.get("CI") == "true":
        pytest.fail("LibreOffice (/usr/bin/soffice) is required when CI=true")
    pytest.skip("LibreOffice is not installed")


@pytest.mark.libreoffice
def test_libreoffice_opens_the_redline_with_its_tracked_changes(redline_file: Path, tmp_path: Path) -> None:
    _soffice_available()
    profile = new_libreoffice_profile(tmp_path / "profile").as_uri()
    for target in ("pdf", "odt"):
        proc = subprocess.run(
            [str(SOFFICE), f"-env:UserInstallation={profile}", "--headless", "--convert-to", target, "--outdir", str(tmp_path), str(redline_file)],
            capture_output=True, timeout=180, check=False, env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    pdf = (tmp_path / redline_file.with_suffix(".pdf").name).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    with zipfile.ZipFile(tmp_path / redline_file.with_suffix(".odt").name) as z:
        content = z.read("content.xml").decode("utf-8")
    assert content.count("<text:changed-region") >= 15
    assert "<text:insertion>" in content and "<text:deletion>" in content
    assert "CR-2026-001 缩短报价有效期与订单处理时限" in content


# --- pure parts ------------------------------------------------------------------------------------


def S(sid: str, title: str, body: str) -> SectionText:
    return SectionText(sid, title, body, int(sid.split(".")[0]))


def test_sections_are_matched_as_added_removed_modified_moved_unchanged() -> None:
    old = [S("1.1", "定义", "甲乙丙丁"), S("1.2", "目标", "目标正文一二三"), S("1.3", "范围", "范围正文"), S("1.4", "职责", "职责正文 A")]
    new = [S("1.1", "定义", "甲乙丙丁"), S("1.2", "术语", "新增的术语"), S("1.3", "目标", "目标正文一二三"), S("1.4", "职责", "职责正文 B")]
    statuses = [(status, o.id if o else None, n.id if n else None) for status, o, n in match_sections(old, new)]
    assert statuses == [
        ("unchanged", "1.1", "1.1"), ("added", None, "1.2"), ("moved", "1.2", "1.3"), ("removed", "1.3", None), ("modified", "1.4", "1.4"),
    ]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text("ab日报\n 1", max_size=40), st.text("ab日报\n 1", max_size=40))
def test_text_diff_gives_back_both_texts(old: str, new: str) -> None:
    segments = text_diff(old, new)
    assert old_text(segments) == old and new_text(segments) == new


# --- what an answered-from-cache diff loads --------------------------------------------------------

# The speed target of `manual diff` (bench/bench_history.py: at most 3x `git diff --stat`) rests on a
# warm diff loading none of these: the Markdown and YAML parsers, the signature and policy code,
# the dataclasses module (its import of `inspect` alone costs more than the diff's own work),
# subprocess (a diff answered from the caches starts no git process at all), shutil (which
# argparse's help formatter would import, with bz2, lzma and zlib, to ask for the terminal's
# width) and threading: each costs a millisecond or more of every command's start.
NOT_LOADED_BY_A_WARM_DIFF = (
    "markdown_it", "yaml", "ruamel", "cryptography", "dataclasses", "subprocess", "shutil", "threading",
    "manualkit.records.approval", "manualkit.records.change_request", "manualkit.records.policy", "manualkit.text.markup",
    "manualkit.base.sshsig",
)  # fmt: skip


def test_a_diff_answered_from_the_caches_loads_no_parser_and_no_signature_code(clone: Path, env: dict[str, str]) -> None:
    args = ["diff", "--from", "A/0", "--to", "B/1"]
    code, first, err = run_manual(args, clone, env)  # fills the caches
    assert code == 0, err
    probe = (
        "import sys\n"
        "from manualkit.cli import main\n"
        f"code = main({args!r})\n"
        "sys.stderr.write('\\nLOADED ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=clone, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == first
    loaded = set(proc.stderr.rsplit("LOADED ", 1)[1].split())
    assert "manualkit.records.history" in loaded  # the probe did run the diff
    assert [m for m in NOT_LOADED_BY_A_WARM_DIFF if m in loaded or any(n.startswith(m + ".") for n in loaded)] == []


def test_without_caches_the_diff_is_the_same(clone: Path, env: dict[str, str]) -> None:
    args = ["diff", "--from", "2026-01-01", "--to", "B/1"]
    code, warm, err = run_manual(args, clone, env)
    assert code == 0, err
    code, cold, err = run_manual(args, clone, {**env, "MANUAL_NO_CACHE": "1"})
    assert code == 0, err
    assert cold == warm


# --- the formatted HTML redline and the 修订对照表 ---------------------------------------------------


def test_html_redline_is_formatted_with_tables_lists_and_marked_changes(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "redline.html"
    code, stdout, err = run_manual(["diff", "--from", "A/0", "--to", "B/1", "--format", "html", "-o", str(out)], clone, env)
    assert code == 0, stdout + err
    page = out.read_text(encoding="utf-8")
    assert "|---" not in page and "**" not in page and "###" not in page
    assert page.count('<table class="mk-table">') >= 5 and 'class="mk-li' in page and "<h4" in page
    # a changed table cell: 30% → 25% in 表 5-1
    assert '<tr class="redline-changed"><td>业绩结果</td>' in page and '<del class="redline-del">30</del>' in page
    assert '<p class="mk-p redline-added"><ins class="redline-ins">销售合同原则上通过公司电子签名平台签署' in page


def test_comparison_table_has_one_row_per_changed_clause(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    code, out, err = run_manual(["diff", "--from", "A/0", "--to", "B/1", "--layout", "table"], clone, env)
    assert code == 0, out + err
    lines = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| 序号")]
    assert out.splitlines()[4] == "| 序号 | 条款 | 修订前 | 修订后 | 修订说明 | 修订申请单 |"
    rows = [line.split(" | ") for line in lines]
    assert [r[0] for r in rows] == [f"| {i}" for i in range(1, len(rows) + 1)]
    quote = next(r for r in rows if r[1] == "3.2 一、第 3 项")  # the item as the manual numbers it
    assert "~~30~~ 日" in quote[2] and "**15 日" in quote[3] and quote[5] == "CR-2026-001 |"
    assert "原材料价格波动加大" in quote[4]  # the change request's reason
    added = next(r for r in rows if r[1].startswith("2.2 "))
    assert added[2] == "新增" and added[5] == "CR-2026-004 |"
    assert any(r[1] == "5.3 表 5-3 第 2 行" for r in rows)  # 5.1 and 5.2 hold 表 5-1 and 表 5-2
    assert not any("1.1 " in r[1] for r in rows)  # unchanged clauses are left out
    docx_out = tmp_path / "table.docx"
    code, out, err = run_manual(["diff", "--from", "A/0", "--to", "B/1", "--layout", "table", "--format", "docx", "-o", str(docx_out)], clone, env)
    assert code == 0, out + err
    with zipfile.ZipFile(docx_out) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    table_rows = root.findall(f".//{W}tbl/{W}tr")
    assert len(table_rows) == len(rows) + 1
    assert root.find(f".//{W}sectPr/{W}pgSz").get(f"{W}orient") == "landscape"
    code, out, err = run_manual(["diff", "--from", "A/0", "--to", "B/1", "--layout", "table", "--format", "json"], clone, env)
    assert code == 2


def test_html_redline_of_a_section_added_or_removed_marks_every_block() -> None:
    from manualkit.documents.html_redline import section_html

    body = "新的段落，含 <脚本> 字样。\n\n| 项目 | 期限 |\n|---|---|\n| 报价 | 15 日 |\n\n1. 第一项\n2. 第二项\n"
    added = section_html(None, body, 3)
    assert '<p class="mk-p redline-added"><ins class="redline-ins">新的段落，含 &lt;脚本&gt; 字样。</ins></p>' in added
    assert '<p class="mk-caption redline-added"><ins class="redline-ins">表 3-1</ins></p>' in added
    assert '<tr class="redline-added"><td><ins class="redline-ins">报价</ins></td>' in added
    assert "1. <ins" in added and "2. <ins" in added
    removed = section_html(body, None, 3)
    assert "redline-ins" not in removed and removed.count('class="redline-del"') >= 6
