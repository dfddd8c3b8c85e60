"""Chapter 8's obligations over its signed records: the state of a snapshot's returns (退回),
key revocations (密钥停用), training records (培训记录) and controlled copies (受控副本), the
deadlines of open requests, training due, copies to recall, and what ``audit`` reports of them.

Each record kind is its own module, declared in the record registry (records/signed.py, which
reads, checks and writes every record): records/returns.py, records/key_revocation.py,
records/training.py, records/copies.py. The names their callers imported from here before are
imported here still.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from manualkit.base import sshsig
from manualkit.base.characters import require_field
from manualkit.base.diagnostics import Diagnostic, diagnostic, fail
from manualkit.records.change_request import request_path
from manualkit.records.copies import COPIES_DIR, COPY, COPY_KIND, RECALL, RECALL_KIND, ControlledCopy, verified_copies
from manualkit.records.key_revocation import KIND as REVOCATION
from manualkit.records.key_revocation import verified_revocations, with_history
from manualkit.records.returns import KIND as RETURN
from manualkit.records.returns import RETURNS_DIR, return_path, verified_returns
from manualkit.records.revocation import (
    REVOCATIONS_DIR,
    Revocation,
    bound_findings,
    committed_later,
    revoked_at,
    signed_after_revocation,
)
from manualkit.records.signed import (
    SignedRecord,
    approver_for_key,
    load_signed,
    parse_signed,
    record_text,
    signature_valid,
    write_record,
    write_signed,
)
from manualkit.records.training import KIND as TRAINING
from manualkit.records.training import TRAINING_DIR, Training, verified_training
from manualkit.records.workdays import WorkCalendar, load_calendar

# What the callers of chapter 8's records import from here (each kind is its own module now).
__all__ = [
    "COPY_KIND", "RECALL_KIND", "RETURNS_DIR", "REVOCATIONS_DIR", "TRAINING_DIR", "Revocation", "SignedRecord", "Training",
    "approver_for_key", "load_signed", "parse_signed", "record_text", "return_path", "revoked_at", "signature_valid",
    "signed_after_revocation", "verified_copies", "verified_returns", "verified_revocations", "verified_training",
    "write_record", "write_signed",
]  # fmt: skip

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.repository import Snapshot

MAX_TEXT = 500


_GENERIC = (RETURN, REVOCATION, TRAINING, COPY, RECALL)
#: The generic kinds' declarations, as the registry (records/signed.py) holds them, for readers
#: written before it: signed fields in signing order, optional fields, titles.
KINDS: dict[str, tuple[str, ...]] = {k.kind: k.fields for k in _GENERIC}
OPTIONAL: dict[str, tuple[str, ...]] = {k.kind: k.optional for k in _GENERIC if k.optional}
TITLES: dict[str, str] = {k.kind: k.title for k in _GENERIC}


# --- hostile text ----------------------------------------------------------------------------

def clean_text(value: str, where: str, limit: int = MAX_TEXT) -> str:
    """A one-line text fit for a signed record: not empty, at most ``limit`` characters (else
    MAN840), and only characters a record may hold (base/characters). Never altered."""
    text = value.strip()
    if not text:
        raise fail(where, 0, 0, "MAN840", "不能为空")
    if len(text) > limit:
        raise fail(where, 0, 0, "MAN840", f"超过 {limit} 个字符")
    # the characters a record may hold are defined once, in base/characters (MAN009/762/763)
    return require_field(where, text)


# --- reading and writing ---------------------------------------------------------------------


# --- returns (退回) ----------------------------------------------------------------------------


class ReturnedRequest(NamedTuple):
    """A returned change request (8.2 三 4: 退回, archived with its reason) as history and the site
    show it: the request, the return record, whether that record verified (signed by a holder of
    the role), and the requests that resubmitted it (``replaces:``)."""

    request: ChangeRequest
    record: SignedRecord
    verified: bool
    replaced_by: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        f = self.record.fields
        return {
            "id": self.request.id,
            "title": self.request.title,
            "role": f["role"],
            "returned_at": f["returned_at"],
            "reason": f["reason"],
            "signer": f["by"],
            "name": self.record.name,
            "verified": self.verified,
            "replaced_by": list(self.replaced_by),
            "record": self.record.path,
        }


def returned_requests(snap: Snapshot, state: ProcedureState | None = None) -> list[ReturnedRequest]:
    """Every return record of ``snap`` naming one of its requests, ordered by request id; a
    record that does not verify is listed with ``verified`` false (and reported as MAN802)."""
    state = state or procedure_state(snap)
    records, _ = load_signed(snap.changelog_files(RETURNS_DIR), RETURNS_DIR, "manual-return/1")
    out = []
    for r in records:
        cr = snap.requests.get(r.fields["change_request"])
        if cr is not None and r.path == return_path(cr.id):
            again = tuple(i for i, c in sorted(snap.requests.items()) if c.data.get("replaces") == cr.id)
            out.append(ReturnedRequest(cr, r, state.returns.get(cr.id) == r, again))
    return sorted(out, key=lambda x: x.request.id)


# --- key revocations (密钥停用) ----------------------------------------------------------------


def released_after_revocation(
    requests: Mapping[str, ChangeRequest], released: Iterable[str], revocations: Sequence[Revocation]
) -> list[Diagnostic]:
    """MAN812 for each signature of a released request made with a key at or after its
    revocation (the key is the one embedded in the signature). The release stays on the site,
    where the signature is shown as invalid; ``check``, ``audit`` and ``history`` report it."""
    if not revocations:
        return []
    revoked = {r.signer for r in revocations}
    out = bound_findings(revocations)
    for cr_id in sorted(set(released)):
        cr = requests.get(cr_id)
        if cr is None:
            continue
        for a in cr.approvals:
            if a.signer not in revoked:
                continue
            try:
                key = sshsig.signer_key(a.signature)
            except sshsig.SignatureFormatError:
                continue  # an unreadable signature is reported as such (MAN650)
            revocation = revoked_at(revocations, a.signer, key)
            if revocation is not None and committed_later(revocation, a.signature):
                out.append(
                    diagnostic(
                        cr.path, a.line, 1, "MAN852",
                        f"已发布的{cr.id}上的“{a.role}”签署（{a.name}）所用密钥已由 {revocation.path} 停用，而该签署在停用记录提交之后才加入："
                        f"所称签署时间 {a.signed_at} 不可信，签署无效；请以新的修订申请重新批准该版本的内容",
                    )
                )  # fmt: skip
            elif revocation is not None and signed_after_revocation(revocation, a.signed_at):
                out.append(
                    diagnostic(
                        cr.path, a.line, 1, "MAN812",
                        f"已发布的{cr.id}上的“{a.role}”签署（{a.name}，{a.signed_at}）晚于该密钥的停用时间 "
                        f"{revocation.at.isoformat()}（{revocation.path}），签署无效；网站将其标为无效，请以新的修订申请重新批准该版本的内容",
                    )
                )  # fmt: skip
    return out


# --- training records (培训记录) ---------------------------------------------------------------


# --- controlled copies (受控副本) and their recall ------------------------------------------------


# --- everything at once ------------------------------------------------------------------------


class ProcedureState(NamedTuple):
    """The verified chapter 8 records of a snapshot and the problems met reading them."""

    returns: dict[str, SignedRecord]
    revocations: list[Revocation]
    training: list[Training]
    calendar: WorkCalendar
    problems: list[Diagnostic]
    copies: Mapping[str, ControlledCopy] | None = None  # the valid controlled copies, by 分发号


def procedure_state(snap: Snapshot, root: Path | None = None) -> ProcedureState:
    """The verified records of ``snap``; with ``root`` (the repository), each committed revocation
    also voids every signature with its key added in a later commit (records.revocation)."""
    calendar, problems = load_calendar(snap.files.contents)
    manual, policy = snap.manual, snap.policy
    if manual is None or policy is None:
        return ProcedureState({}, [], [], calendar, problems)
    doc = manual.metadata.document_number
    revocations, more = verified_revocations(snap.changelog_files(REVOCATIONS_DIR), policy, doc)
    problems += more
    if root is not None:
        revocations = with_history(root, revocations)
    returns, more = verified_returns(snap.changelog_files(RETURNS_DIR), policy, doc, snap.requests, revocations)
    problems += more
    published = {str(r.version): r.published for r in snap.records}
    training, more = verified_training(snap.changelog_files(TRAINING_DIR), policy, doc, revocations, published)
    problems += more
    copies, more = verified_copies(snap.changelog_files(COPIES_DIR), policy, doc, revocations)
    problems += more
    return ProcedureState(returns, revocations, training, calendar, problems, copies)


# --- deadlines of open requests (8.2 三 2–4: 5 个工作日) ----------------------------------------


class RequestDeadline(NamedTuple):
    id: str
    title: str
    status: str  # "waiting" (for waiting_for), "ready" (fully signed), "returned"
    waiting_for: str | None  # the role the request waits for
    since: dt.date | None  # when it reached that role
    due: dt.date | None  # 5 working days later (None: 编制, the editor's own step)
    overdue: bool
    returned: SignedRecord | None
    warnings: tuple[Diagnostic, ...]  # MAN806 when the calendar does not cover the dates
    replaces: str | None = None  # the returned request this one resubmits

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "waiting_for": self.waiting_for,
            "since": self.since.isoformat() if self.since else None,
            "due": self.due.isoformat() if self.due else None,
            "overdue": self.overdue,
            "returned": dict(self.returned.fields) if self.returned else None,
            "replaces": self.replaces,
            "warnings": [d.as_dict() for d in self.warnings],
        }


def _signed_day(signed_at: str, company_zone: dt.tzinfo) -> dt.date | None:
    """The company's date of a signing time (not the date its own offset tells)."""
    from manualkit.base.clock import company_day

    return company_day(signed_at, company_zone)


