"""What changed between two versions of the manual, section by section.

Sections are matched first by identity of their text, then by number, then by title, then by
similarity, so each section of either version gets one status: ``added``, ``removed``,
``modified``, ``moved`` (the same section under another number, possibly also edited) or
``unchanged``. Inline changes come from :mod:`manualkit.text.redline` (Chinese at character/word
granularity). Each change names the change requests that made it, with their approvals.

Pure: versions, sections and releases in, a :class:`ManualDiff` out; the renderers (text, JSON,
HTML) return strings and never print.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Sequence
from typing import Literal, NamedTuple

from manualkit.records.history import ApprovalView, ReleaseEntry
from manualkit.text.clause import Clause, SectionBody, chapter_clauses, locate
from manualkit.text.manual import Manual
from manualkit.text.redline import Kind, Segment, changed, inline_diff, to_text, tokenize

Status = Literal["added", "removed", "modified", "moved", "unchanged"]
STATUS_ORDER: tuple[Status, ...] = ("modified", "added", "removed", "moved", "unchanged")
STATUS_TEXT: dict[str, str] = {"added": "新增", "removed": "删除", "modified": "修改", "moved": "移动", "unchanged": "未变"}
SIMILAR = 0.6  # body similarity above which an unmatched removed/added pair is one moved section


class SectionText(NamedTuple):
    """One section as compared: ``N.0`` holds a chapter's text before its first section."""

    id: str
    title: str
    body: str
    chapter: int


def section_texts(manual: Manual) -> list[SectionText]:
    out = []
    for chapter in manual.chapters:
        if chapter.preamble:
            out.append(SectionText(f"{chapter.number}.0", f"第{chapter.number}章章首文字", chapter.preamble, chapter.number))
        out += [SectionText(s.id, s.title, s.body, chapter.number) for s in chapter.sections]
    return out


class RequestChange(NamedTuple):
    """A change request that changed a section between the two versions, as released."""

    id: str
    title: str
    class_key: str
    version: str
    published: dt.date
    effective: dt.date
    approvals: tuple[ApprovalView, ...]

    @property
    def approved_at(self) -> str | None:
        """When the last valid approval was signed (the moment the change was approved)."""
        times = sorted(a.signed_at for a in self.approvals if a.valid)
        return times[-1] if times else None

    @property
    def label(self) -> str:
        return f"{self.id} {self.title}"


class SectionChange(NamedTuple):
    id: str
    title: str
    status: Status
    from_id: str | None  # the number in the "from" version (None when added)
    from_title: str | None
    title_segments: tuple[Segment, ...]
    body_segments: tuple[Segment, ...]
    change_requests: tuple[RequestChange, ...] = ()
    clauses: tuple[Clause, ...] = ()  # the clauses of the body shown (text.clause), to locate a change

    @property
    def unexplained(self) -> bool:
        """Changed, yet no released change request lists the section."""
        return self.status != "unchanged" and not self.change_requests


class Point(NamedTuple):
    """One end of the comparison: the version and why it was chosen."""

    asked: str  # what the user wrote (a version or a date)
    date: dt.date | None  # the date asked for (None when a version was named)
    version: str
    published: dt.date
    effective: dt.date
    effective_to: dt.date | None
    commit: str
    valid: bool  # the release passed verification

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "date": (self.date or self.effective).isoformat(),
            "asked": self.asked,
            "published": self.published.isoformat(),
            "effective_from": self.effective.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "commit": self.commit,
            "valid": self.valid,
        }

    def describe(self) -> str:
        until = f"，{self.effective_to.isoformat()} 失效" if self.effective_to else ""
        asked = f"{self.date.isoformat()} 现行有效的 " if self.date else ""
        return f"{asked}{self.version} 版（{self.effective.isoformat()} 起实施{until}）"


class ManualDiff(NamedTuple):
    from_point: Point
    to_point: Point
    sections: tuple[SectionChange, ...]

    @property
    def same_version(self) -> bool:
        return self.from_point.version == self.to_point.version

    @property
    def changes(self) -> list[SectionChange]:
        return [s for s in self.sections if s.status != "unchanged"]

    def counts(self) -> dict[str, int]:
        return {status: sum(s.status == status for s in self.sections) for status in STATUS_ORDER}


# --- matching --------------------------------------------------------------------------------------


