"""``manual check`` end to end: output formats, --strict, usage errors, finding the root, the
code table and its documentation. Malformed inputs are in test_scenarios.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, GitRepo, make_git_repo, run_manual

from manualkit.base.codes import CODES

CLEAN = "未发现问题"
TEXT_LINE_RE = re.compile(r"^(?P<path>[^\s:]+)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<code>MAN\d{3}) (?P<message>.+)$")
GITHUB_LINE_RE = re.compile(
    r"^::(?P<level>error|warning) file=(?P<file>[^,:]+)(?:,line=(?P<line>[1-9]\d*),col=(?P<col>[1-9]\d*))?"
    r",title=(?P<code>MAN\d{3})::(?P<message>.+)$"
)
JSON_KEYS = {"path", "line", "col", "code", "severity", "message"}


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``root/rel``."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def break_owner_key(root: Path) -> None:
    """Chapter 1's ``owner`` misspelt: MAN106 (unknown key) at line 4 and MAN105 (missing key)."""
    edit(root, "manual/01-overview.md", "\nowner:", "\nownr:")


def add_unlisted_chapter(root: Path) -> None:
    """A Markdown file in manual/ that manual.yml does not list: warning MAN007."""
    shutil.copyfile(root / "manual" / "08-supplementary.md", root / "manual" / "09-draft.md")


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


# --- the clean manual ----------------------------------------------------------------------------


