"""``manual comment --host gitlab|github FILE``: the summary as the request's one comment.

Run by the merge-request job of ``.gitlab-ci.yml`` and the pull-request workflow of GitHub. The
comment this tool wrote before (its first line is :data:`manualkit.base.markdown_text.MARKER`, and it was written by
the same account as now) is updated in place (GitLab: ``PUT`` on the note; GitHub: ``PATCH`` on
the issue comment); else a new one is posted. A comment by anyone else that happens to start
with the marker is never touched.

Everything comes from the CI's environment (``env``):

- GitLab: ``CI_API_V4_URL``, ``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID`` (set by GitLab in a
  merge-request pipeline) and ``MANUAL_GITLAB_TOKEN`` (a project access token with the ``api``
  scope, in a masked CI/CD variable), sent as ``PRIVATE-TOKEN``.
- GitHub: ``GITHUB_API_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH`` (the pull request's
  number is read from the event) and ``GITHUB_TOKEN`` (the workflow's token, with
  ``pull-requests: write``); the comments written by ``MANUAL_GITHUB_LOGIN`` (default
  ``github-actions[bot]``) are ours.
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


TIMEOUT = 30  # seconds for one request to the host's API
PAGES = 20  # notes are read 100 a page; a request with more than 2,000 notes gets a new one


class Posted(NamedTuple):
    url: str  # the API address of the comment
    updated: bool  # an existing comment was updated in place


def post_comment(host: str, file: Path, env: Mapping[str, str]) -> Posted:
    from manualkit.base.diagnostics import fail
    from manualkit.base.markdown_text import COMMENT_LIMIT, MARKER

    try:
        body = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(str(file), 0, 0, "MAN963", f"无法读取摘要文件：{exc}；请先运行 manual summary --base REF > {file}") from None
    if not body.startswith(MARKER):
        raise fail(str(file), 1, 1, "MAN963", "该文件不是 manual summary 输出的摘要（首行缺少标记）；请用 manual summary 重新生成")
    if len(body) > COMMENT_LIMIT:
        raise fail(str(file), 0, 0, "MAN963", f"摘要有 {len(body)} 个字符，超过评论的上限 {COMMENT_LIMIT}；请用 manual summary 的默认 --limit 重新生成")
    if host == "gitlab":
        return _gitlab(body, env)
    return _github(body, env)


def _need(env: Mapping[str, str], *names: str) -> list[str]:
    from manualkit.base.diagnostics import fail

    missing = [n for n in names if not env.get(n)]
    if missing:
        raise fail("环境变量", 0, 0, "MAN960", f"缺少 CI 变量 {'、'.join(missing)}；请在合并请求流水线中运行，并按 docs/hosting.md 设置令牌")
    return [env[n] for n in names]


def _api(base: str) -> str:
    from manualkit.base.diagnostics import fail

    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise fail("环境变量", 0, 0, "MAN960", f"API 地址 {base!r} 不是 http(s) 地址；请检查 CI_API_V4_URL 或 GITHUB_API_URL")
    return base.rstrip("/")


def _call(method: str, url: str, headers: Mapping[str, str], body: Any = None) -> Any:
    import urllib.error
    import urllib.request

    from manualkit.base.diagnostics import fail

    data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={**headers, "Accept": headers.get("Accept", "application/json")})
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    where = urllib.parse.urlsplit(url)._replace(query="").geturl()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            raw = response.read(10_000_000)
    except urllib.error.HTTPError as exc:
        with exc:  # the refused answer's connection closed here, not when the error is collected
            detail = exc.read(300).decode("utf-8", "replace").splitlines()[:1]
        hint = "；令牌无效或权限不足（GitLab 需 api 范围，GitHub 需 pull-requests: write）" if exc.code in (401, 403) else ""
        raise fail("API", 0, 0, "MAN961", f"{method} {where} 失败：HTTP {exc.code} {' '.join(detail)}{hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise fail("API", 0, 0, "MAN961", f"{method} {where} 失败：{reason}；请检查网络和 API 地址") from None
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        raise fail("API", 0, 0, "MAN962", f"{method} {where} 返回的不是 JSON；请检查 API 地址") from None


def _listed(value: Any, what: str) -> list[dict[str, Any]]:
    from manualkit.base.diagnostics import fail

    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise fail("API", 0, 0, "MAN962", f"{what}的回答不是预期的列表；请检查 API 地址")
    return value


def _gitlab(body: str, env: Mapping[str, str]) -> Posted:
    from manualkit.base.diagnostics import fail
    from manualkit.base.markdown_text import MARKER

    base, project, iid, token = _need(env, "CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "MANUAL_GITLAB_TOKEN")
    api = _api(base)
    headers = {"PRIVATE-TOKEN": token}
    me = _call("GET", f"{api}/user", headers)
    if not isinstance(me, dict) or "id" not in me:
        raise fail("API", 0, 0, "MAN962", "GET /user 的回答中没有用户 id；请检查 CI_API_V4_URL")
    notes_url = f"{api}/projects/{urllib.parse.quote(project, safe='')}/merge_requests/{urllib.parse.quote(iid, safe='')}/notes"
    for page in range(1, PAGES + 1):
        notes = _listed(_call("GET", f"{notes_url}?per_page=100&page={page}&sort=asc&order_by=created_at", headers), "合并请求评论")
        for note in notes:
            author = note.get("author")
            if isinstance(author, dict) and author.get("id") == me["id"] and str(note.get("body", "")).startswith(MARKER):
                url = f"{notes_url}/{int(note['id'])}"
                _call("PUT", url, headers, {"body": body})
                return Posted(url, True)
        if len(notes) < 100:
            break
    made = _call("POST", notes_url, headers, {"body": body})
    return Posted(f"{notes_url}/{made.get('id') if isinstance(made, dict) else ''}", False)


def _github(body: str, env: Mapping[str, str]) -> Posted:
    from manualkit.base.diagnostics import fail
    from manualkit.base.markdown_text import MARKER

    base, repository, event_path, token = _need(env, "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_TOKEN")
    api = _api(base)
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        number = int(event["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError):
        raise fail(event_path, 0, 0, "MAN960", "GITHUB_EVENT_PATH 中没有拉取请求的编号；该步骤只应在 pull_request 事件中运行") from None
    login = env.get("MANUAL_GITHUB_LOGIN") or "github-actions[bot]"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    owner_repo = "/".join(urllib.parse.quote(p, safe="") for p in repository.split("/", 1))
    comments_url = f"{api}/repos/{owner_repo}/issues/{number}/comments"
    for page in range(1, PAGES + 1):
        comments = _listed(_call("GET", f"{comments_url}?per_page=100&page={page}", headers), "拉取请求评论")
        for comment in comments:
            user = comment.get("user")
            if isinstance(user, dict) and user.get("login") == login and str(comment.get("body", "")).startswith(MARKER):
                url = f"{api}/repos/{owner_repo}/issues/comments/{int(comment['id'])}"
                _call("PATCH", url, headers, {"body": body})
                return Posted(url, True)
        if len(comments) < 100:
            break
    made = _call("POST", comments_url, headers, {"body": body})
    return Posted(str(made.get("url", comments_url)) if isinstance(made, dict) else comments_url, False)


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", choices=("gitlab", "github"), required=True, help="托管平台")
    p.add_argument("file", metavar="FILE", help="manual summary 输出的 Markdown 文件")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    posted = post_comment(args.host, Path(args.file), context.env)
    return Outcome.said(f"已{'更新' if posted.updated else '发表'}{'合并请求' if args.host == 'gitlab' else '拉取请求'}评论：{posted.url}")


COMMANDS = (Command("comment", _arguments, _run),)
