"""Start-up benchmark of the commands people wait for (run on demand: ``python bench/bench_startup.py``).

Two ratios of whole processes, measured alternately (so that a change of the machine's load hits
both sides alike), median of ``--runs`` pairs, wall time and CPU time (user + system of the
process and its children, which a busy shared machine disturbs less):

- ``manual docx -o …`` (the version in force from git, numbered from the layout cache, signed)
  against ``pandoc -f markdown -t docx`` of the same chapters (target <= 1.0x): warm (a second
  docx of the release: its unsigned DOCX kept under ``.git/manualkit/``, only signed) and cold
  (the kept DOCX removed before each run: rendered from git, pages from the layout cache);
- ``manual check`` against ``manual --help``, the CLI's bare start (target <= 2.1x).

``--compare CHECKOUT...`` times only the docx, of this checkout and of others (clones at earlier
commits, each with its own ``.venv``), cold and warm, one after the other in each round: on a
shared machine, a before and an after measured at different times meet different loads.

Then, for each command, where its imports go (``python -X importtime``, self time summed per
top-level package, the package's own modules by module), to tell which layer a remaining cost
belongs to.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_DOCX = 1.0
TARGET_CHECK = 2.1


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def pair(
    ours: list[str], theirs: list[str], env: dict[str, str], runs: int, before: Callable[[], None] = lambda: None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Medians of (wall, CPU) for each command, run alternately ``runs`` times after one warm-up
    each; ``before`` is called (untimed) before each of our runs."""
    before()
    timed(ours, env, ROOT)
    timed(theirs, env, ROOT)
    a, b = [], []
    for _ in range(runs):
        before()
        a.append(timed(ours, env, ROOT))
        b.append(timed(theirs, env, ROOT))

    def median(samples: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)

    return median(a), median(b)


def imports(args: list[str], env: dict[str, str]) -> list[tuple[float, str]]:
    """Self import time (ms) per top-level package (``manualkit.x.y`` per module), largest first."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "manualkit.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    totals: collections.Counter[str] = collections.Counter()
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            name = m.group(2)
            key = name if name.startswith("manualkit.") else name.split(".")[0]
            totals[key] += int(m.group(1)) / 1000
    return [(ms, name) for name, ms in totals.most_common()]


def forget_kept_docx(root: Path = ROOT) -> None:
    """Remove the kept release DOCX files (documents/kept_docx.py): the next docx renders."""
    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=root, capture_output=True, text=True, check=True)
    for folder in (Path(common.stdout.strip()) / "manualkit").glob("kept-docx-*"):
        shutil.rmtree(folder, ignore_errors=True)


def compare(checkouts: list[Path], pandoc_docx: list[str], out: Path, env: dict[str, str], runs: int) -> None:
    """Each checkout's ``manual docx`` (its own ``.venv``), cold then warm, and pandoc, in turn
    ``runs`` times, so that every figure meets the same load: medians, ratios to pandoc's."""
    commands = {root: [str(root / ".venv" / "bin" / "manual"), "docx", "-o", str(out)] for root in checkouts}
    for root, command in commands.items():  # the history caches of each checkout, and one warm-up
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    cold: dict[Path, list[tuple[float, float]]] = {root: [] for root in checkouts}
    warm: dict[Path, list[tuple[float, float]]] = {root: [] for root in checkouts}
    theirs = []
    for _ in range(runs):
        for root, command in commands.items():
            forget_kept_docx(root)
            cold[root].append(timed(command, env, root))
            warm[root].append(timed(command, env, root))
        theirs.append(timed(pandoc_docx, env, ROOT))
    p_wall, p_cpu = statistics.median(s[0] for s in theirs), statistics.median(s[1] for s in theirs)
    print(f"pandoc: {p_wall * 1000:6.0f} ms wall, {p_cpu * 1000:6.0f} ms CPU; load average now {os.getloadavg()[0]:.2f}")
    for root in checkouts:
        head = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=root, capture_output=True, text=True, check=False).stdout.strip()
        for label, samples in (("cold", cold[root]), ("warm", warm[root])):
            wall, cpu = statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)
            print(f"  {label} {wall * 1000:5.0f} ms wall ({wall / p_wall:.2f}x), {cpu * 1000:5.0f} ms CPU ({cpu / p_cpu:.2f}x)  {head[:70]}")


def report(label: str, ours: tuple[float, float], theirs: tuple[float, float], other: str, target: float) -> None:
    wall, cpu = ours[0] / theirs[0], ours[1] / theirs[1]
    verdict = "met" if min(wall, cpu) <= target else "MISSED"
    print(f"{label}: {ours[0] * 1000:6.0f} ms wall, {ours[1] * 1000:6.0f} ms CPU")
    print(f"{other}: {theirs[0] * 1000:6.0f} ms wall, {theirs[1] * 1000:6.0f} ms CPU")
    print(f"  ratio {wall:.2f}x wall, {cpu:.2f}x CPU (target <= {target}x) {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11, help="alternate pairs per figure (median)")
    parser.add_argument("--top", type=int, default=12, help="import rows shown per command")
    parser.add_argument(
        "--compare", nargs="+", type=Path, default=[], metavar="CHECKOUT",
        help="only the docx: this checkout's and these (each with its .venv, e.g. clones at earlier commits) in turn, cold and warm",
    )  # fmt: skip
    args = parser.parse_args(argv)
    import compileall

    import manualkit

    compileall.compile_dir(str(Path(manualkit.__file__).parent), quiet=1)  # as `make` does after installing
    manual = str(BIN / "manual")
    pandoc = shutil.which("pandoc")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "MANUAL_HOME": str(work / "home")}
        docx = [manual, "docx", "-o", str(work / "out.docx")]
        subprocess.run(docx, cwd=ROOT, env=env, check=True, capture_output=True)  # the development key and the layout cache
        print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} alternate runs, medians")
        if pandoc is None:
            print("pandoc: NOT FOUND (apt-get install pandoc); the docx ratio is not computed")
        else:
            chapters = sorted((ROOT / "manual").glob("[0-9][0-9]-*.md"))
            source = work / "manual.md"
            source.write_text("\n\n".join(re.sub(r"\A---\n.*?\n---\n", "", p.read_text(encoding="utf-8"), flags=re.S) for p in chapters), encoding="utf-8")
            pandoc_docx = [pandoc, "-f", "markdown", "-t", "docx", "-o", str(work / "pandoc.docx"), str(source)]
            if args.compare:
                compare([ROOT, *(c.resolve() for c in args.compare)], pandoc_docx, work / "out.docx", env, args.runs)
                return 0
            ours, theirs = pair(docx, pandoc_docx, env, args.runs)
            report("manual docx (warm: the release's DOCX kept, only signed)", ours, theirs, "pandoc     ", TARGET_DOCX)
            ours, theirs = pair(docx, pandoc_docx, env, args.runs, before=forget_kept_docx)
            report("manual docx (cold: rendered, the layout cache warm)", ours, theirs, "pandoc     ", TARGET_DOCX)
        ours, theirs = pair([manual, "check"], [manual, "--help"], env, args.runs)
        report("manual check ", ours, theirs, "manual --help", TARGET_CHECK)
        for label, command in (("docx", ["docx", "-o", str(work / "out.docx")]), ("check", ["check"]), ("--help", ["--help"])):
            rows = imports(command, env)
            print(f"\nimports of manual {label}: {sum(ms for ms, _ in rows):.0f} ms in all; largest:")
            for ms, name in rows[: args.top]:
                print(f"  {ms:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