def request_deadlines(snap: Snapshot, state: ProcedureState, today: dt.date) -> list[RequestDeadline]:
    """For each change request not yet released: whom it waits for, since when, and its due date."""
    from manualkit.base.clock import zone_or_default
    from manualkit.records.approval import approval_findings

    manual, policy = snap.require()
    company_zone = zone_or_default(policy.time_zone)
    released = {cr for r in snap.records for cr in r.change_requests}
    out: list[RequestDeadline] = []
    for cr_id, cr in sorted(snap.requests.items()):
        if cr_id in released:
            continue
        replaces = str(cr.data["replaces"]) if cr.data.get("replaces") else None
        back = state.returns.get(cr_id)
        if back is not None:
            out.append(
                RequestDeadline(
                    cr_id,
                    cr.title,
                    "returned",
                    None,
                    _signed_day(back.fields["returned_at"], company_zone),
                    None,
                    False,
                    back,
                    (),
                    replaces,
                )
            )
            continue
        checks, _ = approval_findings(cr, manual, policy, state.revocations)
        change_class = policy.change_class(cr.class_key)
        required = change_class.roles if change_class else ()
        signed = {c.approval.role: c.approval for c in checks if c.valid}
        waiting = next((r for r in required if r not in signed), None)
        if waiting is None:
            out.append(RequestDeadline(cr_id, cr.title, "ready", None, None, None, False, None, (), replaces))
            continue
        before = [
            d
            for r in required[: required.index(waiting)]
            if r in signed
            for d in [_signed_day(signed[r].signed_at, company_zone)]
            if d
        ]
        since = max([cr.date, *before])
        if waiting == required[0]:
            out.append(RequestDeadline(cr_id, cr.title, "waiting", waiting, since, None, False, None, (), replaces))
            continue
        deadline = state.calendar.add_workdays(since)
        out.append(
            RequestDeadline(
                cr_id,
                cr.title,
                "waiting",
                waiting,
                since,
                deadline.due,
                today > deadline.due,
                None,
                deadline.warnings,
                replaces,
            )
        )
    return out


