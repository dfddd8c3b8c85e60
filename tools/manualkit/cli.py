"""The ``manual`` command line: parse arguments, call one core function, print what it returns.

Errors are rendered here and only here; exit status 0 = clean, 1 = findings or refusal,
2 = wrong usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from manualkit.base.diagnostics import ManualError

if TYPE_CHECKING:
    from manualkit.commands.build import BuildResult

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


# The one place where text reaches the terminal: everything printed, diagnostics and the commands'
# answers alike, goes through these, which show control and escape sequences (from file names,
# titles, reasons) instead of letting the terminal obey them (base/characters.inert).
def _write(text: str, stream: Any = None, *, flush: bool = False) -> None:
    from manualkit.base.characters import inert

    out = sys.stdout if stream is None else stream
    out.write(inert(text))
    if flush:
        out.flush()


def _err(text: str) -> None:
    _write(text, sys.stderr)


def _say(*parts: object, flush: bool = False) -> None:
    """``print`` through :func:`_write`."""
    _write(" ".join(str(p) for p in parts) + "\n", flush=flush)


def _terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it: ``COLUMNS``, else the width of
    standard output's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, given the terminal's width: left to find it, argparse imports
    shutil, and with it the bz2, lzma and zlib modules, in every command (about 5 ms)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)

    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with Chinese messages, exit status 2 and "did you mean" for commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False  # argparse's own -h says it in English
        super().__init__(*args, **kwargs)
        # argparse's section titles are English words; the help is read by Chinese staff.
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def error(self, message: str) -> NoReturn:
        raise UsageError(_translate(message))


def _translate(message: str) -> str:
    replacements = {
        "the following arguments are required": "缺少必需的参数",
        "unrecognized arguments": "无法识别的参数",
        "invalid choice": "无效的选项",
        "expected one argument": "需要一个参数值",
        "argument": "参数",
        "choose from": "可选",
    }
    for en, zh in replacements.items():
        message = message.replace(en, zh)
    return message


def _zone(args: argparse.Namespace) -> dt.tzinfo:
    """The company's time zone, as the policy in the working tree names it (issue 9)."""
    from manualkit.records.policy import declared_time_zone

    return declared_time_zone(_root(args.root))


def _root(value: str | None) -> Path:
    if value:
        return Path(value)
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "manual" / "manual.yml").is_file():
            return candidate
    return here