def match_sections(old: Sequence[SectionText], new: Sequence[SectionText]) -> list[tuple[Status, SectionText | None, SectionText | None]]:
    """Pair the sections of two versions; the result follows the new order, removed ones where they stood."""
    old_left = {s.id: s for s in old}
    new_left = {s.id: s for s in new}
    pairs: dict[str, tuple[Status, SectionText]] = {}  # new id → (status, old section)

    def pair(status: Status, o: SectionText, n: SectionText) -> None:
        pairs[n.id] = (status, o)
        del old_left[o.id], new_left[n.id]

    for n in list(new_left.values()):
        o = old_left.get(n.id)
        if o is not None and (o.title, o.body) == (n.title, n.body):
            pair("unchanged", o, n)
    by_content = {(o.title, o.body): o for o in reversed(list(old_left.values()))}
    for n in list(new_left.values()):
        o = by_content.get((n.title, n.body))
        if o is not None and o.id in old_left:
            pair("moved", o, n)
    for n in list(new_left.values()):
        o = old_left.get(n.id)
        if o is not None and o.title == n.title:
            pair("modified", o, n)
    for n in list(new_left.values()):
        o = next((o for o in old_left.values() if o.title == n.title), None)
        if o is not None:
            pair("moved", o, n)
    for n in list(new_left.values()):
        o = old_left.get(n.id)
        if o is not None:
            pair("modified", o, n)
    for n in list(new_left.values()):
        best, score = None, SIMILAR
        for o in old_left.values():
            matcher = difflib.SequenceMatcher(None, tokenize(o.body), tokenize(n.body), autojunk=False)
            if matcher.quick_ratio() > score and matcher.ratio() > score:
                best, score = o, matcher.ratio()
        if best is not None:
            pair("moved", best, n)

    old_index = {s.id: i for i, s in enumerate(old)}
    placed_after: dict[str | None, list[SectionText]] = {}
    partner_of_old = {o.id: n_id for n_id, (_, o) in pairs.items()}
    for o in old:
        if o.id in old_left:  # removed: after the new position of the nearest earlier kept section
            earlier = [p.id for p in old[: old_index[o.id]] if p.id in partner_of_old]
            placed_after.setdefault(partner_of_old[earlier[-1]] if earlier else None, []).append(o)
    out: list[tuple[Status, SectionText | None, SectionText | None]] = [("removed", o, None) for o in placed_after.get(None, [])]
    for n in new:
        if n.id in pairs:
            status, o = pairs[n.id]
            out.append((status, o, n))
        else:
            out.append(("added", None, n))
        out += [("removed", o, None) for o in placed_after.get(n.id, [])]
    return out


