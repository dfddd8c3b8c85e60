"""``manual comment``: the summary as the request's one comment, against a local HTTP server on
127.0.0.1 standing for the GitLab and GitHub APIs (tests/hosting_api.py): the right endpoints, the
token header, the body; our earlier comment updated in place (GitLab ``PUT``, GitHub ``PATCH``),
a comment by someone else carrying the same marker never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_manual
from hosting_api import FakeApi, fake_api

from manualkit.base.markdown_text import MARKER

BODY = MARKER + "\n## 修订摘要：1 份修订申请单，1 节有改动\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
TOKEN = "glpat-test-token"  # not a secret: the local server's own


@pytest.fixture
def summary_file(tmp_path: Path) -> Path:
    path = tmp_path / "summary.md"
    path.write_text(BODY, encoding="utf-8")
    return path


def _gitlab_env(api: FakeApi) -> dict[str, str]:
    return {"CI_API_V4_URL": f"{api.url}/api/v4", "CI_PROJECT_ID": "group/manual", "CI_MERGE_REQUEST_IID": "17", "MANUAL_GITLAB_TOKEN": TOKEN}


def test_gitlab_posts_a_new_note_when_there_is_none_of_ours(summary_file: Path, tmp_path: Path) -> None:
    foreign = {"id": 5, "body": MARKER + "\n伪造的摘要", "author": {"id": 99, "username": "mallory"}}
    with fake_api(FakeApi("gitlab", TOKEN, {"id": 7, "username": "project_1_bot"}, [foreign])) as api:
        code, out, err = run_manual(["comment", "--host", "gitlab", str(summary_file)], tmp_path, _gitlab_env(api))
    assert code == 0, err
    assert [(r.method, r.path.split("?")[0]) for r in api.requests] == [
        ("GET", "/api/v4/user"),
        ("GET", "/api/v4/projects/group%2Fmanual/merge_requests/17/notes"),
        ("POST", "/api/v4/projects/group%2Fmanual/merge_requests/17/notes"),
    ]
    assert all(r.headers["private-token"] == TOKEN for r in api.requests)
    assert api.requests[-1].body == {"body": BODY}
    assert api.comments[0]["body"] == MARKER + "\n伪造的摘要"  # someone else's note is left alone
    assert "已发表合并请求评论" in out and TOKEN not in out + err


def test_gitlab_updates_its_own_note_in_place(summary_file: Path, tmp_path: Path) -> None:
    notes = [
        {"id": 5, "body": "LGTM", "author": {"id": 99}},
        {"id": 6, "body": MARKER + "\n旧的摘要", "author": {"id": 7}},
    ]
    with fake_api(FakeApi("gitlab", TOKEN, {"id": 7}, notes)) as api:
        code, out, err = run_manual(["comment", "--host", "gitlab", str(summary_file)], tmp_path, _gitlab_env(api))
    assert code == 0, err
    assert [(r.method, r.path.split("?")[0]) for r in api.requests][-1] == ("PUT", "/api/v4/projects/group%2Fmanual/merge_requests/17/notes/6")
    assert not any(r.method == "POST" for r in api.requests)
    assert api.comments[1]["body"] == BODY and len(api.comments) == 2
    assert "已更新" in out


def test_github_patches_its_own_comment(summary_file: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}), encoding="utf-8")
    comments = [
        {"id": 11, "body": MARKER + "\n伪造", "user": {"login": "mallory"}},
        {"id": 12, "body": MARKER + "\n旧的", "user": {"login": "github-actions[bot]"}},
    ]
    with fake_api(FakeApi("github", "ghs_test", {"login": "github-actions[bot]"}, comments)) as api:
        env = {"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": "company/manual", "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": "ghs_test"}
        code, _out, err = run_manual(["comment", "--host", "github", str(summary_file)], tmp_path, env)
    assert code == 0, err
    assert [(r.method, r.path.split("?")[0]) for r in api.requests] == [
        ("GET", "/repos/company/manual/issues/42/comments"),
        ("PATCH", "/repos/company/manual/issues/comments/12"),
    ]
    assert all(r.headers["authorization"] == "Bearer ghs_test" for r in api.requests)
    assert api.comments[0]["body"] == MARKER + "\n伪造" and api.comments[1]["body"] == BODY


def test_a_refused_token_and_missing_variables_are_coded_errors(summary_file: Path, tmp_path: Path) -> None:
    with fake_api(FakeApi("gitlab", "the-right-token", {"id": 7})) as api:
        code, out, err = run_manual(["comment", "--host", "gitlab", str(summary_file)], tmp_path, _gitlab_env(api))
    assert code == 1 and "MAN961" in err and "HTTP 401" in err and "api 范围" in err and TOKEN not in out + err
    code, _out, err = run_manual(["comment", "--host", "gitlab", str(summary_file)], tmp_path, {})
    assert code == 1 and "MAN960" in err and "MANUAL_GITLAB_TOKEN" in err and "Traceback" not in err
    other = tmp_path / "other.md"
    other.write_text("# 不是摘要\n", encoding="utf-8")
    code, _out, err = run_manual(["comment", "--host", "github", str(other)], tmp_path, {})
    assert code == 1 and "MAN963" in err


def test_an_api_address_that_is_not_http_is_refused(summary_file: Path, tmp_path: Path) -> None:
    env = {"CI_API_V4_URL": "file:///etc/passwd", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": "1", "MANUAL_GITLAB_TOKEN": TOKEN}
    code, _out, err = run_manual(["comment", "--host", "gitlab", str(summary_file)], tmp_path, env)
    assert code == 1 and "MAN960" in err


def test_an_answer_that_is_not_the_api_is_a_coded_error(summary_file: Path, tmp_path: Path) -> None:
    with fake_api(FakeApi("gitlab", TOKEN, {"id": 7}, not_an_api=True)) as api:
        code, _out, err = run_manual(["comment", "--host", "gitlab", str(summary_file)], tmp_path, _gitlab_env(api))
    assert code == 1 and "MAN962" in err and "Traceback" not in err
    assert [r.method for r in api.requests] == ["GET"]  # nothing posted


def test_a_refused_answer_is_closed_before_its_error_is_raised() -> None:
    """The 401's connection is closed when MAN961 is raised, not left in the error's context for
    the garbage collector (which reports an unclosed socket wherever it runs)."""
    import urllib.error

    from manualkit.base.diagnostics import ManualError
    from manualkit.commands.comment import _call

    with fake_api(FakeApi("gitlab", "the-right-token", {"id": 7})) as api:
        with pytest.raises(ManualError) as refused:
            _call("GET", f"{api.url}/user", {"PRIVATE-TOKEN": "a-wrong-token"})
    (found,) = refused.value.diagnostics
    assert found.code == "MAN961" and "HTTP 401" in found.message
    answer = refused.value.__context__
    assert isinstance(answer, urllib.error.HTTPError) and answer.fp.closed
