"""The review round trip (issue 22): ``manual review-copy``, ``manual import-review`` and
``manual answer``.

``review-copy`` renders the proposed text of an open change request as a 征求意见稿 DOCX against
the latest release. ``import-review`` reads a reviewer's returned copy (bounded, hostile input)
and writes its comments and tracked changes as one 审核意见 record under ``changelog/opinions/``;
with ``--apply`` it also edits the chapters with the changes that map cleanly to the Markdown (all
or none). ``answer`` writes one 处理意见 record under ``changelog/answers/``. Each writer holds the
repository lock for its whole read-check-write and writes atomically; nothing is ever edited.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome, output_folder, write_output

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.answers import Answer
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.opinions import (
        Opinion,
        OpinionRecord,
    )
    from manualkit.records.repository import Snapshot
    from manualkit.text.manual import Manual

MAX_COPY_BYTES = 64 * 1024 * 1024
DEFAULT_REVIEWER = "reviewer"


@dataclass(frozen=True)
class Base:
    """What a review copy of a request is made against and from."""

    snap: Snapshot
    cr: ChangeRequest
    old: Manual  # the latest release
    new: Manual  # the proposed text (the working tree)
    version: str


def _open_request(root: Path, cr_id: str) -> Base:
    from manualkit.base.diagnostics import fail
    from manualkit.records.change_request import request_path
    from manualkit.records.history import ReleaseReader
    from manualkit.records.procedure import procedure_state
    from manualkit.records.repository import worktree_snapshot

    snap = worktree_snapshot(root)
    manual, _ = snap.require()
    cr = snap.requests.get(cr_id)
    if cr is None:
        raise fail(request_path(cr_id), 0, 0, "MAN646", f"找不到修订申请单 {cr_id}；现有：{', '.join(sorted(snap.requests)) or '无'}")
    released = next((r for r in snap.records if cr_id in r.change_requests), None)
    if released is not None:
        raise fail(cr.path, 0, 0, "MAN920", f"{cr_id} 已随 {released.version} 发布；已发布的申请单不再征求意见")
    if cr_id in procedure_state(snap, root).returns:
        raise fail(cr.path, 0, 0, "MAN920", f"{cr_id} 已被退回；请用 manual propose --replaces {cr_id} 重新提交后再征求意见")
    if not snap.records:
        raise fail("changelog/releases", 0, 0, "MAN920", "尚无发布版本，征求意见稿无从对照；请先发布首个版本")
    from manualkit.records.history import release_history

    latest = release_history(root, snap)[-1]
    old = ReleaseReader(root).manual(latest.commit) if latest.commit is not None else None
    if old is None:
        raise fail(latest.record.path, 0, 0, "MAN920", f"{latest.record.version} 发布时的手册无法从 git 中读取")
    return Base(snap, cr, old, manual, str(latest.record.version))


def review_copy(run: Run, cr_id: str) -> tuple[bytes, str]:
    """The 征求意见稿 of ``cr_id`` and its file name; the reply is due 5 working days after today."""
    root, today, now = run.root, run.today, run.now
    from manualkit.documents.docx.review_copy import ReviewCover, render_review_copy
    from manualkit.records.workdays import load_calendar

    base = _open_request(root, cr_id)
    calendar, _ = load_calendar(base.snap.files.contents)
    due = calendar.add_workdays(today).due
    cover = ReviewCover(cr_id, base.cr.title, base.version, due, today)
    data = render_review_copy(base.old, base.new, cover, created=now)
    return data, f"{base.new.metadata.document_number}_{cr_id}_征求意见稿.docx"


@dataclass(frozen=True)
class ImportResult:
    record: OpinionRecord | None  # None: the same copy was imported before (with --apply only)
    warnings: tuple[Diagnostic, ...]
    diff: str  # the edit the mappable changes make (unified diff), "" when none
    unmapped: tuple[Diagnostic, ...]  # MAN928: each change not applied, and why
    applied: tuple[str, ...]  # the chapter files written (with --apply)


def _opinions(copy: object, first: int) -> list[Opinion]:
    from manualkit.documents.review_import import ReviewedCopy
    from manualkit.records.opinions import Opinion

    assert isinstance(copy, ReviewedCopy)
    out: list[Opinion] = []
    numbers: dict[str, int] = {}
    number = first
    for c in copy.comments:
        numbers[c.id] = number
        parent = numbers.get(c.reply_to, 0)
        out.append(Opinion(number, "comment", c.section, c.paragraph, c.author, c.date, marked=c.marked, text=c.text, reply_to=parent))
        number += 1
    for ch in copy.changes:
        out.append(Opinion(number, ch.kind, ch.section, ch.paragraph, ch.author, ch.date, old=ch.old, new=ch.new, where=ch.where if ch.kind == "unmapped" else "", reason=ch.reason))
        number += 1
    return out


def _check_copy(source: str, copy: object, base: Base, digest: str) -> list[Diagnostic]:
    """Refuse a copy of another request, of another base version, or without its anchors."""
    from manualkit.base.diagnostics import diagnostic, fail
    from manualkit.documents.docx.review_copy import PROPERTY_BASE, PROPERTY_DIGEST, PROPERTY_REQUEST
    from manualkit.documents.review_import import ReviewedCopy

    assert isinstance(copy, ReviewedCopy)
    props = copy.properties
    if PROPERTY_REQUEST not in props or PROPERTY_BASE not in props:
        raise fail(source, 0, 0, "MAN921", "文件没有标识征求意见稿的文档属性（申请单号、基准版本）；请导入由 manual review-copy 生成、经审阅后返回的文件")
    if props[PROPERTY_REQUEST] != base.cr.id:
        raise fail(source, 0, 0, "MAN922", f"该文件是 {props[PROPERTY_REQUEST]} 的征求意见稿，不是 {base.cr.id} 的；请检查 --cr 或所导入的文件")
    if props[PROPERTY_BASE] != base.version:
        raise fail(source, 0, 0, "MAN923", f"该征求意见稿以 {props[PROPERTY_BASE]} 为基准，而现在的最新版本是 {base.version}；请重新生成征求意见稿并请审阅人按新稿提出意见")
    if copy.anchors == 0:
        raise fail(source, 0, 0, "MAN924", "文件中没有任何段落书签（p_…），意见无法对应到章节；请让审阅人在原征求意见稿上修改，勿删除书签")
    if props.get(PROPERTY_DIGEST) != digest:
        return [diagnostic(source, 0, 0, "MAN926", f"生成该征求意见稿之后，{base.cr.id} 的拟修订文本已有改动：意见照常导入，但其修订不能自动应用，请对照处理")]
    return []


def import_review(
    run: Run, source: Path, cr_id: str, reviewer: str | None, *, apply: bool = False, key_path: Path | None = None
) -> ImportResult:
    """Read the returned copy ``source`` of ``cr_id`` and record its opinions (signed with the
    importer's key when ``key_path`` is given); with ``apply``, also write the mappable changes."""
    root, now = run.root, run.now
    import hashlib

    from manualkit.base.atomic import check_writable
    from manualkit.base.diagnostics import ManualError, diagnostic, fail
    from manualkit.base.lock import repository_lock
    from manualkit.documents.docx.review_copy import header_texts, proposed_digest
    from manualkit.documents.review_apply import apply_changes
    from manualkit.documents.review_import import read_review_copy
    from manualkit.records.opinions import (
        KIND_TITLES,
        OPINIONS_DIR,
        REVIEWER_RE,
        OpinionRecord,
        load_opinions,
        next_numbers,
        opinion_path,
        record_text,
    )

    who = reviewer or DEFAULT_REVIEWER
    if not REVIEWER_RE.fullmatch(who):
        raise fail("--reviewer", 0, 0, "MAN935", f"审阅人标识 {who!r} 无效：应以小写字母开头，只含小写字母、数字、点和连字符（至多 40 个字符），如 li.na")
    if source.exists() and not source.is_file():  # a FIFO or a device would block or never end
        raise fail(str(source), 0, 0, "MAN921", "不是普通文件；请导入审阅人返回的 DOCX 文件")
    with open(source, "rb") as fh:  # bounded: a returned copy is hostile input
        data = fh.read(MAX_COPY_BYTES + 1)
    if len(data) > MAX_COPY_BYTES:
        raise fail(str(source), 0, 0, "DOC504", f"文件超过 {MAX_COPY_BYTES // (1024 * 1024)} MiB，拒绝导入")
    with repository_lock(root, "import-review"):
        base = _open_request(root, cr_id)
        digest = proposed_digest(base.new)
        try:
            copy = read_review_copy(data, f"{cr_id} ", header_texts(base.new, cr_id))
        except ManualError as exc:  # the reader names the file "DOCX": say which one
            raise ManualError([d._replace(path=str(source)) if d.path == "DOCX" else d for d in exc.diagnostics]) from None
        warnings = _check_copy(str(source), copy, base, digest)
        records, problems = load_opinions(base.snap.changelog_files(OPINIONS_DIR))
        if problems:
            raise fail(problems[0].path, problems[0].line, problems[0].col, problems[0].code, problems[0].message)
        source_digest = "sha256:" + hashlib.sha256(data).hexdigest()
        earlier = next((r for r in records if r.request == cr_id and r.source_digest == source_digest), None)
        if earlier is not None and not apply:
            raise fail(str(source), 0, 0, "MAN936", f"这份文件已于 {earlier.imported_at} 导入为 {earlier.path}；不再重复导入（要应用其中的修订，请加 --apply）")
        sequence, first = next_numbers(records, cr_id, who)
        opinions = list(earlier.opinions) if earlier is not None else _opinions(copy, first)
        record = None
        if earlier is None:
            record = OpinionRecord(
                opinion_path(cr_id, who, sequence), cr_id, who, sequence, base.version, str(copy.properties.get("manual_review_digest", "")),
                source_digest, now.isoformat(timespec="seconds"), tuple(opinions),
            )  # fmt: skip
            if key_path is not None:
                record = _signed_record(root, base, record, key_path)
        chapters = {c.path: base.snap.files.contents[c.path].decode("utf-8") for c in base.new.chapters}
        where = {f"ch{c.number}": c.path for c in base.new.chapters} | {s.id: c.path for c in base.new.chapters for s in c.sections}
        edit = apply_changes(copy.changes, chapters, where)
        unmapped = tuple(
            diagnostic(str(source), 0, 0, "MAN928", f"{cr_id}#{o.number}（{o.where or o.section or '正文之外'}，{KIND_TITLES[o.kind]}）未应用：{u.reason}")
            for u in edit.unmapped for o in opinions if _same(o, u.change)
        )  # fmt: skip
        diff = edit.diff(chapters)
        if apply and edit.files and warnings:
            raise fail(str(source), 0, 0, "MAN927", f"{cr_id} 的拟修订文本在生成征求意见稿之后已改动，审阅人的修订不能自动应用；请对照审核意见手工修改")
        targets = [root / p for p in edit.files] if apply else []
        for target in targets:
            check_writable(target.parent)
        if record is not None:
            check_writable((root / record.path).parent)
            _write_new(root, record.path, record_text(record))
        written = _write_all(root, edit.files) if apply else ()
        return ImportResult(record, tuple(warnings), diff, unmapped, written)


def _same(opinion: Opinion, change: object) -> bool:
    from manualkit.documents.review_import import Change

    assert isinstance(change, Change)
    return (opinion.kind, opinion.section, opinion.paragraph, opinion.old, opinion.new, opinion.date) == (
        change.kind, change.section, change.paragraph, change.old, change.new, change.date
    )  # fmt: skip


def _write_new(root: Path, rel: str, text: str) -> None:
    from manualkit.records.signed import write_new  # the one write of a record (records/signed.py)

    write_new(root, rel, text, "import-review", code="MAN851", exists=f"{rel} 已存在；记录只写一次，不能覆盖")


def _write_all(root: Path, files: Mapping[str, str]) -> tuple[str, ...]:
    """Every file or none: each is written atomically, and a failure part-way puts back the ones
    already written."""
    from manualkit.base.atomic import write_atomic

    done: list[tuple[Path, bytes]] = []
    try:
        for rel in sorted(files):
            path = root / rel
            before = path.read_bytes()
            write_atomic(path, files[rel])
            done.append((path, before))
    except BaseException:
        for path, before in reversed(done):
            write_atomic(path, before)
        raise
    return tuple(sorted(files))


def answer(run: Run, cr_id: str, number: int, decision: str, reason: str, editor: str, key_path: Path | None = None) -> Answer:
    """处理意见 to opinion ``number`` of ``cr_id``: ``accept`` or ``reject``, with the reason, at
    ``run.now``; signed by the editor's key when ``key_path`` is given (the editor is then the key's signer)."""
    root, now = run.root, run.now
    from manualkit.base.diagnostics import fail
    from manualkit.base.lock import repository_lock
    from manualkit.records.answers import DECISIONS, Answer, answer_path, load_answers
    from manualkit.records.answers import record_text as answer_text
    from manualkit.records.opinions import OPINIONS_DIR, load_opinions, of_request
    from manualkit.records.procedure import clean_text

    if decision not in DECISIONS:
        raise fail("--accept/--reject", 0, 0, "MAN000", "请用 --accept 或 --reject 之一")
    text = clean_text(reason, "--reason")
    who = clean_text(editor, "--editor", 80)
    with repository_lock(root, "answer"):
        base = _open_request(root, cr_id)
        records, problems = load_opinions(base.snap.changelog_files(OPINIONS_DIR))
        answers, more = load_answers(base.snap.changelog_files("changelog/answers"))
        if problems or more:
            d = (problems + more)[0]
            raise fail(d.path, d.line, d.col, d.code, d.message)
        mine = {o.number: o for _, o in of_request(records, cr_id)}
        if number not in mine:
            have = "、".join(f"{cr_id}#{n}" for n in sorted(mine)) or "无"
            raise fail(f"{cr_id}#{number}", 0, 0, "MAN930", f"{cr_id} 没有第 {number} 条审核意见；现有：{have}")
        if mine[number].reply_to:
            raise fail(f"{cr_id}#{number}", 0, 0, "MAN930", f"{cr_id}#{number} 是对 {cr_id}#{mine[number].reply_to} 的回复；请答复该讨论的第一条意见")
        earlier = next((a for a in answers if a.request == cr_id and a.number == number), None)
        if earlier is not None:
            raise fail(earlier.path, 0, 0, "MAN931", f"{cr_id}#{number} 已于 {earlier.answered_at} 答复为“{DECISIONS[earlier.decision]}”；处理意见只写一次")
        result = Answer(answer_path(cr_id, number), cr_id, number, decision, text, who, now.isoformat(timespec="seconds"))
        if key_path is not None:
            result = _signed(root, base, result, key_path)
        _write_new(root, result.path, answer_text(result))
        return result


def _signed_record(root: Path, base: Base, record: OpinionRecord, key_path: Path) -> OpinionRecord:
    from manualkit.base import sshsig
    from manualkit.records.approval import _approver_for_key
    from manualkit.records.opinions import parse_opinions, record_text
    from manualkit.records.trust import judging

    judge = judging(root, base.snap.records, base.snap.require()[1])
    approver = _approver_for_key(judge, key_path)
    # signed as it will be read back: the opinions with every hidden character made visible
    written, _ = parse_opinions(record.path, record_text(record).encode("utf-8"))
    assert written is not None
    written = replace(written, by=approver.id)
    return replace(written, signature=sshsig.sign(written.message(base.new.metadata.document_number), key_path, judge.signing_namespace))


def _signed(root: Path, base: Base, answer: Answer, key_path: Path) -> Answer:
    from manualkit.base import sshsig
    from manualkit.records.approval import _approver_for_key
    from manualkit.records.trust import judging

    judge = judging(root, base.snap.records, base.snap.require()[1])
    approver = _approver_for_key(judge, key_path)
    answer = replace(answer, by=approver.id, editor=approver.name)
    signature = sshsig.sign(answer.message(base.new.metadata.document_number), key_path, judge.signing_namespace)
    return replace(answer, signature=signature)


__all__ = ["ImportResult", "answer", "import_review", "review_copy"]


# --- the command line ---------------------------------------------------------------------------


def _copy_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("change_request", metavar="CR", help="修订申请单号，如 CR-2026-005")
    p.add_argument("-o", "--output", help="输出文件（默认 dist/<文件编号>_<申请单号>_征求意见稿.docx）")


def _run_copy(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.atomic import check_writable

    root = context.root
    check_writable(output_folder(root, args.output))
    data, name = review_copy(context.run, args.change_request)
    outcome = Outcome()
    path = write_output(outcome, root, args.output, name, data)
    outcome.say(f"已生成 {args.change_request} 的征求意见稿：{path}；请审阅人以批注和修订提出意见后返回，再用 manual import-review 导入")
    return outcome


def _import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.docx", help="审阅人返回的征求意见稿")
    p.add_argument("--cr", required=True, metavar="CR", help="修订申请单号")
    p.add_argument("--reviewer", metavar="ID", help="审阅人标识（如 li.na；默认 reviewer），用于记录文件名")
    p.add_argument("--apply", action="store_true", help="把能对应到 Markdown 的修订写入工作区（全部写入或都不写）")
    p.add_argument("--key", help="导入人本人的 SSH 私钥文件（可选：签署该审核意见记录）")


def _run_import(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.characters import inert

    key = Path(args.key) if args.key else None
    result = import_review(context.run, Path(args.file), args.cr, args.reviewer, apply=args.apply, key_path=key)
    outcome = Outcome()
    for warning in result.warnings:
        outcome.warn(warning.render() + "\n")
    if result.record is not None:
        outcome.say(f"已导入 {len(result.record.opinions)} 条审核意见：{result.record.path}；请逐条用 manual answer {args.cr} N --accept|--reject --reason 理由 答复，并提交该记录。")
    if result.diff:
        outcome.write(inert(result.diff))
    for unmapped in result.unmapped:
        outcome.warn(unmapped.render() + "\n")
    if result.applied:
        outcome.say(f"已把可对应的修订应用到：{'、'.join(result.applied)}；请检查并提交。")
    elif result.diff and not args.apply:
        outcome.say("以上为可对应到 Markdown 的修订；确认无误后加 --apply 写入工作区。")
    return outcome


def _answer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("change_request", metavar="CR", help="修订申请单号")
    p.add_argument("number", metavar="N", type=int, help="审核意见序号（CR#N 中的 N）")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--accept", action="store_true", help="采纳")
    which.add_argument("--reject", action="store_true", help="不采纳")
    p.add_argument("--reason", required=True, help="处理理由")
    p.add_argument("--editor", help="答复人（默认取 git user.name；用 --key 签署时为密钥登记的姓名）")
    p.add_argument("--key", help="答复人本人的 SSH 私钥文件（可选：签署该处理意见）")


def _run_answer(args: argparse.Namespace, context: RunContext) -> Outcome:
    decision = "accept" if args.accept else "reject"
    key = Path(args.key) if args.key else None
    result = answer(context.run, args.change_request, args.number, decision, args.reason, args.editor or context.git_user(), key)
    return Outcome.said(f"已答复 {result.request}#{result.number}（{'采纳' if decision == 'accept' else '不采纳'}）：{result.path}；请提交该记录。")


COMMANDS = (
    Command("review-copy", _copy_arguments, _run_copy),
    Command("import-review", _import_arguments, _run_import),
    Command("answer", _answer_arguments, _run_answer),
)
