"""``manual show --as-of DATE``: the manual exactly as in force on a date (or a named version).

The text is read from the release commit in git, never from the working tree. A date before the
first version took effect is an error; a version whose effective date has not come on the date
asked is never the one in force.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manualkit.commands.registry import EXIT_FINDINGS, Command, Outcome, write_output

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.records.edition import Status
    from manualkit.records.history import ReleaseEntry, ReleaseReader
    from manualkit.text.manual import Manual

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
MAX_IMAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Shown:
    entries: list[ReleaseEntry]
    index: int
    asked: dt.date | None  # the date asked for (None when a version was named)
    today: dt.date
    manual: Manual
    reader: ReleaseReader

    @property
    def entry(self) -> ReleaseEntry:
        return self.entries[self.index]

    @property
    def status_today(self) -> Status:
        from manualkit.records.edition import status_on

        return status_on(self.entries, self.index, self.today)


def show(run: Run, *, as_of: dt.date | None, version: str | None) -> Shown:
    """The release ``version``, else the one in force on ``as_of`` (default ``run.today``)."""
    root, today = run.root, run.today
    from manualkit.base.diagnostics import fail
    from manualkit.records.history import ReleaseReader, in_force_index, release_history, version_index

    entries = release_history(root)
    if version is not None:
        index, asked = version_index(entries, version), None
    else:
        asked = as_of or today
        index = in_force_index(entries, asked)
    entry = entries[index]
    if entry.commit is None:
        raise fail(entry.record.path, 0, 0, "MAN680", f"{entry.record.version} 的发布记录不在 git 历史中，无法读取该版本的文本")
    reader = ReleaseReader(root)
    manual = reader.manual(entry.commit)
    if manual is None:
        raise fail(entry.record.path, 0, 0, "MAN683", f"{entry.record.version} 发布时的手册无法加载")
    return Shown(entries, index, asked, today, manual, reader)


def describe(s: Shown) -> list[str]:
    """What the copy is: which version, why it was chosen, where it was read from, its status."""
    r = s.entry.record
    until = s.entry.effective_to.isoformat() if s.entry.effective_to else "—"
    lines = [f"文件编号：{s.manual.metadata.document_number}　版本：{r.version}　发布日期：{r.published.isoformat()}　实施日期：{r.effective.isoformat()}　失效日期：{until}"]
    if s.asked is not None:
        future = "（按现有发布记录，届时将现行有效）" if s.asked > s.today else ""
        lines.append(f"{s.asked.isoformat()} 现行有效的版本{future}。")
    commit = s.entry.commit or ""
    verdict = "已验证" if s.entry.valid else "验证未通过：" + "；".join(d.code for d in s.entry.problems) + "，请运行 manual audit"
    lines.append(f"读取自发布提交 {commit[:10]}（发布记录 {r.path}），manual/ 树哈希 {r.content_digest[:12]}（{verdict}）。")
    lines.append(f"截至 {s.today.isoformat()}，该版本的状态：{s.status_today.value}。")
    return lines


def render_markdown(s: Shown, *, source: bool = False) -> str:
    """The chapters of the release (front matter left out) under a short header: as a reader reads
    them, headings without their ``{#sec-x-y}`` anchors, or with ``source`` exactly as stored."""
    parts = [f"# {s.manual.metadata.title}", "", *(f"> {line}" for line in describe(s))]
    for chapter in s.manual.chapters:
        body = chapter.body.strip("\n")
        parts += ["", body if source else without_anchors(body)]
    return "\n".join(parts) + "\n"


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ANCHORED_HEADING = re.compile(r"^( {0,3}#{1,6}[ \t].*?)[ \t]*\{#[A-Za-z][A-Za-z0-9_-]*\}[ \t]*$")


def without_anchors(markdown: str) -> str:
    """Markdown with the ``{#sec-x-y}`` anchor cut from every ATX heading; fenced code, where such a
    line is text and not a heading, is left as it is."""
    out, fence = [], ""
    for line in markdown.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
        elif opened:
            fence = opened.group(1)
        else:
            line = _ANCHORED_HEADING.sub(r"\1", line)
        out.append(line)
    return "\n".join(out)


def render_word(s: Shown, env: Mapping[str, str]) -> bytes:
    """The unsigned DOCX of the release (the same renderer as the published copies), its table of
    contents numbered by the layout engine (cached by content, see ``documents/toc.py``)."""
    from manualkit.base.clock import start_of_day, zone_or_default
    from manualkit.base.diagnostics import fail
    from manualkit.documents.docx.release import render_docx
    from manualkit.documents.toc import with_page_numbers
    from manualkit.records.edition import release_edition

    entry = s.entry
    assert entry.commit is not None
    policy = s.reader.policy(entry.commit)
    if policy is None:
        raise fail(entry.record.path, 0, 0, "MAN683", f"{entry.record.version} 发布时的修订政策无法加载")
    edition = release_edition(s.entries, s.index, s.status_today, policy, development_signature=False)
    items = s.reader.objects.files([entry.commit], "manual")[entry.commit]
    pictures = [i for i in items if i.path.lower().endswith(IMAGE_SUFFIXES) and i.mode != "120000"]
    sizes = s.reader.objects.sizes(i.sha for i in pictures)
    wanted = [i for i in pictures if sizes.get(i.sha, MAX_IMAGE_BYTES + 1) <= MAX_IMAGE_BYTES]
    blobs = s.reader.objects.read(i.sha for i in wanted)
    images = {i.path: blobs[i.sha] for i in wanted if i.sha in blobs}
    generated = start_of_day(entry.record.published, zone_or_default(policy.time_zone))
    return with_page_numbers(render_docx(s.manual, edition, generated=generated, images=images), env)


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    which = p.add_mutually_exclusive_group()
    which.add_argument("--as-of", type=parse_date, help="日期（2026-03-15、2026/3/15 或 2026年3月15日；默认今天）")
    which.add_argument("--version", help="版本，如 A/1")
    p.add_argument("--format", choices=("md", "docx"), default="md", help="输出格式")
    p.add_argument("-o", "--output", help="输出文件（md 默认输出到终端；docx 默认 dist/）")
    p.add_argument("--source", action="store_true", help="按存储的 Markdown 原文输出（保留标题末尾的 {#sec-x-y} 锚点）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    root = context.root
    shown = show(context.run, as_of=args.as_of, version=args.version)
    record = shown.entry.record
    outcome = Outcome()
    if args.format == "docx":
        name = f"{shown.manual.metadata.document_number}_{record.version.slug}.docx"
        path = write_output(outcome, root, args.output, name, render_word(shown, context.env))
        outcome.say(f"已生成 {record.version} 版（{shown.status_today.value}）的 DOCX（未签名，读取自发布提交）：{path}")
    else:
        path = write_output(outcome, root, args.output, "", render_markdown(shown, source=args.source))
        if path is not None:
            outcome.say(f"已写出 {record.version} 版的 Markdown：{path}")
    if not shown.entry.valid:
        outcome.warn(f"manual show：警告：{record.version} 版的验证未通过，请运行 manual audit\n")
        for d in shown.entry.problems:
            outcome.warn(d.render() + "\n")
        outcome.status = EXIT_FINDINGS
    return outcome


COMMANDS = (Command("show", _arguments, _run),)
