"""Reminders as pure functions: the open actions and whom they reach, the rungs caught up, the
inert text, the robots' JSON that mentions one person and never everyone, the contacts file."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from manualkit.base import notify
from manualkit.records import reminders as rm
from manualkit.records.contacts import contact_findings, parse_contacts
from manualkit.records.policy import parse_policy
from manualkit.records.workdays import WorkCalendar

CAL = WorkCalendar({}, frozenset())
APPROVERS = [
    rm.Approver("zhang.wei", "销售管理部", ("编制",)),
    rm.Approver("li.na", "质量管理部", ("审核",)),
    rm.Approver("zhao.min", "销售管理部", ("编制", "审核")),
    rm.Approver("chen.gang", "总经理办公室", ("批准",)),
]
HOSTILE = '<b>报价</b>\n\r@all @所有人 <at user_id="all">所有人</at> [点我](javascript:alert(1)) **粗体**\u202e'


def test_a_request_waiting_for_review_reaches_each_holder_of_the_role_but_not_its_own_editor() -> None:
    waiting = rm.WaitingRequest("CR-2026-003", "缩短报价有效期", "审核", dt.date(2026, 9, 28), dt.date(2026, 10, 13), ("zhao.min",))
    (action,) = rm.open_actions(APPROVERS, CAL, waiting=[waiting])
    # zhao.min signed 编制 and may not sign a second role of the same change: not asked
    assert action.people == ("li.na",)
    assert action.escalate_to == ("chen.gang",)
    assert action.due == dt.date(2026, 10, 13) and action.link == "cr/CR-2026-003"


def test_a_request_naming_its_reviewer_reaches_that_one_person() -> None:
    """``assigned: {审核: zhao.min}`` on the request: only 赵敏 is asked; a name that does not hold
    the role (or signed another role) is ignored and every holder is asked, as without it."""
    approvers = [*APPROVERS, rm.Approver("wang.qiang", "质量管理部", ("审核",))]
    named = rm.WaitingRequest("CR-2026-006", "t", "审核", dt.date(2026, 9, 28), dt.date(2026, 10, 13), (), "zhao.min")
    (action,) = rm.open_actions(approvers, CAL, waiting=[named])
    assert action.people == ("zhao.min",) and action.escalate_to == ("chen.gang",)
    for wrong in (named._replace(assignee="chen.gang"), named._replace(signed_by=("zhao.min",))):
        (action,) = rm.open_actions(approvers, CAL, waiting=[wrong])
        assert set(action.people) == {"li.na", "wang.qiang"} | ({"zhao.min"} if wrong.signed_by == () else set())


def test_the_approver_of_a_request_waiting_for_approval_has_nobody_above_in_the_registry() -> None:
    waiting = rm.WaitingRequest("CR-2026-004", "t", "批准", dt.date(2026, 9, 28), dt.date(2026, 10, 13), ())
    (action,) = rm.open_actions(APPROVERS, CAL, waiting=[waiting])
    assert action.people == ("chen.gang",) and action.escalate_to == ()


def test_a_missed_rung_is_caught_up_once_and_a_later_rung_supersedes_it() -> None:
    # waiting for 审核 since Tuesday 2026-09-29: due Monday 2026-10-12, the National Day holidays
    # (1-7 October) and the make-up working Saturday 10-10 in between
    due = dt.date(2026, 10, 12)
    action = rm.Action("a", "request", "s", "", "t", dt.date(2026, 9, 29), due, ("li.na",), ("chen.gang",))
    ladder = rm.DEFAULT_LADDER
    assert rm.latest_rung(CAL, action, dt.date(2026, 10, 9), ladder) == (dt.date(2026, 10, 9), rm.Rung("before-2", False))
    # the job did not run on Friday: Saturday 10-10 (a working day) catches up Friday's rung
    assert rm.latest_rung(CAL, action, dt.date(2026, 10, 10), ladder) == (dt.date(2026, 10, 9), rm.Rung("before-2", False))
    # on a rest day nothing goes out at all, and nothing before the action opened
    assert rm.latest_rung(CAL, action, dt.date(2026, 10, 5), ladder) is None
    assert rm.latest_rung(CAL, action, dt.date(2026, 9, 28), ladder) is None
    # the due day supersedes the rung before it
    assert rm.latest_rung(CAL, action, dt.date(2026, 10, 12), ladder) == (due, rm.Rung("due", False))
    # 3 working days overdue (Thursday 10-15): still only the reviewer
    assert [(r.recipient, r.rung.key) for r in rm.reminders_on(CAL, [action], dt.date(2026, 10, 15), ladder)] == [("li.na", "overdue-3")]
    # from the 4th working day overdue (Friday 10-16), the approver is told as well
    (own, above) = rm.reminders_on(CAL, [action], dt.date(2026, 10, 16), ladder)
    assert (own.recipient, own.escalated, own.rung.key) == ("li.na", False, "overdue-4")
    assert (above.recipient, above.escalated, above.rung.key) == ("chen.gang", True, "overdue-4")


def test_record_text_is_made_inert_for_every_channel() -> None:
    line = rm.inert_line(HOSTILE)
    assert "\n" not in line and "\r" not in line and "\u202e" not in line
    assert "@" not in line and "<" not in line and ">" not in line and "[" not in line and "*" not in line
    assert "＠all" in line and "＠所有人" in line  # shown, not obeyed
    assert len(rm.inert_line("长" * 500)) == rm.MAX_TITLE


def test_a_message_names_the_request_what_to_do_the_due_date_and_the_link() -> None:
    waiting = rm.WaitingRequest("CR-2026-003", HOSTILE, "审核", dt.date(2026, 9, 28), dt.date(2026, 10, 13), ())
    (action,) = rm.open_actions(APPROVERS, CAL, waiting=[waiting])
    reminder = rm.Reminder(action, rm.Rung("overdue-4", True), dt.date(2026, 10, 19), "chen.gang", True)
    text = rm.message(CAL, reminder, dt.date(2026, 10, 19), "陈刚", "https://desk.example.com/cr/CR-2026-003")
    assert "\n" not in text.subject and "@" not in text.subject and "<" not in text.subject
    assert "CR-2026-003" in text.subject and "2026-10-13" in text.subject and "已逾期 4 个工作日" in text.subject
    assert "manual approve CR-2026-003 --role 审核" in text.body
    assert "https://desk.example.com/cr/CR-2026-003" in text.body and "批准人" in text.body
    assert "@" not in text.body.replace("manual remind", "")


@pytest.mark.parametrize("kind", notify.ROBOTS)
def test_robot_json_mentions_exactly_the_one_person_and_never_everyone(kind: str) -> None:
    m = notify.Mention("李娜", mobile="13800000002", wecom_userid="LiNa", dingtalk_userid="u4711", feishu_open_id="ou_abc123")
    text = rm.inert_line(HOSTILE)
    payload = notify.robot_payload(kind, text, m, secret="s3cret", timestamp=1_790_000_000)
    raw = json.dumps(payload, ensure_ascii=False)
    assert "@all" not in raw and "@所有人" not in raw and 'user_id=\\"all\\"' not in raw and '"all"' not in raw
    if kind == "wecom":
        assert payload["msgtype"] == "text" and payload["text"]["mentioned_list"] == ["LiNa"]
        assert "mentioned_mobile_list" not in payload["text"]
    elif kind == "dingtalk":
        assert payload["at"] == {"isAtAll": False, "atUserIds": ["u4711"]}
        assert payload["text"]["content"].startswith("@u4711 ")
    else:
        assert payload["msg_type"] == "text" and payload["content"]["text"].count("<at ") == 1
        assert payload["content"]["text"].startswith('<at user_id="ou_abc123">李娜</at> ')
        assert payload["timestamp"] == "1790000000" and payload["sign"]


def test_a_person_a_robot_cannot_mention_is_not_messaged_in_the_group() -> None:
    nobody = notify.Mention("张伟", mobile="13800000001")
    assert notify.can_mention("wecom", nobody) and notify.can_mention("dingtalk", nobody)
    assert not notify.can_mention("feishu", nobody)  # 飞书 mentions by open_id only


def test_dingtalk_signing_puts_timestamp_and_sign_in_the_query() -> None:
    url = notify.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=x", "SEC1", 1_790_000_000_000)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1790000000000&sign=")
    assert notify.dingtalk_url("https://h/robot", "", 1) == "https://h/robot"


def test_webhooks_must_be_https_except_on_this_machine() -> None:
    channels, problems = notify.channels_from_env(
        {"MANUAL_WECOM_WEBHOOK": "http://robots.example.com/send", "MANUAL_FEISHU_WEBHOOK": "http://127.0.0.1:9/hook"}
    )
    assert [p.code for p in problems] == ["MAN946"] and channels.names == ("feishu",)
    _, problems = notify.channels_from_env({"MANUAL_SMTP_HOST": "mail.example.com"})
    assert [p.code for p in problems] == ["MAN946"]  # no sender


def test_the_ladder_is_read_from_policy_and_defaults_when_absent() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "manual" / "policy.yml").read_text(encoding="utf-8")
    policy, problems = parse_policy(text)
    assert problems == [] and policy is not None and policy.reminders is None
    policy, problems = parse_policy(text + "reminders:\n  before: [1, 3]\n  on_due: false\n  overdue_every: 2\n  escalate_after: 5\n")
    assert problems == [] and policy is not None
    assert policy.reminders == rm.Ladder((3, 1), False, 2, 5)
    _, problems = parse_policy(text + "reminders:\n  before: [0]\n  on_due: yes\n  overdue_every: 1\n  escalate_after: 3\n")
    assert problems  # 0 working days before is no rung; the schema says so


CONTACTS = """\
people:
  li.na:
    email: li.na@example.com
    mobile: "13800000002"
  ghost:
    email: ghost@example.com
