"""``manual propose``: create a change request (文件修订申请单) from the template."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext



class Proposal(NamedTuple):
    """What the editor asks for: the request's own fields, as ``manual propose`` takes them."""

    class_key: str
    title: str
    sections: list[str]
    reason: str
    summary: str | None
    applicant: str
    department: str | None
    training: bool | None
    replaces: str | None = None


def propose(run: Run, proposal: Proposal) -> Path:
    """Write the new change request for ``proposal``, dated the company's today; its path."""
    from manualkit.base.characters import ascii_digits, has_fullwidth_digits, require_field
    from manualkit.base.diagnostics import fail
    from manualkit.base.files import read_regular
    from manualkit.base.lock import repository_lock
    from manualkit.records.change_request import (
        CONTROLLED,
        TEMPLATE_PATH,
        chapter_of,
        new_request_text,
        next_id,
        write_request,
    )
    from manualkit.records.policy import CLASS_ORDER
    from manualkit.records.repository import worktree_snapshot

    root, today = run.root, run.today
    class_key, title, sections, reason, summary, applicant, department, training, replaces = proposal
    with repository_lock(root, "propose"):
        snap = worktree_snapshot(root)
        manual, policy = snap.require()
        if replaces is not None:
            from manualkit.records.procedure import procedure_state

            if replaces not in procedure_state(snap).returns:
                raise fail("--replaces", 0, 0, "MAN803", f"{replaces} 不存在或没有被退回；只有已退回的申请单才能以新申请单重新提交")
        change_class = policy.change_class(class_key)
        if change_class is None:
            raise fail("--class", 0, 0, "MAN000", f"修订类别应为 {'、'.join(c.name for c in policy.classes.values())}（或 {'、'.join(CLASS_ORDER)}）之一")
        # Every value written into the request holds only characters a record may hold.
        require_field("--title", title)
        require_field("--reason", reason, multiline=True)
        if summary is not None:
            require_field("--summary", summary, multiline=True)
        require_field("--applicant", applicant)
        if department is not None:
            require_field("--department", department)
            if department not in manual.metadata.departments:
                raise fail("--department", 0, 0, "MAN109", f"申请部门应为 manual.yml 所列部门之一：{'、'.join(manual.metadata.departments)}")
        for sid in sections:
            if has_fullwidth_digits(sid):
                raise fail("--sections", 0, 0, "MAN764", f"节编号“{sid}”使用了全角数字；请改为半角“{ascii_digits(sid)}”")
        known = manual.section_ids()
        for sid in sections:
            if sid in CONTROLLED:
                if change_class.key == "editorial":
                    raise fail("--class", 0, 0, "MAN741", f"修改 {sid} 须至少为一般修订（--class minor 或 major），并经批准签署")
                continue
            if not re.fullmatch(r"[0-9]+\.[0-9]+", sid) or sid not in known:
                raise fail("--sections", 0, 0, "MAN642", f"第 {sid} 节不存在；可选：{', '.join(known)}，或 policy（修订政策与签署人名录）、certs（发布证书）、calendar（工作日历）")
        if not sections:
            raise fail("--sections", 0, 0, "MAN000", "请用 --sections 列出要修订的节，如 3.2,5.1")
        first = next((found for sid in sections if (found := manual.section(sid)) is not None), None)
        owner = first[0].owner if first else manual.metadata.issuing_department
        template = read_regular(root / TEMPLATE_PATH, 256 * 1024, TEMPLATE_PATH).decode("utf-8", "replace")
        version = str(snap.records[-1].version) if snap.records else "（首次发布）"
        cr_id = next_id(list(snap.requests), today.year)
        text = new_request_text(
            template,
            cr_id=cr_id,
            manual=manual,
            current_version=version,
            class_key=change_class.key,
            title=title,
            reason=reason,
            sections=sections,
            summary=summary or title,
            department=department or owner,
            applicant=applicant,
            date=today,
            training_required=change_class.key == "major" if training is None else training,
            consultation_required=any(chapter_of(s) in policy.consultation_chapters for s in sections),
            replaces=replaces,
        )
        return write_request(root, cr_id, text)


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--class", dest="change_class", required=True, metavar="类别", help="修订类别：重大修订、一般修订、编辑性修订（或 major、minor、editorial）")
    p.add_argument("--title", required=True, help="修订标题")
    p.add_argument("--sections", required=True, help="修订的节，逗号分隔，如 3.2,5.1")
    p.add_argument("--reason", required=True, help="修订原因")
    p.add_argument("--summary", help="修订前后内容摘要（默认同标题）")
    p.add_argument("--applicant", help="申请人（默认取 git user.name）")
    p.add_argument("--department", help="申请部门（默认取首个修订节所在章的负责部门）")
    p.add_argument("--training", action=argparse.BooleanOptionalAction, default=None, help="是否需要培训（重大修订默认需要）")
    p.add_argument("--replaces", metavar="CR", help="重新提交：所替代的已退回申请单号")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    root = context.root
    path = propose(
        context.run,
        Proposal(
            class_key=args.change_class,
            title=args.title,
            sections=[s.strip() for s in args.sections.split(",") if s.strip()],
            reason=args.reason,
            summary=args.summary,
            applicant=args.applicant or context.git_user(),
            department=args.department,
            training=args.training,
            replaces=args.replaces,
        ),
    )
    return Outcome.said(f"已创建修订申请单 {path.relative_to(root)}；请修改相关章节，补全申请单，并发起合并请求（pull request）")


COMMANDS = (Command("propose", _arguments, _run),)
