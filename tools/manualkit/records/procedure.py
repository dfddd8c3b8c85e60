"""Chapter 8's signed records beyond approvals: returns (退回), key revocations (密钥停用) and
training records (培训记录).

Each is a small YAML file written once by its command and never edited, signed like an approval
(an OpenSSH signature over ``kind`` + ``key: value`` lines, :func:`manualkit.base.sshsig.signed_text`)
by a signer of the registry in ``manual/policy.yml``:

- ``changelog/returns/<CR>.yml`` (8.2 三 4): the approver of the role the request waits for
  returns it with a reason; the request can no longer be signed or released.
- ``changelog/revocations/<signer>-<time>.yml`` (8.2 四): the key's owner or a holder of 批准
  stops a key at once; signatures made with it after ``revoked_at`` are invalid everywhere.
- ``changelog/training/<A-1>-<date>.yml`` (8.4 二, 6.4): who trained which departments, when,
  how many attended and the evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from manualkit.base import sshsig, yamlfile
from manualkit.base.atomic import write_atomic
from manualkit.base.characters import require_field
from manualkit.base.diagnostics import Diagnostic, diagnostic, fail
from manualkit.base.yamlfile import quoted
from manualkit.records.change_request import request_path
from manualkit.records.copies import COPIES_DIR, NUMBER_RE, RECALL_SUFFIX, ControlledCopy, copy_path, recall_path
from manualkit.records.revocation import (
    REVOCATIONS_DIR,
    Revocation,
    bound_findings,
    committed_later,
    moment,
    revoked_at,
    signed_after_revocation,
    with_history,
)
from manualkit.records.workdays import WorkCalendar, load_calendar

__all__ = ["REVOCATIONS_DIR", "Revocation", "revoked_at", "signed_after_revocation"]

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.policy import Approver, Policy
    from manualkit.records.repository import Snapshot
    from manualkit.records.webauthn_signature import Assertion

RETURNS_DIR = "changelog/returns"
TRAINING_DIR = "changelog/training"
MAX_TEXT = 500

# Signed fields of each kind, in signing order (YAML key; the signed line uses '-' for '_').
KINDS: dict[str, tuple[str, ...]] = {
    "manual-return/1": ("change_request", "role", "by", "returned_at", "reason", "digest"),
    "manual-key-revocation/1": ("signer", "key", "revoked_at", "reason", "by", "signed_at"),
    "manual-training/1": ("version", "date", "departments", "attendees", "record", "by", "signed_at"),
    "manual-controlled-copy/1": ("number", "version", "holder", "department", "issued", "file", "sha256", "by", "signed_at"),
    "manual-copy-recall/1": ("number", "recalled", "retained", "by", "signed_at"),
}
# Signed fields a record of the kind may carry or leave out (signed after the others when present,
# so the records written before a field existed verify unchanged).
OPTIONAL: dict[str, tuple[str, ...]] = {
    # "true": the revocation voids the signatures of released versions made after its time
    # (8.2 四, a stolen key): only a holder of 批准 may say so (docs/threat-model.md).
    "manual-key-revocation/1": ("voids_released",),
}
TITLES = {
    "manual-return/1": "退回记录", "manual-key-revocation/1": "密钥停用记录", "manual-training/1": "培训记录",
    "manual-controlled-copy/1": "受控副本分发记录", "manual-copy-recall/1": "受控副本回收记录",
}  # fmt: skip
COPY_KIND, RECALL_KIND = "manual-controlled-copy/1", "manual-copy-recall/1"


class SignedRecord(NamedTuple):
    """One record as stored: its kind, its signed fields, the signer's name and the signature."""

    path: str
    kind: str
    fields: Mapping[str, str]
    name: str
    signature: str
    webauthn: Assertion | None = None  # a return signed at the desk (then ``signature`` is empty)

    def message(self, document_number: str) -> bytes:
        names = (*KINDS[self.kind], *(k for k in OPTIONAL.get(self.kind, ()) if k in self.fields))
        return sshsig.signed_text(self.kind, [("document", document_number), *((k.replace("_", "-"), self.fields[k]) for k in names)])


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


def approver_for_key(policy: Policy, key_path: Path) -> Approver:
    from manualkit.records.approval import _approver_for_key

    return _approver_for_key(policy, key_path)


