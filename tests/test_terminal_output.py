"""Terminal output is inert: text from the repository or the command line (file names, titles,
reasons, arguments) that the CLI prints has its control and escape sequences shown as ``\\u001b``
and never interpreted by the terminal; JSON output stays valid and says the same text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_git_repo, run_manual

from manualkit.base.characters import inert

ESCAPES = {
    "clear screen (CSI)": "\x1b[2J",
    "window title (OSC)": "\x1b]0;pwned\x07",
    "hyperlink (OSC 8)": "\x1b]8;;https://evil.example/\x1b\\",
    "C1 CSI": "\x9b31m",
    "carriage return": "真实\r伪造",
    "backspace": "ab\x08\x08",
    "right-to-left override": "\u202etxt.exe",
    "zero-width space": "a\u200bb",
    "line separator": "a\u2028b",
}


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_inert_leaves_nothing_a_terminal_would_obey(name: str) -> None:
    shown = inert(ESCAPES[name])
    assert all((ch.isprintable() and ord(ch) < 0x2000) or "\u4e00" <= ch <= "\u9fff" for ch in shown), repr(shown)
    if "\\" not in ESCAPES[name]:
        assert json.loads(f'"{shown}"') == ESCAPES[name]  # read as a JSON string, the same text


@pytest.mark.unit
def test_inert_keeps_chinese_text_lines_and_tabs() -> None:
    text = "第三章 业务流程\t（现行有效）\n下一行“引号”、全角｛｝\n"
    assert inert(text) == text


@pytest.fixture
def repo_with_hostile_file(repo_copy: Path, tmp_path: Path) -> tuple[Path, str]:
    name = "a\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eb.md"
    make_git_repo(repo_copy, tmp_path / "home")
    (repo_copy / "manual" / name).write_text("x\n", encoding="utf-8")
    return repo_copy, f"manual/{name}"


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "console-script"])
def test_check_shows_a_hostile_file_name_inert(repo_with_hostile_file: tuple[Path, str], isolated_env: dict[str, str], process: bool) -> None:
    root, _ = repo_with_hostile_file
    _, out, err = run_manual(["check"], root, isolated_env, process=process)
    assert "MAN007" in out, out + err
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in out + err
    assert "manual/a\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\u202eb.md" in out


def test_json_output_stays_valid_and_names_the_real_file(repo_with_hostile_file: tuple[Path, str], isolated_env: dict[str, str]) -> None:
    root, path = repo_with_hostile_file
    _, out, _ = run_manual(["check", "--format", "json"], root, isolated_env)
    for raw in ("\x1b", "\x9b", "\u202e"):  # json.dumps itself escapes only the first
        assert raw not in out
    assert path in [d["path"] for d in json.loads(out)]

