"""Issue 27 point 6's rule for point 1: the YAML of ``changelog/`` is read in the record registry only.

Beside the layers (tests/test_architecture.py), the package holds one home for its records:
``records/signed.py`` reads, checks and writes every record kind. No other module

- calls a YAML reader of base/yamlfile (``parse``, ``parse_roundtrip``, ``parse_record``) while it
  refers to ``changelog/`` (a string naming it, or a folder constant of a record kind: ``*_DIR``,
  ``*_PREFIX`` imported from records/, or defined as a ``changelog/`` path);
- imports PyYAML or ruamel.yaml's loader itself (base/yamlfile is the one YAML module);
- lists ``changelog/`` or a kind's folder (``os.scandir``, ``listdir``, ``walk``, ``glob``,
  ``rglob``, ``iterdir``, text/worktree's ``read_dir_files``, git's ``read_tree_files`` or
  ``list_tree``) but for the exceptions named below, each with its reason.

Like the cycle finder beside it, the rule is shown to fail on modules that break it.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from test_architecture import PACKAGE_DIR, module_name

REGISTRY = "manualkit.records.signed"
YAML_READERS = frozenset({"parse", "parse_roundtrip", "parse_record"})
LISTERS = frozenset({"scandir", "listdir", "walk", "glob", "rglob", "iterdir", "read_dir_files", "read_tree_files", "list_tree"})
#: Modules that list a record folder without reading a record, and why.
LISTING_EXCEPTIONS = {
    "manualkit.records.history": "stats changelog/releases/ (names, sizes, times) for the timeline cache's key; reads no record",
}
#: Modules that read YAML and name changelog/ without reading a record there, and why.
READING_EXCEPTIONS = {
    "manualkit.commands.init": "reads the manual.yml and policy.yml it copies (manual/); only creates the empty changelog/requests/",
}
#: Modules that may import base/yamlfile's own dependencies: the YAML module itself, and builders
#: of round-trip values (CommentedMap and friends) that read nothing.
YAML_LIBRARY = "manualkit.base.yamlfile"
BUILDERS = frozenset({"ruamel.yaml.comments", "ruamel.yaml.scalarstring"})


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants (a docstring that names changelog/ reads nothing)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def changelog_names(tree: ast.AST) -> set[str]:
    """The names in a module that stand for a folder of ``changelog/``."""
    names = {"CHANGELOG_DIR"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("manualkit.records"):
            names |= {alias.asname or alias.name for alias in node.names if alias.name.endswith(("_DIR", "_PREFIX"))}
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str) and node.value.value.startswith("changelog"):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _mentions(node: ast.AST, names: set[str], skip: set[int]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and "changelog" in n.value and id(n) not in skip:
            return True
        if (isinstance(n, ast.Name) and n.id in names) or (isinstance(n, ast.Attribute) and n.attr in names):
            return True
    return False


def _yamlfile_aliases(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names bound to the yamlfile module, names bound to its readers)."""
    modules, readers = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "manualkit.base":
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "yamlfile"}
        elif isinstance(node, ast.ImportFrom) and node.module == YAML_LIBRARY:
            readers |= {alias.asname or alias.name for alias in node.names if alias.name in YAML_READERS}
        elif isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == YAML_LIBRARY}
    return modules, readers


def violations(source: str, module: str) -> list[str]:
    """What ``module`` (its ``source``) does against the rule, one line per finding."""
    if module == REGISTRY:
        return []
    tree = ast.parse(source)
    skip = _docstrings(tree)
    names = changelog_names(tree)
    refers = _mentions(tree, names, skip)
    modules, readers = _yamlfile_aliases(tree)
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and module != YAML_LIBRARY:
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in imported:
                if name == "yaml" or name.startswith("yaml.") or (name.startswith("ruamel") and name not in BUILDERS):
                    out.append(f"{module}:{node.lineno} imports {name}: YAML is read through base/yamlfile")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        via_module = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules
        if refers and module not in READING_EXCEPTIONS and (called in readers or (via_module and called in YAML_READERS)):
            out.append(f"{module}:{node.lineno} reads YAML ({called}) in a module that refers to changelog/: records are read in {REGISTRY}")
        if called in LISTERS and module not in LISTING_EXCEPTIONS:
            parts: list[ast.AST] = [*node.args, *(k.value for k in node.keywords)]
            if isinstance(func, ast.Attribute):
                parts.append(func.value)
            if any(_mentions(p, names, skip) for p in parts):
                out.append(f"{module}:{node.lineno} lists a folder of changelog/ ({called}): records are listed in {REGISTRY}")
    return out


def test_changelog_yaml_is_read_only_in_the_record_registry() -> None:
    found = [v for path in sorted(PACKAGE_DIR.rglob("*.py")) for v in violations(path.read_text(encoding="utf-8"), module_name(path))]
    assert found == []


