"""``manual docx`` and ``manual pdf`` are one command written once (the lead's read-through):
``commands/registry.release_file_command`` makes both, differing only in the builder, the words
that name the file (DOCX, PDF/A) and the extension in ``-o``'s help. What they write and say is
held by the tests that run them (test_company_home.py, test_pdf_release.py, test_kept_docx.py).
"""

from __future__ import annotations

import argparse

import pytest


def options(parser: argparse.ArgumentParser) -> list[tuple[tuple[str, ...], str | None]]:
    return [(tuple(a.option_strings), a.help) for a in parser._actions]


def parser_of(module: str) -> argparse.ArgumentParser:
    import importlib

    (command,) = importlib.import_module(f"manualkit.commands.{module}").COMMANDS
    parser = argparse.ArgumentParser(prog=f"manual {command.name}")
    command.add_arguments(parser)
    return parser


def test_docx_and_pdf_are_the_same_command_with_their_own_builder() -> None:
    from manualkit.commands import docx, pdf

    (d,), (p,) = docx.COMMANDS, pdf.COMMANDS
    assert (d.name, p.name) == ("docx", "pdf")
    assert d.run.__code__ is p.run.__code__ and d.add_arguments.__code__ is p.add_arguments.__code__  # written once
    docx_options, pdf_options = options(parser_of("docx")), options(parser_of("pdf"))
    assert [o for o, _ in docx_options] == [o for o, _ in pdf_options] == [
        ("-h", "--help"), ("--version",), ("--as-of",), ("-o", "--output"), ("--with-comparison",)
    ]  # fmt: skip
    differing = [(a, b) for a, b in zip(docx_options, pdf_options, strict=True) if a != b]
    assert differing == [
        ((("-o", "--output"), "输出文件（默认 dist/<文件编号>_<版本>.docx）"), (("-o", "--output"), "输出文件（默认 dist/<文件编号>_<版本>.pdf）"))
    ]
    # each its own builder, loaded only when it runs
    from manualkit.documents.release_document import build_release_docx, build_release_pdf

    assert (docx._builder(), pdf._builder()) == (build_release_docx, build_release_pdf)


def test_a_bad_as_of_is_a_usage_error_for_both() -> None:
    for module in ("docx", "pdf"):
        with pytest.raises(SystemExit) as exit_info:
            parser_of(module).parse_args(["--as-of", "明天"])
        assert exit_info.value.code == 2


def test_an_outcome_that_says_one_line() -> None:
    from manualkit.commands.registry import EXIT_OK, Outcome

    said = Outcome.said("已生成", "A/1 版")
    assert said.status == EXIT_OK and said.parts == [(False, "已生成 A/1 版\n")] and said.then is None
    by_hand = Outcome()
    by_hand.say("已生成", "A/1 版")
    assert by_hand.parts == said.parts
