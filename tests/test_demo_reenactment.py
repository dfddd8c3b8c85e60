"""The full demo history, re-enacted from scratch by ``tools/demo/reenact.py`` with the documented
commands and fresh keys (issue #11): the project's releases, plus a returned request, training
records, numbered copies of A/1 and their recall, and a revoked key. The script runs in a
subprocess, as ``make demo`` runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from revision_repo import PROJECT_ROOT, manual_command

pytestmark = pytest.mark.slow

SCRIPT = PROJECT_ROOT / "tools" / "demo" / "reenact.py"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def release_commit(root: Path, version: str) -> str:
    return git(root, "log", "--diff-filter=A", "--format=%H", "--", f"changelog/releases/{version}.yml").split()[-1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("demo")
    scratch = base / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    env.pop("MANUAL_TODAY", None)
    env.pop("MANUAL_NOW", None)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(base / "demo-home")], capture_output=True, text=True, env=env, check=False, timeout=600
    )
    return base / "demo-home", scratch, proc


def manual(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MANUAL_TODAY": "2026-12-01", "MANUAL_NO_CACHE": "1"}
    return subprocess.run([*manual_command(), *args], cwd=root, capture_output=True, text=True, env=env, check=False)


def test_reenacted_demo_passes_check_and_audit(demo: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    root, scratch, proc = demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    check = manual(root, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    audit = manual(root, "audit", "--json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    findings = {f["code"] for c in report["checks"] for f in c["findings"]}
    assert not findings & {"MAN807", "MAN817", "MAN818", "MAN823", "MAN802", "MAN812"}, findings
    assert [r["version"] for r in report["releases"]] == ["A/0", "A/1", "B/0", "B/1", "B/2"]
    # The same texts as the project's own releases, under the same change requests and dates.
    for version in ("A-0", "A-1", "B-0", "B-1"):
        ours, theirs = release_commit(root, version), release_commit(PROJECT_ROOT, version)
        for chapter in sorted(p.name for p in (PROJECT_ROOT / "manual").glob("*.md")):
            assert git(root, "rev-parse", f"{ours}:manual/{chapter}") == git(PROJECT_ROOT, "rev-parse", f"{theirs}:manual/{chapter}")
        record, original = (yaml.safe_load(git(r, "show", f"{c}:changelog/releases/{version}.yml")) for r, c in ((root, ours), (PROJECT_ROOT, theirs)))
        same = ("version", "class", "published", "effective", "change_requests", "sections", "summary")
        assert {k: record[k] for k in same} == {k: original[k] for k in same}
        assert [(a["role"], a["signer"], a["signed_at"]) for a in record["approvals"]] == [(a["role"], a["signer"], a["signed_at"]) for a in original["approvals"]]
    # No private key survives: none in the repository, the generated ones deleted.
    assert not list(scratch.iterdir())
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix != ".docx":
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_reenacted_demo_carries_the_four_records(demo: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    root, _, proc = demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # A returned request, resubmitted by A/1's request.
    history = json.loads(manual(root, "history", "--json").stdout)
    (returned,) = history["returned_requests"]
    assert returned == returned | {"id": "CR-2025-002", "role": "审核", "signer": "li.na", "verified": True, "replaced_by": ["CR-2026-001"]}
    assert "replaces: CR-2025-002" in (root / "changelog/requests/CR-2026-001.yml").read_text(encoding="utf-8")
    # Training records for A/0 and B/0 dated before their effective dates.
    training = sorted(p.name for p in (root / "changelog/training").glob("*.yml"))
    assert any(n.startswith("A-0-2025-12") for n in training) and any(n.startswith("B-0-2026-06") for n in training)
    # Numbered copies of A/1, recalled within 5 working days of B/0 taking effect (one kept).
    # Each copy is a signed issue record; its recall is a second, separate signed record (both write-once).
    records = {p.stem: p.read_text(encoding="utf-8") for p in (root / "changelog/copies").glob("A-1-*.yml")}
    copies = {k: v for k, v in records.items() if not k.endswith("-recall")}
    recalls = {k: v for k, v in records.items() if k.endswith("-recall")}
    assert sorted(copies) == ["A-1-001", "A-1-002", "A-1-003"]
    assert sorted(recalls) == [f"{n}-recall" for n in sorted(copies)]
    assert all("kind: manual-controlled-copy/1" in text and "signature:" in text for text in copies.values())
    assert sum('retained: "true"' in text for text in recalls.values()) == 1, recalls
    assert all('recalled: "2026-07-0' in text and "signature:" in text for text in recalls.values()), recalls
    assert sorted(p.name for p in (root / "dist/copies").glob("*.docx")) == [f"XS-QM-01_A-1-00{i}.docx" for i in (1, 2, 3)]
    # A revoked key: 李娜's, after B/1; her earlier signatures stay valid, her new key is registered.
    (revocation,) = (root / "changelog/revocations").glob("li.na-*.yml")
    revoked_key = next(line.split(":", 1)[1].strip().strip('"') for line in revocation.read_text(encoding="utf-8").splitlines() if line.startswith("key:"))
    assert revoked_key.split()[1] not in (root / "manual/policy.yml").read_text(encoding="utf-8")
    b1 = next(e for e in history["releases"] if e["version"] == "B/1")
    li = next(a for a in b1["approvals"] if a["signer"] == "li.na")
    assert li["valid"] is True and li["key_revoked_at"].startswith("2026-11-28")
    # ... by a registry change request approved by the signers in force and released as B/2.
    b2 = next(e for e in history["releases"] if e["version"] == "B/2")
    assert b2["valid"] and b2["change_requests"] == ["CR-2026-005"] and "policy" in b2["sections"], b2
    assert {(a["role"], a["signer"]) for a in b2["approvals"]} == {("编制", "zhang.wei"), ("审核", "zhao.min"), ("批准", "chen.gang")}


def test_reenacted_demo_carries_the_review_round(demo: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    """Issue 22: B/1's request has two imported opinions, one accepted and one rejected with its
    reason, answered before 审核 signed; both are committed and the request was released."""
    import yaml

    root, _, proc = demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    opinions = yaml.safe_load((root / "changelog" / "opinions" / "CR-2026-004-li.na-1.yml").read_text(encoding="utf-8"))
    assert [(o["number"], o["section"], o["author"]) for o in opinions["opinions"]] == [(1, "2.2", "李娜"), (2, "4.3", "李娜")]
    answers = [yaml.safe_load((root / "changelog" / "answers" / f"CR-2026-004-{n}.yml").read_text(encoding="utf-8")) for n in (1, 2)]
    assert [a["decision"] for a in answers] == ["accept", "reject"] and answers[1]["reason"]
    assert answers[1]["answered_at"] < "2026-11-03T14:20:00+08:00"
    assert git(root, "status", "--porcelain", "--", "changelog/") == ""
