"""Commands register themselves (issue 27, point 3): each module declares its commands, the CLI
discovers them from one index, imports only the module of the command it runs, and prints what
the command returns; nothing else prints.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from revision_repo import PROJECT_ROOT

CLI_SOURCE = PROJECT_ROOT / "tools" / "manualkit" / "cli.py"


def loaded_by(args: list[str]) -> tuple[int, set[str], str]:
    """The exit status, the modules loaded and the output of ``manual <args>`` in a new interpreter."""
    probe = (
        "import sys\n"
        "from manualkit.cli import main\n"
        f"try:\n    code = main({args!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        "sys.stderr.write('\\nLOADED ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    return proc.returncode, set(proc.stderr.rsplit("LOADED ", 1)[1].split()), proc.stdout + proc.stderr


def test_the_list_of_commands_imports_no_command_module() -> None:
    code, loaded, out = loaded_by(["--help"])
    assert code == 0 and "manual docx" not in out and "docx" in out, out
    commands = sorted(m for m in loaded if m.startswith("manualkit.commands.") and m != "manualkit.commands.registry")
    assert commands == [], commands
    assert "dataclasses" not in loaded and "manualkit.desk.command" not in loaded


def test_a_command_imports_its_own_module_only() -> None:
    code, loaded, out = loaded_by(["docx", "--help"])
    assert code == 0 and "--with-comparison" in out, out
    commands = sorted(m for m in loaded if m.startswith("manualkit.commands.") and m not in ("manualkit.commands.registry",))
    assert commands == ["manualkit.commands.docx"], commands


def test_a_mistyped_command_is_told_the_nearest_one() -> None:
    code, loaded, out = loaded_by(["histroy"])
    assert code == 2 and "MAN000" in out and "manual history" in out, out
    assert not [m for m in loaded if m.startswith("manualkit.commands.") and m != "manualkit.commands.registry"]


def test_the_cli_stays_a_thin_face() -> None:
    """cli.py discovers, parses, runs and prints (≤ 250 lines); no command is written there."""
    text = CLI_SOURCE.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "def cmd_" not in text and "add_argument(\"--format\"" not in text


def test_what_a_command_says_is_printed_in_its_order_on_its_streams(capsys: object) -> None:
    from manualkit.cli import _show
    from manualkit.commands.registry import Outcome

    ran: list[str] = []
    outcome = Outcome(3, then=lambda: ran.append("served"))
    outcome.say("第一行", 2)
    outcome.warn("警告\x1b[31m\n")
    outcome.write("末行\n")
    assert _show(outcome) == 3 and ran == ["served"]
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    assert captured.out == "第一行 2\n末行\n"
    assert captured.err == "警告\\u001b[31m\n"  # a terminal's escape is shown, never obeyed


def test_format_is_chosen_one_way_and_json_stays_an_alias() -> None:
    from manualkit.commands.registry import format_option

    parser = argparse.ArgumentParser()
    format_option(parser, ("text", "json"), json_alias=True)
    assert parser.parse_args([]).format == "text"
    assert parser.parse_args(["--json"]).format == "json"
    assert parser.parse_args(["--format", "json"]).format == "json"


def test_release_keeps_the_trusted_certificates_under_control() -> None:
    """``release`` refuses uncommitted changes in the controlled folders, certs/ among them
    (named there as a plain string so that the command module stays light)."""
    from manualkit.commands.release import CONTROLLED_PATHS
    from manualkit.records.trust import CERTS_DIR

    assert CERTS_DIR in CONTROLLED_PATHS


def test_the_run_context_finds_the_repository_root(tmp_path: Path) -> None:
    from manualkit.commands.context import find_root

    (tmp_path / "manual").mkdir()
    (tmp_path / "manual" / "manual.yml").write_text("x: 1\n", encoding="utf-8")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(None, deep) == tmp_path
    assert find_root(str(deep), deep) == deep
    assert find_root(None, Path("/")) == Path("/")
