"""``manual remind [--as-of DATE] [--send] [--json]``: every open action of chapter 8 reaches the
one person who must take it, by mail or the company's chat robot, on the rungs of the ladder in
policy, and nothing is sent twice (docs/reminders.md).

The open actions are what ``manual status`` computes (records/procedure.py's deadlines, training
due, copies not recalled; the chapters' review dates; versions coming into force); who takes each
is read from the registry of the policy in force; the ladder from that policy (``reminders:``) or
the documented default; the contacts from ``manual/contacts.yml``; the channels from the
environment (base/notify.py). Without ``--send`` nothing is sent and nothing is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.commands.registry import EXIT_FINDINGS, EXIT_OK, Command, Outcome, format_option

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.notify import Channels, Mention
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records import reminders as rm
    from manualkit.records.contacts import Contact, Contacts
    from manualkit.records.policy import Policy
    from manualkit.records.repository import Snapshot
    from manualkit.records.workdays import WorkCalendar


class Delivery(NamedTuple):
    channel: str  # mail | wecom | dingtalk | feishu | "" (none usable)
    address: str  # where: the mail address, or the id the robot mentions
    status: str  # pending (dry run) | sent | failed | already (sent before) | unreachable
    problem: Diagnostic | None = None


class Outgoing(NamedTuple):
    reminder: rm.Reminder
    name: str
    message: rm.Message
    deliveries: tuple[Delivery, ...]


class RemindReport(NamedTuple):
    as_of: dt.date
    ladder: rm.Ladder
    ladder_from_policy: bool
    sent: bool  # --send
    channels: tuple[str, ...]
    outgoing: tuple[Outgoing, ...]
    warnings: tuple[Diagnostic, ...]

    @property
    def failed(self) -> bool:
        return any(d.status == "failed" for o in self.outgoing for d in o.deliveries)


def remind(run: Run, as_of: dt.date, *, send: bool = False) -> RemindReport:
    """The reminders due on ``as_of`` in the repository at ``run.root``; with ``send``, sent
    (stamped ``run.now``) through the channels ``run.env`` configures and entered in the ledger."""
    from manualkit.base import notify
    from manualkit.base.diagnostics import ManualError, diagnostic
    from manualkit.records import reminders as rm
    from manualkit.records.contacts import CONTACTS_PATH, read_contacts

    root, env = run.root, run.env
    snap = _snapshot(root, as_of)
    _, current = snap.require()
    policy = _policy_in_force(root, snap, current)  # who must act, and the ladder: the policy in force
    ladder = policy.reminders or rm.DEFAULT_LADDER
    actions, calendar, warnings = _actions(root, snap, policy, as_of)
    contacts, problems = read_contacts(root)
    channels, config_problems = notify.channels_from_env(env)
    if send and (problems or config_problems):
        raise ManualError([*problems, *config_problems])
    if send and not channels.names:
        raise ManualError(
            diagnostic(
                "manual remind", 0, 0, "MAN949",
                "没有配置任何提醒渠道：请设置 MANUAL_SMTP_HOST（及 MANUAL_SMTP_FROM）或 MANUAL_WECOM_WEBHOOK、MANUAL_DINGTALK_WEBHOOK、MANUAL_FEISHU_WEBHOOK（见 docs/reminders.md）",
            )
        )  # fmt: skip
    warnings += [*problems, *config_problems]
    warnings += rm.nobody_findings(actions)
    names = {a.id: a.name for a in policy.approvers}
    links = _links(env)
    planned = []
    for reminder in rm.reminders_on(calendar, actions, as_of, ladder):
        name = rm.recipient_name(reminder.recipient, names)
        link = _link(links, reminder.action)
        text = rm.message(calendar, reminder, as_of, name, link)
        planned.append((reminder, name, text, _routes(reminder.recipient, contacts, channels, name)))
    outgoing: list[Outgoing] = []
    if not send:
        from manualkit.records.reminder_ledger import ledger_path, read_sent

        try:
            sent = read_sent(ledger_path(run))
        except ManualError as exc:
            warnings += exc.diagnostics
            sent = set()
        for reminder, name, text, routes in planned:
            outgoing.append(Outgoing(reminder, name, text, tuple(_dry(reminder, routes, sent))))
    else:
        outgoing = _send(run, channels, planned)
    # with no channel configured (a dry run on an editor's machine) nobody is "unreachable"
    unreachable = {o.reminder.recipient for o in outgoing if channels.names and any(d.status == "unreachable" for d in o.deliveries)}
    warnings += [
        diagnostic(CONTACTS_PATH, 0, 0, "MAN948", f"{rm.recipient_name(r, names)}（{r}）没有可用于已配置渠道的联系方式，提醒未发出；请在 {CONTACTS_PATH} 中登记")
        for r in sorted(unreachable)
    ]  # fmt: skip
    return RemindReport(as_of, ladder, policy.reminders is not None, send, channels.names, tuple(outgoing), tuple(dict.fromkeys(warnings)))


# --- the actions, from what status computes ----------------------------------------------------------


def _snapshot(root: Path, as_of: dt.date) -> Snapshot:
    """The working tree's snapshot without the change requests that nothing open needs: those of
    versions in force for longer than the look-back (a long history holds a thousand, and parsing
    them is most of the time). Open requests, those of versions still to take effect or just taken
    effect (training), and every request that resubmits another (``replaces:``) are kept."""
    from manualkit.records import reminders as rm
    from manualkit.records.change_request import REQUESTS_DIR
    from manualkit.records.procedure import RETURNS_DIR
    from manualkit.records.release import RELEASES_DIR
    from manualkit.records.repository import ContentCache, worktree_snapshot
    from manualkit.records.signed import read_folder, record_folders

    _ReadingSnapshot = _reading_snapshot_class()
    base = worktree_snapshot(root)  # finishes an interrupted release first, as every reader does

    def changelog() -> tuple[dict[str, bytes], list[Diagnostic]]:
        contents: dict[str, bytes] = {}
        problems: list[Diagnostic] = []
        for folder in record_folders(root):
            if folder in (RELEASES_DIR, REQUESTS_DIR):
                continue  # the release records are read already; the requests below
            found, more = read_folder(root, folder)
            contents.update(found)
            problems += more
        old = as_of - dt.timedelta(days=rm.LOOKBACK_DAYS)
        done = {cr for r in snap.records if r.effective < old for cr in r.change_requests}
        returns = any(k.startswith(RETURNS_DIR + "/") for k in contents)  # then a resubmission may be an old one
        requests, more = read_folder(root, REQUESTS_DIR) if returns else _requests_except(root, done)
        contents.update(
            (path, data) for path, data in requests.items() if path[len(REQUESTS_DIR) + 1 : -4] not in done or b"\nreplaces:" in data
        )
        return contents, problems + more

    snap = _ReadingSnapshot(base.files, changelog, [], ContentCache.open(root, "records"), base.records_raw, base.reviews_raw)
    return snap


def _requests_except(root: Path, done: set[str]) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """The change requests of ``changelog/requests`` but those in ``done`` (never read)."""
    from manualkit.records.change_request import REQUESTS_DIR
    from manualkit.records.signed import read_folder

    return read_folder(root, REQUESTS_DIR, skip=lambda name: name[:-4] in done)


def _reading_snapshot_class() -> type[Snapshot]:
    from functools import cached_property

    from manualkit.records.repository import Snapshot
    from manualkit.text.manual import LoadResult, load_manual

    class ReadingSnapshot(Snapshot):
        """A snapshot whose chapters are read, not checked: their Markdown is not parsed (the
        sections, their text and the front matter are the same; ``manual check`` checks them)."""

        @cached_property
        def _manual(self) -> LoadResult:
            return load_manual(self.files, check_body=False)

    return ReadingSnapshot


def _policy_in_force(root: Path, snap: Snapshot, current: Policy) -> Policy:
    """The policy of the last release (records.trust.policy_in_force), found by the one commit that
    added its record instead of by every commit that added any."""
    from manualkit.base import git
    from manualkit.base.diagnostics import ManualError, diagnostic
    from manualkit.records.trust import policy_at

    if not snap.records:
        return current
    path = snap.records[-1].path
    found = git.text(root, "log", "--first-parent", "--diff-filter=A", "-1", "--format=%H", "HEAD", "--", path).strip() if git.facts(root) else ""
    policy = policy_at(root, found) if found else None
    if policy is None:
        raise ManualError(diagnostic("manual/policy.yml", 0, 0, "MAN683", "上一次发布时的修订政策无法加载；请运行 manual audit"))
    return policy


def _actions(root: Path, snap: Snapshot, policy: Policy, as_of: dt.date) -> tuple[list[rm.Action], WorkCalendar, list[Diagnostic]]:
    from manualkit.base.clock import add_months
    from manualkit.records import reminders as rm
    from manualkit.records.copies import COPIES_DIR
    from manualkit.records.procedure import (
        COPY_KIND,
        copies_due,
        load_signed,
        procedure_state,
        request_deadlines,
        training_due,
    )

    manual, _ = snap.require()
    state = procedure_state(snap, root)
    calendar = state.calendar
    warnings: list[Diagnostic] = list(state.problems)
    approvers = [rm.Approver(a.id, a.department, a.roles) for a in policy.approvers]
    deadlines = request_deadlines(snap, state, as_of)
    resubmitted = {str(cr.data.get("replaces")) for cr in snap.requests.values() if cr.data.get("replaces")}
    waiting, returned = [], []
    for d in deadlines:
        cr = snap.requests[d.id]
        warnings += d.warnings
        if d.status == "waiting" and d.waiting_for and d.due and d.since:
            signed = tuple(a.signer for a in cr.approvals if a.role != d.waiting_for)
            waiting.append(rm.WaitingRequest(d.id, cr.title, d.waiting_for, d.since, d.due, signed, cr.assignee(d.waiting_for)))
        elif d.status == "returned" and d.since and d.id not in resubmitted:
            editors = tuple(a.signer for a in cr.approvals if a.role == rm.EDITOR_ROLE)
            returned.append(rm.ReturnedRequest(d.id, cr.title, d.since, editors))
    reviews = []
    for chapter in manual.chapters:
        due = add_months(chapter.last_reviewed, chapter.review_cycle_months)
        if due - dt.timedelta(days=rm.LOOKBACK_DAYS) <= as_of:
            reviews.append(rm.ReviewDue(chapter.number, chapter.title, chapter.owner, due))
    published = {str(r.version): r for r in snap.records}
    training = []
    for t in training_due(snap, state, as_of):
        record = published[t.version]
        if t.done is not None or (t.late and t.effective < as_of - dt.timedelta(days=rm.LOOKBACK_DAYS)):
            continue
        editors = tuple(
            a.signer
            for cr_id in record.change_requests
            if (req := snap.requests.get(cr_id)) is not None and req.training_required
            for a in req.approvals
            if a.role == rm.EDITOR_ROLE
        )
        training.append(rm.TrainingOpen(t.version, t.effective, record.published, tuple(dict.fromkeys(editors))))
    due_copies, problems = copies_due(snap, state, as_of)
    warnings += problems
    issuers = {r.fields["number"]: r.fields["by"] for r in load_signed(snap.changelog_files(COPIES_DIR), COPIES_DIR, COPY_KIND)[0]}
    copies = [
        rm.CopyOpen(c.copy.number, c.copy.version, c.copy.holder, c.copy.department, c.superseded, c.due, issuers.get(c.copy.number, ""))
        for c in due_copies
    ]
    owners = {c.number: c.owner for c in manual.chapters}
    upcoming = []
    for r in snap.records:
        if r.published <= as_of < r.effective:
            chapters = {int(s.split(".")[0]) for s in r.sections if s.split(".")[0].isdigit()}
            departments = [owners[c] for c in sorted(chapters) if c in owners]
            departments += [req.department for cr_id in r.change_requests if (req := snap.requests.get(cr_id)) is not None]
            upcoming.append(rm.Upcoming(str(r.version), r.published, r.effective, tuple(dict.fromkeys(departments))))
    actions = rm.open_actions(
        approvers, calendar, waiting=waiting, returned=returned, reviews=reviews, training=training, copies=copies, upcoming=upcoming
    )
    return actions, calendar, warnings


def _links(env: Mapping[str, str]) -> tuple[str, str]:
    desk = env.get("MANUAL_DESK_URL", "").strip().rstrip("/")
    site = env.get("MANUAL_SITE_URL", "").strip().rstrip("/")
    return desk, site


def _link(links: tuple[str, str], action: rm.Action) -> str:
    desk, site = links
    if desk and action.link:
        return f"{desk}/{action.link}"
    return site + "/" if site else ""


# --- channels and the ledger -----------------------------------------------------------------------


class _Route(NamedTuple):
    channel: str
    address: str
    contact: Contact


def _routes(recipient: str, contacts: Contacts | None, channels: Channels, name: str) -> list[_Route]:
    from manualkit.base import notify
    from manualkit.records import reminders as rm

    if contacts is None:
        return []
    if recipient.startswith(rm.DEPARTMENT_PREFIX):
        contact = contacts.departments.get(recipient[len(rm.DEPARTMENT_PREFIX) :])
        return [_Route("mail", contact.email, contact)] if contact and contact.email and channels.mail else []
    contact = contacts.people.get(recipient)
    if contact is None:
        return []
    routes = [_Route("mail", contact.email, contact)] if contact.email and channels.mail else []
    for robot in channels.robots:
        mention = _mention(contact, name)
        if notify.can_mention(robot.kind, mention):
            address = {
                "wecom": contact.wecom_userid or contact.mobile,
                "dingtalk": contact.dingtalk_userid or contact.mobile,
                "feishu": contact.feishu_open_id,
            }[robot.kind]
            routes.append(_Route(robot.kind, address, contact))
    return routes


def _mention(contact: Contact, name: str) -> Mention:
    from manualkit.base import notify
    from manualkit.records import reminders as rm

    return notify.Mention(rm.inert_line(name, 40), contact.mobile, contact.wecom_userid, contact.dingtalk_userid, contact.feishu_open_id)


def _dry(reminder: rm.Reminder, routes: Sequence[_Route], sent: set[tuple[str, str, str, str]]) -> list[Delivery]:
    if not routes:
        return [Delivery("", "", "unreachable")]
    key = reminder.ledger_key
    return [Delivery(r.channel, r.address, "already" if (*key, r.channel) in sent else "pending") for r in routes]


def _send(run: Run, channels: Channels, planned: list[tuple[rm.Reminder, str, rm.Message, list[_Route]]]) -> list[Outgoing]:
    from manualkit.base import notify
    from manualkit.base.clock import seconds_since_epoch
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.lock import wait_seconds
    from manualkit.records import reminders as rm
    from manualkit.records.reminder_ledger import Entry, ledger_path, open_ledger

    robots = {r.kind: r for r in channels.robots}
    mailer = notify.Mailer(channels.mail) if channels.mail else None
    out: list[Outgoing] = []
    now = run.now
    stamp = now.isoformat()
    with open_ledger(ledger_path(run), wait_seconds(run.env)) as ledger:
        try:
            for reminder, name, text, routes in planned:
                deliveries: list[Delivery] = []
                if not routes:
                    deliveries.append(Delivery("", "", "unreachable"))
                for route in routes:
                    entry = Entry(*reminder.ledger_key, route.channel)
                    if entry.as_key() in ledger.sent:
                        deliveries.append(Delivery(route.channel, route.address, "already"))
                        continue
                    try:
                        if route.channel == "mail":
                            assert mailer is not None
                            mailer.send(route.address, rm.inert_line(name, 40), text.subject, text.body, now, "文件控制提醒")
                        else:
                            line = f"{text.subject}\n{text.body}"
                            notify.post_robot(robots[route.channel], line, _mention(route.contact, name), seconds_since_epoch())
                    except ManualError as exc:
                        problem = exc.diagnostics[0]
                        ledger.record(entry, "failed", stamp, code=problem.code, reason=problem.message)
                        deliveries.append(Delivery(route.channel, route.address, "failed", problem))
                        continue
                    ledger.record(entry, "sent", stamp, fired=reminder.fired.isoformat())
                    deliveries.append(Delivery(route.channel, route.address, "sent"))
                out.append(Outgoing(reminder, name, text, tuple(deliveries)))
        finally:
            if mailer is not None:
                mailer.close()
    return out


# --- rendering -------------------------------------------------------------------------------------

STATUS_TEXT = {"pending": "将发送", "sent": "已发送", "failed": "发送失败", "already": "此前已发送", "unreachable": "无可用联系方式或渠道"}
CHANNEL_TEXT = {"mail": "邮件", "wecom": "企业微信", "dingtalk": "钉钉", "feishu": "飞书", "": "—"}


def ladder_text(ladder: rm.Ladder) -> str:
    parts = [f"到期前 {'、'.join(map(str, ladder.before))} 个工作日"] if ladder.before else []
    if ladder.on_due:
        parts.append("到期当日")
    if ladder.overdue_every:
        parts.append(f"逾期后每 {ladder.overdue_every} 个工作日")
    if ladder.escalate_after:
        parts.append(f"逾期超过 {ladder.escalate_after} 个工作日同时告知批准人")
    return "、".join(parts) or "不提醒"


def render_remind(report: RemindReport) -> str:
    from manualkit.base.characters import inert
    from manualkit.records import reminders as rm

    source = "修订政策" if report.ladder_from_policy else "默认规则（修订政策未规定 reminders）"
    lines = [f"{report.as_of} 的提醒；提醒阶梯（{source}）：{ladder_text(report.ladder)}"]
    channels = "、".join(CHANNEL_TEXT[c] for c in report.channels) or "未配置（见 docs/reminders.md）"
    lines.append(f"提醒渠道：{channels}")
    if not report.sent:
        lines.append("以下提醒尚未发送（加 --send 发送）。")
    if not report.outgoing:
        lines.append("今天没有需要发送的提醒。")
    by_person: dict[str, list[Outgoing]] = {}
    for o in report.outgoing:
        by_person.setdefault(o.reminder.recipient, []).append(o)
    for recipient, items in by_person.items():
        who = f"{items[0].name}（部门）" if recipient.startswith(rm.DEPARTMENT_PREFIX) else f"{items[0].name}（{recipient}）"
        lines += ["", f"{who}："]
        for o in items:
            where = "；".join(f"{CHANNEL_TEXT[d.channel]} {d.address} {STATUS_TEXT[d.status]}".replace("—  ", "") for d in o.deliveries)
            lines.append(f"  {o.message.subject}  [{where}]")
            lines += [f"      {d.problem.render()}" for d in o.deliveries if d.problem]
    lines += [f"警告：{d.render()}" for d in report.warnings]
    counts = {s: sum(d.status == s for o in report.outgoing for d in o.deliveries) for s in STATUS_TEXT}
    if report.sent:
        lines.append(f"已发送 {counts['sent']} 条，失败 {counts['failed']} 条（下次运行时重发），此前已发送 {counts['already']} 条。")
    return inert("\n".join(lines) + "\n")


def render_remind_json(report: RemindReport) -> str:
    import json

    data = {
        "as_of": report.as_of.isoformat(),
        "ladder": {**report.ladder._asdict(), "before": list(report.ladder.before), "from_policy": report.ladder_from_policy},
        "send": report.sent,
        "channels": list(report.channels),
        "reminders": [
            {
                "action": o.reminder.action.as_dict(),
                "rung": o.reminder.rung.key,
                "fired": o.reminder.fired.isoformat(),
                "recipient": o.reminder.recipient,
                "name": o.name,
                "escalated": o.reminder.escalated,
                "subject": o.message.subject,
                "body": o.message.body,
                "deliveries": [
                    {"channel": d.channel, "address": d.address, "status": d.status, "problem": d.problem.as_dict() if d.problem else None}
                    for d in o.deliveries
                ],
            }
            for o in report.outgoing
        ],
        "warnings": [d.as_dict() for d in report.warnings],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    p.add_argument("--as-of", type=parse_date, help="按该日期计算（默认今天）")
    p.add_argument("--send", action="store_true", help="发送（邮件、企业微信、钉钉、飞书，见 docs/reminders.md）并记入提醒台账；不加则只列出")
    format_option(p, ("text", "json"), json_alias=True)


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    report = remind(context.run, args.as_of or context.today, send=args.send)
    outcome = Outcome(EXIT_FINDINGS if report.failed else EXIT_OK)
    outcome.write(render_remind_json(report) if args.format == "json" else render_remind(report))
    return outcome


COMMANDS = (Command("remind", _arguments, _run),)
