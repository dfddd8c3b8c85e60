"""`manual history` verifies each release where it was made: records that are not in git, releases
whose manual cannot be loaded, and records naming change requests that do not exist."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from revision_repo import RevisionRepo, shared_history


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")


@pytest.fixture
def repo(template: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    return template.copy_to(tmp_path / "repo")


def forged_record(repo: RevisionRepo, version: str, change_request: str) -> str:
    """A/0's record, re-labelled as ``version`` and listing ``change_request``."""
    text = repo.read("changelog/releases/A-0.yml")
    text = text.replace("version: A/0", f"version: {version}").replace("effective: 2026-01-01", "effective: 2026-02-01")
    text = text.replace("change_requests: [CR-2025-001]", f"change_requests: [{change_request}]")
    text = text.replace("effective: 2026-02-01", "effective: 2026-02-01\nprevious: A/0")
    return text


def history(repo: RevisionRepo) -> tuple[int, list[dict[str, object]], str]:
    result = repo.manual("history", "--json", env={"MANUAL_NO_CACHE": "1"})
    assert "Traceback" not in result.output, result.output
    return result.code, json.loads(result.stdout)["releases"], result.output


def problem_codes(entry: dict[str, object]) -> set[str]:
    problems = entry["problems"]
    assert isinstance(problems, list)
    return {str(p["code"]) for p in problems}


def test_a_record_that_was_never_committed_cannot_be_verified(repo: RevisionRepo) -> None:
    (repo.root / "changelog" / "releases" / "A-1.yml").write_text(forged_record(repo, "A/1", "CR-2025-001"), encoding="utf-8")
    code, entries, _ = history(repo)
    assert code == 1
    assert entries[0]["valid"] is True
    assert entries[1]["version"] == "A/1" and entries[1]["valid"] is False
    assert problem_codes(entries[1]) == {"MAN680"}


def test_a_record_naming_a_change_request_that_does_not_exist(repo: RevisionRepo) -> None:
    (repo.root / "changelog" / "releases" / "A-1.yml").write_text(forged_record(repo, "A/1", "CR-2099-001"), encoding="utf-8")
    repo.commit("a release record made by hand")
    code, entries, output = history(repo)
    assert code == 1
    assert "MAN684" in problem_codes(entries[1]), output
    assert "CR-2099-001" in output


def test_a_release_whose_manual_cannot_be_loaded(repo: RevisionRepo) -> None:
    repo.replace_in_manual("policy.yml", "revision_limit: 10", "revision_limit: [broken")
    (repo.root / "changelog" / "releases" / "A-1.yml").write_text(forged_record(repo, "A/1", "CR-2025-001"), encoding="utf-8")
    repo.commit("a release recorded on top of a broken policy")
    code, entries, _ = history(repo)
    assert code == 1
    assert "MAN683" in problem_codes(entries[1])


# --- the caches never hide a change ------------------------------------------------------------------


def cached_history(repo: RevisionRepo) -> tuple[int, list[dict[str, object]]]:
    result = repo.manual("history", "--json")
    assert "Traceback" not in result.output, result.output
    return result.code, json.loads(result.stdout)["releases"]


