"""The audit's verdict in three levels (issue 24, point 3): 通过 (nothing found), 通过（有 N 项须关注）
(warnings: obligations of chapter 8 unmet, such as training after effect), 不通过 (errors); exit
0, 0 (1 with ``--strict``), 1. An obligation is judged by the rules in force when the release was
made: a release whose commit's ``manual/obligations.yml`` did not yet ask for a training record is
reported as 早于该要求 (MAN970, information), not as a missing record (MAN818).

Two real histories: the project's own (its releases were all made before ``obligations.yml``
existed; never rewritten) and the test demo history (made with today's ``obligations.yml``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import base_env, release_commit, run_manual
from revision_repo import RevisionRepo, shared_history


def _audit(root: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, object], str]:
    code, out, err = run_manual(["audit", "--json", *args], root, env)
    assert "Traceback" not in err, err
    return code, json.loads(out), err


def _findings(data: dict[str, object]) -> list[tuple[str, str, str]]:
    return [(f["code"], f["severity"], f["message"]) for c in data["checks"] for f in c["findings"]]  # type: ignore[attr-defined]


def test_this_repository_judges_each_release_by_the_rules_of_its_time(project_clone: Path, tmp_path: Path) -> None:
    for version in ("A/0", "B/0"):  # the premise, from git: no obligations.yml in their release commits
        shown = subprocess.run(["git", "-C", str(project_clone), "cat-file", "-e", f"{release_commit(project_clone, version)}:manual/obligations.yml"], check=False)
        assert shown.returncode != 0
    env = base_env(tmp_path, MANUAL_TODAY="2026-12-07")
    code, data, err = _audit(project_clone, env)
    found = _findings(data)
    assert not [f for f in found if f[0] == "MAN818"], found
    predates = sorted(m.split(" ", 1)[0] for c, s, m in found if c == "MAN970")
    assert predates == ["A/0", "B/0"] and all(s == "info" for c, s, _ in found if c == "MAN970")
    assert all("早于该要求" in m for c, _, m in found if c == "MAN970")
    # B/1 takes effect on 2027-01-15: its training is still to be done, and the rule applies now.
    assert [(c, s) for c, s, m in found if "B/1" in m and c.startswith("MAN81")] == [("MAN817", "warning")]
    # Cloned without tags: a note per release (MAN971), never a warning; the record is the evidence.
    assert sorted(m.split(" ", 1)[0] for c, s, m in found if c == "MAN971" and s == "info") == ["A/0", "A/1", "B/0", "B/1"]
    assert not [f for f in found if f[0] == "MAN715"]
    assert code == 0 and data["verdict"] == "attention" and data["passed"] is True
    assert data["summary"] == {"releases": 4, "errors": 0, "warnings": 1, "notes": sum(s == "info" for _, s, _ in found)}
    code, _, _ = _audit(project_clone, env, "--strict")
    assert code == 1
    code, report, err = run_manual(["audit"], project_clone, env)
    assert code == 0 and "结论：**通过（有 1 项须关注）" in report, report
    assert "- 须关注 MAN817" in report and "- 信息 MAN970" in report and "提示" not in report
    assert report.index("- 须关注 MAN817") < report.index("- 信息 MAN970")  # what needs attention first
    assert "通过（有 1 项须关注）" in err


def test_the_status_says_the_same(project_clone: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, MANUAL_TODAY="2026-12-07")
    code, out, err = run_manual(["status", "--json"], project_clone, env)
    assert code == 0, err
    training = {t["version"]: t for t in json.loads(out)["training"]}
    assert training["A/0"]["predates_requirement"] and training["B/0"]["predates_requirement"]
    assert not training["B/1"]["predates_requirement"] and not training["B/1"]["late"]
    code, text, _ = run_manual(["status"], project_clone, env)
    assert "培训：B/0 版于 2026-07-01 实施，没有培训记录；其发布时尚无培训记录的要求（早于该要求）" in text
    assert "实施前没有培训记录！" not in text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "demo")


def test_training_missing_under_the_rules_of_the_release_needs_attention_then_passes(demo: RevisionRepo, tmp_path: Path) -> None:
    repo = demo.copy_to(tmp_path / "copy")
    result = repo.manual("audit", "--json")
    data = json.loads(result.stdout)
    late = sorted(m.split(" ", 1)[0] for c, s, m in _findings(data) if c == "MAN818" and s == "warning")
    assert late == ["A/0", "B/0"]  # released with an obligations.yml that asks for the record
    assert result.code == 0 and data["verdict"] == "attention"
    assert f"通过（有 {len(late)} 项须关注）" in repo.manual("audit").stdout
    assert repo.manual("audit", "--strict").code == 1
    for version, day in (("A/0", "2025-12-20"), ("B/0", "2026-06-20")):
        done = repo.run(
            "training", version, "--date", day, "--departments", "销售管理部", "--attendees", "12",
            "--record", f"培训签到表 {version}", "--key", str(repo.key("li")), env={"MANUAL_TODAY": day},
        )  # fmt: skip
        assert done.code == 0, done.output
    repo.commit("training records")
    result = repo.manual("audit", "--json", "--strict")
    data = json.loads(result.stdout)
    assert result.code == 0 and data["verdict"] == "pass", _findings(data)
    report = repo.manual("audit").stdout
    assert "结论：**通过：全部检查均未发现问题" in report


def test_an_error_fails_with_exit_1(demo: RevisionRepo, tmp_path: Path) -> None:
    repo = demo.copy_to(tmp_path / "copy")
    repo.replace_in_manual("changelog/releases/A-1.yml", "summary: ", "summary: 篡改")
    repo.commit("edit a released record")
    result = repo.manual("audit")
    assert result.code == 1 and "结论：**不通过：" in result.stdout and "不通过" in result.stderr
    data = json.loads(repo.manual("audit", "--json").stdout)
    assert data["verdict"] == "fail" and data["passed"] is False
