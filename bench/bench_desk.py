"""Benchmark of the signing desk (``manual desk``) on the demo history (run on demand; not a test).

Builds the demo history with :class:`tests.revision_repo.RevisionRepo` (A/0 … B/1, real SSH
approvals), releases a registry change enrolling 李娜's passkey (a software authenticator with a
real P-256 key, tests/webauthn_authenticator.py), opens one change request per measured signature,
starts the real ``manual desk`` process on 127.0.0.1 and, warm (after a first request), times:

* a request page (``GET /cr/<CR>``: application, 修订对照表, redline, full text, signatures),
* the 待办 page,
* a signature written: ``POST /api/sign`` with a WebAuthn assertion (verified, checked under the
  repository lock, written atomically) — and the challenge before it.

Targets (issue 21): request page ≤ 200 ms, signature ≤ 300 ms (medians).
Usage: ``python bench/bench_desk.py [--runs N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from desk_support import free_port, running_desk  # noqa: E402
from revision_repo import RevisionRepo  # noqa: E402
from webauthn_authenticator import SoftAuthenticator  # noqa: E402

from manualkit.records.webauthn_signature import b64url_decode  # noqa: E402

TARGET_PAGE = 0.200
TARGET_SIGN = 0.300
SECTIONS = ("1.1", "1.2", "1.4", "2.1", "2.3", "2.4", "3.1", "3.3", "3.4", "4.1", "4.2", "4.4", "6.1", "6.3", "7.2", "7.3", "7.4")
NOW = {"MANUAL_NOW": "2026-12-08T10:00:00+08:00"}


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def prepare(base: Path, port: int, count: int) -> tuple[RevisionRepo, SoftAuthenticator, list[str]]:
    repo = RevisionRepo(base)
    repo.demo_history()
    auth = SoftAuthenticator(origin=f"http://localhost:{port}")
    policy = repo.root / "manual" / "policy.yml"
    key = repo.public_key("li.na")
    policy.write_text(policy.read_text(encoding="utf-8").replace(f"    key: {key}\n", f"    key: {key}\n{auth.registry_entry('2026-12-01')}", 1), encoding="utf-8")
    cr = repo.propose("minor", ["policy"], title="登记签署台凭据", today="2026-12-01")
    repo.approve_all(cr, "2026-12-02")
    repo.commit(f"{cr}: passkey enrolled")
    repo.release("2026-12-03", "2027-01-20")
    requests = []
    for section in SECTIONS[:count]:
        cr = repo.propose("minor", [section], today="2026-12-07")
        repo.append_to_section(section, "本条自发布之日起执行。")
        repo.approve(cr, "编制", now="2026-12-08T09:00:00+08:00")
        requests.append(cr)
    return repo, auth, requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="measured runs of each page and of signatures")
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    args = parser.parse_args()
    runs = max(3, min(args.runs, len(SECTIONS) - 1))
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-desk-"))
    port = free_port()
    try:
        print(f"building the demo history and {runs + 1} open requests in {base} …", flush=True)
        repo, auth, requests = prepare(base, port, runs + 1)
        with running_desk(repo, "--port", str(port), env=NOW) as desk:
            page_times, todo_times, challenge_times, sign_times = [], [], [], []
            desk.request("GET", f"/cr/{requests[0]}")  # warm: imports, templates, caches
            desk.request("GET", "/")
            for i in range(runs):
                path = f"/cr/{requests[i % len(requests)]}"
                page_times.append(seconds(lambda: desk.request("GET", path)))  # noqa: B023 (called at once)
                todo_times.append(seconds(lambda: desk.request("GET", "/")))
            for i, cr in enumerate(requests):
                started = time.perf_counter()
                _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "webauthn"})
                issued = time.perf_counter()
                assert challenge["ok"], challenge
                a = auth.assert_raw(b64url_decode(str(challenge["challenge"])), str(challenge["nonce"]))
                body = {"change_request": cr, "nonce": challenge["nonce"], "credential_id": a.credential_id, "response": {
                    "authenticator_data": a.authenticator_data, "client_data_json": a.client_data_json, "signature": a.signature}}  # fmt: skip
                sent = time.perf_counter()
                _, answer = desk.post("/api/sign", body)
                done = time.perf_counter()
                assert answer["ok"], answer
                if i:  # the first signature warms the signing path
                    challenge_times.append(issued - started)
                    sign_times.append(done - sent)
        page, todo, chal, sign = (statistics.median(t) for t in (page_times, todo_times, challenge_times, sign_times))
        print(f"request page (GET /cr/…), warm median of {len(page_times)}: {page * 1000:.0f} ms (target ≤ {TARGET_PAGE * 1000:.0f} ms)")
        print(f"待办 (GET /), warm median of {len(todo_times)}: {todo * 1000:.0f} ms")
        print(f"challenge (POST /api/challenge), median of {len(challenge_times)}: {chal * 1000:.0f} ms")
        print(f"signature written (POST /api/sign), median of {len(sign_times)}: {sign * 1000:.0f} ms (target ≤ {TARGET_SIGN * 1000:.0f} ms)")
        ok = page <= TARGET_PAGE and sign <= TARGET_SIGN
        print("targets met" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