# --- training due and copies not recalled -------------------------------------------------------


class RulesAtRelease(Protocol):
    """What the rules in force at a release asked for (records.requirements.RulesAtRelease)."""

    def introduced_after(self, version: str, code: str) -> bool: ...


class TrainingDue(NamedTuple):
    version: str
    effective: dt.date
    done: Training | None  # the earliest training record dated before the effective date
    late: bool  # in force without a training record dated before its effective date
    predates: bool = False  # released before the rules asked for a training record (早于该要求)


class CopyDue(NamedTuple):
    copy: ControlledCopy
    superseded: dt.date  # when its version stopped being in force
    due: dt.date  # 5 working days later
    overdue: bool


def training_due(snap: Snapshot, state: ProcedureState, today: dt.date, rules: RulesAtRelease | None = None) -> list[TrainingDue]:
    """Every released version whose change requests require training, with its training record;
    with ``rules`` (records.requirements), a version released before the rules asked for a
    training record and in force without one is marked ``predates``."""
    out = []
    for record in snap.records:
        requests = [snap.requests.get(cr) for cr in record.change_requests]
        if not any(cr is not None and cr.training_required for cr in requests):
            continue
        version = str(record.version)
        before = sorted(
            (t for t in state.training if t.version == version and t.date < record.effective), key=lambda t: t.date
        )
        done = before[0] if before else None
        late = done is None and record.effective <= today
        predates = late and rules is not None and rules.introduced_after(version, "MAN818")
        out.append(TrainingDue(version, record.effective, done, late, predates))
    return out


