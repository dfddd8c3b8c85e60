"""The GitLab pipeline (.gitlab-ci.yml) run for real by gitlab-ci-local (npm, installed on first use
into tests/support/hosting/) with its shell executor, in a temporary clone of a signed history:

- a merge-request pipeline whose change is not covered by a change request: the check job fails
  and its Code Quality report names the finding; the summary job updates our note in place (PUT)
  on a local HTTP server standing for the GitLab API, with the project token;
- a merge-request pipeline whose change is covered: the check job passes;
- a default-branch pipeline: the pages job publishes the site into public/.

Whole pipelines are run (never single jobs by name, which gitlab-ci-local runs whatever their
rules say), so the rules that choose the jobs are tested too. Each pipeline runs once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT
from hosting_api import SUPPORT, FakeApi, fake_api, npm_support
from revision_repo import RevisionRepo, shared_history

from manualkit.base.markdown_text import MARKER

GITLAB_CI_LOCAL = SUPPORT / "node_modules" / ".bin" / "gitlab-ci-local"
MANUAL = Path(sys.executable).parent / "manual"
TOKEN = "glpat-local-test"  # the local server's own, not a secret
# Variables GitLab itself sets in a merge-request pipeline, given here as GitLab would.
PREDEFINED = "CI_PIPELINE_SOURCE,CI_DEFAULT_BRANCH,CI_API_V4_URL,CI_PROJECT_ID,CI_MERGE_REQUEST_IID,CI_MERGE_REQUEST_DIFF_BASE_SHA"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A/0 released on main, with the project's .gitlab-ci.yml and an origin as on GitLab."""
    npm_support()
    if shutil.which("rsync") is None:  # gitlab-ci-local copies the project with it
        pytest.fail("rsync is missing") if os.environ.get("CI") == "true" else pytest.skip("rsync is missing")
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("gitlab") / "r")
    shutil.copy(PROJECT_ROOT / ".gitlab-ci.yml", repo.root / ".gitlab-ci.yml")
    (repo.root / ".gitignore").write_text(".gitlab-ci-local/\n", encoding="utf-8")
    repo.git("remote", "add", "origin", "https://gitlab.example.com/company/manual.git")
    repo.commit("CI: the GitLab pipeline")
    return repo


