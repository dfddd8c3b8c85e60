"""Benchmark of ``manual remind`` over the 1,000-release history (run on demand; not a test).

Generates the long history of bench/bench_history.py (1,000 real releases over 10,000 commits),
adds a ``manual/contacts.yml`` for its signers, and times whole ``manual remind`` processes (the
dry run, text and ``--json``) on a working day when the last version is about to take effect, so
there is a notice to send. Target: ≤ 0.5 s (median).

Usage: ``python bench/bench_remind.py [--releases N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_history import BIN, compile_bytecode, generate, git_env, timed

TARGET_SECONDS = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    args = parser.parse_args()
    compile_bytecode()
    tmp = Path(tempfile.mkdtemp(prefix="bench-remind-"))
    try:
        repo = tmp / "repo"
        gen = generate(repo, args.releases)
        policy = (repo / "manual" / "policy.yml").read_text(encoding="utf-8")
        ids = [line.split(":", 1)[1].strip() for line in policy.splitlines() if line.strip().startswith("- id:")]
        contacts = ["people:"] + [f"  {i}:\n    email: {i}@example.com" for i in ids]
        (repo / "manual" / "contacts.yml").write_text("\n".join(contacts) + "\n", encoding="utf-8")
        last = gen.records[-1]
        day = last.effective - dt.timedelta(days=1)
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        env = {**git_env(), "MANUAL_TODAY": day.isoformat()}
        manual = str(BIN / "manual")
        proc = subprocess.run([manual, "remind", "--json"], cwd=repo, capture_output=True, env=env, check=False)
        data = json.loads(proc.stdout)
        print(f"manual remind --json on {day}: {len(data['reminders'])} reminders, {len(data['warnings'])} warnings (exit {proc.returncode})")
        text = timed([manual, "remind"], repo, env)
        as_json = timed([manual, "remind", "--json"], repo, env)
        print(f"manual remind over {len(gen.records)} releases: {text:.3f} s (text), {as_json:.3f} s (--json); target ≤ {TARGET_SECONDS} s")
        return 0 if max(text, as_json) <= TARGET_SECONDS else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