departments:
  销售管理部:
    email: sales@example.com
  不存在的部门:
    email: x@example.com
"""


def test_contacts_a_signer_without_one_and_a_contact_for_nobody_are_reported() -> None:
    contacts, problems = parse_contacts(CONTACTS)
    assert problems == [] and contacts is not None
    found = contact_findings(contacts, ["li.na", "chen.gang"], ["销售管理部"])
    codes = sorted((d.code, d.line) for d in found)
    assert codes == [("MAN941", 1), ("MAN942", 5), ("MAN942", 10)]
    assert any("chen.gang" in d.message for d in found if d.code == "MAN941")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("people:\n  li.na:\n    wecom_userid: '@all'\n", "MAN943"),
        ("people:\n  li.na:\n    feishu_open_id: all\n", "MAN943"),
        ("people:\n  li.na:\n    email: 'x@example.com\\nBcc: all@example.com'\n", "MAN940"),
        ("people:\n  li.na:\n    phone: '1'\n", "MAN940"),
        ("others: {}\n", "MAN940"),
    ],
)
def test_contacts_that_would_reach_more_than_their_person_are_refused(text: str, code: str) -> None:
    contacts, problems = parse_contacts(text)
    assert contacts is None and code in {p.code for p in problems}


def test_an_action_nobody_in_the_registry_may_take_is_reported_not_sent_to_someone_else() -> None:
    # the only other holder of 审核 signed 编制 of this request: nobody may review it
    registry = [rm.Approver("zhao.min", "销售管理部", ("编制", "审核")), rm.Approver("chen.gang", "总经理办公室", ("批准",))]
    waiting = rm.WaitingRequest("CR-2026-005", "t", "审核", dt.date(2026, 9, 29), dt.date(2026, 10, 12), ("zhao.min",))
    actions = rm.open_actions(registry, CAL, waiting=[waiting])
    assert actions[0].people == ()
    (finding,) = rm.nobody_findings(actions)
    assert finding.code == "MAN950" and "CR-2026-005" in finding.message
    # until it escalates to the one above, nobody is reminded: nobody else is picked instead
    assert rm.reminders_on(CAL, actions, dt.date(2026, 10, 12), rm.DEFAULT_LADDER) == []


def test_the_daily_job_sends_reminders_with_every_documented_secret_and_no_other() -> None:
    import re
    from pathlib import Path

    import yaml

    top = Path(__file__).resolve().parent.parent
    workflow = yaml.safe_load((top / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8"))
    assert "schedule" in workflow[True] or "schedule" in workflow.get("on", {})
    steps = workflow["jobs"]["publish"]["steps"]
    (step,) = [s for s in steps if "manual remind --send" in s.get("run", "")]
    names = [s.get("uses", s.get("run", "")) for s in steps]
    assert names.index(step["run"]) > names.index("actions/upload-pages-artifact@v3")  # never blocks the site
    assert step["continue-on-error"] is True
    assert any(s.get("with", {}).get("path") == ".git/manualkit/reminders.jsonl" for s in steps)  # the ledger is kept
    doc = (top / "docs" / "reminders.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Scheduled") :]
    documented = set(re.findall(r"`(MANUAL_[A-Z_]+)`", section.split("For a GitLab")[0]))
    assert set(step["env"]) == documented
    assert all(value.startswith(("${{ secrets.", "${{ vars.")) for value in step["env"].values())


def test_a_copy_not_recalled_reaches_who_issued_it_and_escalates_to_the_approver() -> None:
    copy = rm.CopyOpen("A-1-001", "A/1", "王五<script>", "销售管理部", dt.date(2026, 9, 29), dt.date(2026, 10, 12), "zhang.wei")
    gone = copy._replace(number="A-1-002", issued_by="left.company")  # issuer no longer in the registry
    actions = rm.open_actions(APPROVERS, CAL, copies=[copy, gone])
    assert [(a.key, a.people, a.escalate_to) for a in actions] == [
        ("copy/A-1-001", ("zhang.wei",), ("chen.gang",)),
        ("copy/A-1-002", (), ("chen.gang",)),
    ]
    assert [f.code for f in rm.nobody_findings(actions)] == ["MAN950"]
    text = rm.message(CAL, rm.Reminder(actions[0], rm.Rung("overdue-4", False), dt.date(2026, 10, 16), "zhang.wei", False), dt.date(2026, 10, 16), "张伟", "")
    assert "manual recall" in text.body and "<script>" not in text.body and "＜script＞" in text.body


@pytest.mark.parametrize(("assigned", "ok"), [("  审核: li.na\n", True), ("  审核: Li Na\n", False), ("  编制: li.na\n", False)])
def test_the_request_names_one_signer_per_role_in_its_assigned_field(assigned: str, ok: bool) -> None:
    from pathlib import Path

    from manualkit.records.change_request import parse_change_request

    path = Path(__file__).resolve().parent.parent / "changelog" / "requests" / "CR-2026-004.yml"
    text = path.read_text(encoding="utf-8").replace("staff_consultation:", "assigned:\n" + assigned + "staff_consultation:", 1)
    department = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("department:"))
    cr, problems = parse_change_request(str(path), text.encode("utf-8"), [department])
    if ok:
        assert cr is not None and not problems and cr.assignee("审核") == "li.na" and cr.assignee("批准") is None
    else:
        assert problems and all("assigned" in p.message or "编制" in p.message or "Li Na" in p.message for p in problems), problems