def test_clean_manual_passes(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    status, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert (status, err) == (0, ""), out + err
    assert out.strip().endswith(CLEAN)
    assert "8 章 32 节" in out


def test_clean_manual_json_is_an_empty_list(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    status, out, _ = run_manual(["check", "--format", "json"], repo_copy, isolated_env)
    assert status == 0
    assert json.loads(out) == []


# --- output formats -----------------------------------------------------------------------------


def test_text_format(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    break_owner_key(repo_copy)
    add_unlisted_chapter(repo_copy)
    status, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert status == 1
    assert_no_traceback(err)
    *findings, summary = out.splitlines()
    assert summary == "manual check：2 个错误，1 个警告"
    parsed = [TEXT_LINE_RE.match(line) for line in findings]
    assert all(parsed), findings
    assert "manual/01-overview.md:4:1: MAN106 未知的键 'ownr'；是否应为 'owner'？" in findings
    assert any(line.startswith("manual/09-draft.md: MAN007 ") and line.endswith("（警告）") for line in findings)


def test_json_format(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    break_owner_key(repo_copy)
    add_unlisted_chapter(repo_copy)
    status, out, err = run_manual(["check", "--format", "json"], repo_copy, isolated_env)
    assert status == 1
    assert_no_traceback(err)
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 3
    for item in data:
        assert isinstance(item, dict) and set(item) == JSON_KEYS
        assert isinstance(item["path"], str) and isinstance(item["message"], str) and item["message"]
        assert type(item["line"]) is int and type(item["col"]) is int and item["line"] >= 0 and item["col"] >= 0
        assert item["code"] in CODES
        assert item["severity"] in ("error", "warning")
    by_code = {item["code"]: item for item in data}
    assert by_code["MAN106"] | {"message": ""} == {
        "path": "manual/01-overview.md", "line": 4, "col": 1, "code": "MAN106", "severity": "error", "message": "",
    }  # fmt: skip
    assert by_code["MAN007"]["severity"] == "warning" and by_code["MAN007"]["line"] == 0


def test_github_format(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    break_owner_key(repo_copy)
    add_unlisted_chapter(repo_copy)
    status, out, err = run_manual(["check", "--format", "github"], repo_copy, isolated_env)
    assert status == 1
    assert_no_traceback(err)
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 3
    matches = [GITHUB_LINE_RE.match(line) for line in annotations]
    assert all(matches), annotations
    assert any(
        line.startswith("::error file=manual/01-overview.md,line=4,col=1,title=MAN106::未知的键")
        for line in annotations
    )
    assert "::warning file=manual/09-draft.md,title=MAN007::" in out


# --- --strict -----------------------------------------------------------------------------------


def test_overdue_review_is_a_warning(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "MANUAL_TODAY": "2027-06-01"}
    status, out, err = run_manual(["check"], repo_copy, env)
    assert status == 0, out + err
    assert "manual/01-overview.md:7:1: MAN112 " in out
    assert all(line.endswith("（警告）") for line in out.splitlines() if "MAN112" in line)


def test_strict_turns_warnings_into_errors(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "MANUAL_TODAY": "2027-06-01"}
    status, out, err = run_manual(["check", "--strict", "--format", "json"], repo_copy, env)
    assert status == 1, out + err
    data = json.loads(out)
    assert data and {d["code"] for d in data} == {"MAN112"}
    assert {d["severity"] for d in data} == {"error"}


def test_unlisted_file_is_a_warning_unless_strict(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    add_unlisted_chapter(repo_copy)
    status, out, _ = run_manual(["check"], repo_copy, isolated_env)
    assert status == 0
    assert "manual/09-draft.md: MAN007 " in out
    status, out, _ = run_manual(["check", "--strict"], repo_copy, isolated_env)
    assert status == 1
    assert "manual check：1 个错误，0 个警告" in out


# --- wrong usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "--bogus"], "无法识别的参数"),
        (["check", "--format", "xml"], "无效的选项"),
        (["check", "--format"], "需要一个参数值"),
        (["frobnicate"], "无效的选项"),
        ([], "检查手册"),
    ],
    ids=["unknown-option", "bad-format", "format-without-value", "unknown-command", "no-command"],
)
def test_wrong_usage_exits_2(args: list[str], expected: str, repo_copy: Path, isolated_env: dict[str, str]) -> None:
    status, out, err = run_manual(args, repo_copy, isolated_env)
    assert status == 2, out + err
    assert_no_traceback(err)
    assert expected in err or expected in out
    assert out == ""


def test_mistyped_command_gets_a_hint(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    status, _, err = run_manual(["chek"], repo_copy, isolated_env)
    assert status == 2
    assert_no_traceback(err)
    assert "MAN000" in err
    assert "是否想输入 manual check？" in err


def test_bad_manual_today_is_a_usage_error(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    status, _, err = run_manual(["check"], repo_copy, {**isolated_env, "MANUAL_TODAY": "2026-13-45"})
    assert status == 2
    assert_no_traceback(err)
    assert "MANUAL_TODAY: MAN000 " in err


# --- finding the repository root ----------------------------------------------------------------


def test_check_from_a_subdirectory_finds_the_root(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    subdir = repo_copy / "manual" / "images" / "flows"
    subdir.mkdir(parents=True)
    for cwd in (repo_copy / "manual", subdir):
        status, out, err = run_manual(["check"], cwd, isolated_env)
        assert (status, err) == (0, ""), out + err
        assert CLEAN in out


def test_root_option(repo_copy: Path, isolated_env: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    status, out, _ = run_manual(["--root", str(repo_copy), "check"], elsewhere, isolated_env)
    assert status == 0 and CLEAN in out


def test_outside_any_repository_reports_the_missing_manual(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    status, out, err = run_manual(["check"], elsewhere, isolated_env)
    assert status == 1
    assert_no_traceback(err)
    assert "manual/manual.yml: MAN008 " in out


# --- rules that need a passing counterpart ------------------------------------------------------


def test_image_with_a_chinese_file_name_is_found(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    # markdown-it percent-encodes the destination; the file on disk has the plain name.
    (repo_copy / "manual" / "images").mkdir()
    (repo_copy / "manual" / "images" / "执行流程 图.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    edit(
        repo_copy,
        "manual/03-execution.md",
        "执行中应遵守以下规定：\n",
        "![执行流程](<images/执行流程 图.png>)\n\n执行中应遵守以下规定：\n",
    )
    status, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert (status, err) == (0, ""), out + err


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_other_line_endings_read_alike(newline: str, repo_copy: Path, isolated_env: dict[str, str]) -> None:
    chapter = repo_copy / "manual" / "03-execution.md"
    chapter.write_bytes(chapter.read_bytes().replace(b"\n", newline.encode()))
    status, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert (status, err) == (0, ""), out + err
    assert CLEAN in out


# --- manual check --base (pull-request check) in real git repositories ----------------------------


@pytest.fixture
def manual_repo(repo_copy: Path, tmp_path: Path) -> GitRepo:
    """The manual, its policy and the real change log, committed in a fresh git repository."""
    shutil.copytree(PROJECT_ROOT / "changelog", repo_copy / "changelog")
    return make_git_repo(repo_copy, tmp_path / "home")


def test_base_unchanged_is_clean(manual_repo: GitRepo) -> None:
    status, out, err = run_manual(["check", "--base", "main"], manual_repo.root, manual_repo.env)
    assert (status, err) == (0, ""), out + err
    assert CLEAN in out


def test_base_modified_section_needs_a_change_request(manual_repo: GitRepo) -> None:
    edit(manual_repo.root, "manual/03-execution.md", "各环节的具体操作见 3.2", "各环节的具体操作详见 3.2")
    status, out, err = run_manual(["check", "--base", "main"], manual_repo.root, manual_repo.env)
    assert status == 1
    assert_no_traceback(err)
    assert "manual/03-execution.md:13:1: MAN670 修改了第 3.1 节" in out


def test_base_released_records_are_immutable(manual_repo: GitRepo) -> None:
    with open(manual_repo.root / "changelog" / "releases" / "A-0.yml", "a", encoding="utf-8") as fh:
        fh.write("# 事后补注\n")
    (manual_repo.root / "changelog" / "requests" / "CR-2025-001.yml").unlink()
    status, out, err = run_manual(["check", "--base", "main"], manual_repo.root, manual_repo.env)
    assert status == 1
    assert_no_traceback(err)
    assert "changelog/releases/A-0.yml:1:1: MAN672 " in out
    assert "changelog/requests/CR-2025-001.yml: MAN673 " in out


def test_base_unknown_ref(manual_repo: GitRepo) -> None:
    status, _, err = run_manual(["check", "--base", "no-such-branch"], manual_repo.root, manual_repo.env)
    assert status == 1
    assert_no_traceback(err)
    assert "MAN604" in err and "no-such-branch" in err


def test_base_outside_a_git_repository(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "GIT_CEILING_DIRECTORIES": str(repo_copy.parent)}
    status, _, err = run_manual(["check", "--base", "main"], repo_copy, env)
    assert status == 1
    assert_no_traceback(err)
    assert "MAN602" in err


def test_base_in_a_shallow_clone(manual_repo: GitRepo, tmp_path: Path) -> None:
    edit(manual_repo.root, "manual/03-execution.md", "各环节的具体操作见 3.2", "各环节的具体操作详见 3.2")
    manual_repo.commit("第二次提交", date="2026-02-01T09:00:00+08:00")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", manual_repo.root.as_uri(), str(clone)],
        env=manual_repo.env, check=True, capture_output=True,
    )  # fmt: skip
    status, _, err = run_manual(["check", "--base", "HEAD"], clone, manual_repo.env)
    assert status == 1
    assert_no_traceback(err)
    assert "MAN603" in err


def test_base_without_git_installed(repo_copy: Path, isolated_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    status, _, err = run_manual(["check", "--base", "main"], repo_copy, {**isolated_env, "PATH": str(empty)})
    assert status == 1
    assert_no_traceback(err)
    assert "MAN601" in err


# --- the code table -----------------------------------------------------------------------------


def test_diagnostics_doc_is_generated_from_the_code_table() -> None:
    status, out, err = run_manual(["codes", "--format", "md"], PROJECT_ROOT)
    assert (status, err) == (0, "")
    doc = PROJECT_ROOT / "docs" / "diagnostics.md"
    assert doc.read_text(encoding="utf-8") == out, (
        "docs/diagnostics.md is stale: run `manual codes --format md > docs/diagnostics.md`"
    )


def _source_text(top: Path, predicate: str) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(top.rglob(predicate)) if p.is_file()
    )


TOOLS_TEXT = "\n".join(
    p.read_text(encoding="utf-8") for p in sorted((PROJECT_ROOT / "tools").rglob("*.py")) if p.name != "codes.py"
)
TESTS_DIR = PROJECT_ROOT / "tests"
TESTS_TEXT = _source_text(TESTS_DIR, "*.py") + _source_text(TESTS_DIR / "scenarios", "expected.txt")

# Codes that no test exercises yet (none at the moment). Each would be an expected failure; once
# its test lands the case shows up as XPASS, the cue to take the code off the list.
WITHOUT_TEST_YET: frozenset[str] = frozenset()


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_is_used_in_tools(code: str) -> None:
    assert re.search(rf"[\"']{code}[\"' ]", TOOLS_TEXT), f"{code} is declared in codes.py but no module emits it"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=False, reason="no test yet")) if c in WITHOUT_TEST_YET else c
        for c in sorted(CODES)
    ],
)
def test_every_code_has_a_scenario_or_a_test(code: str) -> None:
    assert code in TESTS_TEXT, f"{code} appears in no test and no scenario"
