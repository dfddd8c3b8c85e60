"""One writer at a time: concurrent ``manual`` processes on one real repository lose no write.

Each test starts real ``manual`` subprocesses at the same moment (they wait on a shared barrier
file before importing anything heavy is not possible from outside, so they are simply started
together, several rounds in a row) and then counts what the repository holds.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from revision_repo import SIGNER, RevisionRepo, manual_command, shared_history

ROUNDS = 4


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")  # only copied, never changed


def _start(repo: RevisionRepo, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*manual_command(), *args], cwd=repo.root, env=repo.env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _finish(procs: list[subprocess.Popen[bytes]]) -> list[tuple[int, str]]:
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        results.append((p.returncode, (out + err).decode("utf-8", "replace")))
    return results


def _approvals(repo: RevisionRepo, cr: str) -> list[dict[str, object]]:
    data = yaml.safe_load(repo.request_path(cr).read_text(encoding="utf-8"))
    approvals = data["approvals"]
    assert isinstance(approvals, list)
    return approvals


def test_concurrent_approvals_of_one_request_all_land(released: RevisionRepo, tmp_path: Path) -> None:
    repo = released.copy_to(tmp_path / "c")
    roles = repo.roles_for("major")
    assert len(roles) >= 3
    for round_ in range(ROUNDS):
        section = f"2.{round_ + 1}"  # each round its own section: an edit voids the earlier rounds' signatures
        cr = repo.propose("major", [section], title=f"并发签署第 {round_ + 1} 轮", today="2026-02-10")
        repo.append_to_section(section, f"并发签署测试第 {round_ + 1} 轮的补充规定。")
        procs = [
            _start(
                repo,
                "approve",
                cr,
                "--role",
                role,
                "--key",
                str(repo.key(SIGNER[role])),
                env={"MANUAL_NOW": "2026-02-20T10:00:00+08:00"},
            )
            for role in roles
        ]
        results = _finish(procs)
        for code, output in results:
            assert code == 0 and "Traceback" not in output, output
        signed = _approvals(repo, cr)
        assert sorted(str(a["role"]) for a in signed) == sorted(roles), f"round {round_ + 1}: {signed}"
        check = repo.manual("check")
        assert check.code == 0, check.output  # every signature verifies
        repo.commit(f"{cr} approved")


def test_concurrent_proposals_get_distinct_request_numbers(released: RevisionRepo, tmp_path: Path) -> None:
    repo = released.copy_to(tmp_path / "p")
    before = set((repo.root / "changelog" / "requests").glob("*.yml"))
    procs = [
        _start(
            repo,
            "propose",
            "--class",
            "minor",
            "--sections",
            "3.2",
            "--title",
            f"并发提出 {i}",
            "--reason",
            "测试",
            "--applicant",
            "张伟",
        )
        for i in range(3)
    ]
    for code, output in _finish(procs):
        assert code == 0 and "Traceback" not in output, output
    made = set((repo.root / "changelog" / "requests").glob("*.yml")) - before
    titles = sorted(yaml.safe_load(p.read_text(encoding="utf-8"))["title"] for p in made)
    assert titles == ["并发提出 0", "并发提出 1", "并发提出 2"]


def test_two_concurrent_releases_one_wins_the_other_refuses_cleanly(released: RevisionRepo, tmp_path: Path) -> None:
    for round_ in range(3):
        repo = released.copy_to(tmp_path / f"r{round_}")
        repo.prepared("minor", ["3.2"], day="2026-02-20")
        args = ("release", "--published", "2026-03-01", "--effective", "2026-03-16")
        env = {"MANUAL_TODAY": "2026-03-01"}
        results = _finish([_start(repo, *args, env=env), _start(repo, *args, env=env)])
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], results
        loser = next(output for code, output in results if code == 1)
        assert "Traceback" not in loser and "删除该标签" not in loser, loser
        assert "MAN662" in loser or "MAN760" in loser, loser  # nothing left to release, or still busy
        assert repo.tags() == ["release/A-0", "release/A-1"]
        assert repo.porcelain() == "", "the release left the working tree dirty"
        assert repo.manual("audit").code == 0


def test_a_busy_repository_is_refused_after_the_wait_and_nothing_is_written(
    released: RevisionRepo, tmp_path: Path
) -> None:
    from manualkit.base.lock import lock_path

    repo = released.copy_to(tmp_path / "busy")
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "补充规定。")
    before = repo.state()
    fd = os.open(lock_path(repo.root), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, "manual release（进程 4242）".encode())
        result = repo.manual(
            "approve", cr, "--role", "编制", "--key", str(repo.key("zhang")), env={"MANUAL_LOCK_WAIT": "0.3"}
        )
    finally:
        os.close(fd)
    assert result.code == 1 and "MAN760" in result.codes(), result.output
    assert "manual release（进程 4242）" in result.stderr
    assert "Traceback" not in result.output
    assert repo.state() == before


def test_a_writer_killed_with_the_lock_held_leaves_no_lock_behind(released: RevisionRepo, tmp_path: Path) -> None:
    repo = released.copy_to(tmp_path / "killed")
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from pathlib import Path; from manualkit.base.lock import repository_lock\n"
            "with repository_lock(Path(sys.argv[1]), 'approve'):\n    print('held', flush=True); time.sleep(600)\n"
        ), str(repo.root)],
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert holder.stdout is not None
    with holder.stdout:
        assert holder.stdout.readline().strip() == b"held"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    result = repo.manual(
        "approve", cr, "--role", "编制", "--key", str(repo.key("zhang")), env={"MANUAL_LOCK_WAIT": "0"}
    )
    assert result.code == 0, result.output


def test_a_lock_that_cannot_be_made_is_a_diagnostic(released: RevisionRepo, tmp_path: Path) -> None:
    from manualkit.base.lock import lock_path

    repo = released.copy_to(tmp_path / "nolock")
    lock_path(repo.root).unlink(missing_ok=True)
    lock_path(repo.root).mkdir()  # a folder where the lock file belongs: even root cannot open it
    result = repo.manual("propose", "--class", "minor", "--sections", "3.2", "--title", "t", "--reason", "r", "--applicant", "张伟")
    assert result.code == 1 and "MAN761" in result.codes() and "Traceback" not in result.output, result.output
    assert not list((repo.root / "changelog" / "requests").glob("CR-2026-*.yml"))
