"""Two releases compared: the diff between the versions (or the versions in force on two dates),
the tracked-changes redline DOCX and the rows of the 修订对照表.

Both texts are read from the release commits in git, never from the working tree; the cost
depends on the two versions, not on the number of commits between them. ``manual diff``, the
release document's 附录 (``--with-comparison``), the site and the desk use this one comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from manualkit.documents.comparison_table import ComparisonRow
    from manualkit.records.history import ReleaseEntry, ReleaseReader
    from manualkit.records.manual_diff import ManualDiff, Point
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
    from manualkit.base.diagnostics import fail
    from manualkit.records.history import in_force_index, version_index
    from manualkit.records.version import is_version

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
    from manualkit.records.manual_diff import Point

    entry = entries[index]
    r = entry.record
    assert entry.commit is not None
    return Point(asked, day, str(r.version), r.published, r.effective, entry.effective_to, entry.commit, entry.valid)


def released_manual(reader: ReleaseReader, entry: ReleaseEntry) -> Manual:
    from manualkit.base.diagnostics import fail

    if entry.commit is None:
        raise fail(entry.record.path, 0, 0, "MAN680", f"{entry.record.version} 的发布记录不在 git 历史中，无法读取该版本的文本")
    manual = reader.manual(entry.commit)
    if manual is None:
        raise fail(entry.record.path, 0, 0, "MAN683", f"{entry.record.version} 发布时的手册无法加载")
    return manual


def compare_versions(root: Path, from_text: str, to_text: str) -> Comparison:
    from manualkit.base.diagnostics import fail
    from manualkit.records.history import ReleaseReader, release_history
    from manualkit.records.manual_diff import ManualDiff, compare, section_texts

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
    """The DOCX with tracked changes from the "from" text to the "to" text, rendered like the
    release DOCX (see :mod:`manualkit.documents.docx.redline`)."""
    from manualkit.base.clock import noon, zone_or_default
    from manualkit.documents.docx.redline import Author, Step, block_text, render_redline
    from manualkit.records.manual_diff import RequestChange, requests_changing

    c = comparison
    d = c.diff
    to_record = c.entries[c.to_index].record
    to_commit = c.entries[c.to_index].commit
    to_policy = c.reader.policy(to_commit) if to_commit else None
    company_zone = zone_or_default(to_policy.time_zone if to_policy else None)  # the zone of the policy the release was made under

    def author_of(requests: Sequence[RequestChange], published: dt.date, version: str) -> Author:
        if not requests:
            return Author(f"未经修订申请单的修改（{version} 版）", noon(published, company_zone))
        names = "、".join(f"{r.id} {r.title}" for r in requests)
        times = [r.approved_at for r in requests if r.approved_at]
        return Author(names, dt.datetime.fromisoformat(max(times)) if times else noon(published, company_zone))

    fallback = author_of((), to_record.published, d.to_point.version)
    authors: dict[str, Author] = {}
    for change in d.changes:
        authors[change.id] = author_of(change.change_requests, to_record.published, d.to_point.version)
        if change.from_id and change.from_id != change.id:
            authors.setdefault(change.from_id, authors[change.id])
    keys = [f"ch{ch.number}" for ch in c.new.chapters] + [s.id for ch in c.new.chapters for s in ch.sections]
    changed = [k for k in keys if block_text(c.old, k) is not None and block_text(c.old, k) != block_text(c.new, k)]
    steps: dict[str, list[Step]] = {k: [] for k in changed}
    releases = c.entries[c.from_index + 1 : c.to_index + 1]
    if changed and releases:
        # Follow each changed block through every release in between, to attribute each edit.
        c.reader.files_at([e.commit for e in releases if e.commit is not None])
        c.reader.keep_parsed = False  # the texts in between are read once, not worth keeping
        last = {k: block_text(c.old, k) for k in changed}
        for entry in releases:
            manual = c.reader.manual(entry.commit) if entry.commit is not None else None
            if manual is None:
                continue
            for key in changed:
                text = block_text(manual, key)
                if text is None or text == last[key]:
                    continue
                section = key if not key.startswith("ch") else ""
                requests = requests_changing({section}, [entry]) if section else []
                steps[key].append(Step(text, author_of(requests, entry.record.published, str(entry.record.version))))
                last[key] = text
    intro = [
        f"比较：{d.from_point.describe()} → {d.to_point.describe()}",
        f"每处修订的作者为修订申请单号及标题，时间为其批准时间。接受全部修订即得到 {d.to_point.version} 版正文，拒绝全部修订即得到 {d.from_point.version} 版正文。",
    ]
    if d.same_version:
        intro.append("两个时点现行有效的是同一版本，无差异。")
    return render_redline(
        c.old, c.new, from_version=d.from_point.version, to_version=d.to_point.version, intro=intro,
        authors=authors, steps=steps, fallback=fallback, created=noon(to_record.published, company_zone),
    )  # fmt: skip


def comparison_table(comparison: Comparison) -> list[ComparisonRow]:
    """The rows of the 修订对照表 between the two versions, each with the reason (修订说明) and number
    of the change requests that changed its section, read from the "to" release's commit."""
    from manualkit.documents.comparison_table import ReleasedRequest, release_comparison, released_requests

    c = comparison
    commit = c.entries[c.to_index].commit
    departments = tuple(c.new.metadata.departments)
    released: list[ReleasedRequest] = []
    for entry in c.entries[c.from_index + 1 : c.to_index + 1]:
        r = entry.record
        found = (c.reader.request(commit, cr_id, departments) if commit is not None else None for cr_id in r.change_requests)
        reasons = {cr.id: cr.reason.strip() for cr in found if cr is not None}
        released += released_requests(r.change_requests, entry.requests, reasons, r.sections, r.summary)
    if commit is not None:
        notes = answer_notes(c.reader.root, commit)
        released = [q._replace(answers=notes[q.id]) if q.id in notes else q for q in released]
    return release_comparison(c.old, c.new, released)


def answer_notes(root: Path, commit: str) -> dict[str, dict[str, str]]:
    """Per change request and section, the 处理意见 to its 审核意见 as committed in ``commit``
    ("审核意见 CR-2026-004#2 不采纳：理由"), for the 修订说明 column of the 修订对照表."""
    from manualkit.base import git
    from manualkit.records.answers import DECISIONS, review_state

    contents: dict[str, bytes] = {}
    for prefix in ("changelog/opinions/", "changelog/answers/"):
        contents.update(git.read_tree_files(root, commit, prefix)[0])
    records, answers, _ = review_state(contents)
    by_number = {(a.request, a.number): a for a in answers}
    out: dict[str, dict[str, list[str]]] = {}
    for record in records:
        for o in record.opinions:
            a = by_number.get((record.request, o.number))
            if a is None or o.reply_to or not o.section:
                continue
            out.setdefault(record.request, {}).setdefault(o.section, []).append(f"审核意见 {record.request}#{o.number} {DECISIONS[a.decision]}：{a.reason}")
    return {cr: {key: "；".join(notes) for key, notes in sections.items()} for cr, sections in out.items()}


def comparison_table_title(comparison: Comparison) -> str:
    from manualkit.documents.comparison_table import table_title

    d = comparison.diff
    return table_title(comparison.new.metadata, d.from_point.version, d.to_point.version)
