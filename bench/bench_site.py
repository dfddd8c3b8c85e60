"""Benchmark of the staff site (run on demand: ``python bench/bench_site.py``).

Real repositories are made in a temporary folder with :class:`tests.revision_repo.RevisionRepo`
(real keys, signed approvals, ``manual release``), and the real console script is timed as users
run it, in a subprocess:

1. one version (A/0): ``manual build --site-only`` next to a plain ``mkdocs build`` of the same
   Markdown (the chapters of the release, front matter as in the file) with this repository's
   ``mkdocs.yml`` — Material in Chinese with its search plugin, which segments Chinese with jieba
   since jieba is installed. The plain build is also timed with jieba unavailable, for reference.
   Target: ``manual build`` ≤ 1.5 × the plain build.
2. twenty archived versions: a history of 21 releases is built once (filling the cache of archived
   versions), then one more release is made and ``manual build --site-only`` timed: the newly
   superseded version is built, the other twenty come from the cache (keyed by content digest).
   Target: ≤ 3 × the one-version ``manual build``. The cold build (no cache) is shown for reference.

Each figure is the median of ``--runs`` runs. Figures that are compared are measured in turns
(plain, ours, plain, ours, …), so that a machine busy with other work slows both alike; each
rebuild runs on its own copy of the primed repository, with its own new release.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from revision_repo import RevisionRepo, manual_command  # noqa: E402

TARGET_ONE = 1.5  # manual build ≤ 1.5 × plain mkdocs build (one version)
TARGET_REBUILD = 3.0  # rebuild after one new release, 20 archived ≤ 3 × one-version manual build
SECTIONS = ("1.1", "2.1", "3.1", "4.1", "6.1", "7.2", "8.1", "2.3", "3.3", "4.4", "7.3")
START = dt.date(2026, 1, 10)
NO_JIEBA = "import sys; sys.modules['jieba'] = None; from mkdocs.__main__ import cli; cli()"


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def interleaved(runs: int, *jobs: Callable[[], object]) -> list[float]:
    """The median time of each job, the jobs run in turns ``runs`` times."""
    times: list[list[float]] = [[] for _ in jobs]
    for _ in range(runs):
        for i, job in enumerate(jobs):
            times[i].append(seconds(job))
    return [statistics.median(t) for t in times]


def command(args: list[str], cwd: Path, env: Mapping[str, str]) -> None:
    proc = subprocess.run(args, cwd=cwd, env=dict(env), capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout.decode()}{proc.stderr.decode()}")


def release_day(n: int) -> str:
    return (START + dt.timedelta(days=10 * n)).isoformat()


def add_release(repo: RevisionRepo, n: int) -> str:
    """Release number ``n`` (1-based after A/0): an editorial change to one section, in force at once."""
    day = release_day(n)
    repo.prepared("editorial", [SECTIONS[n % len(SECTIONS)]], day=day, text=f"（第 {n} 次修订）相关部门应按本节规定执行，并保存记录。")
    repo.release(day, day)
    return day


def build_env(repo: RevisionRepo, day: str) -> dict[str, str]:
    return repo.env({"MANUAL_TODAY": day, "MANUAL_HOME": str(repo.base / "manual-home")})


def plain_docs(repo: RevisionRepo, tag: str, target: Path) -> Path:
    """The release's chapters as they are in git, and a configuration inheriting this repo's mkdocs.yml."""
    docs = target / "docs"
    docs.mkdir(parents=True)
    for name in repo.git("ls-tree", "--name-only", f"{tag}:manual").split():
        if name.endswith(".md"):
            (docs / name).write_text(repo.git("show", f"{tag}:manual/{name}"), encoding="utf-8")
    config = target / "mkdocs.yml"
    config.write_text(f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nsite_dir: {target / 'site'}\n", encoding="utf-8")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (the median is printed)")
    parser.add_argument("--archived", type=int, default=20, help="archived versions in the second figure")
    args = parser.parse_args(argv)
    manual = manual_command()
    mkdocs = [str(Path(sys.executable).parent / "mkdocs"), "build", "-q", "-f"]
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        base = Path(tmp)
        print("Staff site: manual build --site-only vs a plain mkdocs build (seconds, median of "
              f"{args.runs} runs, each a new process)")  # fmt: skip

        one = RevisionRepo(base / "one")
        one.first_release()
        env = build_env(one, "2026-01-01")
        config = plain_docs(one, "release/A-0", base / "plain")
        command([*manual, "build", "--site-only"], one.root, env)  # caches of the history and templates

        def one_build() -> None:
            command([*manual, "build", "--site-only"], one.root, env)

        plain, ours, no_jieba, cold = interleaved(
            args.runs,
            lambda: command([*mkdocs, str(config)], base, env),
            one_build,
            lambda: command([sys.executable, "-c", NO_JIEBA, "build", "-q", "-f", str(config)], base, env),
            lambda: command([*manual, "build", "--site-only"], one.root, {**env, "MANUAL_NO_CACHE": "1"}),
        )
        ratio = ours / plain
        failed |= ratio > TARGET_ONE
        print("\none version (A/0, 8 chapters):")
        print(f"  plain mkdocs build (mkdocs.yml; Material search segments with jieba) : {plain:6.2f}")
        print(f"  plain mkdocs build, jieba unavailable (for reference)                : {no_jieba:6.2f}")
        print(f"  manual build --site-only                                             : {ours:6.2f}")
        print(f"  manual build --site-only, every cache off (MANUAL_NO_CACHE=1)         : {cold:6.2f}")
        print(f"  ratio manual build / plain mkdocs build : {ratio:5.2f} x  (target <= {TARGET_ONE}) {'ok' if ratio <= TARGET_ONE else 'MISSED'}")
        print(f"  ratio manual build / plain, no jieba    : {ours / no_jieba:5.2f} x  (for reference)")

        many = RevisionRepo(base / "many" / "primed")
        many.first_release()
        started = time.perf_counter()
        for n in range(1, args.archived + 1):
            add_release(many, n)
        made = time.perf_counter() - started
        day = release_day(args.archived)
        command([*manual, "build", "--site-only"], many.root, build_env(many, day))  # primes the cache
        full = seconds(lambda: command([*manual, "build", "--site-only"], many.root, {**build_env(many, day), "MANUAL_NO_CACHE": "1"}))

        rebuilds, singles = [], []
        for run in range(args.runs):
            copy = many.copy_to(base / "many" / f"run-{run}")
            new_day = add_release(copy, args.archived + 1)
            singles.append(seconds(one_build))
            rebuilds.append(seconds(lambda: command([*manual, "build", "--site-only"], copy.root, build_env(copy, new_day))))  # noqa: B023
            shutil.rmtree(copy.base, ignore_errors=True)
        rebuild, single = statistics.median(rebuilds), statistics.median(singles)
        ratio = rebuild / single
        failed |= ratio > TARGET_REBUILD
        print(f"\n{args.archived + 2} versions ({args.archived + 1} archived after the new release; history made in {made:.0f} s):")
        print(f"  cold build of {args.archived + 1} versions, every cache off (for reference) : {full:6.2f}")
        print(f"  rebuild after one new release (1 archived version built, {args.archived} cached) : {rebuild:6.2f}")
        print(f"  one-version manual build, measured in turns with the rebuilds                : {single:6.2f}")
        print(f"  ratio rebuild / one-version manual build : {ratio:5.2f} x  (target <= {TARGET_REBUILD}) {'ok' if ratio <= TARGET_REBUILD else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