def write_signed(
    root: Path,
    rel: str,
    kind: str,
    fields: Mapping[str, str],
    name: str,
    key_path: Path,
    policy: Policy,
    document_number: str,
) -> SignedRecord:
    """Sign ``fields`` with the key at ``key_path`` and write the record at ``rel`` (never over one)."""
    record = SignedRecord(rel, kind, dict(fields), name, "")
    signature = sshsig.sign(record.message(document_number), key_path, policy.signing_namespace)
    return write_record(root, record._replace(signature=signature))


def write_record(root: Path, record: SignedRecord) -> SignedRecord:
    """Write the signed ``record`` at its path (never over one); the caller holds the lock."""
    path = root / record.path
    if path.exists():
        raise fail(record.path, 0, 0, "MAN645", "该记录已存在；不会覆盖")
    write_atomic(path, record_text(record))
    return record


def record_text(record: SignedRecord) -> str:

    lines = [
        f"# {TITLES[record.kind]}: written by `manual`; never edit (the signature covers it).",
        f"kind: {record.kind}",
    ]
    lines += [f"{k}: {quoted(record.fields[k])}" for k in KINDS[record.kind]]
    lines += [f"{k}: {quoted(record.fields[k])}" for k in OPTIONAL.get(record.kind, ()) if k in record.fields]
    lines.append(f"name: {quoted(record.name)}")
    if record.webauthn is not None:
        from manualkit.records.webauthn_return import webauthn_lines

        return "\n".join(lines + webauthn_lines(record.webauthn)) + "\n"
    lines += ["signature: |", *("  " + line for line in record.signature.splitlines())]
    return "\n".join(lines) + "\n"


def parse_signed(path: str, raw: bytes, kind: str) -> tuple[SignedRecord | None, list[Diagnostic]]:
    code = {"manual-return/1": "MAN802", "manual-key-revocation/1": "MAN811", "manual-training/1": "MAN816"}.get(kind, "MAN855")
    data, problems = yamlfile.parse_record(raw, path, kind)
    if data is None:
        return None, problems or [diagnostic(path, 1, 1, code, f"{TITLES[kind]}应为键值映射，kind 为 {kind}")]
    if kind == "manual-return/1" and "webauthn" in data:
        from manualkit.records.webauthn_return import parse_webauthn_return

        parsed, problems = parse_webauthn_return(path, data, KINDS[kind])
        return (SignedRecord(path, kind, parsed[0], parsed[1], "", parsed[2]) if parsed else None), problems
    missing = [
        k
        for k in (*KINDS[kind], "name", "signature")
        if not isinstance(data.get(k), str | int) or isinstance(data.get(k), bool)
    ]
    if missing:
        return None, [diagnostic(path, 1, 1, code, f"{TITLES[kind]}缺少或写错了：{'、'.join(missing)}")]
    fields = {k: str(data[k]) for k in KINDS[kind]}
    for k in OPTIONAL.get(kind, ()):
        if k in data:
            if not isinstance(data[k], str):
                return None, [diagnostic(path, 1, 1, code, f"{TITLES[kind]}的 {k} 应为带引号的文本")]
            fields[k] = data[k]
    return SignedRecord(path, kind, fields, str(data["name"]), str(data["signature"])), []


def load_signed(
    contents: Mapping[str, bytes], directory: str, kind: str
) -> tuple[list[SignedRecord], list[Diagnostic]]:
    records: list[SignedRecord] = []
    problems: list[Diagnostic] = []
    for path in sorted(contents):
        if path.startswith(directory + "/") and path.endswith(".yml"):
            record, more = parse_signed(path, contents[path], kind)
            problems += more
            if record is not None:
                records.append(record)
    return records, problems


def signature_valid(
    record: SignedRecord,
    policy: Policy,
    document_number: str,
    key: str | None = None,
    revocations: Sequence[Revocation] = (),
    signed_at: str = "",
) -> bool:
    """The record is signed by its ``by`` signer (with the registry's key, or ``key`` when given)
    and names them as the registry does. A record signed (at ``signed_at``) before the signer's
    key was revoked and replaced in the registry stays valid with that revoked key (8.2 四)."""
    approver = policy.approver(record.fields["by"])
    if approver is None or approver.name != record.name:
        return False
    if record.webauthn is not None:
        from manualkit.records.webauthn_return import webauthn_record_valid

        return webauthn_record_valid(record.message(document_number), record.webauthn, approver, revocations, signed_at)
    keys = [key or approver.public_key]
    if key is None and signed_at:
        by = record.fields["by"]
        keys += [r.key for r in revocations if r.signer == by and signed_after_revocation(r, signed_at, record.signature) is False]
    message = record.message(document_number)
    return any(sshsig.verify(message, record.signature, k, policy.signing_namespace) for k in dict.fromkeys(keys))


