"""待办 by the visitor's identity (issue 21, point 2): the visitor picks who they are once (kept in
a cookie: a filter, not an authentication); 待办 then lists the requests waiting for a role that
signer holds, with the working-day due date, overdue ones marked."""

from __future__ import annotations

import re

import pytest
from desk_support import Desk, open_request, running_desk
from revision_repo import RevisionRepo
from test_desk import coded, desk_repo, enrolled
from webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.xdist_group("desk")
__all__ = ["desk_repo", "enrolled"]
LATE = {"MANUAL_NOW": "2026-02-10T10:00:00+08:00"}  # more than 5 working days after 2026-01-24
DeskRepo = tuple[RevisionRepo, dict[str, SoftAuthenticator], int]


def rows(page: str) -> dict[str, str]:
    """The 待办 rows by request id: the row's HTML."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr class="[^"]*"[^>]*>\s*<td><a href="/cr/([^"]+)">.*?</tr>', page, re.S)}


def todo_as(desk: Desk, signer: str, query: str = "") -> str:
    status, headers, _ = desk.request("POST", "/api/me", {"signer": signer})
    assert status == 200, headers
    cookie = re.search(r"manual_desk_signer=([^;]+)", headers["set-cookie"])
    assert cookie and "httponly" in headers["set-cookie"].lower()
    status, _, page = desk.request("GET", "/" + query, cookies={"manual_desk_signer": cookie.group(1)})
    assert status == 200, page
    return page


def test_todo_lists_what_waits_for_the_visitors_roles_with_due_dates(desk_repo: DeskRepo) -> None:
    repo, _, port = desk_repo
    review = open_request(repo)  # waits for 审核 since 2026-01-24
    approve = open_request(repo, "3.3")
    repo.approve(approve, "审核", now="2026-01-24T11:00:00+08:00")  # waits for 批准
    with running_desk(repo, "--port", str(port), env=LATE) as desk:
        li = rows(todo_as(desk, "li.na"))
        assert list(li) == [review], li
        assert "待审核" in li[review] and "desk-overdue" in li[review] and "已逾期" in li[review]
        assert re.search(r"<td data-label=\"办理期限\">2026-0[12]-\d\d <strong", li[review])
        chen = todo_as(desk, "chen.gang")
        assert list(rows(chen)) == [approve] and "陈刚" in chen and "显示全部" in chen
        everyone = rows(todo_as(desk, "chen.gang", "?all=1"))
        assert set(everyone) == {review, approve}
        # the request page preselects the visitor as signer
        _, _, page = desk.request("GET", f"/cr/{approve}", cookies={"manual_desk_signer": "chen.gang"})
        assert '<option value="chen.gang" data-roles="批准" selected>' in page
        # an unknown signer is refused; a hostile cookie value is only ignored
        _, answer = desk.post("/api/me", {"signer": "<b>x</b>"})
        coded(answer, "MAN907")
        _, _, page = desk.request("GET", "/", cookies={"manual_desk_signer": "nobody"})
        assert set(rows(page)) == {review, approve}
