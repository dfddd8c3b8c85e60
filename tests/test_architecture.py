"""The package's layers, enforced: imports run one way, downward, and never in a circle.

Every import counts, including the ones made inside functions (to start quickly) and under
``TYPE_CHECKING``: a layer that needs another only for a type still depends on it. The table of
floors is the one ``docs/architecture.md`` shows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "tools" / "manualkit"

#: Each floor may import the floors below it and, without circles, its own modules.
FLOORS = ("base", "text", "records", "documents", "site", "commands", "desk", "cli")


def module_name(path: Path) -> str:
    parts = ["manualkit", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports (``from x import y`` counts y when y is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
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


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imported_modules(p, modules) for p in files}


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


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
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
    for path in PACKAGE_DIR.rglob("*.py"):
        if path.relative_to(PACKAGE_DIR).as_posix() == "base/clock.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(PACKAGE_DIR)}: {n}" for n in needles if n in text]
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