# --- returns (退回) ----------------------------------------------------------------------------


def return_path(cr_id: str) -> str:
    return f"{RETURNS_DIR}/{cr_id}.yml"


def verified_returns(
    contents: Mapping[str, bytes],
    policy: Policy,
    document_number: str,
    requests: Iterable[str],
    revocations: Sequence[Revocation] = (),
) -> tuple[dict[str, SignedRecord], list[Diagnostic]]:
    """The valid returns by change request id, and a MAN802 for each invalid one."""
    records, problems = load_signed(contents, RETURNS_DIR, "manual-return/1")
    known = set(requests)
    valid: dict[str, SignedRecord] = {}
    for r in records:
        approver = policy.approver(r.fields["by"])
        if r.fields["change_request"] not in known or r.path != return_path(r.fields["change_request"]):
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN802", f"退回记录所指的修订申请单 {r.fields['change_request'][:40]} 不存在或与文件名不符"
                )
            )
        elif not signature_valid(r, policy, document_number, None, revocations, r.fields["returned_at"]):
            problems.append(diagnostic(r.path, 1, 1, "MAN802", "退回记录的电子签名无效：签名被伪造或记录被改动"))
        elif approver is None or r.fields["role"] not in approver.roles:
            problems.append(diagnostic(r.path, 1, 1, "MAN802", f"{r.name} 无权以“{r.fields['role']}”退回"))
        else:
            valid[r.fields["change_request"]] = r
    return valid, problems


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


def verified_revocations(
    contents: Mapping[str, bytes], policy: Policy, document_number: str
) -> tuple[list[Revocation], list[Diagnostic]]:
    """Valid revocations (signed by the key's owner, with that key or the registry's, or by a
    holder of 批准); a MAN811 for each invalid one (which revokes nothing)."""
    records, problems = load_signed(contents, REVOCATIONS_DIR, "manual-key-revocation/1")
    out: list[Revocation] = []
    for r in records:
        at = moment(r.fields["revoked_at"])
        by = policy.approver(r.fields["by"])
        own = r.fields["by"] == r.fields["signer"]
        ok = signature_valid(r, policy, document_number) or (
            own and signature_valid(r, policy, document_number, r.fields["key"])
        )
        if at is None:
            problems.append(
                diagnostic(r.path, 1, 1, "MAN811", f"停用时间 {r.fields['revoked_at'][:40]} 不是带时区的 ISO 8601 时间")
            )
        elif not ok or by is None:
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN811", "密钥停用记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动"
                )
            )
        elif not own and "批准" not in by.roles:
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN811", f"{by.name} 既不是密钥本人也不具有“批准”角色，无权停用 {r.fields['signer']} 的密钥"
                )
            )
        else:
            voids = r.fields.get("voids_released") == "true"
            if voids and "批准" not in by.roles:
                voids = False
                problems.append(
                    diagnostic(r.path, 1, 1, "MAN853", f"{by.name} 不具有“批准”角色：停用记录声明的追溯作废已发布签署无效，按未声明处理")
                )
            key = " ".join(r.fields["key"].split()[:2])
            out.append(Revocation(r.fields["signer"], key, at, r.fields["reason"], r.fields["by"], r.path, voids_released=voids))
    return out, problems


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


class Training(NamedTuple):
    version: str
    date: dt.date
    departments: tuple[str, ...]
    attendees: int
    record: str
    by: str
    name: str
    path: str


