"""The package's layers, enforced: imports run one way, downward, and never in a circle.

Every import counts, including the ones made inside functions (to start quickly) and under
``TYPE_CHECKING``: a layer that needs another only for a type still depends on it. The table of
floors is the one ``docs/architecture.md`` shows.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "tools" / "manualkit"

#: Each floor may import the floors below it and, without circles, its own modules.
FLOORS = ("base", "text", "records", "documents", "site", "commands", "desk", "cli")


def module_name(path: Path) -> str:
    parts = ["manualkit", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@dataclass(frozen=True)
class Module:
    """One module of the package as the rules read it: its name, path, text and syntax tree."""

    name: str
    path: Path
    text: str
    tree: ast.Module

    @property
    def relative(self) -> str:
        return self.path.relative_to(PACKAGE_DIR).as_posix()


@functools.cache
def package_modules() -> tuple[Module, ...]:
    """Every module of the package, read and parsed once for all the rules of this file."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found.append(Module(module_name(path), path, text, ast.parse(text, str(path))))
    return tuple(found)


def imported_modules(module: Module, modules: set[str]) -> set[str]:
    """The package's modules that ``module`` imports (``from x import y`` counts y when y is a module)."""
    name = module.name
    package = name if module.path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c in modules and c != name)
    return found


def floor_of(module: str) -> int | None:
    """The floor index of ``module``; None for the package roots (``manualkit``, ``manualkit.x``'s __init__)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return FLOORS.index(parts[1]) if parts[1] in FLOORS else -1


@functools.cache
def import_graph() -> Mapping[str, frozenset[str]]:
    names = {m.name for m in package_modules()}
    return {m.name: frozenset(imported_modules(m, names)) for m in package_modules()}


def test_every_module_sits_on_a_known_floor() -> None:
    strays = [m for m in import_graph() if floor_of(m) == -1]
    assert not strays, f"modules outside the floors {FLOORS}: {strays}; place each in a layer"


def test_imports_run_downward() -> None:
    upward = []
    for module, targets in import_graph().items():
        mine = floor_of(module)
        for target in targets:
            theirs = floor_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{module} -> {target} ({FLOORS[mine]} imports {FLOORS[theirs]})")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def find_cycle(graph: Mapping[str, set[str] | frozenset[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"a2"}, "a2": {"b"}, "b": {"a2"}}, ["a2", "b", "a2"]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[str] | None) -> None:
    assert find_cycle(graph) == expected


def test_one_module_owns_time() -> None:
    """Only base/clock.py reads the clock or names a time zone offset."""
    offenders = []
    needles = ("date.today(", "datetime.now(", "timedelta(hours=8)", "time.time(")
    for module in package_modules():
        if module.relative == "base/clock.py":
            continue
        offenders += [f"{module.relative}: {n}" for n in needles if n in module.text]
    assert not offenders, "the clock is read outside base/clock.py:\n" + "\n".join(offenders)


def test_only_the_cli_imports_the_desk_and_only_its_entry_point() -> None:
    """The signing desk is a floor beside the CLI: it may import commands and below; the CLI may
    import its entry point (desk.server); nothing else imports it."""
    wrong = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if target.startswith("manualkit.desk")
        and not module.startswith("manualkit.desk")
        and (module, target) not in {("manualkit.cli", "manualkit.desk.server"), ("manualkit.cli", "manualkit.desk")}
    ]
    assert not wrong, "the desk is imported from outside:\n" + "\n".join(sorted(wrong))


# --- commands register themselves; none imports another (issue 27, points 3 and 6) --------------

#: The commands that compose others, and the one reason each may import them.
COMPOSING = {
    "manualkit.commands.publish": "checks the manual, then builds the site and documents (check + build)",
    "manualkit.commands.summary": "the pull request's summary shows the check's findings (check)",
    "manualkit.commands.witness": "compares a witness document with the release as verify reads it (verify)",
}


def command_modules(trees: Mapping[str, ast.Module]) -> set[str]:
    """The modules of ``trees`` (module name → syntax tree) that declare commands (``COMMANDS = ...``)."""
    found = set()
    for module, tree in trees.items():
        if any(isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMMANDS" for t in n.targets) for n in tree.body):
            found.add(module)
    return found


def commands_importing_commands(graph: Mapping[str, set[str] | frozenset[str]], commands: set[str], composing: set[str]) -> list[str]:
    """Each import of a command module by another module of the commands floor not named composing."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.startswith("manualkit.commands.") and module not in composing
        for target in targets
        if target in commands
    )


