"""The command line in the words its users use (issue 24, point 6): help entirely in Chinese,
``--class`` by the class names of chapter 8 as well as the English keys."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from conftest import run_manual
from revision_repo import RevisionRepo, shared_history

from manualkit.cli import build_parser

# What argparse prints in English unless told otherwise.
_ARGPARSE_ENGLISH = re.compile(r"usage:|positional arguments|optional arguments|options:|show this help message")


def _commands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:
        if action.choices and isinstance(action.choices, dict):
            return sorted(action.choices)
    raise AssertionError("no subcommands")


@pytest.mark.parametrize("command", [None, *_commands()])
def test_every_help_text_is_in_chinese(command: str | None, tmp_path: Path) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    code, out, err = run_manual(args, tmp_path)
    assert code == 0, out + err
    assert out.startswith("用法：manual"), out
    assert not _ARGPARSE_ENGLISH.search(out), out
    assert "显示本帮助并退出" in out


def test_every_option_of_every_command_is_explained_in_chinese() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a.choices, dict))
    assert isinstance(sub.choices, dict)
    for name, command in [("manual", parser), *sub.choices.items()]:
        for action in command._actions:
            if action.help is argparse.SUPPRESS or action is sub:
                continue
            assert action.help and re.search(r"[\u4e00-\u9fff]", action.help), (name, action.option_strings or action.dest, action.help)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")


@pytest.mark.parametrize(
    ("word", "stored"),
    [("重大修订", "major"), ("一般修订", "minor"), ("编辑性修订", "editorial"), ("编辑性修改", "editorial"), ("minor", "minor")],
)
def test_class_takes_the_chinese_names_and_the_english_keys(template: RevisionRepo, tmp_path: Path, word: str, stored: str) -> None:
    repo = template.copy_to(tmp_path / "repo")
    cr = repo.propose(word, ["3.2"], today="2026-02-10")
    assert re.search(rf"(?m)^class: {stored}\s", repo.request_path(cr).read_text(encoding="utf-8"))


def test_an_unknown_class_is_a_usage_error_naming_the_classes(template: RevisionRepo, tmp_path: Path) -> None:
    repo = template.copy_to(tmp_path / "repo")
    result = repo.manual("propose", "--class", "大修", "--title", "x", "--sections", "3.2", "--reason", "y")
    assert result.code == 2, result.output
    assert "MAN000" in result.output and "重大修订" in result.output and "编辑性修改" in result.output
    assert not list((repo.root / "changelog" / "requests").glob("CR-2026-*.yml"))