def test_a_record_edited_after_a_cached_answer_is_still_caught(repo: RevisionRepo) -> None:
    code, entries = cached_history(repo)  # the answer is now cached under the records' stat
    assert code == 0 and entries[0]["valid"] is True
    path = repo.root / "changelog" / "releases" / "A-0.yml"
    before = path.stat()
    # An edit of the same length, with the modification time put back: only the change time and
    # the content differ, as after a careful forgery.
    text = path.read_text(encoding="utf-8")
    forged = text.replace("effective: 2026-01-01", "effective: 2026-01-02")
    assert len(forged) == len(text) and forged != text
    path.write_text(forged, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    code, entries = cached_history(repo)
    assert code == 1
    assert entries[0]["effective_from"] == "2026-01-02"
    assert "MAN681" in problem_codes(entries[0])


def test_a_new_commit_after_a_cached_answer_is_seen(repo: RevisionRepo) -> None:
    cached_history(repo)
    (repo.root / "changelog" / "releases" / "A-1.yml").write_text(forged_record(repo, "A/1", "CR-2099-001"), encoding="utf-8")
    code, entries = cached_history(repo)
    assert code == 1 and problem_codes(entries[1]) == {"MAN680"}  # not committed yet
    repo.commit("a release record made by hand")
    code, entries = cached_history(repo)
    assert code == 1 and "MAN684" in problem_codes(entries[1])  # committed: now verified at its commit


def _timeline_file(repo: RevisionRepo) -> Path:
    found = sorted((repo.root / ".git" / "manualkit").glob("timeline-*.json"))
    assert len(found) == 1, found
    return found[0]


def _plant_in_timeline(repo: RevisionRepo, wrong_summary: str) -> Path:
    """Change the cached answer's summary of A/0 (a stand-in for any stale answer)."""
    path = _timeline_file(repo)
    data = json.loads(path.read_text(encoding="utf-8"))
    (key, rows), = data.items()
    rows[0][0][7] = wrong_summary  # row: [record, commit, verdict]; the record's 8th field is its summary
    path.write_text(json.dumps({key: rows}, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_timeline_cache_answers_when_the_records_are_older_than_it(repo: RevisionRepo) -> None:
    cached_history(repo)
    path = _plant_in_timeline(repo, "来自缓存的摘要")
    later = path.stat().st_mtime_ns + 10 * 1_000_000_000
    os.utime(path, ns=(later, later))
    _, entries = cached_history(repo)
    assert entries[0]["summary"] == "来自缓存的摘要"  # the cache was read (this is what makes the next test meaningful)


def test_a_record_changed_as_the_cache_was_written_is_not_trusted(repo: RevisionRepo) -> None:
    cached_history(repo)
    record = repo.root / "changelog" / "releases" / "A-0.yml"
    path = _plant_in_timeline(repo, "来自缓存的摘要")
    # The cache file written no later than the record's last change: "racily clean", as git says.
    moment = record.stat().st_ctime_ns
    os.utime(path, ns=(moment, moment))
    _, entries = cached_history(repo)
    assert entries[0]["summary"] != "来自缓存的摘要"


# --- many releases are verified on every core -------------------------------------------------------


def test_verifying_in_worker_processes_gives_the_same_answer(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long history (PARALLEL_MIN releases or more) is verified in forked workers; here the
    threshold is lowered so that the demo history, with one release made invalid, takes that path."""
    from manualkit.records import history as history_module

    repo = shared_history(tmp_path_factory, "demo").copy_to(tmp_path / "demo")
    (repo.root / "changelog" / "releases" / "A-2.yml").write_text(forged_record(repo, "A/2", "CR-2099-001"), encoding="utf-8")
    monkeypatch.chdir(repo.root)
    for key, value in repo.env({"MANUAL_NO_CACHE": "1"}).items():
        monkeypatch.setenv(key, value)
    serial = history_module.release_history(repo.root, use_cache=False)
    verify = history_module.verify_release
    pids = tmp_path / "pids"

    def recording(*args: Any, **kwargs: Any) -> Any:
        with pids.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return verify(*args, **kwargs)

    monkeypatch.setattr(history_module, "PARALLEL_MIN", 2)
    monkeypatch.setattr(history_module, "verify_release", recording)
    parallel = history_module.release_history(repo.root, use_cache=False)
    assert parallel == serial
    assert [e.valid for e in serial].count(False) == 1 and len(serial) == 5
    seen = pids.read_text().split()
    assert len(seen) == 5
    if len(os.sched_getaffinity(0)) > 1:
        assert str(os.getpid()) not in seen and len(set(seen)) >= 2, "the releases were not verified in worker processes"
