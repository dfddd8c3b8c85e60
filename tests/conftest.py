"""Shared fixtures and helpers of the test suite.

Everything a test touches lives in its own temporary folder: a copy of the real manual
(``repo_copy``), an isolated environment (``isolated_env``), and git repositories made with a
fixed author and pinned dates (``make_git_repo``). ``run_manual`` runs the CLI's ``main`` in the
test's process, in the test's folder and with exactly the test's environment; what only a whole
process shows (a kill, a hang, a lock held by another process, two commands at once, the console
script itself) is tested with the installed ``manual`` script as a subprocess (``process=True``,
test_os_faults, test_concurrency).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cpu_support
import pytest
from revision_repo import LAYOUT_CACHE_VARIABLE, SHARED_VARIABLE, layout_cache, main_in_process

# pytest rewrites the asserts of every test module it imports (some 180 modules, 2,700 asserts) and
# keeps the result beside the module only when Python may write bytecode: where the environment
# sets PYTHONDONTWRITEBYTECODE=1, each xdist worker of each run rewrote them all again (about 6 s of
# CPU per worker, measured with `pytest --collect-only`: 9.2 s of user time, 2.6–3.1 s with the
# rewritten modules kept). The commands the tests start get PYTHONDONTWRITEBYTECODE=1 from
# base_env as before; __pycache__/ is ignored by git.
sys.dont_write_bytecode = False

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MANUAL_DIR = PROJECT_ROOT / "manual"

PINNED_TODAY = "2026-06-01"
GIT_AUTHOR_NAME = "测试编制人"
GIT_AUTHOR_EMAIL = "author@example.com"
PINNED_GIT_DATE = "2026-01-01T09:00:00+08:00"


def manual_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m manualkit.cli``."""
    script = Path(sys.executable).parent / "manual"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "manualkit.cli"]


def run_manual(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, *, process: bool = False) -> tuple[int, str, str]:
    """Run ``manual <args>`` in ``cwd``; return ``(exit status, stdout, stderr)``: the CLI's ``main``
    in this process (the interpreter start is most of a short command's time), or with
    ``process=True`` the installed console script as a subprocess."""
    environment = dict(os.environ if env is None else env)
    if not process:
        result = main_in_process(args, cwd, environment)
        return result.code, result.stdout, result.stderr
    proc = subprocess.run([*manual_command(), *args], cwd=cwd, env=environment, capture_output=True, timeout=120, check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: own HOME, pinned date and locale, no system or global git config."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "Asia/Shanghai",
        "MANUAL_TODAY": PINNED_TODAY,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MANUAL_LAYOUT_CACHE": layout_cache(),  # one for the run (see revision_repo)
    }
    env.update(extra)
    return env


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Environment for subprocesses: HOME in tmp, MANUAL_TODAY=2026-06-01, LANG=C.UTF-8."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return base_env(home)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A repository root in tmp holding a copy of the real ``manual/``; returns the root."""
    root = tmp_path / "repo"
    shutil.copytree(MANUAL_DIR, root / "manual", symlinks=True)
    return root


# --- LibreOffice as a reader ---------------------------------------------------------------------


