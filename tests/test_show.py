"""``manual show --as-of DATE``: the manual exactly as in force on a date, read from the release's git
tree (never the working tree), on a clone of this repository's own history: A/0 in force from
2026-01-01, A/1 from 2026-03-16, B/0 from 2026-07-01, and B/1 approved for 2027-01-15.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import base_env, release_commit, run_manual

A0_QUOTE = "报价有效期一般为 30 日。"
A1_QUOTE = "报价有效期一般为 15 日；原材料价格波动较大的产品，报价有效期不超过 7 日。"




@pytest.fixture(scope="module")
def clone(project_clone: Path) -> Path:
    return project_clone


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return base_env(tmp_path_factory.mktemp("home"), MANUAL_TODAY="2026-11-27")


def show(clone: Path, env: dict[str, str], *args: str) -> str:
    code, out, err = run_manual(["show", *args], clone, env)
    assert code == 0, out + err
    return out


@pytest.mark.parametrize(
    ("day", "version", "quote"),
    [
        ("2026-01-01", "A/0", A0_QUOTE),
        ("2026-03-15", "A/0", A0_QUOTE),  # the day before A/1 took effect
        ("2026-03-16", "A/1", A1_QUOTE),
        ("2026-06-30", "A/1", A1_QUOTE),
        ("2026-07-01", "B/0", A1_QUOTE),
        ("2026-12-01", "B/0", A1_QUOTE),  # B/1 is approved, but its effective date has not come
        ("2027-01-15", "B/1", A1_QUOTE),
    ],
)
def test_the_version_in_force_on_a_date(clone: Path, env: dict[str, str], day: str, version: str, quote: str) -> None:
    out = show(clone, env, "--as-of", day)
    assert f"版本：{version}　" in out
    assert f"> {day} 现行有效的版本" in out
    assert quote in out
    assert f"读取自发布提交 {release_commit(clone, version)[:10]}" in out and "已验证" in out
    assert f"changelog/releases/{version.replace('/', '-')}.yml" in out
    assert ("公司电子签名平台签署" in out) == (version == "B/1")


def test_dates_as_people_write_them(clone: Path, env: dict[str, str]) -> None:
    outputs = {show(clone, env, "--as-of", day) for day in ("2026-04-01", "2026/4/1", "2026年4月1日", "2026.4.1")}
    assert len(outputs) == 1


def test_the_text_is_the_release_not_the_working_tree(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["git", "clone", "-q", str(clone), str(copy)], check=True)
    before = show(copy, env, "--as-of", "2026-04-01")
    chapter = copy / "manual" / "03-execution.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("一般为 15 日", "一般为 45 日"), encoding="utf-8")
    (copy / "manual" / "manual.yml").write_text("broken: [", encoding="utf-8")
    assert show(copy, env, "--as-of", "2026-04-01") == before
    assert "一般为 45 日" not in before


def test_chapters_are_printed_in_order_without_front_matter(clone: Path, env: dict[str, str]) -> None:
    out = show(clone, env, "--version", "B/0")
    headings = [line for line in out.splitlines() if line.startswith("# 第")]
    assert headings[0] == "# 第一章 业务流程概述" and len(headings) == 8
    assert "\nchapter: " not in out and "last_reviewed" not in out
    assert "截至 2026-11-27，该版本的状态：现行有效" in out


def test_a_date_before_the_first_version_is_a_clear_error(clone: Path, env: dict[str, str]) -> None:
    code, out, err = run_manual(["show", "--as-of", "2025-12-31"], clone, env)
    assert code == 1 and out == ""
    assert "MAN687" in err and "2025-12-31 尚无生效的版本" in err and "A/0 自 2026-01-01 起实施" in err


def test_a_version_that_does_not_exist_lists_the_versions(clone: Path, env: dict[str, str]) -> None:
    code, _, err = run_manual(["show", "--version", "C/0"], clone, env)
    assert code == 1 and "MAN686" in err and "A/0、A/1、B/0、B/1" in err


def test_a_bad_date_is_a_usage_error(clone: Path, env: dict[str, str]) -> None:
    code, _, err = run_manual(["show", "--as-of", "2026-02-30"], clone, env)
    assert code == 2 and "MAN000" in err


def test_docx_of_the_version_in_force(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "a1.docx"
    code, out, err = run_manual(["show", "--as-of", "2026-04-01", "--format", "docx", "-o", str(target)], clone, env)
    assert code == 0, out + err
    assert "A/1" in out and "作废" in out  # superseded today, and the copy says so
    with zipfile.ZipFile(target) as z:
        document = z.read("word/document.xml").decode("utf-8")
        custom = z.read("docProps/custom.xml").decode("utf-8")
    assert "原材料价格波动较大的产品" in document and "公司电子签名平台签署" not in document
    assert ">A/1<" in custom


def test_a_shallow_clone_asks_for_the_full_history(clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{clone}", str(shallow)], check=True)
    code, _, err = run_manual(["show", "--as-of", "2026-04-01"], shallow, env)
    assert code == 1 and "MAN603" in err and "git fetch --unshallow" in err


def test_the_batched_reader_loads_each_release_like_the_manual_loader(clone: Path) -> None:
    """ReleaseReader parses chapters once per text; the manual it builds is load_manual's."""
    from manualkit.records.history import ReleaseReader, release_history
    from manualkit.records.repository import commit_snapshot

    entries = release_history(clone, use_cache=False)
    reader = ReleaseReader(clone, cached=False)
    for entry in entries:
        assert entry.commit is not None
        assert reader.manual(entry.commit) == commit_snapshot(clone, entry.commit).manual
        assert reader.policy(entry.commit) == commit_snapshot(clone, entry.commit).policy
