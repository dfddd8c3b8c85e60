"""Reminders (提醒, issue #23): the escalation ladder over chapter 8's deadlines, pure functions.

A ladder says on which working days, relative to an action's due date, the one person who must
act is reminded, and from which working day overdue the reminder also goes to the one above
(the 批准人 or the department head). It is written in policy (``reminders:`` in
``manual/policy.yml``); a released policy without one uses ``DEFAULT_LADDER``. Working days come
from the calendar the deadlines already use (records/workdays.py).

:func:`open_actions` turns what ``manual status`` already computes (records/procedure.py: the
requests' deadlines, training due, copies not recalled; the chapters' review dates; the versions
coming into force) into actions, each with the people who must take it; :func:`reminders_on`
says which of them are reminded on a day and on which rung; :func:`message` writes the text of
one reminder. Text taken from records (a request's title) is made inert for every channel here:
one line, no ``@`` that a robot reads as a mention, no ``<at>`` tag. Who receives a message is
never read from that text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records.policy_zone import POLICY_PATH
from manualkit.records.workdays import WorkCalendar


class Ladder(NamedTuple):
    before: tuple[int, ...]  # working days before the due date on which to remind
    on_due: bool  # remind on the due day itself
    overdue_every: int  # remind every n-th working day overdue (0: never)
    escalate_after: int  # from this many working days overdue, also to the one above (0: never)


# The example: 2 working days before, on the day, every working day overdue, and after
# 3 working days overdue also the 批准人 or department head.
DEFAULT_LADDER = Ladder(before=(2,), on_due=True, overdue_every=1, escalate_after=3)


class Rung(NamedTuple):
    key: str  # stable name of the rung, recorded in the ledger: "before-2", "due", "overdue-4"
    escalate: bool


def rung_on(calendar: WorkCalendar, due: dt.date, as_of: dt.date, ladder: Ladder = DEFAULT_LADDER) -> Rung | None:
    """The rung that fires on ``as_of`` for an action due on ``due``, or None (no reminder today).

    Reminders go out on working days only; a rest day never fires a rung."""
    if not calendar.is_workday(as_of):
        return None
    if as_of < due:
        left = calendar.workdays_between(as_of, due)
        return Rung(f"before-{left}", False) if left in ladder.before else None
    if as_of == due:
        return Rung("due", False) if ladder.on_due else None
    late = calendar.workdays_between(due, as_of)
    if not ladder.overdue_every or late % ladder.overdue_every:
        return None
    return Rung(f"overdue-{late}", bool(ladder.escalate_after) and late > ladder.escalate_after)


# --- open actions ---------------------------------------------------------------------------

APPROVING_ROLE = "批准"  # the one above: told as well once an action is escalated
REVIEWER_ROLE = "审核"  # who carries out a periodic review (records/review.py)
EDITOR_ROLE = "编制"
LOOKBACK_DAYS = 31  # how far back a missed rung (a day the job did not run, a failed send) is caught up


class Action(NamedTuple):
    """One open action of chapter 8, with the people who must take it."""

    key: str  # stable, recorded in the ledger: "request/CR-2026-003/审核/2026-09-28"
    kind: str  # request | returned | review | training | copy | effective
    subject: str  # what the message names: "修订申请单 CR-2026-003"
    title: str  # text taken from a record (hostile until made inert by message())
    todo: str  # what to do, in the tool's words
    start: dt.date  # from when the action is open
    due: dt.date | None  # None: a one-off notice, sent on the first working day from start
    people: tuple[str, ...]  # signer ids who must act
    escalate_to: tuple[str, ...]  # signer ids told as well from the escalating rung on
    departments: tuple[str, ...] = ()  # departments told (a version taking effect)
    link: str = ""  # path below the desk's or the site's address

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key, "kind": self.kind, "subject": self.subject, "title": self.title, "todo": self.todo,
            "start": self.start.isoformat(), "due": self.due.isoformat() if self.due else None,
            "people": list(self.people), "escalate_to": list(self.escalate_to),
            "departments": list(self.departments), "link": self.link,
        }  # fmt: skip


class Approver(NamedTuple):
    id: str
    department: str
    roles: tuple[str, ...]


class WaitingRequest(NamedTuple):
    """A change request waiting for a role (records.procedure.RequestDeadline, with the signers)."""

    id: str
    title: str
    role: str
    since: dt.date
    due: dt.date
    signed_by: tuple[str, ...]  # signer ids who signed another role of it (may not sign a second)
    assignee: str | None = None  # the one signer the request names for the role (assigned:)


class ReturnedRequest(NamedTuple):
    id: str
    title: str
    returned: dt.date
    editors: tuple[str, ...]  # who signed 编制 (or may: see open_actions)


class ReviewDue(NamedTuple):
    chapter: int
    title: str
    owner: str  # the department responsible for the chapter
    due: dt.date


class TrainingOpen(NamedTuple):
    version: str
    effective: dt.date
    published: dt.date
    editors: tuple[str, ...]  # who signed 编制 on the version's change requests


class CopyOpen(NamedTuple):
    number: str
    version: str
    holder: str
    department: str
    superseded: dt.date
    due: dt.date
    issued_by: str  # the signer who issued the copy and recalls it


class Upcoming(NamedTuple):
    version: str
    published: dt.date
    effective: dt.date
    departments: tuple[str, ...]  # departments the change concerns


def holders(approvers: Sequence[Approver], role: str, *, department: str | None = None) -> tuple[str, ...]:
    found = tuple(a.id for a in approvers if role in a.roles and (department is None or a.department == department))
    return found


def open_actions(
    approvers: Sequence[Approver],
    calendar: WorkCalendar,
    *,
    waiting: Iterable[WaitingRequest] = (),
    returned: Iterable[ReturnedRequest] = (),
    reviews: Iterable[ReviewDue] = (),
    training: Iterable[TrainingOpen] = (),
    copies: Iterable[CopyOpen] = (),
    upcoming: Iterable[Upcoming] = (),
) -> list[Action]:
    """Every open action with whom it reaches (pure: the inputs are what ``status`` computes)."""
    above = holders(approvers, APPROVING_ROLE)
    out: list[Action] = []
    for w in waiting:
        # one person may not sign two roles of one change: who signed another role is not asked
        people = tuple(p for p in holders(approvers, w.role) if p not in w.signed_by)
        if w.assignee in people:  # the request names the one person who must act
            people = (w.assignee,)
        out.append(
            Action(
                f"request/{w.id}/{w.role}/{w.since}", "request", f"修订申请单 {w.id}", w.title,
                f"等待您以“{w.role}”签署（manual approve {w.id} --role {w.role}，或在签署台签署）",
                w.since, w.due, people, _others(above, people) if w.role != APPROVING_ROLE else (), link=f"cr/{w.id}",
            )
        )  # fmt: skip
    for r in returned:
        out.append(
            Action(
                f"returned/{r.id}", "returned", f"修订申请单 {r.id}", r.title,
                "已被退回：请按退回理由修改后以新的申请单重新提交（manual propose --replaces），或撤回",
                r.returned, None, r.editors, (), link=f"cr/{r.id}",
            )
        )  # fmt: skip
    for v in reviews:
        people = holders(approvers, REVIEWER_ROLE, department=v.owner) or holders(approvers, REVIEWER_ROLE)
        out.append(
            Action(
                f"review/{v.chapter}/{v.due}", "review", f"第{v.chapter}章", v.title,
                f"到期须定期评审（manual review {v.chapter}）", _start(calendar, v.due), v.due, people, _others(above, people),
            )
        )  # fmt: skip
    for t in training:
        due = _last_workday_before(calendar, t.effective)
        out.append(
            Action(
                f"training/{t.version}", "training", f"{t.version} 版", "",
                f"须在 {t.effective} 实施前完成培训，并用 manual training 记录", t.published, due, t.editors, _others(above, t.editors),
            )
        )  # fmt: skip
    for c in copies:
        people = (c.issued_by,) if any(a.id == c.issued_by for a in approvers) else ()
        out.append(
            Action(
                f"copy/{c.number}", "copy", f"受控副本 {c.number}", f"{c.version} 版，{c.holder}，{c.department}",
                f"该版本自 {c.superseded} 起作废，须回收该副本并用 manual recall 记录", c.superseded, c.due, people, _others(above, people),
            )
        )  # fmt: skip
    for u in upcoming:
        out.append(
            Action(
                f"effective/{u.version}", "effective", f"{u.version} 版", "",
                f"将于 {u.effective} 起实施：请各相关部门据此调整作业", u.published, None, (), (), u.departments,
            )
        )  # fmt: skip
    return out


def nobody_findings(actions: Iterable[Action]) -> list[Diagnostic]:
    """MAN950 for an action that reaches nobody: no one in the registry in force may take it (a
    role nobody else holds than who signed another role of the same request, a copy issued by a
    signer no longer registered). Nobody is reminded in their place; the registry needs a holder."""
    return [
        diagnostic(
            POLICY_PATH, 0, 0, "MAN950",
            f"{a.subject}：{a.todo.split('（')[0]}，但现行签署人名录中没有可以办理的人；请在修订政策中登记",
        )
        for a in actions
        if not a.people and not a.departments
    ]  # fmt: skip


def _others(people: Iterable[str], already: Iterable[str]) -> tuple[str, ...]:
    seen = set(already)
    return tuple(p for p in people if p not in seen)


def _start(calendar: WorkCalendar, due: dt.date) -> dt.date:
    """When a dated obligation starts being reminded: the ladder's earliest rung decides, so a
    generous start (a month before) is enough; the rungs themselves say the days."""
    return due - dt.timedelta(days=LOOKBACK_DAYS)


def _last_workday_before(calendar: WorkCalendar, day: dt.date) -> dt.date:
    before = day - dt.timedelta(days=1)
    for _ in range(60):
        if calendar.is_workday(before):
            return before
        before -= dt.timedelta(days=1)
    return day - dt.timedelta(days=1)


# --- which reminders go out on a day ---------------------------------------------------------------


class Reminder(NamedTuple):
    """One message: an action, the rung it is sent on, and the one recipient."""

    action: Action
    rung: Rung
    fired: dt.date  # the working day the rung fell on (today, or a missed day caught up)
    recipient: str  # a signer id, or "部门:<name>" for a department
    escalated: bool  # told because the action is escalated (the one above)

    @property
    def ledger_key(self) -> tuple[str, str, str]:
        return (self.action.key, self.recipient, self.rung.key)


DEPARTMENT_PREFIX = "部门:"


def latest_rung(calendar: WorkCalendar, action: Action, as_of: dt.date, ladder: Ladder) -> tuple[dt.date, Rung] | None:
    """The latest rung of ``action`` on or before ``as_of`` (a rung that fell on a day the job did
    not run, or whose sending failed, is caught up once; an earlier one is superseded by a later)."""
    if not calendar.is_workday(as_of) or as_of < action.start:
        return None
    if action.due is None:
        return as_of, Rung("notice", False)
    day, floor = as_of, max(action.start, as_of - dt.timedelta(days=LOOKBACK_DAYS))
    while day >= floor:
        rung = rung_on(calendar, action.due, day, ladder)
        if rung is not None:
            return day, rung
        day -= dt.timedelta(days=1)
    return None


def reminders_on(calendar: WorkCalendar, actions: Iterable[Action], as_of: dt.date, ladder: Ladder) -> list[Reminder]:
    """The reminders of ``as_of``, before the ledger removes those already sent."""
    out: list[Reminder] = []
    for action in actions:
        found = latest_rung(calendar, action, as_of, ladder)
        if found is None:
            continue
        fired, rung = found
        out += [Reminder(action, rung, fired, p, False) for p in dict.fromkeys(action.people)]
        if rung.escalate:
            out += [Reminder(action, rung, fired, p, True) for p in dict.fromkeys(action.escalate_to) if p not in action.people]
        out += [Reminder(action, rung, fired, DEPARTMENT_PREFIX + d, False) for d in dict.fromkeys(action.departments)]
    return out


# --- the message -------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_NEUTRAL = str.maketrans({"@": "＠", "<": "＜", ">": "＞", '"': "＂", "`": "＇", "[": "［", "]": "］", "*": "＊", "#": "＃"})
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
MAX_TITLE = 120


def inert_line(text: str, limit: int = MAX_TITLE) -> str:
    """Text from a record as every channel shows it and none interprets: one line (line breaks and
    controls become spaces), no ``@`` a robot reads as a mention (``@all``, ``@所有人``), no ``<at>``
    tag of 飞书 (nor its quotes), no Markdown emphasis or link, at most ``limit`` characters."""
    line = _SPACE.sub(" ", _UNSAFE.sub(" ", text)).strip().translate(_NEUTRAL)
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Message(NamedTuple):
    subject: str  # one line, the tool's words and inert record text
    body: str


def _state(calendar: WorkCalendar, due: dt.date, as_of: dt.date) -> str:
    if as_of < due:
        return f"还有 {calendar.workdays_between(as_of, due)} 个工作日"
    if as_of == due:
        return "今天到期"
    return f"已逾期 {calendar.workdays_between(due, as_of)} 个工作日"


def message(calendar: WorkCalendar, reminder: Reminder, as_of: dt.date, name: str, link: str) -> Message:
    """The text of one reminder to ``name`` (the registry's name of the recipient, or the department)."""
    a = reminder.action
    title = inert_line(a.title)
    named = f"{a.subject}“{title}”" if title else a.subject
    if a.due is None:
        subject = f"【提醒】{named}：{a.todo.split('：')[0]}"
        due_line = ""
    else:
        subject = f"【提醒】{named}应于 {a.due} 前完成（{_state(calendar, a.due, as_of)}）"
        due_line = f"期限：{a.due}（{_state(calendar, a.due, as_of)}）"
    lines = [f"{inert_line(name, 40)}：", "", f"{named}{a.todo}。"]
    if due_line:
        lines.append(due_line)
    if reminder.escalated:
        late = calendar.workdays_between(a.due, as_of) if a.due else 0
        lines.append(f"该事项已逾期 {late} 个工作日，按提醒规则同时告知您（批准人）；请督促办理。")
    if link:
        lines.append(f"办理：{link}")
    lines += ["", f"（manual remind 于 {as_of} 发出；提醒级别 {reminder.rung.key}）"]
    return Message(inert_line(subject, 200), "\n".join(lines) + "\n")


def recipient_name(recipient: str, names: Mapping[str, str]) -> str:
    if recipient.startswith(DEPARTMENT_PREFIX):
        return recipient[len(DEPARTMENT_PREFIX) :]
    return names.get(recipient, recipient)
