"""Where the test suite's CPU goes, by module (run on demand; not a test).

    MANUALKIT_TEST_CPU=/tmp/cpu .venv/bin/pytest -n 3 --dist loadgroup [modules…]
    .venv/bin/python bench/bench_suite.py /tmp/cpu [--top 40]

tests/cpu_support.py writes, per pytest process, the CPU seconds (user + system) of every test, in
the process and in the processes it waited for; this script sums them by module and prints the
modules by cost, with the share of the whole, the number of tests and the costliest test of each.
CPU, not wall time: on the shared 2-core machine wall times depend on the other sessions' load,
and the suite is bound by CPU (``docs/speed.md``), so the sum over modules, divided by the cores,
is the least wall time a run can take.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def load(folder: Path) -> list[tuple[str, float]]:
    """(node id, CPU seconds) of every test recorded in ``folder``."""
    out: list[tuple[str, float]] = []
    for path in sorted(folder.glob("cpu-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.append((str(row["test"]), float(row["own"]) + float(row["children"])))
    return out


def report(rows: list[tuple[str, float]], top: int) -> str:
    modules: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for test, seconds in rows:
        modules[test.split("::", 1)[0]].append((test, seconds))
    total = sum(seconds for _, seconds in rows) or 1.0
    lines = [f"{len(rows)} tests, {total:.1f} s of CPU ({total / 2:.1f} s on 2 cores at best)", ""]
    lines.append(f"{'module':<44} {'CPU s':>8} {'share':>6} {'tests':>6}  costliest test")
    ranked = sorted(modules.items(), key=lambda kv: -sum(s for _, s in kv[1]))
    for module, tests in ranked[:top]:
        cost = sum(s for _, s in tests)
        worst = max(tests, key=lambda t: t[1])
        lines.append(f"{module:<44} {cost:8.1f} {cost / total:6.1%} {len(tests):6d}  {worst[1]:.1f} s {worst[0].split('::', 1)[-1][:60]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="the folder MANUALKIT_TEST_CPU named")
    parser.add_argument("--top", type=int, default=40, help="how many modules to list")
    args = parser.parse_args(argv)
    rows = load(args.folder)
    if not rows:
        print(f"bench_suite: no CPU records in {args.folder}", file=sys.stderr)
        return 1
    print(report(rows, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
