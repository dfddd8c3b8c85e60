"""The CPU time each test costs, for finding where the suite's time goes on a loaded machine.

Wall times (``--durations``) on the shared 2-core machine say as much about the other sessions as
about a test; the CPU time a test takes, in the pytest process and in every process it started and
waited for (git, LibreOffice, Chromium, ``manual`` subprocesses), does not. With
``MANUALKIT_TEST_CPU=<folder>`` each pytest process (every xdist worker) writes one JSON line per
test to ``<folder>/cpu-<pid>.jsonl``: its node id, and the seconds of CPU (user + system) of its
setup, call and teardown together, of this process and of its children. ``bench/bench_suite.py``
sums them by module.

A module fixture's cost falls to the test that first asked for it (its setup), and a browser
launched for a module is counted when its process ends, at the module's last teardown.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Generator
from pathlib import Path

import pytest

VARIABLE = "MANUALKIT_TEST_CPU"


def _seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


class CpuRecorder:
    """The pytest plugin: one line per test, appended to this process's own file."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"cpu-{os.getpid()}.jsonl"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        own, children = _seconds()
        yield
        own_after, children_after = _seconds()
        line = {"test": item.nodeid, "own": round(own_after - own, 3), "children": round(children_after - children, 3)}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def register(config: pytest.Config) -> None:
    """Record the CPU of every test when ``MANUALKIT_TEST_CPU`` names a folder."""
    folder = os.environ.get(VARIABLE, "").strip()
    if folder:
        config.pluginmanager.register(CpuRecorder(Path(folder)), "manualkit-cpu")