def package_trees() -> dict[str, ast.Module]:
    return {m.name: m.tree for m in package_modules()}


def parsed(sources: Mapping[str, str]) -> dict[str, ast.Module]:
    """``sources`` (module name → text) parsed, for a rule tried on modules made up for the test."""
    return {name: ast.parse(text) for name, text in sources.items()}


def test_no_command_imports_another_command() -> None:
    commands = command_modules(package_trees())
    assert {"manualkit.commands.docx", "manualkit.commands.check", "manualkit.desk.command"} <= commands
    wrong = commands_importing_commands(import_graph(), commands, set(COMPOSING))
    assert not wrong, "a command imports another command (move the shared service down a floor):\n" + "\n".join(wrong)


def test_the_command_rule_finds_a_command_importing_a_command() -> None:
    sources = {
        "manualkit.commands.pdf": "COMMANDS = ()\n",
        "manualkit.commands.docx": "COMMANDS = ()\n",
        "manualkit.commands.gates": "def open_request(): ...\n",
        "manualkit.commands.publish": "COMMANDS = ()\n",
    }
    commands = command_modules(parsed(sources))
    assert commands == {"manualkit.commands.pdf", "manualkit.commands.docx", "manualkit.commands.publish"}
    graph = {
        "manualkit.commands.pdf": {"manualkit.commands.docx", "manualkit.commands.gates"},
        "manualkit.commands.gates": {"manualkit.commands.docx"},
        "manualkit.commands.publish": {"manualkit.commands.pdf"},
        "manualkit.cli": {"manualkit.commands.docx"},
    }
    assert commands_importing_commands(graph, commands, {"manualkit.commands.publish"}) == [
        "manualkit.commands.gates -> manualkit.commands.docx",
        "manualkit.commands.pdf -> manualkit.commands.docx",
    ]


def test_every_command_is_listed_once_in_the_index() -> None:
    import importlib

    from manualkit.commands import INDEX

    names = [name for name, _, _ in INDEX]
    assert len(names) == len(set(names))
    declared = {c.name: module for module in {m for _, m, _ in INDEX} for c in importlib.import_module(f"manualkit.{module}").COMMANDS}
    assert declared == {name: module for name, module, _ in INDEX}
    assert all(summary.strip() for _, _, summary in INDEX)
    listed = {f"manualkit.{m}" for _, m, _ in INDEX}
    assert command_modules(package_trees()) == listed, "a module declares COMMANDS but is not in manualkit.commands.INDEX"


# --- the clock's variables are read in base/clock.py only (issue 27, points 4 and 6) ------------

CLOCK_VARIABLES = ("MANUAL_NOW", "MANUAL_TODAY", "SOURCE_DATE_EPOCH")


def clock_variable_readers(trees: Mapping[str, ast.Module]) -> list[str]:
    """Each place outside ``manualkit.base.clock`` that names one of the clock's environment
    variables as a string of its own (``env.get("MANUAL_NOW")``, ``environ["SOURCE_DATE_EPOCH"]``,
    a mapping key): messages and docstrings that mention one inside a sentence do not count."""
    found = []
    for module, tree in trees.items():
        if module == "manualkit.base.clock":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in CLOCK_VARIABLES:
                found.append(f"{module}:{node.lineno}: {node.value}")
    return sorted(found)