def cmd_check(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.base.report import render, summary_line
    from manualkit.commands.check import check

    report = check(_root(args.root), today(os.environ, _zone(args)), strict_mode=args.strict, base=args.base)
    summary = "" if args.format in ("json", "gitlab") else summary_line(report.errors, report.warnings, report.chapters, report.sections)
    _write(render(report.diagnostics, args.format, summary))
    return EXIT_FINDINGS if report.errors else EXIT_OK


def _date(value: str) -> dt.date:
    from manualkit.base.clock import parse_date

    return parse_date(value)


def cmd_propose(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.propose import propose

    root = _root(args.root)
    path = propose(
        root,
        class_key=args.change_class,
        title=args.title,
        sections=[s.strip() for s in args.sections.split(",") if s.strip()],
        reason=args.reason,
        summary=args.summary,
        applicant=args.applicant or _git_user(root),
        department=args.department,
        training=args.training,
        today=today(os.environ, _zone(args)),
        replaces=args.replaces,
    )
    _say(f"已创建修订申请单 {path.relative_to(root)}；请修改相关章节，补全申请单，并发起合并请求（pull request）")
    return EXIT_OK


def _git_user(root: Path) -> str:
    from manualkit.base import git

    return git.user_name(root) or os.environ.get("USER", "") or "未署名"


def cmd_approve(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now
    from manualkit.commands.approve import approve

    approval = approve(_root(args.root), args.change_request, args.role, Path(args.key), now(os.environ, _zone(args)))
    _say(f"{approval.name}（{approval.signer}）已以“{approval.role}”角色签署 {args.change_request}，时间 {approval.signed_at}，摘要 {approval.digest[:19]}…")
    return EXIT_OK


def cmd_export_approval(args: argparse.Namespace) -> int:
    from manualkit.commands.approve import export_approval

    message, signature, allowed, signer = export_approval(_root(args.root), args.change_request, args.role, Path(args.dir))
    from manualkit.records.repository import worktree_snapshot

    namespace = worktree_snapshot(_root(args.root)).require()[1].signing_namespace
    if signature.name.endswith(".webauthn.json"):
        _say(f"已导出签署内容 {message}、WebAuthn 签名及所登记的凭据 {signature}（签署台的签名）。验证：挑战为 SHA-256(签署内容 + “nonce: ” + nonce + 换行)，用任一 WebAuthn 库按 docs/desk.md 核验")
        return EXIT_OK
    _say(f"已导出签署内容 {message}、签名 {signature} 和签署人名录 {allowed}。不依赖本工具的验证命令：")
    _say(f"ssh-keygen -Y verify -f {allowed} -I {signer} -n {namespace} -s {signature} < {message}")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.release import release

    published = args.published or today(os.environ, _zone(args))
    record = release(_root(args.root), effective=args.effective, published=published, env=_author_env(args), today=today(os.environ, _zone(args)))
    _say(
        f"已发布 {record.version}（{'、'.join(record.change_requests)}），发布日期 {record.published}，实施日期 {record.effective}；"
        f"已提交并打标签 release/{record.version.slug}"
    )
    return EXIT_OK


def _author_env(args: argparse.Namespace) -> dict[str, str]:
    from manualkit.base.clock import now

    if os.environ.get("MANUAL_NOW") or os.environ.get("MANUAL_TODAY"):
        stamp = now(os.environ, _zone(args)).isoformat()
        return {"GIT_AUTHOR_DATE": os.environ.get("GIT_AUTHOR_DATE", stamp), "GIT_COMMITTER_DATE": os.environ.get("GIT_COMMITTER_DATE", stamp)}
    return {}


def cmd_review(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now, today
    from manualkit.commands.review import review

    root = _root(args.root)
    path = review(root, args.chapter, Path(args.key), today(os.environ, _zone(args)), now(os.environ, _zone(args)), args.conclusion)
    _say(f"已记录第 {args.chapter} 章的定期评审：{path.relative_to(root)}；版本不变。请提交该记录。")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.status import render_status, render_status_json, status

    result = status(_root(args.root), today(os.environ, _zone(args)))
    _write(render_status_json(result) if args.json else render_status(result))
    return EXIT_OK


def cmd_remind(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now, today
    from manualkit.commands.remind import remind, render_remind, render_remind_json

    zone = _zone(args)
    report = remind(_root(args.root), args.as_of or today(os.environ, zone), os.environ, now(os.environ, zone), send=args.send)
    _write(render_remind_json(report) if args.json else render_remind(report))
    return EXIT_FINDINGS if report.failed else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.history import (
        history,
        render_json,
        render_table,
        returned,
        returned_requests_text,
        worktree_policy,
    )

    root = _root(args.root)
    entries = history(root)
    returns = returned(root)
    if args.json:
        _write(render_json(entries, returns))
    else:
        table = render_table(entries, worktree_policy(root), today(os.environ, _zone(args)), wide=args.wide)
        _write(table + returned_requests_text(returns))
    return EXIT_OK if all(e.valid for e in entries) else EXIT_FINDINGS


def cmd_allowed_signers(args: argparse.Namespace) -> int:
    from manualkit.records.repository import worktree_snapshot

    _, policy = worktree_snapshot(_root(args.root)).require()
    _write(policy.allowed_signers())
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.base.report import render, summary_line
    from manualkit.commands.publish import publish

    day = today(os.environ, _zone(args))
    result = publish(_root(args.root), day, os.environ)
    report = result.report
    _write(render(report.diagnostics, "text", summary_line(report.errors, report.warnings, report.chapters, report.sections)))
    if result.build is None:
        _err("manual publish：手册检查未通过，未发布\n")
        return EXIT_FINDINGS
    _print_build(result.build, day)
    return EXIT_OK


def cmd_docx(args: argparse.Namespace) -> int:
    from manualkit.base.atomic import check_writable
    from manualkit.base.clock import today
    from manualkit.commands.docx import build_release_docx, write_docx

    root = _root(args.root)
    check_writable(_output_folder(root, args.output))  # before the layout's seconds
    document = build_release_docx(
        root, version=args.version, as_of=args.as_of, today=today(os.environ, _zone(args)), env=os.environ, with_comparison=args.with_comparison
    )
    out = _output_path(root, args.output, document.file_name)
    write_docx(out, document)
    dev = "；使用开发签名（非正式），请配置 MANUAL_SIGNING_KEY 以使用正式发布证书" if document.development else ""
    _say(f"已生成 {document.version} 版（{document.status.value}）的签名 DOCX：{out}{dev}")
    return EXIT_OK


def cmd_pdf(args: argparse.Namespace) -> int:
    from manualkit.base.atomic import check_writable, write_atomic
    from manualkit.base.clock import today
    from manualkit.commands.pdf import build_release_pdf

    root = _root(args.root)
    check_writable(_output_folder(root, args.output))  # before the layout's seconds
    document = build_release_pdf(root, version=args.version, as_of=args.as_of, today=today(os.environ, _zone(args)), env=os.environ, with_comparison=args.with_comparison)
    out = _output_path(root, args.output, document.file_name)
    write_atomic(out, document.data)
    dev = "；使用开发签名（非正式），请配置 MANUAL_SIGNING_KEY 以使用正式发布证书" if document.development else ""
    _say(f"已生成 {document.version} 版（{document.status.value}）的签名 PDF/A：{out}{dev}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.verify import verify_docx

    result = verify_docx(_root(args.root), Path(args.file), os.environ, today(os.environ, _zone(args)))
    stream = sys.stdout if result.verdict == 0 else sys.stderr
    stream.write(f"{args.file}: {result.message}\n")
    for line in result.details:
        stream.write(f"  {line}\n")
    return int(result.verdict)


def _output_folder(root: Path, output: str | None) -> Path:
    """The folder a command writes its document into: that of ``-o``, else ``dist/``."""
    return Path(output).parent if output else root / "dist"


def _output_path(root: Path, output: str | None, default_name: str) -> Path:
    """Where a command writes its document: ``-o``, else ``dist/<default_name>``."""
    return Path(output) if output else _output_folder(root, None) / default_name


def _write_output(root: Path, output: str | None, default_name: str, data: bytes | str) -> Path | None:
    """Write ``data`` to ``output`` (or ``dist/<default_name>`` for binary data); None: print it."""
    from manualkit.base.atomic import write_atomic

    if output is None and isinstance(data, str):
        _write(data)
        return None
    path = _output_path(root, output, default_name)
    write_atomic(path, data)
    return path


def cmd_show(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.show import render_markdown, render_word, show

    root = _root(args.root)
    shown = show(root, as_of=args.as_of, version=args.version, today=today(os.environ, _zone(args)))
    record = shown.entry.record
    if args.format == "docx":
        name = f"{shown.manual.metadata.document_number}_{record.version.slug}.docx"
        path = _write_output(root, args.output, name, render_word(shown, os.environ))
        _say(f"已生成 {record.version} 版（{shown.status_today.value}）的 DOCX（未签名，读取自发布提交）：{path}")
    else:
        path = _write_output(root, args.output, "", render_markdown(shown, source=args.source))
        if path is not None:
            _say(f"已写出 {record.version} 版的 Markdown：{path}")
    if not shown.entry.valid:
        _err(f"manual show：警告：{record.version} 版的验证未通过，请运行 manual audit\n")
        for d in shown.entry.problems:
            _err(d.render() + "\n")
        return EXIT_FINDINGS
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from manualkit.base.diagnostics import fail
    from manualkit.commands.diff import compare_versions, redline
    from manualkit.records.manual_diff import render_json, render_text

    root = _root(args.root)
    comparison = compare_versions(root, args.from_, args.to)
    d = comparison.diff
    if args.layout == "table":
        _write_comparison_table(root, args, comparison)
    elif args.format == "md":
        raise fail("--format", 0, 0, "MAN000", "md 格式用于修订对照表：请加 --layout table；逐节修订对照可输出 text、json、html 或 docx")
    elif args.format == "docx":
        name = f"{comparison.new.metadata.document_number}_{d.from_point.version.replace('/', '-')}_{d.to_point.version.replace('/', '-')}_修订对照.docx"
        path = _write_output(root, args.output, name, redline(comparison))
        _say(f"已生成修订对照 DOCX（{d.from_point.version} → {d.to_point.version}，Word 修订模式，可逐项接受或拒绝）：{path}")
    else:
        title = comparison.new.metadata.title
        if args.format == "html":
            from manualkit.documents.html_redline import render_html, section_bodies

            changes = [(s.id, s.from_id, str(s.status)) for s in d.changes]
            text = render_html(d, title, section_bodies(comparison.old, comparison.new, changes))
        else:
            text = render_text(d) if args.format == "text" else render_json(d)
        path = _write_output(root, args.output, "", text)
        if path is not None:
            _say(f"已写出修订对照：{path}")
    invalid = [p.version for p in (d.from_point, d.to_point) if not p.valid]
    if invalid:
        _err(f"manual diff：警告：{'、'.join(invalid)} 版的验证未通过，请运行 manual audit\n")
        return EXIT_FINDINGS
    return EXIT_OK


def _write_comparison_table(root: Path, args: argparse.Namespace, comparison: Any) -> None:
    """``manual diff --layout table``: the 修订对照表 as Markdown (default), HTML or DOCX."""
    from manualkit.base.clock import noon
    from manualkit.base.diagnostics import fail
    from manualkit.commands.diff import comparison_table, comparison_table_title
    from manualkit.documents.comparison_table import table_docx, table_markdown, table_page

    rows = comparison_table(comparison)
    title = comparison_table_title(comparison)
    d = comparison.diff
    fmt = "md" if args.format in ("text", "md") else args.format
    if fmt == "json":
        raise fail("--format", 0, 0, "MAN000", "修订对照表（--layout table）可输出 md、html 或 docx")
    if fmt == "docx":
        meta = comparison.new.metadata
        header = f"{meta.title} · {meta.document_number} · 修订对照表 {d.from_point.version} → {d.to_point.version}"
        created = noon(comparison.entries[comparison.to_index].record.published)
        intro = [f"比较：{d.from_point.describe()} → {d.to_point.describe()}", "逐条列出修订的条款；未修订的条款不列。修订前栏中删除的文字加删除线，修订后栏中新增的文字加下划线。修订说明为修订申请单所述的修订原因。"]
        data = table_docx(rows, manual=comparison.new, title=title, intro=intro, header=header, created=created)
        name = f"{meta.document_number}_{d.from_point.version.replace('/', '-')}_{d.to_point.version.replace('/', '-')}_修订对照表.docx"
        path = _write_output(root, args.output, name, data)
        _say(f"已生成修订对照表 DOCX（{d.from_point.version} → {d.to_point.version}，{len(rows)} 处修订）：{path}")
        return
    text = table_markdown(rows, title) if fmt == "md" else table_page(rows, title)
    path = _write_output(root, args.output, "", text)
    if path is not None:
        _say(f"已写出修订对照表：{path}")


def cmd_init(args: argparse.Namespace) -> int:
    from manualkit.commands.init import init, next_steps, parse_approver

    root = _root(args.root)
    written = init(
        root, source=Path(args.source), company=args.company, document_number=args.document_number, title=args.title,
        approvers=[parse_approver(a) for a in args.approver], time_zone=args.time_zone,
    )  # fmt: skip
    _say(f"已在 {root} 建立手册（{len(written)} 个文件）与签署人名录。发布首版 A/0（信任根）的步骤：")
    for step in next_steps(root):
        _say(f"  {step}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.audit import (
        audit_with_witnesses,
        exit_status,
        render_html,
        render_json,
        render_markdown,
        verdict_text,
    )

    root = _root(args.root)
    report = audit_with_witnesses(root, today(os.environ, _zone(args)), [Path(w) for w in args.witness or ()])
    text = render_json(report) if args.json else render_html(report) if args.format == "html" else render_markdown(report)
    path = _write_output(root, args.output, "", text)
    if path is not None:
        _say(f"已写出审计报告：{path}")
    status = exit_status(report, strict=args.strict)
    if report.verdict != "pass":
        _err(f"manual audit：{verdict_text(report)}" + ("（--strict：按不通过处理）" if status and report.passed else "") + "\n")
    return status


def cmd_build(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.build import build

    day = args.as_of or today(os.environ, _zone(args))
    _print_build(build(_root(args.root), day, os.environ, site_only=args.site_only), day)
    return EXIT_OK


def _print_build(result: BuildResult, day: dt.date) -> None:
    site = result.site
    upcoming = "；".join(f"{v.name} 版已批准，将于 {v.effective.isoformat()} 生效" for v in site.upcoming)
    _say(
        f"已构建站点 {site.site_dir}：{day.isoformat()} 现行有效的 {site.in_force.name} 版（{site.in_force.effective.isoformat()} 起实施），"
        f"{site.pages} 页" + (f"；{upcoming}" if upcoming else "")
    )
    if site.archived:
        cached = len(site.archived) - len(site.rebuilt)
        _say(f"已归档的作废版本：{'、'.join(v.name for v in site.archived)}（本次构建 {len(site.rebuilt)} 个，取自缓存 {cached} 个）")
    for path in result.dist:
        _say(f"已写出 {path}")
    for d in site.invalid_signatures:  # built nevertheless: staff must see the manual (8.2 四)
        _err(d.render() + "（站点照常构建，该签署标为无效）\n")


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from manualkit.commands.serve import serve

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _say(f"草稿预览：http://{args.dev_addr}/（修改 manual/ 中的文件后自动刷新；按 Ctrl+C 停止）", flush=True)
    serve(_root(args.root), args.dev_addr, open_browser=args.open)
    return EXIT_OK


def cmd_desk(args: argparse.Namespace) -> int:
    from manualkit.desk.server import prepare, serve

    desk = prepare(
        _root(args.root), host=args.host, port=args.port, origin=args.origin, remote=args.remote,
        key=Path(args.key) if args.key else None,
    )  # fmt: skip
    _say(f"签署台：{desk.address}（按 Ctrl+C 停止）", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(desk.address)
    serve(desk)
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.summary import render_json, render_markdown, summary

    found = summary(_root(args.root), args.base, today(os.environ, _zone(args)))
    _write(render_json(found) if args.format == "json" else render_markdown(found, limit=args.limit, link=args.link or ""))
    return EXIT_OK


def cmd_comment(args: argparse.Namespace) -> int:
    from manualkit.commands.comment import post_comment

    posted = post_comment(args.host, Path(args.file), os.environ)
    _say(f"已{'更新' if posted.updated else '发表'}{'合并请求' if args.host == 'gitlab' else '拉取请求'}评论：{posted.url}")
    return EXIT_OK


def cmd_codes(args: argparse.Namespace) -> int:
    from manualkit.base.codes import codes_markdown

    _write(codes_markdown())
    return EXIT_OK


# --- chapter 8's obligations (issue #11) ---------------------------------------------------


def _moment(value: str) -> dt.datetime:
    from manualkit.base.clock import CST

    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} 不是有效时间；请写成 2026-10-12T09:30 或 2026-10-12T09:30+08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def cmd_return(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now, today
    from manualkit.commands.procedure import return_request

    record = return_request(_root(args.root), args.change_request, args.role, Path(args.key), args.reason, now(os.environ, _zone(args)), today(os.environ, _zone(args)))
    _say(f"{record.name} 已以“{args.role}”角色退回 {args.change_request}（{record.path}）；请提交该记录。重新提交时：manual propose --replaces {args.change_request} …")
    return EXIT_OK


def cmd_revoke_key(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now
    from manualkit.commands.procedure import revoke_key

    record = revoke_key(
        _root(args.root), args.signer, args.at, args.reason, Path(args.key), now(os.environ, _zone(args)), args.credential,
        void_released=args.void_released,
    )
    _say(
        f"已停用 {args.signer} 的密钥，自 {record.fields['revoked_at']} 起生效（{record.path}，由 {record.name} 签署）；"
        "此后用该密钥所作的签署一律无效。请提交该记录，并经正常修订程序在 policy.yml 中更换密钥。"
    )
    return EXIT_OK


def cmd_training(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now, today
    from manualkit.commands.procedure import record_training

    departments = [d.strip() for part in args.departments for d in part.replace("、", ",").split(",") if d.strip()]
    record = record_training(
        _root(args.root), args.version, args.date, departments, args.attendees, args.record, Path(args.key), today(os.environ, _zone(args)), now(os.environ, _zone(args))
    )
    _say(f"已记录 {args.version} 版的培训（{args.date.isoformat()}，{record.fields['departments']}，{args.attendees} 人）：{record.path}；请提交该记录。")
    return EXIT_OK


def cmd_distribute(args: argparse.Namespace) -> int:
    from manualkit.base.clock import today
    from manualkit.commands.procedure import distribute

    root = _root(args.root)
    from manualkit.base.clock import now

    issued = distribute(
        root, args.version, args.holder, args.department, args.copies, Path(args.output) if args.output else None, today(os.environ, _zone(args)), os.environ,
        Path(args.key), now(os.environ, _zone(args)),
    )  # fmt: skip
    for copy, path in issued:
        _say(f"已分发受控副本 {copy.number}（{copy.version} 版）给 {copy.holder}（{copy.department}）：{path}")
    _say(f"分发记录在 {issued[0][0].path.rsplit('/', 1)[0]}/；请提交这些记录。")
    return EXIT_OK


def cmd_recall(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now, today
    from manualkit.commands.procedure import recall

    copy = recall(_root(args.root), args.copy, args.date, args.retained, today(os.environ, _zone(args)), Path(args.key), now(os.environ, _zone(args)))
    how = "作废留存（加注“作废留存”标识，不得用于指导业务）" if copy.retained else "已收回"
    _say(f"受控副本 {copy.number}（{copy.version} 版，{copy.holder}）于 {args.date.isoformat()} {how}：{copy.path}；请提交该记录。")
    return EXIT_OK


def cmd_obligations(args: argparse.Namespace) -> int:
    from manualkit.commands.obligations import obligations, render_json, render_text

    report = obligations(_root(args.root))
    _write(render_json(report) if args.json else render_text(report))
    return EXIT_FINDINGS if report.unmapped else EXIT_OK


# --- the review round trip (issue #22) -------------------------------------------------------


def cmd_review_copy(args: argparse.Namespace) -> int:
    from manualkit.base.atomic import check_writable
    from manualkit.base.clock import now, today
    from manualkit.commands.review_round import review_copy

    root = _root(args.root)
    check_writable(_output_folder(root, args.output))
    data, name = review_copy(root, args.change_request, today(os.environ, _zone(args)), now(os.environ, _zone(args)))
    path = _write_output(root, args.output, name, data)
    _say(f"已生成 {args.change_request} 的征求意见稿：{path}；请审阅人以批注和修订提出意见后返回，再用 manual import-review 导入")
    return EXIT_OK


def cmd_import_review(args: argparse.Namespace) -> int:
    from manualkit.base.characters import inert
    from manualkit.base.clock import now
    from manualkit.commands.review_round import import_review

    root = _root(args.root)
    key = Path(args.key) if args.key else None
    result = import_review(root, Path(args.file), args.cr, args.reviewer, now(os.environ, _zone(args)), apply=args.apply, key_path=key)
    for warning in result.warnings:
        _err(warning.render() + "\n")
    if result.record is not None:
        _say(f"已导入 {len(result.record.opinions)} 条审核意见：{result.record.path}；请逐条用 manual answer {args.cr} N --accept|--reject --reason 理由 答复，并提交该记录。")
    if result.diff:
        _write(inert(result.diff))
    for unmapped in result.unmapped:
        _err(unmapped.render() + "\n")
    if result.applied:
        _say(f"已把可对应的修订应用到：{'、'.join(result.applied)}；请检查并提交。")
    elif result.diff and not args.apply:
        _say("以上为可对应到 Markdown 的修订；确认无误后加 --apply 写入工作区。")
    return EXIT_OK


def cmd_answer(args: argparse.Namespace) -> int:
    from manualkit.base.clock import now
    from manualkit.commands.review_round import answer

    root = _root(args.root)
    decision = "accept" if args.accept else "reject"
    key = Path(args.key) if args.key else None
    result = answer(root, args.change_request, args.number, decision, args.reason, args.editor or _git_user(root), now(os.environ, _zone(args)), key)
    _say(f"已答复 {result.request}#{result.number}（{'采纳' if decision == 'accept' else '不采纳'}）：{result.path}；请提交该记录。")
    return EXIT_OK


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (``only``) the top level and that one command: each command's
    parser costs a few milliseconds to build, and a command should not pay for the others."""
    parser = _Parser(prog="manual", description="销售业务流程规范手册的文件控制工具")
    parser.add_argument("--root", help="仓库根目录（默认：从当前目录向上查找 manual/manual.yml）")
    sub = parser.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)

    built: list[str] = []

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str, description: str | None = None) -> argparse.ArgumentParser | None:
        if only is not None and name != only:
            return None
        p = sub.add_parser(name, help=help, description=description)
        p.set_defaults(func=func)
        built.append(name)
        return p

    if p := command("check", cmd_check, help="检查手册（前置元数据、结构、Markdown 子集、引用）"):
        p.add_argument(
            "--format", choices=("text", "json", "github", "gitlab"), default="text",
            help="输出格式（github：GitHub 注释；gitlab：GitLab 代码质量报告 JSON）",
        )  # fmt: skip
        p.add_argument("--strict", action="store_true", help="把警告视为错误")
        p.add_argument("--base", metavar="REF", help="与该 git 引用比较（合并请求检查）：修改的节须有修订申请单，已发布记录不可修改")

    if p := command("propose", cmd_propose, help="提出修订申请（创建文件修订申请单）"):
        p.add_argument("--class", dest="change_class", required=True, metavar="类别", help="修订类别：重大修订、一般修订、编辑性修订（或 major、minor、editorial）")
        p.add_argument("--title", required=True, help="修订标题")
        p.add_argument("--sections", required=True, help="修订的节，逗号分隔，如 3.2,5.1")
        p.add_argument("--reason", required=True, help="修订原因")
        p.add_argument("--summary", help="修订前后内容摘要（默认同标题）")
        p.add_argument("--applicant", help="申请人（默认取 git user.name）")
        p.add_argument("--department", help="申请部门（默认取首个修订节所在章的负责部门）")
        p.add_argument("--training", action=argparse.BooleanOptionalAction, default=None, help="是否需要培训（重大修订默认需要）")
        p.add_argument("--replaces", metavar="CR", help="重新提交：所替代的已退回申请单号")

    if p := command("approve", cmd_approve, help="以某一角色对修订申请单进行电子签署"):
        p.add_argument("change_request", metavar="CR", help="修订申请单号，如 CR-2026-001")
        p.add_argument("--role", required=True, help="签署角色：编制、审核、会签、批准")
        p.add_argument("--key", required=True, help="签署人本人的 SSH 私钥文件")

    if p := command("export-approval", cmd_export_approval, help="导出一项签署的原文和签名，供 ssh-keygen -Y verify 独立验证"):
        p.add_argument("change_request", metavar="CR", help="修订申请单号")
        p.add_argument("--role", required=True, help="签署角色")
        p.add_argument("--dir", default=".", help="输出目录")

    if p := command("release", cmd_release, help="把签署齐全的修订申请单发布为新版本（提交并打标签）"):
        p.add_argument("--effective", required=True, type=_date, help="实施日期 YYYY-MM-DD")
        p.add_argument("--published", type=_date, help="发布日期（默认今天）")

    if p := command("review", cmd_review, help="记录某章的定期评审（经签署，版本不变）"):
        p.add_argument("chapter", type=int, help="章编号")
        p.add_argument("--key", required=True, help="评审人本人的 SSH 私钥文件")
        p.add_argument("--conclusion", default="经评审，本章内容适宜，无需修订", help="评审结论")

    if p := command("status", cmd_status, help="现行有效版本、待实施版本、未发布的修订申请单和到期的评审"):
        p.add_argument("--json", action="store_true", help="输出 JSON")

    if p := command("remind", cmd_remind, help="提醒：把每项到期的待办（签署、培训、评审、回收副本、实施通知）发给应办理的人"):
        p.add_argument("--as-of", type=_date, help="按该日期计算（默认今天）")
        p.add_argument("--send", action="store_true", help="发送（邮件、企业微信、钉钉、飞书，见 docs/reminders.md）并记入提醒台账；不加则只列出")
        p.add_argument("--json", action="store_true", help="输出 JSON")

    if p := command("history", cmd_history, help="全部发布版本及其签署的验证结果"):
        p.add_argument("--json", action="store_true", help="输出 JSON")
        p.add_argument("--wide", action="store_true", help="签署写在表格的一列中（默认每个版本下另起一行，表格不超过 120 列）")

    if p := command("show", cmd_show, help="某日现行有效（或指定版本）的手册全文，读取自发布提交"):
        which = p.add_mutually_exclusive_group()
        which.add_argument("--as-of", type=_date, help="日期（2026-03-15、2026/3/15 或 2026年3月15日；默认今天）")
        which.add_argument("--version", help="版本，如 A/1")
        p.add_argument("--format", choices=("md", "docx"), default="md", help="输出格式")
        p.add_argument("-o", "--output", help="输出文件（md 默认输出到终端；docx 默认 dist/）")
        p.add_argument("--source", action="store_true", help="按存储的 Markdown 原文输出（保留标题末尾的 {#sec-x-y} 锚点）")

    if p := command("diff", cmd_diff, help="两个版本（或两个日期现行有效的版本）之间逐节的修订对照"):
        p.add_argument("--from", dest="from_", required=True, metavar="版本或日期", help="起点：版本（A/0）或日期")
        p.add_argument("--to", required=True, metavar="版本或日期", help="终点：版本（B/1）或日期")
        p.add_argument("--format", choices=("text", "json", "html", "docx", "md"), default="text", help="输出格式（docx 为 Word 修订模式）")
        p.add_argument("--layout", choices=("redline", "table"), default="redline", help="redline：逐节修订对照（默认）；table：修订对照表（md/html/docx）")
        p.add_argument("-o", "--output", help="输出文件（docx 默认 dist/）")

    if p := command(
        "audit", cmd_audit, help="审计整条记录链：签署、内容摘要、公告期、时间线、发布之外的修改、定期评审",
        description="结论分三级：通过（退出状态 0）；通过（有 N 项须关注）（退出状态 0，加 --strict 为 1）；不通过（退出状态 1）。“信息”（如早于该要求）从不导致不通过。",
    ):  # fmt: skip
        p.add_argument("--json", action="store_true", help="输出 JSON")
        p.add_argument("--strict", action="store_true", help="有须关注的发现时也按不通过处理（退出状态 1）")
        p.add_argument("--format", choices=("md", "html"), default="md", help="报告格式")
        p.add_argument("-o", "--output", help="输出文件（默认输出到终端）")
        p.add_argument(
            "--witness", nargs="+", metavar="FILE",
            help="对照见证：早先签名的 DOCX 发布文件或 manual history --json 的输出；报告与之不一致的每个版本",
        )  # fmt: skip

    if p := command("init", cmd_init, help="为本公司建立新的手册仓库及其信任根（签署人名录）"):
        p.add_argument("--from", dest="source", required=True, metavar="DIR", help="作为起点的已有手册仓库（章节、修订政策、申请单模板）")
        p.add_argument("--company", required=True, help="公司名称")
        p.add_argument("--document-number", required=True, help="文件编号，如 XS-QM-01")
        p.add_argument("--title", help="文件名称（默认沿用起点）")
        p.add_argument(
            "--approver", action="append", required=True, metavar="ID,姓名,部门,角色+角色,公钥文件",
            help="登记一名签署人（可重复）；公钥为 ssh-keygen 生成的 .pub 文件",
        )  # fmt: skip
        p.add_argument("--time-zone", help="公司时区（IANA 名称，默认 Asia/Shanghai）")

    command("allowed-signers", cmd_allowed_signers, help="输出由签署人名录生成的 OpenSSH allowed_signers 文件")

    command("publish", cmd_publish, help="主任务：检查手册并构建站点和签名 DOCX")

    for name, handler, kind, suffix in (("docx", cmd_docx, "DOCX", "docx"), ("pdf", cmd_pdf, "PDF/A", "pdf")):
        if p := command(name, handler, help=f"生成某一发布版本的签名 {kind}（默认：今天现行有效的版本）"):
            which = p.add_mutually_exclusive_group()
            which.add_argument("--version", help="版本，如 B/0")
            which.add_argument("--as-of", type=_date, help="该日期现行有效的版本")
            p.add_argument("-o", "--output", help=f"输出文件（默认 dist/<文件编号>_<版本>.{suffix}）")
            p.add_argument("--with-comparison", action="store_true", help="附上与上一版本的修订对照表（附录）")

    if p := command(
        "verify", cmd_verify, help="验证 DOCX 或 PDF 是否为真实、未被篡改的发布文件",
        description="退出状态：0 真实有效；3 签署后被改动；4 签名证书不受信任；5 未签名；6 不是 DOCX/PDF 或已损坏；7 内容与 git 中的发布不一致",
    ):  # fmt: skip
        p.add_argument("file", help="DOCX 或 PDF 文件")

    if p := command("build", cmd_build, help="构建员工网站（site/，现行有效版本，读取自 git）和签名 DOCX（dist/）"):
        p.add_argument("--as-of", type=_date, help="按该日期构建（默认今天）：当日现行有效的版本、待实施的版本和已作废的版本")
        p.add_argument("--site-only", action="store_true", help="只构建站点，不生成签名 DOCX")

    if p := command("serve", cmd_serve, help="预览工作区中的草稿（每页标注“草稿（未生效）”），修改后自动刷新"):
        p.add_argument("--dev-addr", default="127.0.0.1:8000", help="监听地址（默认 127.0.0.1:8000）")
        p.add_argument("--open", action="store_true", help="启动后在浏览器中打开")

    if p := command("desk", cmd_desk, help="签署台：在浏览器中阅读、签署或退回修订申请单（通行密钥或 SSH 密钥）"):
        p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，本机模式；服务器模式用 0.0.0.0）")
        p.add_argument("--port", type=int, default=0, help="端口（默认随机空闲端口）")
        p.add_argument("--origin", help="签署人访问的地址（服务器模式必填，如 https://desk.example.com；也是 WebAuthn 依赖方）")
        p.add_argument("--remote", help="服务器模式：每页前从该远程仓库取得最新内容，每项新签署推送到其分支")
        p.add_argument("--key", help="本机模式：用此 SSH 私钥文件签署（默认经 ssh-agent）")
        p.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")

    if p := command("return", cmd_return, help="退回修订申请单（由所等待角色的签署人签署，写明理由）"):
        p.add_argument("change_request", metavar="CR", help="修订申请单号")
        p.add_argument("--role", required=True, help="退回人的角色（申请单所等待的角色）")
        p.add_argument("--key", required=True, help="退回人本人的 SSH 私钥文件")
        p.add_argument("--reason", required=True, help="退回理由")

    if p := command("revoke-key", cmd_revoke_key, help="立即停用签署人的密钥（由本人或批准人签署）"):
        p.add_argument("signer", metavar="SIGNER", help="签署人标识（policy.yml 名录中的 id）")
        p.add_argument("--at", required=True, type=_moment, help="停用时间（ISO 8601，默认东八区），此后该密钥的签署无效")
        p.add_argument("--reason", required=True, help="停用原因（遗失、可能泄露等）")
        p.add_argument("--key", required=True, help="签署本停用记录的私钥：密钥本人或批准人")
        p.add_argument(
            "--void-released", action="store_true",
            help="停用时间早于已发布版本中该密钥的签署时，明确声明这些签署一并作废（仅批准人可用，如密钥被盗后冒签）",
        )  # fmt: skip
        p.add_argument("--credential", metavar="凭据标识", help="停用该签署人的 WebAuthn 凭据（credential_id）而不是其 SSH 密钥")

    if p := command("training", cmd_training, help="记录某版本的培训（经签署）"):
        p.add_argument("version", metavar="VERSION", help="版本，如 B/0")
        p.add_argument("--date", required=True, type=_date, help="培训日期")
        p.add_argument("--departments", required=True, nargs="+", help="受训部门（空格、逗号或顿号分隔）")
        p.add_argument("--attendees", required=True, type=int, help="参加人数")
        p.add_argument("--record", required=True, help="培训记录（签到表、课件等的编号或位置）")
        p.add_argument("--key", required=True, help="记录人本人的 SSH 私钥文件")

    if p := command("distribute", cmd_distribute, help="分发带分发号的受控副本（签名 DOCX）并记录领用人"):
        p.add_argument("version", metavar="VERSION", help="版本，如 A/1")
        p.add_argument("--holder", required=True, help="领用人")
        p.add_argument("--department", required=True, help="领用部门")
        p.add_argument("--copies", type=int, default=1, help="份数（默认 1）")
        p.add_argument("-o", "--output", help="输出目录（默认 dist/copies/）")
        p.add_argument("--key", required=True, help="分发人本人的 SSH 私钥文件（签署分发记录）")

    if p := command("recall", cmd_recall, help="记录受控副本的回收（或作废留存）"):
        p.add_argument("copy", metavar="COPY", help="分发号，如 A-1-001")
        p.add_argument("--date", required=True, type=_date, help="回收日期")
        p.add_argument("--retained", action="store_true", help="不收回，加注“作废留存”标识保留")
        p.add_argument("--key", required=True, help="回收人本人的 SSH 私钥文件（签署回收记录）")

    if p := command("obligations", cmd_obligations, help="第八章的每项义务及其执行方式（检查、命令与记录，或由人执行）"):
        p.add_argument("--json", action="store_true", help="输出 JSON")

    if p := command("review-copy", cmd_review_copy, help="生成修订申请单的征求意见稿（DOCX，修订标记显示改动，供审阅人批注）"):
        p.add_argument("change_request", metavar="CR", help="修订申请单号，如 CR-2026-005")
        p.add_argument("-o", "--output", help="输出文件（默认 dist/<文件编号>_<申请单号>_征求意见稿.docx）")

    if p := command("import-review", cmd_import_review, help="导入审阅人返回的征求意见稿：批注和修订记为审核意见"):
        p.add_argument("file", metavar="FILE.docx", help="审阅人返回的征求意见稿")
        p.add_argument("--cr", required=True, metavar="CR", help="修订申请单号")
        p.add_argument("--reviewer", metavar="ID", help="审阅人标识（如 li.na；默认 reviewer），用于记录文件名")
        p.add_argument("--apply", action="store_true", help="把能对应到 Markdown 的修订写入工作区（全部写入或都不写）")
        p.add_argument("--key", help="导入人本人的 SSH 私钥文件（可选：签署该审核意见记录）")

    if p := command("answer", cmd_answer, help="答复一条审核意见（处理意见：采纳或不采纳，写明理由）"):
        p.add_argument("change_request", metavar="CR", help="修订申请单号")
        p.add_argument("number", metavar="N", type=int, help="审核意见序号（CR#N 中的 N）")
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--accept", action="store_true", help="采纳")
        which.add_argument("--reject", action="store_true", help="不采纳")
        p.add_argument("--reason", required=True, help="处理理由")
        p.add_argument("--editor", help="答复人（默认取 git user.name；用 --key 签署时为密钥登记的姓名）")
        p.add_argument("--key", help="答复人本人的 SSH 私钥文件（可选：签署该处理意见）")
    if p := command("summary", cmd_summary, help="合并请求摘要：修订申请单、对照表、签署与待签角色、检查结果"):
        p.add_argument("--base", required=True, metavar="REF", help="与该 git 引用比较（合并请求的目标分支，如 origin/main）")
        p.add_argument("--format", choices=("md", "json"), default="md", help="输出格式（md：GitHub/GitLab 评论用的 Markdown）")
        p.add_argument("--limit", type=int, default=65_000, metavar="N", help="Markdown 的最大字符数（0：不限；默认 65000）")
        p.add_argument("--link", metavar="URL", help="对照表超出篇幅时，指向完整对照表的链接")

    if p := command("comment", cmd_comment, help="把摘要发表为合并请求（GitLab）或拉取请求（GitHub）的评论，已有则原地更新"):
        p.add_argument("--host", choices=("gitlab", "github"), required=True, help="托管平台")
        p.add_argument("file", metavar="FILE", help="manual summary 输出的 Markdown 文件")

    if p := command("codes", cmd_codes, help="列出全部诊断代码"):
        p.add_argument("--format", choices=("md",), default="md", help="输出格式（md：Markdown 表格）")
    if only is not None and not built:  # not a command: the whole parser, to list them all
        return build_parser()
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (skipping ``--root DIR``), or None."""
    words = iter(argv)
    for word in words:
        if word == "--root":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _suggest(argv: Sequence[str], parser: argparse.ArgumentParser) -> str:
    commands: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = list(action.choices)
    word = _command_word(argv)
    if word is not None and word not in commands:
        import difflib

        close = difflib.get_close_matches(word, commands, n=1)
        if close:
            return f"；是否想输入 manual {close[0]}？"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_word(argv))
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except UsageError as exc:
        _err(f"manual: MAN000 用法错误：{exc}{_suggest(argv, parser)}\n")
        _err("请运行 manual --help 查看用法\n")
        return EXIT_USAGE
    except ManualError as exc:
        for d in exc.diagnostics:
            _err(d.render() + "\n")
        return EXIT_USAGE if any(d.code == "MAN000" for d in exc.diagnostics) else EXIT_FINDINGS
    except KeyboardInterrupt:
        _err("manual: 已中断\n")
        return 130
    except Exception as exc:  # OS, git and anything unforeseen: a coded diagnostic, never a traceback
        return _failure(exc)


def _failure(exc: Exception) -> int:
    from manualkit.base import git
    from manualkit.base.failures import git_failure, internal_failure, os_failure

    if os.environ.get("MANUAL_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, BrokenPipeError):  # the reader went away (manual history | head): not an error to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    if isinstance(exc, OSError):
        d = os_failure(exc)
    elif isinstance(exc, git.GitError):
        d = git_failure(str(exc))
    else:
        d = internal_failure(exc)
    try:
        _err(d.render() + "\n")
    except OSError:  # stderr itself is gone: the exit status still says it
        pass
    return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