def test_the_registry_module_exists_and_the_exceptions_are_real_modules() -> None:
    modules = {module_name(p) for p in PACKAGE_DIR.rglob("*.py")}
    assert REGISTRY in modules
    assert set(LISTING_EXCEPTIONS) | set(READING_EXCEPTIONS) <= modules


BREAKING = {
    "a command parsing a return itself": (
        "manualkit.commands.x",
        """
        from manualkit.base import yamlfile
        from manualkit.records.returns import RETURNS_DIR

        def read(raw):
            return yamlfile.parse(raw.decode(), RETURNS_DIR + "/CR-2026-001.yml")
        """,
        ["reads YAML (parse)"],
    ),
    "a site module reading a review with the imported reader": (
        "manualkit.site.x",
        """
        from manualkit.base.yamlfile import parse_roundtrip as load

        def review(root):
            return load((root / "changelog/reviews/a.yml").read_text(), "r")
        """,
        ["reads YAML (load)"],
    ),
    "a record module globbing its folder": (
        "manualkit.records.x",
        """
        TRAINING = "changelog/training"

        def names(root):
            return sorted((root / TRAINING).glob("*.yml"))
        """,
        ["lists a folder of changelog/ (glob)"],
    ),
    "a command scanning changelog/ by name": (
        "manualkit.commands.y",
        """
        import os

        def folders(root):
            return [e.name for e in os.scandir(os.path.join(root, "changelog"))]
        """,
        ["lists a folder of changelog/ (scandir)"],
    ),
    "the worktree reader pointed at a kind's folder": (
        "manualkit.desk.x",
        """
        def copies(root):
            from manualkit.records.copies import COPIES_DIR
            from manualkit.text.worktree import read_dir_files

            return read_dir_files(root, COPIES_DIR)
        """,
        ["lists a folder of changelog/ (read_dir_files)"],
    ),
    "PyYAML imported directly": (
        "manualkit.documents.x",
        """
        def load(text):
            import yaml

            return yaml.safe_load(text)
        """,
        ["imports yaml"],
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKING))
def test_the_rule_finds_a_module_that_breaks_it(case: str) -> None:
    module, source, expected = BREAKING[case]
    found = violations(textwrap.dedent(source), module)
    assert len(found) == len(expected), found
    for line, want in zip(found, expected, strict=True):
        assert want in line, (line, want)


ALLOWED = {
    "the manual's own YAML (no changelog/ in sight)": (
        "manualkit.records.x",
        """
        from manualkit.base import yamlfile

        POLICY_PATH = "manual/policy.yml"

        def load(raw):
            \"\"\"Read manual/policy.yml (not a record of changelog/).\"\"\"
            return yamlfile.parse(raw.decode(), POLICY_PATH)
        """,
    ),
    "a writer that names a record folder but reads no YAML": (
        "manualkit.commands.x",
        """
        from manualkit.base import yamlfile
        from manualkit.records.returns import RETURNS_DIR

        def text(value):
            return RETURNS_DIR + ": " + yamlfile.quoted(value)
        """,
    ),
    "the registry itself": (
        REGISTRY,
        """
        import os
        from manualkit.base import yamlfile

        def read(root, raw):
            os.scandir(root / "changelog")
            return yamlfile.parse(raw.decode(), "changelog/x.yml")
        """,
    ),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_the_rule_allows_what_reads_no_record(case: str) -> None:
    module, source = ALLOWED[case]
    assert violations(textwrap.dedent(source), module) == []


def test_the_rule_would_have_found_the_readers_before_the_registry(tmp_path: Path) -> None:
    """At the commit before the registry (69e65ec) the rule finds what issue 27 names: record
    YAML parsed or listed in ten modules (the review in audit, the revocations' approvals, the
    signed records in procedure, opinions, answers, requests, releases, the snapshot's reading
    and remind's own listing of changelog/); after it, in none but the registry."""
    import subprocess
    import tarfile

    root = PACKAGE_DIR.parent.parent
    listed = subprocess.run(["git", "-C", str(root), "cat-file", "-e", "69e65ec^{commit}"], capture_output=True)
    if listed.returncode != 0:
        pytest.skip("the commit before the registry is not in this clone")
    archive = tmp_path / "before.tar"
    subprocess.run(["git", "-C", str(root), "archive", "-o", str(archive), "69e65ec", "tools/manualkit"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    package = tmp_path / "tools" / "manualkit"
    modules = {
        line.split(":")[0]
        for path in sorted(package.rglob("*.py"))
        for line in violations(path.read_text(encoding="utf-8"), ".".join(["manualkit", *path.relative_to(package).with_suffix("").parts]))
    }
    assert modules == {
        "manualkit.commands.remind", "manualkit.records.answers", "manualkit.records.audit", "manualkit.records.change_request",
        "manualkit.records.opinions", "manualkit.records.procedure", "manualkit.records.release", "manualkit.records.repository",
        "manualkit.records.review", "manualkit.records.revocation",
    }  # fmt: skip
