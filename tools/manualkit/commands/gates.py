"""What must hold before a change request is signed or returned: the checks ``manual approve``,
``manual return`` and the signing desk share (one place, so the desk holds no rule of its own
and no command imports another command)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.policy import Approver, Policy
    from manualkit.records.procedure import ProcedureState
    from manualkit.records.repository import Snapshot
    from manualkit.records.revocation import Revocation
    from manualkit.text.manual import Manual


@dataclass(frozen=True)
class OpenRequest:
    """A change request that may still be signed, with what judges its signatures."""

    manual: Manual
    cr: ChangeRequest
    judge: Policy
    revocations: Sequence[Revocation]
    controlled: Mapping[str, str]


def open_request(root: Path, cr_id: str, role: str) -> OpenRequest:
    """The request ``cr_id`` as it is now, if it may be signed in ``role``; ManualError otherwise."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.change_request import request_path
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.trust import controlled_in_worktree, judging

    snap = worktree_snapshot(root)
    manual, policy = snap.require()
    cr = snap.requests.get(cr_id)
    if cr is None:
        raise fail(request_path(cr_id), 0, 0, "MAN646", f"找不到修订申请单 {cr_id}；现有：{', '.join(sorted(snap.requests)) or '无'}")
    if any(cr_id in r.change_requests for r in snap.records):
        raise fail(cr.path, 0, 0, "MAN673", f"{cr_id} 已发布，不能再签署")
    if role not in policy.roles:
        raise fail("--role", 0, 0, "MAN000", f"角色应为 {'、'.join(policy.roles)} 之一")
    from manualkit.records.procedure import procedure_state

    state = procedure_state(snap, root)
    returned = state.returns.get(cr_id)
    if returned is not None:
        raise fail(cr.path, 0, 0, "MAN800", f"{cr_id} 已于 {returned.fields['returned_at']} 被退回（{returned.path}），不能再签署；请用 manual propose --replaces {cr_id} 重新提交")
    judge = judging(root, snap.records, policy)
    from manualkit.records.answers import refuse_unanswered

    change_class = judge.change_class(cr.class_key)
    refuse_unanswered(snap.changelog_files("changelog"), cr_id, role, cr.path, change_class.roles if change_class else ())
    return OpenRequest(manual, cr, judge, state.revocations, controlled_in_worktree(root))


def refuse_revoked(
    revocations: Sequence[Revocation], approver_id: str, public_key: str, now: dt.datetime, key_path: Path
) -> None:
    from manualkit.base.diagnostics import fail
    from manualkit.records.revocation import revoked_at

    found = revoked_at(revocations, approver_id, public_key)
    if found is not None and now >= found.at:
        raise fail(
            str(key_path), 0, 0, "MAN812", f"该密钥已于 {found.at.isoformat()} 停用（{found.path}），不能再用于签署"
        )


def open_return(snap: Snapshot, cr_id: str, role: str, today: dt.date) -> tuple[ChangeRequest, Manual, Policy, ProcedureState]:
    """The request ``cr_id`` if it may be returned now as ``role`` (it waits for that role, is
    neither released nor returned already): the checks ``manual return`` and the desk share."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.change_request import request_path
    from manualkit.records.procedure import procedure_state, request_deadlines, return_path

    manual, policy = snap.require()
    cr = snap.requests.get(cr_id)
    if cr is None:
        raise fail(
            request_path(cr_id),
            0,
            0,
            "MAN646",
            f"找不到修订申请单 {cr_id}；现有：{', '.join(sorted(snap.requests)) or '无'}",
        )
    released = next((r for r in snap.records if cr_id in r.change_requests), None)
    if released is not None:
        raise fail(
            cr.path, 0, 0, "MAN801", f"{cr_id} 已随 {released.version} 发布，不能退回；如需更改，请提出新的修订申请"
        )
    state = procedure_state(snap)
    if cr_id in state.returns:
        raise fail(return_path(cr_id), 0, 0, "MAN801", f"{cr_id} 已被退回，不能再次退回")
    current = next(d for d in request_deadlines(snap, state, today) if d.id == cr_id)
    if current.waiting_for is None:
        raise fail(cr.path, 0, 0, "MAN801", f"{cr_id} 签署已齐全，等待发布；只有所等待角色的签署人可以退回")
    if role != current.waiting_for:
        raise fail(
            "--role",
            0,
            0,
            "MAN801",
            f"{cr_id} 正在等待“{current.waiting_for}”签署；只有该角色的签署人可以退回，不能以“{role}”退回",
        )
    return cr, manual, policy, state


def return_fields(
    cr: ChangeRequest, manual: Manual, state: ProcedureState, role: str, approver: Approver, key: str, where: str, reason: str, now: dt.datetime
) -> dict[str, str]:
    """The signed fields of the return of ``cr`` by ``approver`` as ``role`` with ``key`` (an SSH
    key or a WebAuthn credential id), after the role and revocation checks."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.change_request import approval_digest

    if role not in approver.roles:
        raise fail(
            cr.path,
            0,
            0,
            "MAN652",
            f"{approver.name}（{approver.id}）在签署人名录中无权签署“{role}”，不能以该角色退回",
        )
    refuse_revoked(state.revocations, approver.id, key, now, Path(where))
    return {
        "change_request": cr.id, "role": role, "by": approver.id, "returned_at": now.isoformat(timespec="seconds"),
        "reason": reason, "digest": approval_digest(cr, manual),
    }  # fmt: skip
