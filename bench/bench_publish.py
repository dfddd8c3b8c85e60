"""Benchmark of ``make publish`` on a fresh clone, then a second run (run on demand:
``python bench/bench_publish.py [--commit REV] [--runs N]``).

The repository is cloned (``git clone --no-tags``, then ``REV`` checked out, default HEAD) into a
temporary folder with its own HOME, so that nothing is shared with an earlier run: no site cache
(``.git/manualkit/site-cache``), no kept DOCX, no layout cache (``~/.cache/manualkit/layout``), no
development key. The virtualenv is made first, from the user's pip and uv caches, and not timed.
``make publish`` is timed twice in the same clone: the first run lays out every signed file of
the 下载 page (each release in each status it has had, site/release_files.py), the second
takes them from the site cache. Each figure is the median over ``--runs`` fresh clones.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MANUAL_", "XDG_")) and k != "SOURCE_DATE_EPOCH"}
    env["HOME"] = str(home)
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr.decode('utf-8', 'replace')}")


def one_clone(commit: str) -> tuple[float, float]:
    """Seconds of the first and the second ``make publish`` in a fresh clone at ``commit``."""
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        clone, home = Path(tmp) / "repo", Path(tmp) / "home"
        home.mkdir()
        subprocess.run(["git", "clone", "-q", "--no-tags", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", "--detach", commit], check=True)
        _run(["make", "-s", ".venv/.installed-stamp"], clone, dict(os.environ))  # the user's pip and uv caches
        env = _env(home)
        times = []
        for _ in range(2):
            started = time.perf_counter()
            _run(["make", "-s", "publish"], clone, env)
            times.append(time.perf_counter() - started)
        return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="HEAD", help="the commit to measure (default HEAD)")
    parser.add_argument("--runs", type=int, default=1, help="fresh clones to measure (median)")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", args.commit], check=True, capture_output=True, text=True).stdout.strip()
    runs = [one_clone(commit) for _ in range(args.runs)]
    first, second = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    print(f"{commit[:7]}: make publish on a fresh clone {first:.1f} s (virtualenv made beforehand), second run {second:.1f} s ({args.runs} run(s), {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