def test_only_the_clock_reads_its_variables() -> None:
    wrong = clock_variable_readers(package_trees())
    assert not wrong, "the clock's variables are read outside base/clock.py:\n" + "\n".join(wrong)


def test_the_clock_rule_finds_a_variable_read_elsewhere() -> None:
    sources = {
        "manualkit.base.clock": 'x = env.get("MANUAL_NOW")\n',
        "manualkit.commands.docx": 'import os\nepoch = os.environ.get("SOURCE_DATE_EPOCH", "")\n',
        "manualkit.cli": 'def f(env):\n    return env["MANUAL_TODAY"]\n',
        "manualkit.documents.layout": 'MESSAGE = "SOURCE_DATE_EPOCH 要求可复现的 PDF"\n',
    }
    assert clock_variable_readers(parsed(sources)) == ["manualkit.cli:2: MANUAL_TODAY", "manualkit.commands.docx:2: SOURCE_DATE_EPOCH"]


# --- the run's context travels as one value (issue 27, point 4) ---------------------------------

#: A function that takes ``root`` together with one of these takes the run's context loose: the
#: repository, the clock's answers and the environment belong in one ``base/run.Run``.
LOOSE_CONTEXT = ("today", "now", "env")

#: The functions that still take ``root`` with ``today``, ``now`` or ``env`` as parameters of their
#: own. This list may only shrink: a new function takes ``run: Run`` (``base/run.py``) instead, and a
#: function converted to it leaves the list (the test below fails on a name that no longer offends).
LOOSE_CONTEXT_REMAINING = frozenset(
    {
        # git's ``env`` is the child process's environment (author dates), not the run's
        "manualkit.base.git.run",
        "manualkit.base.git.text",
        # commands
        "manualkit.commands.registry.ReleaseBuilder.__call__",
        # documents
        "manualkit.documents.kept_docx.store",
        "manualkit.documents.release_document.render_release",
        "manualkit.documents.release_document.unsigned_release",
        "manualkit.documents.release_document.build_release_docx",
        "manualkit.documents.release_document.release_docx",
        "manualkit.documents.release_document.build_release_pdf",
        "manualkit.documents.release_document.release_pdf",
    }
)


def loose_context_functions(trees: Mapping[str, ast.Module]) -> set[str]:
    """Each function (``module.Class.name``) that takes ``root`` and one of :data:`LOOSE_CONTEXT`;
    ``base/run.py`` excepted, where the Run is made from them."""
    found: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}.{child.name}")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                a = child.args
                names = {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
                if "root" in names and names.intersection(LOOSE_CONTEXT):
                    found.add(f"{prefix}.{child.name}")
                visit(child, f"{prefix}.{child.name}")
            else:
                visit(child, prefix)

    for module, tree in trees.items():
        if module != "manualkit.base.run":
            visit(tree, module)
    return found


def test_no_new_function_takes_the_run_context_loose() -> None:
    found = loose_context_functions(package_trees())
    new = sorted(found - LOOSE_CONTEXT_REMAINING)
    assert not new, "take the run as one value (run: base.run.Run), not root with today/now/env:\n" + "\n".join(new)
    gone = sorted(LOOSE_CONTEXT_REMAINING - found)
    assert not gone, "these no longer take the context loose: remove them from LOOSE_CONTEXT_REMAINING:\n" + "\n".join(gone)


def test_the_context_rule_finds_a_function_taking_root_and_the_clock() -> None:
    sources = {
        "manualkit.commands.x": (
            "def fine(run, chapter): ...\n"
            "def loose(root, chapter, today): ...\n"
            "class C:\n    def method(self, root, *, env=None): ...\n"
            "def outer(root):\n    def inner(root, now): ...\n"
            "def only_today(today, now): ...\n"
        ),
        "manualkit.base.run": "class Run:\n    def at(cls, root, env, zone): ...\n",
    }
    assert loose_context_functions(parsed(sources)) == {"manualkit.commands.x.loose", "manualkit.commands.x.C.method", "manualkit.commands.x.outer.inner"}