def _lines(text: str) -> list[str]:
    """Lines with their line break (the last one without), so that joining gives the text back."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def text_diff(old: str, new: str) -> list[Segment]:
    """:func:`~manualkit.text.redline.inline_diff`, line-aligned first: unchanged lines are kept whole and
    only the lines that differ are compared token by token (fast on long sections)."""
    a, b = _lines(old), _lines(new)
    out: list[Segment] = []

    def add(kind: Kind, text: str) -> None:
        if text:
            if out and out[-1].kind == kind:
                out[-1] = Segment(kind, out[-1].text + text)
            else:
                out.append(Segment(kind, text))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            for seg in inline_diff("".join(a[i1:i2]), "".join(b[j1:j2])):
                add(seg.kind, seg.text)
    return out


def compare(
    old: Sequence[SectionText],
    new: Sequence[SectionText],
    releases: Sequence[ReleaseEntry] = (),
) -> list[SectionChange]:
    """Every section of both versions with its status, inline changes and the change requests
    among ``releases`` (those after the old version, up to the new one) that changed it."""
    by_section = requests_by_section(releases)
    matched = match_sections(old, new)
    located: tuple[dict[str, list[Clause]], dict[str, list[Clause]]] = ({}, {})
    if any(status != "unchanged" for status, _, _ in matched):
        located = tuple(chapter_clauses(SectionBody(s.id, s.body, s.chapter) for s in side) for side in (old, new))  # type: ignore[assignment]
    out = []
    for status, o, n in matched:
        shown = n or o
        assert shown is not None
        title_segments = inline_diff(o.title if o else "", n.title if n else "") if status != "unchanged" else ()
        body_segments = text_diff(o.body if o else "", n.body if n else "") if status != "unchanged" else ()
        if status == "moved" and not changed(body_segments) and not changed(title_segments):
            title_segments = body_segments = ()
        ids = {s.id for s in (o, n) if s is not None}
        requests = _changing(ids, by_section) if status != "unchanged" else ()
        out.append(
            SectionChange(
                id=shown.id, title=shown.title, status=status,
                from_id=o.id if o else None, from_title=o.title if o else None,
                title_segments=tuple(title_segments), body_segments=tuple(body_segments), change_requests=requests,
                clauses=tuple(located[1].get(n.id, []) if n else located[0].get(shown.id, [])),
            )
        )  # fmt: skip
    return out


def requests_by_section(releases: Sequence[ReleaseEntry]) -> dict[str, list[tuple[int, RequestChange]]]:
    """For each section id, the released change requests that list it, each with its position
    among all of them (oldest first): one pass over the releases, whatever the number of sections."""
    index: dict[str, list[tuple[int, RequestChange]]] = {}
    position = 0
    for entry in releases:
        r = entry.record
        views = {v.id: v for v in entry.requests}
        for cr_id in r.change_requests:
            view = views.get(cr_id)
            change = RequestChange(
                id=cr_id, title=view.title if view else r.summary, class_key=view.class_key if view else r.class_key,
                version=str(r.version), published=r.published, effective=r.effective,
                approvals=tuple(a for a in entry.approvals if a.change_request == cr_id),
            )  # fmt: skip
            for section in dict.fromkeys(view.sections if view else r.sections):
                index.setdefault(section, []).append((position, change))
            position += 1
    return index


def _changing(section_ids: set[str], by_section: dict[str, list[tuple[int, RequestChange]]]) -> tuple[RequestChange, ...]:
    found = {position: change for sid in section_ids for position, change in by_section.get(sid, ())}
    return tuple(found[p] for p in sorted(found))


def requests_changing(section_ids: set[str], releases: Sequence[ReleaseEntry]) -> tuple[RequestChange, ...]:
    """The released change requests (oldest first) that list any of ``section_ids``."""
    return _changing(section_ids, requests_by_section(releases))


# --- rendering -------------------------------------------------------------------------------------


def header_text(d: ManualDiff) -> str:
    return f"{d.from_point.describe()} → {d.to_point.describe()}"


def _summary(d: ManualDiff) -> str:
    counts = d.counts()
    parts = [f"{STATUS_TEXT[s]} {counts[s]} 节" for s in STATUS_ORDER]
    return f"共 {len(d.sections)} 节：" + "，".join(parts)


def same_version_text(d: ManualDiff) -> str:
    return f"两个时点现行有效的是同一版本 {d.to_point.version}（{d.to_point.effective.isoformat()} 起实施），无差异。"


def signature_line(a: ApprovalView) -> str:
    return f"{a.role} {a.name} {a.signed_at[:16].replace('T', ' ')}{'' if a.valid else '（签名无效）'}"


def changed_lines(segments: Sequence[Segment]) -> list[tuple[int, list[Segment]]]:
    """The lines (1-based in the new text) that hold a change, each as its own segments."""
    lines: list[list[Segment]] = [[]]
    for seg in segments:
        for i, part in enumerate(seg.text.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append(Segment(seg.kind, part))
    out = []
    number = 0
    for line in lines:
        if any(s.kind != "delete" for s in line) or not line:
            number += 1
        # A line whose only change is a line break or blank space says nothing to a reader.
        if any(s.kind != "equal" and s.text.strip() for s in line):
            out.append((max(number, 1), line))
    return out


def _request_lines(cr: RequestChange) -> list[str]:
    lines = [f"  修订申请单 {cr.id}「{cr.title}」（{cr.version} 版，{cr.effective.isoformat()} 起实施）"]
    if cr.approvals:
        lines.append("    签署：" + "；".join(signature_line(a) for a in cr.approvals))
    return lines


def render_text(d: ManualDiff) -> str:
    lines = [f"修订对照：{header_text(d)}"]
    if d.same_version:
        return "\n".join([*lines, same_version_text(d)]) + "\n"
    lines.append(_summary(d))
    described: dict[str, list[str]] = {}  # a change request that changed several sections is listed under each
    for s in d.changes:
        moved = f"（原 {s.from_id}）" if s.status == "moved" else ""
        lines += ["", f"[{STATUS_TEXT[s.status]}] {s.id} {s.title}{moved}"]
        if s.unexplained:
            lines.append("  注意：没有任何已发布的修订申请单列出此节的修改")
        for cr in s.change_requests:
            lines += described.get(cr.id) or described.setdefault(cr.id, _request_lines(cr))
        if changed(s.title_segments):
            lines.append(f"  标题：{to_text(s.title_segments)}")
        if s.status in ("added", "removed"):
            count = len([x for x in (s.body_segments[0].text if s.body_segments else "").split("\n") if x.strip()])
            lines.append(f"  （整节{STATUS_TEXT[s.status]}，正文 {count} 段）")
            continue
        for number, segs in changed_lines(s.body_segments):
            lines.append(f"  {locate(s.clauses, number, s.id)}：{to_text(segs)}")
    return "\n".join(lines) + "\n"


def _approval_dict(a: ApprovalView) -> dict[str, object]:
    return {"role": a.role, "signer": a.signer, "name": a.name, "signed_at": a.signed_at, "valid": a.valid}


def as_dict(d: ManualDiff) -> dict[str, object]:
    return {
        "from": d.from_point.as_dict(),
        "to": d.to_point.as_dict(),
        "same_version": d.same_version,
        "summary": d.counts(),
        "sections": [
            {
                "id": s.id,
                "title": s.title,
                "status": s.status,
                "from_id": s.from_id,
                "from_title": s.from_title,
                "change_requests": [
                    {
                        "id": cr.id, "title": cr.title, "class": cr.class_key, "version": cr.version,
                        "published": cr.published.isoformat(), "effective": cr.effective.isoformat(),
                        "approved_at": cr.approved_at, "approvals": [_approval_dict(a) for a in cr.approvals],
                    }
                    for cr in s.change_requests
                ],
                "unexplained": s.unexplained,
                "redline": {
                    "title": [{"kind": g.kind, "text": g.text} for g in s.title_segments],
                    "body": [{"kind": g.kind, "text": g.text} for g in s.body_segments],
                },
            }
            for s in d.sections
        ],
    }  # fmt: skip


def render_json(d: ManualDiff) -> str:
    return json.dumps(as_dict(d), ensure_ascii=False, indent=2) + "\n"
