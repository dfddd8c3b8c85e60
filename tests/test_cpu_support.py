"""The suite's CPU accounting (tests/cpu_support.py, bench/bench_suite.py), run on a real pytest
process: one line per test, the CPU of the processes a test waited for counted to that test, and
the sum by module."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
BENCH = TESTS.parent / "bench" / "bench_suite.py"

MODULE = '''
import subprocess, sys

def test_busy_child():
    # a child that spends about 0.4 s of CPU, whatever the machine's load
    subprocess.run([sys.executable, "-c", "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.4: pass"], check=True)

def test_idle():
    assert True
'''


def _bench_suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_suite", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path: Path, record: Path | None) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text("import cpu_support\n\ndef pytest_configure(config):\n    cpu_support.register(config)\n", encoding="utf-8")
    (project / "test_sample.py").write_text(MODULE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MANUALKIT_TEST_CPU"))}
    env["PYTHONPATH"] = str(TESTS)
    if record is not None:
        env["MANUALKIT_TEST_CPU"] = str(record)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_each_test_is_recorded_with_the_cpu_of_the_processes_it_waited_for(tmp_path: Path) -> None:
    record = tmp_path / "cpu"
    proc = _run(tmp_path, record)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = dict(_bench_suite().load(record))
    assert sorted(rows) == ["test_sample.py::test_busy_child", "test_sample.py::test_idle"]
    assert rows["test_sample.py::test_busy_child"] >= 0.35  # the child's CPU, counted to its test
    assert rows["test_sample.py::test_idle"] < rows["test_sample.py::test_busy_child"]
    report = _bench_suite().report(_bench_suite().load(record), 10)
    assert "2 tests" in report and "test_sample.py" in report and "test_busy_child" in report


def test_nothing_is_recorded_unless_asked(tmp_path: Path) -> None:
    proc = _run(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not list(tmp_path.rglob("cpu-*.jsonl"))