def pipeline(repo: RevisionRepo, variables: dict[str, str], *, today: str = "2026-12-01") -> subprocess.CompletedProcess[str]:
    """Run the whole pipeline that ``variables`` select with gitlab-ci-local's shell executor."""
    args: list[str] = [str(GITLAB_CI_LOCAL), "--force-shell-executor", "--no-color", "--ignore-predefined-vars", PREDEFINED]
    for name, value in {"MANUAL": str(MANUAL), "MANUAL_TODAY": today, "CI_DEFAULT_BRANCH": "main", **variables}.items():
        args += ["--variable", f"{name}={value}"]
    env = repo.env({"HOME": str(repo.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    return subprocess.run(args, cwd=repo.root, env=env, capture_output=True, text=True, timeout=600, check=False)


def merge_request(repo: RevisionRepo, base: str, api: FakeApi | None = None) -> subprocess.CompletedProcess[str]:
    variables = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_MERGE_REQUEST_IID": "3"}
    if api is not None:
        variables |= {"CI_API_V4_URL": f"{api.url}/api/v4", "CI_PROJECT_ID": "42", "MANUAL_GITLAB_TOKEN": TOKEN}
    return pipeline(repo, variables)


def jobs(result: subprocess.CompletedProcess[str]) -> Sequence[str]:
    """The jobs' verdict lines (" PASS  pages", " FAIL  merge-request-check")."""
    return [line.strip() for line in result.stdout.splitlines() if line.strip().startswith(("PASS ", "FAIL "))]


def test_a_merge_request_with_an_uncovered_change_fails_and_its_note_is_updated(project: RevisionRepo, tmp_path: Path) -> None:
    repo = project.copy_to(tmp_path / "mr")
    base = repo.head()
    repo.git("checkout", "--quiet", "-b", "quotation")
    cr = repo.propose("minor", ["3.2"], title="缩短报价有效期", today="2026-11-20")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.append_to_section("3.1", "未经修订申请而增加的段落。")
    repo.commit("edit 3.1 and 3.2; only 3.2 has a change request")
    earlier = {"id": 71, "body": MARKER + "\n上一次推送的摘要", "author": {"id": 5}}
    foreign = {"id": 72, "body": MARKER + "\n别人贴的", "author": {"id": 6}}
    with fake_api(FakeApi("gitlab", TOKEN, {"id": 5, "username": "project_42_bot"}, [earlier, foreign])) as api:
        result = merge_request(repo, base, api)
    assert result.returncode != 0, result.stdout
    assert sorted(jobs(result)) == ["FAIL  merge-request-check", "PASS  merge-request-summary"], result.stdout
    report = json.loads((repo.root / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert [(i["check_name"], i["location"]["path"]) for i in report] == [("MAN670", "manual/03-execution.md")]
    assert all(len(i["fingerprint"]) == 64 for i in report)
    calls = [(r.method, r.path.split("?")[0]) for r in api.requests]
    assert calls == [
        ("GET", "/api/v4/user"),
        ("GET", "/api/v4/projects/42/merge_requests/3/notes"),
        ("PUT", "/api/v4/projects/42/merge_requests/3/notes/71"),
    ]
    assert all(r.headers.get("private-token") == TOKEN for r in api.requests)
    summary = (repo.root / "summary.md").read_text(encoding="utf-8")
    assert api.requests[-1].body == {"body": summary}
    assert summary.startswith(MARKER) and cr.replace("-", "\\-") in summary and "MAN670" in summary
    assert api.comments[1]["body"] == MARKER + "\n别人贴的"  # another user's note is never touched
    assert (repo.root / "summary-full.md").is_file()


def test_a_merge_request_whose_changes_are_covered_passes(project: RevisionRepo, tmp_path: Path) -> None:
    repo = project.copy_to(tmp_path / "mr")
    base = repo.head()
    repo.git("checkout", "--quiet", "-b", "quotation")
    repo.propose("minor", ["3.2"], title="缩短报价有效期", today="2026-11-20")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.commit("3.2 with its change request")
    result = merge_request(repo, base)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(jobs(result)) == ["PASS  merge-request-check", "PASS  merge-request-summary"], result.stdout
    assert json.loads((repo.root / "gl-code-quality-report.json").read_text(encoding="utf-8")) == []
    assert "未设置 CI 变量 MANUAL_GITLAB_TOKEN" in result.stdout  # no token: the summary stays an artifact


def test_the_default_branch_publishes_the_site_to_pages(project: RevisionRepo, tmp_path: Path) -> None:
    repo = project.copy_to(tmp_path / "main")
    result = pipeline(repo, {"CI_PIPELINE_SOURCE": "push"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert jobs(result) == ["PASS  pages"], result.stdout  # no merge-request job, no reminders off schedule
    public = repo.root / "public"
    assert (public / "index.html").is_file() and (public / "03-execution.html").is_file()
    assert "现行有效" in (public / "index.html").read_text(encoding="utf-8")
    assert any(p.suffix == ".docx" for p in (repo.root / "dist").iterdir())


def test_the_rules_choose_the_jobs_of_each_pipeline(project: RevisionRepo) -> None:
    def listed(source: str) -> list[str]:
        args = [str(GITLAB_CI_LOCAL), "--list", "--no-color", "--ignore-predefined-vars", PREDEFINED]
        args += ["--variable", f"CI_PIPELINE_SOURCE={source}", "--variable", "CI_DEFAULT_BRANCH=main"]
        env = project.env({"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        out = subprocess.run(args, cwd=project.root, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
        names = ("merge-request-check", "merge-request-summary", "pages", "reminders")
        return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0] in names]

    assert listed("merge_request_event") == ["merge-request-check", "merge-request-summary"]
    assert listed("schedule") == ["pages", "reminders"]
    assert listed("push") == ["pages"]


def test_the_reminders_job_runs_only_where_manual_remind_exists(project: RevisionRepo, tmp_path: Path) -> None:
    """Run by name (gitlab-ci-local then ignores its rules): with a tool that has no ``manual
    remind`` the job says so and succeeds, so the daily publication is never held up."""
    repo = project.copy_to(tmp_path / "schedule")
    has_remind = subprocess.run([str(MANUAL), "remind", "--help"], capture_output=True, check=False).returncode == 0
    args = [str(GITLAB_CI_LOCAL), "reminders", "--force-shell-executor", "--no-color", "--variable", f"MANUAL={MANUAL}"]
    env = repo.env({"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    result = subprocess.run(args, cwd=repo.root, env=env, capture_output=True, text=True, timeout=300, check=False)
    skipped = "此版本的 manual 没有 remind 命令：跳过催办提醒" in result.stdout
    assert skipped is not has_remind, result.stdout
    if not has_remind:
        assert result.returncode == 0 and jobs(result) == ["PASS  reminders"], result.stdout


def test_the_reminders_ledger_outlives_the_pipeline() -> None:
    """Each scheduled pipeline starts from a fresh clone: the ledger of what was sent must be in a
    folder the job's cache keeps, or every rung would be sent again the next day."""
    from ruamel.yaml import YAML

    job = YAML(typ="safe").load((PROJECT_ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"))["reminders"]
    ledger = job["variables"]["MANUAL_REMIND_LEDGER"]
    assert ledger.startswith("$CI_PROJECT_DIR/")
    folder = ledger.removeprefix("$CI_PROJECT_DIR/").rstrip("/") + "/"
    assert folder in job["cache"]["paths"] and job["cache"]["key"]
