"""MAN001 written once (issue 27, point 1): a file that is not UTF-8 says so in one way, wherever
it is read, at the line and column of its first bad byte.

``base/encoding.decode_utf8`` is the one place that writes MAN001; the chapters, the records under
``changelog/``, the working-day calendar, the contacts and the obligations map all decode through
it. The rule below holds every other module to that, and is shown failing on a module that writes
the code itself and on the package as it was before (07a8f3f: seven modules wrote it).
"""

from __future__ import annotations

import ast
import subprocess
import tarfile
from pathlib import Path

import pytest
from test_architecture import PACKAGE_DIR, module_name

pytestmark = pytest.mark.unit

HOME = "manualkit.base.encoding"
#: The table of codes declares MAN001 (its title); it writes no finding.
DECLARES = "manualkit.base.codes"
BAD = b"first: ok\nsecond: \xe4\xbd\xa0\xff\xfe\n"  # line 2, column 12: the byte after a whole 你
LINE, COL = 2, 12


def writers(source: str, module: str) -> list[str]:
    """Where ``module`` names MAN001 outside a docstring: one line per place."""
    if module in (HOME, DECLARES):
        return []
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        f"{module}:{node.lineno} writes MAN001: decode through {HOME}.decode_utf8"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "MAN001" in node.value and id(node) not in docstrings
    ]


def package_writers(package: Path) -> set[str]:
    found = set()
    for path in sorted(package.rglob("*.py")):
        name = ".".join(["manualkit", *path.relative_to(package).with_suffix("").parts]).removesuffix(".__init__")
        found |= {line.split(":")[0] for line in writers(path.read_text(encoding="utf-8"), name)}
    return found


def test_only_the_encoding_module_writes_man001() -> None:
    found = [line for path in sorted(PACKAGE_DIR.rglob("*.py")) for line in writers(path.read_text(encoding="utf-8"), module_name(path))]
    assert found == []


def test_the_rule_finds_a_module_that_writes_man001_itself() -> None:
    source = 'def load(raw):\n    """Reads MAN001 files."""\n    return diagnostic("x", 0, 0, "MAN001", "不是 UTF-8")\n'
    assert writers(source, "manualkit.records.stray") == ["manualkit.records.stray:3 writes MAN001: decode through manualkit.base.encoding.decode_utf8"]
    assert writers('"""Bad UTF-8 is MAN001 (base/encoding)."""\n', "manualkit.records.stray") == []  # a docstring writes nothing


def test_the_rule_finds_the_writers_before_the_one_home(tmp_path: Path) -> None:
    root = PACKAGE_DIR.parent.parent
    if subprocess.run(["git", "-C", str(root), "cat-file", "-e", "07a8f3f^{commit}"], capture_output=True).returncode != 0:
        pytest.skip("the commit before the one home is not in this clone")
    archive = tmp_path / "before.tar"
    subprocess.run(["git", "-C", str(root), "archive", "-o", str(archive), "07a8f3f", "tools/manualkit"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    assert package_writers(tmp_path / "tools" / "manualkit") == {
        "manualkit.records.workdays", "manualkit.records.contacts", "manualkit.records.obligation_map", "manualkit.records.signed",
        "manualkit.text.manual", "manualkit.site.build",
    }  # fmt: skip


def _the_one_finding(problems: list[object], path: str) -> None:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.encoding import MESSAGE

    assert len(problems) == 1, problems
    found = problems[0]
    assert isinstance(found, Diagnostic)
    assert (found.path, found.line, found.col, found.code, found.message) == (path, LINE, COL, "MAN001", MESSAGE)


def test_every_reader_says_the_same_at_the_bad_byte(tmp_path: Path) -> None:
    from manualkit.records import signed
    from manualkit.records.contacts import CONTACTS_PATH, read_contacts
    from manualkit.records.obligation_map import OBLIGATIONS_PATH, load_mapping
    from manualkit.records.workdays import CALENDAR_PATH, load_calendar
    from manualkit.text.manual import decode

    calendar, problems = load_calendar({CALENDAR_PATH: BAD})
    _the_one_finding(list(problems), CALENDAR_PATH)
    assert calendar.years == {}
    mapping, problems = load_mapping({OBLIGATIONS_PATH: BAD})
    _the_one_finding(list(problems), OBLIGATIONS_PATH)
    assert mapping == []
    (tmp_path / "manual").mkdir()
    (tmp_path / CONTACTS_PATH).write_bytes(BAD)
    contacts, problems = read_contacts(tmp_path)
    _the_one_finding(list(problems), CONTACTS_PATH)
    assert contacts is None
    record = "changelog/returns/CR-2026-009.yml"
    data, problems = signed.read_yaml(record, BAD)
    _the_one_finding(list(problems), record)
    assert data is None
    text, problems = decode("manual/03-execution.md", BAD)
    _the_one_finding(list(problems), "manual/03-execution.md")
    assert text is None


def test_the_finding_is_at_the_first_bad_byte() -> None:
    from manualkit.base.encoding import decode_utf8

    assert decode_utf8("a.yml", "一二三\n".encode()) == ("一二三\n", [])
    for data, where in ((b"\xff", (1, 1)), (b"ab\ncd\n\xe4\xbd", (3, 1)), ("第一行\n第二".encode() + b"\xc0", (2, 7))):
        text, problems = decode_utf8("a.yml", data)
        assert text is None and [(p.line, p.col, p.code) for p in problems] == [(*where, "MAN001")], (data, problems)
