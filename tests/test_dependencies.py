"""Every declared dependency earns its place: it is imported where docs/dependencies.md says, and
that page explains it (a package dropped or added without a word there fails here)."""

from __future__ import annotations

import ast
import functools
import re
import tomllib

from conftest import PROJECT_ROOT

# Distribution name (as in pyproject.toml) → the top-level modules that name it in an import.
IMPORT_NAMES = {
    "ruamel.yaml": {"ruamel"},
    "pyyaml": {"yaml"},
    "markdown-it-py": {"markdown_it"},
    "mkdocs-material": {"mkdocs", "material"},  # MkDocs loads the theme by name; the hooks import it
    "python-docx": {"docx"},
    "lxml": {"lxml"},
    "cryptography": {"cryptography"},
    "chinese-calendar": {"chinese_calendar"},
    "pyhanko": {"pyhanko", "pyhanko_certvalidator"},
    "webauthn": {"webauthn"},
    "starlette": {"starlette"},
    "uvicorn": {"uvicorn"},
    "jinja2": {"jinja2"},
    "pytest": {"pytest"},
    "pytest-xdist": set(),  # a pytest plugin, loaded by `-n`
    "hypothesis": {"hypothesis"},
    "mypy": set(),  # tools run by `make lint`, never imported
    "ruff": set(),
    "types-pyyaml": set(),  # stubs read by mypy
    "playwright": {"playwright"},
    "websockets": {"websockets"},
    "aiosmtpd": {"aiosmtpd"},
}


def _declared() -> tuple[list[str], list[str]]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name = re.compile(r"^[A-Za-z0-9._-]+")

    def names(specs: list[str]) -> list[str]:
        found = [name.match(s) for s in specs]
        return [m.group(0).lower() for m in found if m]

    return names(project["dependencies"]), names(project["optional-dependencies"]["test"])


@functools.cache
def _imported(folders: tuple[str, ...]) -> frozenset[str]:
    """Top-level module names imported anywhere under ``folders`` (also inside functions), and
    module names given to ``importlib.import_module`` as a literal."""
    found: set[str] = set()
    for folder in folders:
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.add(node.args[0].value.split(".")[0])
    return frozenset(found)


def test_every_runtime_dependency_is_imported_by_the_package() -> None:
    runtime, _ = _declared()
    imported = _imported(("tools/manualkit",))
    for dist in runtime:
        assert dist in IMPORT_NAMES, f"{dist}: say in docs/dependencies.md and here which modules it provides"
        assert IMPORT_NAMES[dist] & imported, f"{dist} is declared but tools/manualkit never imports it"


def test_every_test_dependency_is_used() -> None:
    _, test = _declared()
    imported = _imported(("tests", "bench"))
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    for dist in test:
        assert dist in IMPORT_NAMES, f"{dist}: say in docs/dependencies.md and here what it is for"
        modules = IMPORT_NAMES[dist]
        if modules:
            assert modules & imported, f"{dist} is declared but no test imports it"
    assert "pytest -q -n $(TEST_WORKERS)" in makefile  # pytest-xdist runs the suite
    assert "$(BIN)/mypy" in makefile and "$(BIN)/ruff" in makefile


def test_every_dependency_is_explained() -> None:
    page = (PROJECT_ROOT / "docs" / "dependencies.md").read_text(encoding="utf-8").lower()
    runtime, test = _declared()
    for dist in runtime + test:
        assert f"| {dist} |" in page, f"docs/dependencies.md does not say why {dist} is a dependency"


def test_removed_dependencies_stay_removed() -> None:
    """GitPython was declared and never imported; jieba installed and then disabled on purpose;
    mdit-py-plugins never imported. The package must not start importing them unannounced."""
    imported = _imported(("tools/manualkit",))
    assert not {"git", "jieba", "mdit_py_plugins"} & imported


def test_pyhanko_loads_without_a_warning_and_other_warnings_still_show() -> None:
    """cryptography deprecates DSA and pyHanko imports the DSA key type: that one warning, raised
    while pyHanko loads, must not reach the person running ``manual pdf`` (a fresh process with
    every warning an error loads it); any other warning still does."""
    import subprocess
    import sys

    program = (
        "from manualkit.documents.pyhanko_import import load_pyhanko_sign\n"
        "load_pyhanko_sign()\n"
        "import pyhanko.sign.validation, pyhanko.sign.fields\n"
        "import warnings\n"
        "try:\n"
        "    warnings.warn('DSA is deprecated elsewhere', DeprecationWarning)\n"
        "except DeprecationWarning:\n"
        "    print('still shown')\n"
    )
    run = subprocess.run([sys.executable, "-W", "error", "-c", program], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "still shown\n" and run.stderr == ""
