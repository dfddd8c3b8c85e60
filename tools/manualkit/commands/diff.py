"""``manual diff --from X --to Y``: what changed between two versions (or the versions in force
on two dates), section by section, with the change requests that changed each section.

Both texts are read from the release commits in git, never from the working tree; the cost
depends on the two versions, not on the number of commits between them.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from manualkit.base.clock import noon
from manualkit.base.diagnostics import fail
from manualkit.records.history import ReleaseEntry, ReleaseReader, in_force_index, release_history, version_index
from manualkit.records.manual_diff import ManualDiff, Point, compare, section_texts
from manualkit.records.version import is_version
from manualkit.text.manual import Manual


class Comparison(NamedTuple):
    """A diff with what it was computed from (for the DOCX redline)."""

    diff: ManualDiff
    entries: list[ReleaseEntry]
    from_index: int
    to_index: int
    old: Manual
    new: Manual
    reader: ReleaseReader


def resolve(entries: Sequence[ReleaseEntry], text: str, where: str) -> tuple[int, dt.date | None]:
    """A version (``B/0``) or a date (``2026-03-15``, ``2026/3/15``, ``2026年3月15日``) → release index."""
    from manualkit.base.clock import parse_date

    if is_version(text.upper()):
        return version_index(entries, text, where), None
    try:
        day = parse_date(text)
    except argparse.ArgumentTypeError:
        versions = "、".join(str(e.record.version) for e in entries)
        raise fail(
            where, 0, 0, "MAN000", f"{text!r} 既不是版本号也不是日期；请写版本号（{versions}）或日期（2026-03-15、2026/3/15、2026年3月15日）"
        ) from None
    return in_force_index(entries, day, where), day


def point(entries: Sequence[ReleaseEntry], index: int, asked: str, day: dt.date | None) -> Point:
    entry = entries[index]
    r = entry.record
    assert entry.commit is not None
    return Point(asked, day, str(r.version), r.published, r.effective, entry.effective_to, entry.commit, entry.valid)


def released_manual(reader: ReleaseReader, entry: ReleaseEntry) -> Manual:
    if entry.commit is None:
        raise fail(entry.record.path, 0, 0, "MAN680", f"{entry.record.version} 的发布记录不在 git 历史中，无法读取该版本的文本")
    manual = reader.manual(entry.commit)
    if manual is None:
        raise fail(entry.record.path, 0, 0, "MAN683", f"{entry.record.version} 发布时的手册无法加载")
    return manual


def compare_versions(root: Path, from_text: str, to_text: str) -> Comparison:
    entries = release_history(root)
    i, from_day = resolve(entries, from_text, "--from")
    j, to_day = resolve(entries, to_text, "--to")
    if (from_day is not None and to_day is not None and from_day > to_day) or i > j:
        a = from_day.isoformat() if from_day else str(entries[i].record.version)
        b = to_day.isoformat() if to_day else str(entries[j].record.version)
        raise fail("--from", 0, 0, "MAN701", f"比较的起点 {a} 晚于终点 {b}；请交换 --from 与 --to")
    for index in (i, j):
        if entries[index].commit is None:
            raise fail(entries[index].record.path, 0, 0, "MAN680", f"{entries[index].record.version} 的发布记录不在 git 历史中，无法读取该版本的文本")
    reader = ReleaseReader(root)
    old, new = released_manual(reader, entries[i]), released_manual(reader, entries[j])
    sections = compare(section_texts(old), section_texts(new), entries[i + 1 : j + 1]) if i != j else compare(section_texts(old), section_texts(old))
    diff = ManualDiff(point(entries, i, from_text, from_day), point(entries, j, to_text, to_day), tuple(sections))
    return Comparison(diff, entries, i, j, old, new, reader)


def redline(comparison: Comparison) -> bytes:
    """The DOCX with tracked changes from the "from" text to the "to" text."""
    from manualkit.documents.docx_redline import Author, Block, BlockHistory, Step, redline_docx
    from manualkit.records.manual_diff import RequestChange

    c = comparison
    d = c.diff
    to_record = c.entries[c.to_index].record
    fallback = Author(f"未经修订申请单的修改（{d.to_point.version} 版）", noon(to_record.published))

    def blocks(manual: Manual) -> list[Block]:
        out = []
        for chapter in manual.chapters:
            heading = next((line[2:].split(" {#")[0].strip() for line in chapter.body.split("\n") if line.startswith("# ")), chapter.title)
            out.append(Block(f"ch{chapter.number}", 1, heading, chapter.preamble))
            out += [Block(s.id, 2, f"{s.id} {s.title}", s.body) for s in chapter.sections]
        return out

    def author_of(requests: Sequence[RequestChange], published: dt.date, version: str) -> Author:
        if not requests:
            return Author(f"未经修订申请单的修改（{version} 版）", noon(published))
        names = "、".join(f"{r.id} {r.title}" for r in requests)
        times = [r.approved_at for r in requests if r.approved_at]
        return Author(names, dt.datetime.fromisoformat(max(times)) if times else noon(published))

    old_blocks, new_blocks = blocks(c.old), blocks(c.new)
    old_by_key = {b.key: b for b in old_blocks}
    changed_keys = [b.key for b in new_blocks if b.key in old_by_key and old_by_key[b.key] != b]
    histories: dict[str, BlockHistory] = {}
    for change in d.changes:
        histories[change.id] = BlockHistory(author_of(change.change_requests, to_record.published, d.to_point.version))
        if change.from_id and change.from_id != change.id:
            histories.setdefault(change.from_id, histories[change.id])
    releases = c.entries[c.from_index + 1 : c.to_index + 1]
    if changed_keys and releases:
        # Follow each changed block through every release in between, to attribute each edit.
        commits = [e.commit for e in releases if e.commit is not None]
        c.reader.files_at(commits)
        c.reader.keep_parsed = False  # the texts in between are read once, not worth keeping
        heading_steps: dict[str, list[Step]] = {k: [] for k in changed_keys}
        body_steps: dict[str, list[Step]] = {k: [] for k in changed_keys}
        last = {k: old_by_key[k] for k in changed_keys}
        from manualkit.records.manual_diff import requests_changing

        for entry in releases:
            if entry.commit is None:
                continue
            manual = c.reader.manual(entry.commit)
            if manual is None:
                continue
            now = {b.key: b for b in blocks(manual)}
            for key in changed_keys:
                block = now.get(key)
                if block is None or block == last[key]:
                    continue
                author = author_of(requests_changing({key}, [entry]), entry.record.published, str(entry.record.version))
                if block.heading != last[key].heading:
                    heading_steps[key].append(Step(block.heading, author))
                if block.body != last[key].body:
                    body_steps[key].append(Step(block.body, author))
                last[key] = block
        for key in changed_keys:
            base = histories.get(key, BlockHistory(fallback))
            histories[key] = BlockHistory(base.author, tuple(heading_steps[key]), tuple(body_steps[key]))
    title = f"{c.new.metadata.title}（{c.new.metadata.document_number}）修订对照"
    intro = [
        f"比较：{d.from_point.describe()} → {d.to_point.describe()}",
        f"每处修订的作者为修订申请单号及标题，时间为其批准时间。接受全部修订即得到 {d.to_point.version} 版文本，拒绝全部修订即得到 {d.from_point.version} 版文本。",
    ]
    if d.same_version:
        intro.append("两个时点现行有效的是同一版本，无差异。")
    return redline_docx(
        title=title, intro=intro, old=old_blocks, new=new_blocks, histories=histories, fallback=fallback,
        created=noon(to_record.published),
    )  # fmt: skip

