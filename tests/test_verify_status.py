"""``manual verify`` says what the version is today, by the timeline of releases, not by the status
the document printed on the day it was made: a DOCX printed while A/0 was in force is still
genuine after A/1 takes effect, and verify says that A/0 has been superseded since then, by A/1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from revision_repo import RevisionRepo, shared_history


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[RevisionRepo, Path, Path]:
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("verify-status") / "r")  # A/0: published 2025-12-01, effective 2026-01-01
    env = {"MANUAL_HOME": str(repo.base / "mh")}
    a0 = repo.base / "A-0.docx"
    result = repo.manual("docx", "--version", "A/0", "-o", str(a0), env={**env, "MANUAL_TODAY": "2026-02-01"})
    assert result.code == 0 and "现行有效" in result.stdout, result.output
    repo.prepared("minor", ["3.2"], day="2026-02-20")
    repo.release("2026-03-01", "2026-03-16")  # A/1
    a1 = repo.base / "A-1.docx"
    result = repo.manual("docx", "--version", "A/1", "-o", str(a1), env={**env, "MANUAL_TODAY": "2026-03-05"})
    assert result.code == 0 and "已批准待实施" in result.stdout, result.output
    return repo, a0, a1


@pytest.mark.parametrize(
    ("document", "today", "expected"),
    [
        ("A-0", "2026-02-01", "截至 2026-02-01：现行有效"),
        ("A-0", "2026-03-05", "截至 2026-03-05：现行有效"),  # A/1 published, not yet in force
        ("A-0", "2026-04-01", "截至 2026-04-01：已作废：自 2026-03-16 起由 A/1 版取代"),
        ("A-1", "2026-03-05", "截至 2026-03-05：已批准待实施，将于 2026-03-16 起实施"),
        ("A-1", "2026-04-01", "截至 2026-04-01：现行有效"),
    ],
)
def test_verify_reports_the_status_of_today_not_the_printed_one(
    two_releases: tuple[RevisionRepo, Path, Path], document: str, today: str, expected: str
) -> None:
    repo, a0, a1 = two_releases
    path = a0 if document == "A-0" else a1
    result = repo.manual("verify", str(path), env={"MANUAL_HOME": str(repo.base / "mh"), "MANUAL_TODAY": today})
    assert result.code == 0, result.output
    assert expected in result.stdout, result.output
    printed = "现行有效" if document == "A-0" else "已批准待实施"
    if printed not in expected:
        assert f"文件中印的状态为“{printed}”" in result.stdout, result.output