def copies_due(snap: Snapshot, state: ProcedureState, today: dt.date) -> tuple[list[CopyDue], list[Diagnostic]]:
    """Copies of superseded versions not yet recalled, with their 5-working-day due date."""
    problems: list[Diagnostic] = []  # the records' own problems are the state's
    records = sorted(snap.records, key=lambda r: r.effective)
    out = []
    for copy in (state.copies or {}).values():
        if copy.recalled is not None:
            continue
        index = next((i for i, r in enumerate(records) if str(r.version) == copy.version), None)
        later = [r.effective for r in records[index + 1 :] if r.effective <= today] if index is not None else []
        if not later:
            continue
        deadline = state.calendar.add_workdays(later[0])
        problems += list(deadline.warnings)
        out.append(CopyDue(copy, later[0], deadline.due, today > deadline.due))
    return out, problems


def obligation_findings(snap: Snapshot, state: ProcedureState, today: dt.date, rules: RulesAtRelease | None = None) -> list[Diagnostic]:
    """What ``manual audit`` reports about chapter 8's obligations beyond the releases: invalid
    records, overdue signatures (MAN807), training missing before effect (MAN817/MAN818) and
    copies of superseded versions not recalled in time (MAN823)."""
    out = list(state.problems)
    for d in request_deadlines(snap, state, today):
        out += d.warnings
        if d.overdue and d.due is not None:
            out.append(
                diagnostic(
                    request_path(d.id), 0, 0, "MAN807",
                    f"{d.id} 自 {d.since} 起等待“{d.waiting_for}”签署，应于 {d.due}（5 个工作日）前完成，已逾期",
                )
            )  # fmt: skip
    for t in training_due(snap, state, today, rules):
        if t.predates:
            out.append(
                diagnostic(
                    TRAINING_DIR, 0, 0, "MAN970",
                    f"{t.version} 版于 {t.effective} 实施，没有培训记录；该版本发布时的规则（manual/obligations.yml）尚未要求以签署的培训记录证明培训：早于该要求，不作为缺失记录",
                )
            )  # fmt: skip
        elif t.late:
            out.append(
                diagnostic(
                    TRAINING_DIR,
                    0,
                    0,
                    "MAN818",
                    f"{t.version} 版需要培训，已于 {t.effective} 实施，但没有日期在实施日期之前的培训记录（见 6.4、8.4 二）",
                )
            )
        elif t.done is None:
            out.append(
                diagnostic(
                    TRAINING_DIR,
                    0,
                    0,
                    "MAN817",
                    f"{t.version} 版需要培训，须在 {t.effective} 实施前完成并用 manual training 记录",
                )
            )
    due, problems = copies_due(snap, state, today)
    out += problems
    for c in due:
        if c.overdue:
            out.append(
                diagnostic(
                    c.copy.path, 0, 0, "MAN823",
                    f"受控副本 {c.copy.number}（{c.copy.version} 版，{c.copy.holder}）：该版本自 {c.superseded} 起作废，应于 {c.due} 前回收，至今未回收",
                )
            )  # fmt: skip
    return out
