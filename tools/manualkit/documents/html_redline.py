"""The redline as formatted HTML: each changed section of ``manual diff --format html`` shown as
the manual reads (headings, numbered and bulleted lists, quotes, tables with their 表 captions),
with insertions and deletions marked inside the paragraph or table cell that changed.

Built from the same units as the DOCX redline (:mod:`manualkit.documents.docx.model`), compared
the same way; every text is escaped and no link from the manual becomes live. :func:`render_html`
is the whole page of ``manual diff --format html`` (the records layer only computes the diff,
:mod:`manualkit.records.manual_diff`; its HTML and CSS live here).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from html import escape

from manualkit.documents.docx.blocks import Atom, atom_ops, atoms
from manualkit.documents.docx.model import Paragraph, Segment, Table, Unit, unit_text, units
from manualkit.records.manual_diff import (
    STATUS_ORDER,
    STATUS_TEXT,
    ManualDiff,
    header_text,
    same_version_text,
    signature_line,
)
from manualkit.text.manual import Manual
from manualkit.text.markup import parse
from manualkit.text.redline import changed, to_html

_BULLETS = ("•", "◦", "▪")


def _atoms_html(items: Sequence[Atom]) -> str:
    out = []
    for atom in items:
        if atom.kind == "break":
            out.append("<br>")
            continue
        text = escape(atom.text) if atom.kind != "image" else f"［图：{escape(atom.text)}］"
        if atom.kind == "code":
            text = f"<code>{text}</code>"
        if atom.italic:
            text = f"<em>{text}</em>"
        if atom.bold:
            text = f"<strong>{text}</strong>"
        out.append(text)
    return "".join(out)


def _tracked(old: Sequence[Segment], new: Sequence[Segment]) -> str:
    a, b = atoms(old), atoms(new)
    out = []
    for op, i1, i2, j1, j2 in atom_ops(a, b):  # the one engine that marks characters (text.redline)
        if op == "equal":
            out.append(_atoms_html(b[j1:j2]))
            continue
        if i2 > i1:
            out.append(f'<del class="redline-del">{_atoms_html(a[i1:i2])}</del>')
        if j2 > j1:
            out.append(f'<ins class="redline-ins">{_atoms_html(b[j1:j2])}</ins>')
    return "".join(out)


class _Writer:
    def __init__(self, lists: list[tuple[bool, int, int]]) -> None:
        self.lists = lists
        self.counters: dict[int, int] = {}
        self.out: list[str] = []

    def _prefix(self, unit: Paragraph) -> str:
        if unit.num is None:
            return ""
        num_id, level = unit.num
        ordered, _, start = self.lists[num_id - 1]
        count = self.counters.get(num_id, start - 1) + 1
        self.counters[num_id] = count
        return f"{count}. " if ordered else f"{_BULLETS[level % 3]} "

    def paragraph(self, unit: Paragraph, content: str, kind: str = "") -> None:
        marked = f" redline-{kind}" if kind else ""
        style = unit.style
        if style in ("Heading3", "Heading4"):
            tag = "h4" if style == "Heading3" else "h5"
            self.out.append(f'<{tag} class="mk-unit{marked}">{content}</{tag}>')
            return
        if style == "ListParagraph":
            indent = max(1, unit.left // 480 - 1)
            self.out.append(f'<p class="mk-li{marked}" style="margin-left:{indent * 2}em">{escape(self._prefix(unit))}{content}</p>')
            return
        css = {"Quote": "mk-quote", "TableCaption": "mk-caption", "Figure": "mk-figure"}.get(style, "mk-p")
        self.out.append(f'<p class="{css}{marked}">{content}</p>')

    def table(self, rows: Sequence[tuple[bool, Sequence[str], str]]) -> None:
        body = []
        for header, cells, kind in rows:
            tag = "th" if header else "td"
            marked = f' class="redline-{kind}"' if kind else ""
            body.append(f"<tr{marked}>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
        self.out.append(f'<table class="mk-table">{"".join(body)}</table>')

    def unit(self, unit: Unit, kind: str = "") -> None:
        wrap = {"added": "ins", "removed": "del"}.get(kind)

        def content(segs: Sequence[Segment]) -> str:
            html = _atoms_html(atoms(segs))
            return f'<{wrap} class="redline-{wrap}">{html}</{wrap}>' if wrap and html else html

        if isinstance(unit, Table):
            self.table([(row.header, [content(c.segments) for c in row.cells], kind) for row in unit.rows])
        else:
            self.paragraph(unit, content(unit.segments), kind)

    def paired(self, old: Unit, new: Unit) -> None:
        if isinstance(old, Paragraph) and isinstance(new, Paragraph):
            self.paragraph(new, _tracked(old.segments, new.segments), "changed")
            return
        assert isinstance(old, Table) and isinstance(new, Table)
        keys = [["\x1f".join(unit_text(Paragraph("", c.segments)) for c in row.cells) for row in t.rows] for t in (old, new)]
        rows: list[tuple[bool, Sequence[str], str]] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, keys[0], keys[1], autojunk=False).get_opcodes():
            if op == "equal":
                rows += [(r.header, [_atoms_html(atoms(c.segments)) for c in r.cells], "") for r in new.rows[j1:j2]]
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(pairs):
                o, n = old.rows[i1 + k], new.rows[j1 + k]
                cells = [_tracked(o.cells[c].segments if c < len(o.cells) else (), cell.segments) for c, cell in enumerate(n.cells)]
                rows.append((n.header, cells, "changed"))
            rows += [(o.header, [f'<del class="redline-del">{_atoms_html(atoms(c.segments))}</del>' for c in o.cells], "removed") for o in old.rows[i1 + pairs : i2]]
            rows += [(n.header, [f'<ins class="redline-ins">{_atoms_html(atoms(c.segments))}</ins>' for c in n.cells], "added") for n in new.rows[j1 + pairs : j2]]
        self.table(rows)


def section_html(old_body: str | None, new_body: str | None, chapter: int) -> str:
    """The formatted redline of one section's body (``None``: the section is not in that version)."""
    lists: list[tuple[bool, int, int]] = []
    old = units(parse(old_body), lists, chapter) if old_body is not None else []
    new = units(parse(new_body), lists, chapter) if new_body is not None else []
    writer = _Writer(lists)
    matcher = difflib.SequenceMatcher(None, [unit_text(u) for u in old], [unit_text(u) for u in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for unit in new[j1:j2]:
                writer.unit(unit)
            continue
        olds, news = list(old[i1:i2]), list(new[j1:j2])
        while olds and news and _same_kind(olds[0], news[0]):
            writer.paired(olds.pop(0), news.pop(0))
        for unit in olds:
            writer.unit(unit, "removed")
        for unit in news:
            writer.unit(unit, "added")
    return "\n".join(writer.out)


def _same_kind(a: Unit, b: Unit) -> bool:
    if isinstance(a, Table) and isinstance(b, Table):
        return a.columns == b.columns
    return isinstance(a, Paragraph) and isinstance(b, Paragraph) and a.style == b.style


def section_bodies(old: Manual, new: Manual, changes: Sequence[tuple[str, str | None, str]]) -> dict[str, str]:
    """Formatted redline bodies of the changed sections: ``changes`` holds, per changed section,
    its id, its id in the "from" version (None when added) and its status (added, removed,
    modified, moved)."""
    old_sections = {s.id: (s.body, c.number) for c in old.chapters for s in c.sections}
    new_sections = {s.id: (s.body, c.number) for c in new.chapters for s in c.sections}
    out = {}
    for sid, from_id, status in changes:
        before = old_sections.get(from_id) if from_id and status != "added" else None
        after = new_sections.get(sid) if status != "removed" else None
        chapter = (after or before or ("", 0))[1]
        out[sid] = section_html(before[0] if before else None, after[0] if after else None, chapter)
    return out


_CSS = """
.body.formatted { white-space: normal; } .formatted p { margin: .3em 0; } .formatted .mk-p { text-indent: 2em; }
.formatted .mk-caption { text-align: center; font-weight: bold; margin-top: .8em; }
.formatted .mk-quote { border-left: 4px solid #aaa; background: #f2f2f2; padding: .2em .8em; }
.formatted table.mk-table { border-collapse: collapse; margin: .3em auto 1em; } .formatted .mk-table th, .formatted .mk-table td { border: 1px solid #555; padding: .2em .5em; vertical-align: top; }
.formatted .mk-table th { background: #d9d9d9; } .formatted tr.redline-changed td:first-child, .formatted .redline-changed.mk-p, .formatted p.redline-changed { box-shadow: -6px 0 0 #c00000; }
.formatted .redline-added, .formatted .redline-removed { box-shadow: -6px 0 0 #c00000; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.7; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.status { font-size: .8em; padding: .1em .5em; border-radius: .3em; background: #eee; margin-right: .5em; }
.status-added { background: #d4f4dd; } .status-removed { background: #fbd9d9; } .status-modified { background: #fff0c2; } .status-moved { background: #dde8fb; }
.body { white-space: pre-wrap; background: #fafafa; padding: .8em 1em; border-left: 3px solid #ddd; }
del.redline-del { color: #b00; background: #fde8e8; } ins.redline-ins { color: #060; background: #e6f6e6; text-decoration: underline; }
.requests { font-size: .9em; color: #444; } .warning { color: #b00; font-weight: bold; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2em .6em; }
"""


def render_html(d: ManualDiff, title: str = "销售业务流程规范手册", bodies: Mapping[str, str] | None = None) -> str:
    """The diff as an HTML page. ``bodies`` gives, per section id, the formatted redline of its
    body (headings, lists, tables; :func:`section_bodies`); without one a
    section's body is shown as its text with the inline changes marked."""
    e = escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(title)} 修订对照 {e(d.from_point.version)} → {e(d.to_point.version)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title)} 修订对照</h1>",
        f"<p>{e(header_text(d))}</p>",
    ]
    if d.same_version:
        parts += [f"<p>{e(same_version_text(d))}</p>", "</body></html>"]
        return "\n".join(parts) + "\n"
    counts = d.counts()
    parts.append("<table><tr>" + "".join(f"<th>{STATUS_TEXT[s]}</th>" for s in STATUS_ORDER) + "</tr><tr>")
    parts.append("".join(f"<td>{counts[s]}</td>" for s in STATUS_ORDER) + "</tr></table>")
    for s in d.changes:
        title_html = to_html(s.title_segments) if changed(s.title_segments) else e(s.title)
        moved = f"（原 {e(s.from_id or '')}）" if s.status == "moved" else ""
        parts.append(f'<h2 id="sec-{e(s.id)}"><span class="status status-{s.status}">{STATUS_TEXT[s.status]}</span>{e(s.id)} {title_html}{moved}</h2>')
        if s.unexplained:
            parts.append('<p class="warning">注意：没有任何已发布的修订申请单列出此节的修改</p>')
        for cr in s.change_requests:
            signs = "；".join(e(signature_line(a)) for a in cr.approvals)
            parts.append(f'<p class="requests">修订申请单 <b>{e(cr.id)}</b>「{e(cr.title)}」（{e(cr.version)} 版，{cr.effective.isoformat()} 起实施）<br>签署：{signs}</p>')
        formatted = (bodies or {}).get(s.id)
        parts.append(f'<div class="body formatted">{formatted}</div>' if formatted is not None else f'<div class="body">{to_html(s.body_segments)}</div>')
    unchanged = [s.id for s in d.sections if s.status == "unchanged"]
    if unchanged:
        parts.append(f"<p>未变的节：{e('、'.join(unchanged))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