def verified_training(
    contents: Mapping[str, bytes],
    policy: Policy,
    document_number: str,
    revocations: Sequence[Revocation] = (),
    published: Mapping[str, dt.date] | None = None,
) -> tuple[list[Training], list[Diagnostic]]:
    """The valid training records; MAN816 for a broken or forged one, MAN854 for one dated before
    its version was published (``published``: version → 发布日期), which trains nothing."""
    records, problems = load_signed(contents, TRAINING_DIR, "manual-training/1")
    out: list[Training] = []
    for r in records:
        try:
            day = dt.date.fromisoformat(r.fields["date"])
            attendees = int(r.fields["attendees"])
        except ValueError:
            problems.append(diagnostic(r.path, 1, 1, "MAN816", "培训记录的日期或人数无效"))
            continue
        if not signature_valid(r, policy, document_number, None, revocations, r.fields["signed_at"]):
            problems.append(
                diagnostic(r.path, 1, 1, "MAN816", "培训记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动")
            )
            continue
        released = (published or {}).get(r.fields["version"])
        if released is not None and day < released:
            problems.append(
                diagnostic(
                    r.path, 1, 1, "MAN854",
                    f"培训记录的日期 {day} 早于 {r.fields['version'][:20]} 版的发布日期 {released}：不能就尚未发布的版本培训，该记录无效",
                )
            )  # fmt: skip
            continue
        departments = tuple(d for d in r.fields["departments"].split("、") if d)
        out.append(
            Training(
                r.fields["version"], day, departments, attendees, r.fields["record"], r.fields["by"], r.name, r.path
            )
        )
    return out, problems


# --- controlled copies (受控副本) and their recall ------------------------------------------------


def verified_copies(
    contents: Mapping[str, bytes], policy: Policy, document_number: str, revocations: Sequence[Revocation] = ()
) -> tuple[dict[str, ControlledCopy], list[Diagnostic]]:
    """The valid copy records by 分发号, each with its status derived from its valid recall
    record (records.copies); MAN855 for a record that is forged, altered or misplaced, MAN825 for
    a recall dated before the copy was issued. An invalid record issues or recalls nothing."""
    issued = {p: v for p, v in contents.items() if not p.endswith(RECALL_SUFFIX)}
    recalled = {p: v for p, v in contents.items() if p.endswith(RECALL_SUFFIX)}
    records, problems = load_signed(issued, COPIES_DIR, COPY_KIND)
    recalls, more = load_signed(recalled, COPIES_DIR, RECALL_KIND)
    problems += more
    copies: dict[str, ControlledCopy] = {}
    for r in records:
        number = r.fields["number"]
        try:
            day = dt.date.fromisoformat(r.fields["issued"])
        except ValueError:
            day = None
        if r.path != copy_path(number) or not NUMBER_RE.match(number) or day is None:
            problems.append(diagnostic(r.path, 1, 1, "MAN855", f"受控副本分发记录的分发号 {number[:30]!r} 或分发日期无效，或与文件名不符"))
        elif not signature_valid(r, policy, document_number, None, revocations, r.fields["signed_at"]):
            problems.append(diagnostic(r.path, 1, 1, "MAN855", "受控副本分发记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动（领用人、部门等）"))
        else:
            f = r.fields
            copies[number] = ControlledCopy(number, f["version"], f["holder"], f["department"], day, f["file"], f["sha256"], None, False, r.path)
    for r in recalls:
        number = r.fields["number"]
        copy = copies.get(number)
        try:
            day = dt.date.fromisoformat(r.fields["recalled"])
        except ValueError:
            day = None
        if r.path != recall_path(number) or copy is None or day is None or r.fields["retained"] not in ("true", "false"):
            problems.append(diagnostic(r.path, 1, 1, "MAN855", f"受控副本回收记录所指的分发号 {number[:30]!r} 没有有效的分发记录，或回收日期、作废留存标记无效"))
        elif not signature_valid(r, policy, document_number, None, revocations, r.fields["signed_at"]):
            problems.append(diagnostic(r.path, 1, 1, "MAN855", "受控副本回收记录的电子签名无效：签名被伪造、签署人不在名录中或记录被改动"))
        elif day < copy.issued:
            problems.append(diagnostic(r.path, 1, 1, "MAN825", f"受控副本 {number} 的回收日期 {day} 早于分发日期 {copy.issued}"))
        else:
            copies[number] = copy._replace(recalled=day, retained=r.fields["retained"] == "true")
    return copies, problems


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


def _signed_day(signed_at: str) -> dt.date | None:
    when = moment(signed_at)
    return when.date() if when else None


def request_deadlines(snap: Snapshot, state: ProcedureState, today: dt.date) -> list[RequestDeadline]:
    """For each change request not yet released: whom it waits for, since when, and its due date."""
    from manualkit.records.approval import approval_findings

    manual, policy = snap.require()
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
                    _signed_day(back.fields["returned_at"]),
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
            for d in [_signed_day(signed[r].signed_at)]
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
