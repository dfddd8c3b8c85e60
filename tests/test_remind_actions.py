"""Every kind of open action of chapter 8 reaches the person who must take it (``manual remind``
over the demo history A/0 … B/1): training before a 重大修订 takes effect, a version taking effect
(its departments), periodic reviews (the reviewers of the owning department), and a returned
request (its editor, once, and no more once it is resubmitted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from remind_support import email_of, smtp_server, write_contacts
from revision_repo import RevisionRepo, shared_history

DEPARTMENTS = "departments:\n  人力资源部:\n    email: hr@example.com\n  法务合规部:\n    email: legal@example.com\n"


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> RevisionRepo:
    copy = shared_history(tmp_path_factory, "demo").copy_to(tmp_path / "r")
    write_contacts(copy, extra=DEPARTMENTS)
    return copy


def planned(repo: RevisionRepo, day: str) -> list[dict[str, Any]]:
    result = repo.manual("remind", "--json", env={"MANUAL_TODAY": day})
    assert result.code == 0, result.output
    return list(json.loads(result.stdout)["reminders"])


def kinds(reminders: list[dict[str, Any]], kind: str) -> list[tuple[str, str, str]]:
    return sorted((r["action"]["subject"], r["recipient"], r["rung"]) for r in reminders if r["action"]["kind"] == kind)


def test_training_before_a_major_revision_takes_effect_and_the_departments_notice(repo: RevisionRepo, tmp_path: Path) -> None:
    # B/0 (重大修订, chapters 5 and 6) takes effect on 2026-07-01: its training is due the working day before
    assert kinds(planned(repo, "2026-06-26"), "training") == [("B/0 版", "zhang.wei", "before-2")]
    assert kinds(planned(repo, "2026-06-30"), "training") == [("B/0 版", "zhang.wei", "due")]
    assert kinds(planned(repo, "2026-07-03"), "training") == [("B/0 版", "zhang.wei", "overdue-3")]
    assert kinds(planned(repo, "2026-05-29"), "training") == []  # not published yet
    with smtp_server(tmp_path) as smtp:
        for _ in range(2):
            assert repo.manual("remind", "--send", env={"MANUAL_TODAY": "2026-06-30", **smtp.env()}).code == 0
        received = sorted(r for m in smtp.take() for r in m.rcpt_tos)
    # the editor once, and each department the change concerns (owners of chapters 5 and 6) once
    assert received == sorted([email_of("zhang.wei"), "hr@example.com", "legal@example.com"])


def test_periodic_reviews_reach_the_reviewers_of_the_owning_department(repo: RevisionRepo) -> None:
    from manualkit.records.repository import worktree_snapshot

    manual, policy = worktree_snapshot(repo.root).require()
    reviews = kinds(planned(repo, "2026-12-30"), "review")
    assert reviews and {rung for _, _, rung in reviews} == {"before-2"}
    for chapter in manual.chapters:
        own = {a.id for a in policy.approvers if "审核" in a.roles and a.department == chapter.owner}
        expected = own or {a.id for a in policy.approvers if "审核" in a.roles}
        got = {who for subject, who, _ in reviews if subject == f"第{chapter.number}章"}
        assert got in (expected, set()), (chapter.number, chapter.owner, got)
    assert ("第1章", "zhao.min", "before-2") in reviews and ("第1章", "li.na", "before-2") not in reviews


def test_a_returned_request_reaches_its_editor_once_until_it_is_resubmitted(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = repo.propose("minor", ["3.3"], title="调整回款期限", today="2026-12-01")
    repo.append_to_section("3.3", "回款期限自发票开具之日起计算。")
    repo.approve(cr, "编制", "zhang", now="2026-12-01T10:00:00+08:00")
    repo.commit(f"{cr} proposed")
    returned = repo.manual(
        "return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "依据不足，请补充回款数据",
        env={"MANUAL_NOW": "2026-12-02T15:00:00+08:00"},
    )  # fmt: skip
    assert returned.code == 0, returned.output
    repo.commit(f"{cr} returned")
    assert kinds(planned(repo, "2026-12-03"), "returned") == [(f"修订申请单 {cr}", "zhang.wei", "notice")]
    with smtp_server(tmp_path) as smtp:
        for day in ("2026-12-03", "2026-12-04"):
            assert repo.manual("remind", "--send", env={"MANUAL_TODAY": day, **smtp.env()}).code == 0
        to_editor = [m for m in smtp.take() if m.rcpt_tos == [email_of("zhang.wei")] and cr in str(m.message["Subject"])]
    assert len(to_editor) == 1 and "manual propose --replaces" in to_editor[0].message.get_content()
    again = repo.manual(
        "propose", "--class", "minor", "--sections", "3.3", "--title", "调整回款期限（补充数据）", "--reason", "补充回款数据",
        "--applicant", "张伟", "--replaces", cr, env={"MANUAL_TODAY": "2026-12-07"},
    )  # fmt: skip
    assert again.code == 0, again.output
    assert kinds(planned(repo, "2026-12-07"), "returned") == []