@functools.cache
def _libreoffice_version() -> str | None:
    from manualkit.documents.layout import engine_version, soffice

    return engine_version(soffice(), {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"})


def new_libreoffice_profile(folder: Path) -> Path:
    """A new LibreOffice user profile in ``folder`` for a test that opens a document in LibreOffice
    itself, made as the layout engine makes one (``documents.layout.new_profile``): it says which
    LibreOffice last started it, so LibreOffice skips its graphics self-tests (about 0.7 s of CPU
    at each start) and is otherwise as new."""
    from manualkit.documents.layout import new_profile

    new_profile(folder, _libreoffice_version())
    return folder


# --- git -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitRepo:
    """A git repository in a tmp folder, driven with a fixed author, pinned dates and no signing."""

    root: Path
    env: dict[str, str]

    def git(self, *args: str, date: str = PINNED_GIT_DATE) -> str:
        env = {**self.env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, encoding="utf-8", check=False
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc.stdout

    def commit(self, message: str, *, date: str = PINNED_GIT_DATE, paths: Sequence[str] = (".",)) -> str:
        """Stage ``paths``, commit with the pinned author and date; return the commit id."""
        self.git("add", "--all", "--", *paths)
        self.git("commit", "--quiet", "--allow-empty", "-m", message, date=date)
        return self.git("rev-parse", "HEAD").strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


def git_env(home: Path) -> dict[str, str]:
    """Environment for git in tests: isolated HOME, no system/global config, fixed identity."""
    home.mkdir(parents=True, exist_ok=True)
    return base_env(
        home,
        GIT_AUTHOR_NAME=GIT_AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=GIT_AUTHOR_EMAIL,
        GIT_COMMITTER_NAME=GIT_AUTHOR_NAME,
        GIT_COMMITTER_EMAIL=GIT_AUTHOR_EMAIL,
        GIT_AUTHOR_DATE=PINNED_GIT_DATE,
        GIT_COMMITTER_DATE=PINNED_GIT_DATE,
    )


def make_git_repo(
    root: Path,
    home: Path | None = None,
    *,
    message: str = "初始版本",
    date: str = PINNED_GIT_DATE,
) -> GitRepo:
    """``git init`` ``root`` (created if needed), configure it locally and commit what it holds.

    The identity and ``commit.gpgsign false`` are set in the repository's own config, and the
    environment has its own HOME with system and global config switched off, so nothing from the
    machine running the tests leaks in.
    """
    root.mkdir(parents=True, exist_ok=True)
    repo = GitRepo(root, git_env(home if home is not None else root.parent / "git-home"))
    repo.git("init", "--quiet", "--initial-branch=main")
    for key, value in (
        ("user.name", GIT_AUTHOR_NAME),
        ("user.email", GIT_AUTHOR_EMAIL),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
        ("core.autocrlf", "false"),
    ):
        repo.git("config", "--local", key, value)
    repo.commit(message, date=date)
    return repo


_OWN_LAYOUT_CACHE = pytest.StashKey[str]()


_OWN_SHARED = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """The run's layout cache and its folder of histories built once (revision_repo.built_once),
    made by the controller before xdist starts its workers (which inherit the variables) and
    removed when the run ends; with ``MANUALKIT_TEST_CPU``, each test's CPU time (cpu_support)."""
    cpu_support.register(config)
    if LAYOUT_CACHE_VARIABLE not in os.environ:
        os.environ[LAYOUT_CACHE_VARIABLE] = tempfile.mkdtemp(prefix="manualkit-layout-")
        # Like /tmp: test_os_faults runs commands as ``nobody``, who lays out and reads there too.
        os.chmod(os.environ[LAYOUT_CACHE_VARIABLE], 0o1777)
        config.stash[_OWN_LAYOUT_CACHE] = os.environ[LAYOUT_CACHE_VARIABLE]
    if SHARED_VARIABLE not in os.environ:
        os.environ[SHARED_VARIABLE] = tempfile.mkdtemp(prefix="manualkit-shared-")
        config.stash[_OWN_SHARED] = os.environ[SHARED_VARIABLE]


def pytest_unconfigure(config: pytest.Config) -> None:
    for key, variable in ((_OWN_LAYOUT_CACHE, LAYOUT_CACHE_VARIABLE), (_OWN_SHARED, SHARED_VARIABLE)):
        path = config.stash.get(key, None)
        if path:
            shutil.rmtree(path, ignore_errors=True)
            del os.environ[variable]


# --- the browser tests (test_site_browser, test_site_screens) ---------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo history's site, built by the real ``manual build`` and served: one per module."""
    from test_site_browser import served_site

    yield from served_site(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(site: Any) -> Iterator[Any]:
    """Headless Chromium, launched once per module (after its site is up)."""
    from test_site_browser import launched_chromium

    yield from launched_chromium()


def is_shallow(root: Path) -> bool:
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True, check=False)
    return out.stdout.strip() == "true"


@pytest.fixture(scope="module")
def project_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository, with its committed release history (A/0 … B/1).

    Cloned without tags, as CI's clone of main is: the release records, not the tags, are what
    the tools read, so nothing here may depend on ``release/*`` tags being present.
    """
    if is_shallow(PROJECT_ROOT):
        pytest.skip("the project checkout is a shallow clone; its release history is not available")
    dest = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(PROJECT_ROOT), str(dest)], check=True)
    return dest


def release_commit(root: Path, version: str) -> str:
    """The commit that added the release record of ``version``, found with plain git."""
    record = f"changelog/releases/{version.replace('/', '-')}.yml"
    out = subprocess.run(
        ["git", "-C", str(root), "log", "--diff-filter=A", "--format=%H", "--", record], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(out) == 1, f"{record} was added by {len(out)} commits"
    return out[0]


# --- make test-fast --------------------------------------------------------------------------------

# Modules whose tests run in-process on small inputs: no signed history built, no site, no browser,
# no LibreOffice (at most a tiny git repository). ``make test-fast`` runs them (``pytest -m unit``) in a few seconds for the edit
# loop; ``make test`` runs everything.
UNIT_MODULES = frozenset(
    {
        "test_architecture.py",
        "test_check_properties.py",
        "test_dependencies.py",
        "test_git.py",
        "test_ooxml_package.py",
        "test_summary_markdown.py",
        "test_reminders_messages.py",
        "test_search_text.py",
        "test_site_downloads_cache.py",
    }
)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m unit`` the other modules are not even imported (collecting them all costs more
    than running the unit tests)."""
    name = collection_path.name
    if config.getoption("markexpr") == "unit" and name.startswith("test_") and name.endswith(".py"):
        return name not in UNIT_MODULES or None
    return None


# Modules whose module-scoped fixtures are expensive (a built site, a browser, a published DOCX, a
# LibreOffice run): under ``pytest -n … --dist loadgroup`` (``make test``) each runs on one worker, so
# that its fixtures are made once; every other test goes to whichever worker is free. Two conditions
# (see pytest_collection_modifyitems and pyproject.toml): the marks are added before pytest-xdist
# reads them, and pytest stays below 9.2 (pytest-xdist#1386).
GROUPED_MODULES = frozenset({
    "test_site.py", "test_site_browser.py", "test_site_screens.py", "test_publish.py", "test_diff.py",
    "test_demo_reenactment.py", "test_hostile_text.py", "test_pdf_release.py", "test_verify_status.py", "test_comparison_appendix.py",
    "test_site_search.py",
    "test_site_downloads.py", "test_site_verify.py",
})  # fmt: skip


# The longest modules start first, so that no worker begins one of them while the others run out
# of work (xdist hands the tests out in this order). On a fresh clone of the CI kind: 244 s against
# 298 s in collection order.
LONGEST_FIRST = ("test_site_screens.py", "test_site_browser.py", "test_hostile_text.py", "test_demo_reenactment.py")


def _longest_first(item: pytest.Item) -> int:
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


# tryfirst: pytest-xdist's worker turns the xdist_group marks into the group it schedules by in its
# own pytest_collection_modifyitems, which otherwise runs before this one (the marks came too late
# and the tests of a grouped module were spread over every worker).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_longest_first)  # stable: each module keeps its own order
    for item in items:
        if item.path.name in UNIT_MODULES:
            item.add_marker(pytest.mark.unit)
        if item.path.name in GROUPED_MODULES:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
