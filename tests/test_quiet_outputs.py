"""What users see is the answer only: no dependency's warning on stderr (issue 24, point 6).

The real commands run as subprocesses on a clone of this repository with ``PYTHONWARNINGS=error``:
a warning any import or call raises would then end the command with a traceback, so an exit
status 0 and an empty stderr show that none was raised, not merely that none was printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import base_env, run_manual

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    return base_env(home, MANUAL_TODAY="2026-11-27", MANUAL_HOME=str(home / "manual-home"), PYTHONWARNINGS="error")


def test_make_publish_prints_nothing_on_stderr(project_clone: Path, env: dict[str, str]) -> None:
    venv = Path(sys.executable).parent.parent
    stamp = venv / ".installed-stamp"
    # -o: the clone's pyproject.toml is newer than the test's virtualenv; it is not reinstalled.
    proc = subprocess.run(
        ["make", "-s", "-o", str(stamp), "publish", f"VENV={venv}"],
        cwd=project_clone, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert (project_clone / "dist" / "XS-QM-01_B-0.pdf").is_file()


def test_manual_pdf_and_verify_print_nothing_on_stderr(project_clone: Path, env: dict[str, str], tmp_path: Path) -> None:
    pdf = tmp_path / "B-0.pdf"
    code, out, err = run_manual(["pdf", "-o", str(pdf)], project_clone, env, process=True)
    assert (code, err) == (0, ""), out + err
    assert pdf.is_file()
    code, out, err = run_manual(["verify", str(pdf)], project_clone, env, process=True)
    assert (code, err) == (0, ""), out + err
    assert "真实有效：B/0 版 PDF/A" in out

