"""The commands that record chapter 8's obligations: ``return``, ``revoke-key``, ``training``,
``distribute`` and ``recall``.

Each holds the records lock for its whole read-check-write, checks everything before writing
anything, and writes one file atomically (``distribute``: the DOCX files first, then the records).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.gates import open_return, refuse_revoked, return_fields
from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.copies import ControlledCopy
    from manualkit.records.procedure import (
        SignedRecord,
    )

MAX_COPIES = 200


def return_request(run: Run, cr_id: str, role: str, key_path: Path, reason: str) -> SignedRecord:
    """8.2 三 4: the signer of the role the request waits for returns it, with the reason, at
    ``run.now``."""
    root, today, now = run.root, run.today, run.now
    from manualkit.base.lock import repository_lock
    from manualkit.records.procedure import approver_for_key, clean_text, return_path, write_signed
    from manualkit.records.repository import worktree_snapshot

    reason = clean_text(reason, "--reason")
    with repository_lock(root, "return"):
        snap = worktree_snapshot(root)
        cr, manual, policy, state = open_return(snap, cr_id, role, today)
        approver = approver_for_key(policy, key_path)
        fields = return_fields(cr, manual, state, role, approver, approver.public_key, str(key_path), reason, now)
        return write_signed(
            root,
            return_path(cr_id),
            "manual-return/1",
            fields,
            approver.name,
            key_path,
            policy,
            manual.metadata.document_number,
        )


def revoke_key(
    run: Run,
    signer: str,
    at: dt.datetime,
    reason: str,
    key_path: Path,
    credential: str | None = None,
    *,
    void_released: bool = False,
) -> SignedRecord:
    """8.2 四: stop a signer's key at once, signed by its owner or by a holder of 批准; with
    ``credential``, the signer's WebAuthn credential of that id instead of their SSH key. A time
    before a signature of a released version with that key is refused (MAN856) unless
    ``void_released`` says so explicitly and the record is signed by a holder of 批准."""
    root, now = run.root, run.now
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.key_revocation import released_signatures
    from manualkit.records.procedure import REVOCATIONS_DIR, approver_for_key, clean_text, procedure_state, write_signed
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.revocation import revoked_at

    reason = clean_text(reason, "--reason")
    with repository_lock(root, "revoke-key"):
        snap = worktree_snapshot(root)
        manual, policy = snap.require()
        owner = policy.approver(signer)
        if owner is None:
            known = "、".join(a.id for a in policy.approvers)
            raise fail(
                "--signer", 0, 0, "MAN810", f"签署人 {signer[:40]!r} 不在 policy.yml 的签署人名录中；名录中有：{known}"
            )
        if at.tzinfo is None:
            raise fail("--at", 0, 0, "MAN813", "停用时间应带时区")
        if at > now:
            raise fail(
                "--at",
                0,
                0,
                "MAN813",
                f"停用时间 {at.isoformat()} 晚于现在 {now.isoformat(timespec='seconds')}；停用立即生效，不能预定",
            )
        by = approver_for_key(policy, key_path)
        if by.id != owner.id and "批准" not in by.roles:
            raise fail(
                str(key_path), 0, 0, "MAN811", f"{by.name} 既不是 {owner.name} 本人，也不具有“批准”角色，无权停用该密钥"
            )
        state = procedure_state(snap)
        key = " ".join(owner.public_key.split()[:2])
        if credential is not None:
            from manualkit.records.webauthn_return import revocable_credential

            key = revocable_credential(owner, credential)
        earlier = revoked_at(state.revocations, owner.id, key)
        if earlier is not None:
            raise fail(earlier.path, 0, 0, "MAN811", f"{owner.name} 的该密钥已于 {earlier.at.isoformat()} 停用")
        if by.id != owner.id:
            refuse_revoked(state.revocations, by.id, by.public_key, now, key_path)
        voided = sorted(s for s in released_signatures({**snap.changelog_files("changelog/releases"), **snap.changelog_files("changelog/requests")}) if s.signer == owner.id and s.key == key and s.signed_at >= at)
        if voided and not void_released:
            last = max(voided, key=lambda s: s.signed_at)
            raise fail(
                "--at", 0, 0, "MAN856",
                f"停用时间 {at.isoformat()} 早于已发布版本中该密钥的 {len(voided)} 项签署（最后一项：{last.change_request}，{last.signed_at.isoformat()}）；"
                f"请把 --at 设为 {last.signed_at.isoformat()} 之后，或确认这些签署系冒签时由批准人加 --void-released 明确作废",
            )  # fmt: skip
        if void_released and "批准" not in by.roles:
            raise fail(str(key_path), 0, 0, "MAN856", f"{by.name} 不具有“批准”角色：只有批准人可以声明追溯作废已发布版本中的签署")
        fields = {
            "signer": owner.id, "key": key, "revoked_at": at.isoformat(timespec="seconds"), "reason": reason,
            "by": by.id, "signed_at": now.isoformat(timespec="seconds"),
        }  # fmt: skip
        if void_released:
            fields["voids_released"] = "true"
        rel = (
            f"{REVOCATIONS_DIR}/{re.sub(r'[^A-Za-z0-9._-]', '_', owner.id)}-{at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.yml"
        )
        return write_signed(
            root, rel, "manual-key-revocation/1", fields, by.name, key_path, policy, manual.metadata.document_number
        )


def record_training(
    run: Run, version: str, day: dt.date, departments: Sequence[str], attendees: int, record: str, key_path: Path
) -> SignedRecord:
    """8.4 二 and 6.4: the signed record that the affected staff were trained on ``version``
    (on ``day``, not after ``run.today``)."""
    root, today, now = run.root, run.today, run.now
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.procedure import TRAINING_DIR, approver_for_key, clean_text, procedure_state, write_signed
    from manualkit.records.repository import worktree_snapshot

    record = clean_text(record, "--record")
    with repository_lock(root, "training"):
        snap = worktree_snapshot(root)
        manual, policy = snap.require()
        versions = {str(r.version): r for r in snap.records}
        if version not in versions:
            raise fail(
                "VERSION", 0, 0, "MAN815", f"版本 {version[:20]!r} 不存在；已发布的版本：{'、'.join(versions) or '无'}"
            )
        known = manual.metadata.departments
        wrong = [d for d in departments if d not in known]
        if not departments or wrong:
            raise fail(
                "--departments",
                0,
                0,
                "MAN816",
                f"部门 {'、'.join(w[:20] for w in wrong) or '（空）'} 不在 manual.yml 的部门列表中：{'、'.join(known)}",
            )
        if attendees < 1 or attendees > 100_000:
            raise fail("--attendees", 0, 0, "MAN816", "参加人数应为 1 至 100000 之间的整数")
        if day > today:
            raise fail(
                "--date", 0, 0, "MAN816", f"培训日期 {day.isoformat()} 晚于今天 {today.isoformat()}；请在培训完成后记录"
            )
        if day < versions[version].published:
            raise fail(
                "--date", 0, 0, "MAN854",
                f"培训日期 {day.isoformat()} 早于 {version} 版的发布日期 {versions[version].published.isoformat()}；只能就已发布的版本记录培训",
            )  # fmt: skip
        approver = approver_for_key(policy, key_path)
        refuse_revoked(procedure_state(snap).revocations, approver.id, approver.public_key, now, key_path)
        fields = {
            "version": version, "date": day.isoformat(), "departments": "、".join(dict.fromkeys(departments)), "attendees": str(attendees),
            "record": record, "by": approver.id, "signed_at": now.isoformat(timespec="seconds"),
        }  # fmt: skip
        stem = f"{TRAINING_DIR}/{version.replace('/', '-')}-{day.isoformat()}"
        rel = next(
            f"{stem}{'' if n == 1 else f'-{n}'}.yml"
            for n in range(1, 1000)
            if not (root / f"{stem}{'' if n == 1 else f'-{n}'}.yml").exists()
        )
        return write_signed(
            root, rel, "manual-training/1", fields, approver.name, key_path, policy, manual.metadata.document_number
        )


def distribute(
    run: Run, version: str, holder: str, department: str, count: int, out_dir: Path | None, key_path: Path
) -> list[tuple[ControlledCopy, Path]]:
    """8.1 一: issue ``count`` numbered controlled copies of ``version`` to ``holder``; each
    record is signed with ``key_path`` by the registered signer who issues it."""
    root, today, env, now = run.root, run.today, run.env, run.now
    import hashlib

    from manualkit.base.atomic import check_writable, write_atomic
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.documents.package_signature import sign_package
    from manualkit.documents.release_document import render_release
    from manualkit.documents.signing_key import SigningKeyError, load_signing_key
    from manualkit.records.copies import COPIES_DIR, ControlledCopy, copy_path, next_numbers
    from manualkit.records.edition import Status, status_on
    from manualkit.records.history import release_history, release_index
    from manualkit.records.procedure import COPY_KIND, approver_for_key, clean_text, procedure_state, write_signed
    from manualkit.records.repository import worktree_snapshot

    holder = clean_text(holder, "--holder", 60)
    if not 1 <= count <= MAX_COPIES:
        raise fail("--copies", 0, 0, "MAN820", f"份数应为 1 至 {MAX_COPIES}")
    with repository_lock(root, "distribute"):
        snap = worktree_snapshot(root)
        manual, _ = snap.require()
        if department not in manual.metadata.departments:
            raise fail(
                "--department",
                0,
                0,
                "MAN820",
                f"部门 {department[:20]!r} 不在 manual.yml 的部门列表中：{'、'.join(manual.metadata.departments)}",
            )
        entries = release_history(root, snap)
        versions = [str(e.record.version) for e in entries]
        if version not in versions:
            raise fail(
                "VERSION", 0, 0, "MAN820", f"版本 {version[:20]!r} 不存在；已发布的版本：{'、'.join(versions) or '无'}"
            )
        index = release_index(entries, version, today)
        status = status_on(entries, index, today)
        if status is Status.SUPERSEDED:
            raise fail("VERSION", 0, 0, "MAN820", f"{version} 已作废，不能再分发受控副本")
        if not entries[index].valid:
            raise fail(
                entries[index].record.path, 0, 0, "MAN820", f"{version} 的发布未通过验证，不能分发；请运行 manual audit"
            )
        state = procedure_state(snap, root)
        copies = dict(state.copies or {})
        bad = next((p for p in state.problems if p.path.startswith(COPIES_DIR + "/")), None)
        if bad is not None:
            raise fail(bad.path, bad.line, bad.col, "MAN824", bad.message)
        policy = snap.require()[1]
        approver = approver_for_key(policy, key_path)
        refuse_revoked(state.revocations, approver.id, approver.public_key, now, key_path)
        try:
            key = load_signing_key(env)
        except SigningKeyError as exc:
            raise fail("MANUAL_SIGNING_KEY", 0, 0, exc.code, exc.message) from None
        from manualkit.base.clock import signing_time

        directory = out_dir or root / "dist" / "copies"
        check_writable(directory)  # before the seconds each copy takes
        check_writable(root / COPIES_DIR)
        issued: list[tuple[ControlledCopy, Path, bytes]] = []
        for number in next_numbers(copies, version, count):
            data = sign_package(
                render_release(root, entries, index, status, key.development, env=env, copy_number=number),
                key,
                signing_time(env),
            )
            name = f"{manual.metadata.document_number}_{number}.docx"
            copy = ControlledCopy(
                number,
                version,
                holder,
                department,
                today,
                name,
                hashlib.sha256(data).hexdigest(),
                None,
                False,
                copy_path(number),
            )
            issued.append((copy, directory / name, data))
        for _, path, data in issued:
            write_atomic(path, data)
        signed_at = now.isoformat(timespec="seconds")
        for copy, _, _ in issued:
            fields = {
                "number": copy.number, "version": copy.version, "holder": copy.holder, "department": copy.department,
                "issued": copy.issued.isoformat(), "file": copy.file, "sha256": copy.sha256, "by": approver.id, "signed_at": signed_at,
            }  # fmt: skip
            write_signed(root, copy.path, COPY_KIND, fields, approver.name, key_path, policy, manual.metadata.document_number)
        return [(c, p) for c, p, _ in issued]


def recall(run: Run, number: str, day: dt.date, retained: bool, key_path: Path) -> ControlledCopy:
    """8.4 三: record that copy ``number`` came back (or is kept marked 作废留存), in a signed
    recall record beside the copy's record (which is never edited)."""
    root, today, now = run.root, run.today, run.now
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.copies import copy_path, recall_path
    from manualkit.records.procedure import RECALL_KIND, approver_for_key, procedure_state, write_signed
    from manualkit.records.repository import worktree_snapshot

    with repository_lock(root, "recall"):
        snap = worktree_snapshot(root)
        manual, policy = snap.require()
        state = procedure_state(snap, root)
        copies = state.copies or {}
        copy = copies.get(number)
        if copy is None:
            bad = next((p for p in state.problems if p.path == copy_path(number)), None)
            if bad is not None:
                raise fail(bad.path, bad.line, bad.col, "MAN824", bad.message)
            raise fail(
                "COPY", 0, 0, "MAN821", f"分发号 {number[:30]!r} 不存在；已分发：{'、'.join(sorted(copies)) or '无'}"
            )
        if copy.recalled is not None:
            kept = "（作废留存）" if copy.retained else ""
            raise fail(
                copy.path,
                0,
                0,
                "MAN822",
                f"受控副本 {number} 已于 {copy.recalled.isoformat()} 回收{kept}，不能重复回收",
            )
        if day < copy.issued or day > today:
            raise fail(
                "--date",
                0,
                0,
                "MAN825",
                f"回收日期 {day.isoformat()} 应在分发日期 {copy.issued.isoformat()} 与今天 {today.isoformat()} 之间",
            )
        approver = approver_for_key(policy, key_path)
        refuse_revoked(state.revocations, approver.id, approver.public_key, now, key_path)
        fields = {
            "number": number, "recalled": day.isoformat(), "retained": "true" if retained else "false",
            "by": approver.id, "signed_at": now.isoformat(timespec="seconds"),
        }  # fmt: skip
        write_signed(root, recall_path(number), RECALL_KIND, fields, approver.name, key_path, policy, manual.metadata.document_number)
        return copy._replace(recalled=day, retained=retained, path=recall_path(number))


# --- the command line ---------------------------------------------------------------------------


def _return_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("change_request", metavar="CR", help="修订申请单号")
    p.add_argument("--role", required=True, help="退回人的角色（申请单所等待的角色）")
    p.add_argument("--key", required=True, help="退回人本人的 SSH 私钥文件")
    p.add_argument("--reason", required=True, help="退回理由")


def _run_return(args: argparse.Namespace, context: RunContext) -> Outcome:
    record = return_request(context.run, args.change_request, args.role, Path(args.key), args.reason)
    return Outcome.said(f"{record.name} 已以“{args.role}”角色退回 {args.change_request}（{record.path}）；请提交该记录。重新提交时：manual propose --replaces {args.change_request} …")


def moment(value: str) -> dt.datetime:
    """A time on the command line (ISO 8601); one without an offset stays naive here and is read
    in the company's zone when the command runs (:func:`in_zone`)."""
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} 不是有效时间；请写成 2026-10-12T09:30 或 2026-10-12T09:30+08:00") from None


def in_zone(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``moment``, read in the company's ``zone`` when it names no offset."""
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _revoke_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("signer", metavar="SIGNER", help="签署人标识（policy.yml 名录中的 id）")
    p.add_argument("--at", required=True, type=moment, help="停用时间（ISO 8601，不写时区时按公司时区），此后该密钥的签署无效")
    p.add_argument("--reason", required=True, help="停用原因（遗失、可能泄露等）")
    p.add_argument("--key", required=True, help="签署本停用记录的私钥：密钥本人或批准人")
    p.add_argument(
        "--void-released", action="store_true",
        help="停用时间早于已发布版本中该密钥的签署时，明确声明这些签署一并作废（仅批准人可用，如密钥被盗后冒签）",
    )  # fmt: skip
    p.add_argument("--credential", metavar="凭据标识", help="停用该签署人的 WebAuthn 凭据（credential_id）而不是其 SSH 密钥")


def _run_revoke(args: argparse.Namespace, context: RunContext) -> Outcome:
    record = revoke_key(
        context.run, args.signer, in_zone(args.at, context.zone), args.reason, Path(args.key), args.credential, void_released=args.void_released
    )
    return Outcome.said(
        f"已停用 {args.signer} 的密钥，自 {record.fields['revoked_at']} 起生效（{record.path}，由 {record.name} 签署）；"
        "此后用该密钥所作的签署一律无效。请提交该记录，并经正常修订程序在 policy.yml 中更换密钥。"
    )


def _training_arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    p.add_argument("version", metavar="VERSION", help="版本，如 B/0")
    p.add_argument("--date", required=True, type=parse_date, help="培训日期")
    p.add_argument("--departments", required=True, nargs="+", help="受训部门（空格、逗号或顿号分隔）")
    p.add_argument("--attendees", required=True, type=int, help="参加人数")
    p.add_argument("--record", required=True, help="培训记录（签到表、课件等的编号或位置）")
    p.add_argument("--key", required=True, help="记录人本人的 SSH 私钥文件")


def _run_training(args: argparse.Namespace, context: RunContext) -> Outcome:
    departments = [d.strip() for part in args.departments for d in part.replace("、", ",").split(",") if d.strip()]
    record = record_training(context.run, args.version, args.date, departments, args.attendees, args.record, Path(args.key))
    return Outcome.said(f"已记录 {args.version} 版的培训（{args.date.isoformat()}，{record.fields['departments']}，{args.attendees} 人）：{record.path}；请提交该记录。")


def _distribute_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", metavar="VERSION", help="版本，如 A/1")
    p.add_argument("--holder", required=True, help="领用人")
    p.add_argument("--department", required=True, help="领用部门")
    p.add_argument("--copies", type=int, default=1, help="份数（默认 1）")
    p.add_argument("-o", "--output", help="输出目录（默认 dist/copies/）")
    p.add_argument("--key", required=True, help="分发人本人的 SSH 私钥文件（签署分发记录）")


def _run_distribute(args: argparse.Namespace, context: RunContext) -> Outcome:
    issued = distribute(
        context.run, args.version, args.holder, args.department, args.copies, Path(args.output) if args.output else None, Path(args.key)
    )
    outcome = Outcome()
    for copy, path in issued:
        outcome.say(f"已分发受控副本 {copy.number}（{copy.version} 版）给 {copy.holder}（{copy.department}）：{path}")
    outcome.say(f"分发记录在 {issued[0][0].path.rsplit('/', 1)[0]}/；请提交这些记录。")
    return outcome


def _recall_arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    p.add_argument("copy", metavar="COPY", help="分发号，如 A-1-001")
    p.add_argument("--date", required=True, type=parse_date, help="回收日期")
    p.add_argument("--retained", action="store_true", help="不收回，加注“作废留存”标识保留")
    p.add_argument("--key", required=True, help="回收人本人的 SSH 私钥文件（签署回收记录）")


def _run_recall(args: argparse.Namespace, context: RunContext) -> Outcome:
    copy = recall(context.run, args.copy, args.date, args.retained, Path(args.key))
    how = "作废留存（加注“作废留存”标识，不得用于指导业务）" if copy.retained else "已收回"
    return Outcome.said(f"受控副本 {copy.number}（{copy.version} 版，{copy.holder}）于 {args.date.isoformat()} {how}：{copy.path}；请提交该记录。")


COMMANDS = (
    Command("return", _return_arguments, _run_return),
    Command("revoke-key", _revoke_arguments, _run_revoke),
    Command("training", _training_arguments, _run_training),
    Command("distribute", _distribute_arguments, _run_distribute),
    Command("recall", _recall_arguments, _run_recall),
)
