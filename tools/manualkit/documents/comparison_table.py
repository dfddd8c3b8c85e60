"""The 修订对照表 (comparison table): one row per changed clause — a heading, a paragraph or list
item, a table row — as a reader cites it, with the text before and after, the reason given by the
change request (修订说明) and its number (修订申请单). Unchanged clauses are left out; a clause
added or removed as a whole says 新增 or 删除.

This is how Chinese companies present a revision to reviewers, the departments that countersign
(会签) and, for rules that concern staff, the 职工代表大会: the clauses are compared with the same
units as the redline (:mod:`manualkit.documents.docx.model`), so the table and the redline agree.

Rendered as Markdown, as an HTML fragment or page (:func:`table_html`, for the staff site too) and
as a DOCX by the document renderer (:func:`table_docx`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from manualkit.documents.docx.model import Paragraph, Row, Table, Unit, plain, unit_text, units
from manualkit.documents.docx.redline import Block, blocks_of
from manualkit.records.history import RequestView
from manualkit.records.manual_diff import match_sections, section_texts
from manualkit.text.clause import Clause, SectionBody, chapter_clauses, clause_at
from manualkit.text.manual import Manual
from manualkit.text.markup import parse
from manualkit.text.metadata import ManualMetadata
from manualkit.text.redline import Segment, inline_diff

if TYPE_CHECKING:
    from manualkit.documents.docx.body import Appendix, Body

COLUMNS = ("序号", "条款", "修订前", "修订后", "修订说明", "修订申请单")
ADDED = "新增"
REMOVED = "删除"


class Request(NamedTuple):
    id: str
    reason: str


class ReleasedRequest(NamedTuple):
    """A change request released between the two versions: its reason (修订说明) and the sections
    it lists (the release record's sections when the request as released does not say)."""

    id: str
    reason: str
    sections: tuple[str, ...]
    # per section id ("3.2", "ch3"): the 处理意见 to the request's 审核意见 on it, for 修订说明
    answers: Mapping[str, str] | None = None


class ComparisonRow(NamedTuple):
    number: int
    clause: str
    before: str
    after: str
    explanation: str
    requests: str


def block_clauses(blocks: Sequence[Block]) -> dict[str, list[Clause]]:
    """Every block's clauses (text.clause), tables numbered per chapter in the blocks' order."""
    return chapter_clauses(SectionBody(b.key if b.level == 2 else f"{b.chapter}.0", b.body, b.chapter) for b in blocks)


def _clauses_of(block: Block, clauses: Mapping[str, list[Clause]]) -> list[Clause]:
    return clauses.get(block.key if block.level == 2 else f"{block.chapter}.0", [])


def _section_label(block: Block) -> str:
    return block.key if block.level == 2 else f"第{block.chapter}章章首"


def _labels(block: Block, items: Sequence[Unit], clauses: Sequence[Clause]) -> list[str]:
    """How a reader cites each unit of a block (text.clause): "3.2 一、第 3 项", "5.1 表 5-1"."""
    out: list[str] = []
    for unit in items:
        found = clause_at(clauses, unit.line) if unit.line else None
        if isinstance(unit, Table) or (isinstance(unit, Paragraph) and unit.style == "TableCaption"):
            found = next((c for c in clauses if c.first == unit.line and "第" not in c.where), found)
        out.append(found.text if found else _section_label(block))
    return out


def _text(unit: Unit) -> str:
    if isinstance(unit, Table):
        return "\n".join(" | ".join(plain(c.segments) for c in row.cells) for row in unit.rows)
    return plain(unit.segments)


def comparison_rows(old: Manual, new: Manual, requests: Mapping[str, Sequence[Request]]) -> list[ComparisonRow]:
    """The rows of the 修订对照表 from ``old`` to ``new``; ``requests`` gives, per section id (or
    "ch3" for a chapter's own text), the change requests that changed it."""
    rows: list[tuple[str, str, str, str]] = []  # clause, before, after, key
    olds, news = blocks_of(old), blocks_of(new)
    old_clauses, new_clauses = block_clauses(olds), block_clauses(news)
    matcher = difflib.SequenceMatcher(None, [b.key for b in olds], [b.key for b in news], autojunk=False)

    # The tables of the chapter before each block, per side: 表 X-N as each version numbers it.
    tables_before = {side: _tables_before(blocks) for side, blocks in ((0, olds), (1, news))}

    def unit_list(block: Block, side: int) -> list[Unit]:
        return units(parse(block.body), [], block.chapter, [tables_before[side][block.key]])

    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            for o in olds[i1:i2]:
                body = "\n".join(_text(u) for u in unit_list(o, 0))
                rows.append((o.heading, f"{o.heading}\n{body}".strip(), REMOVED, o.key))
            for n in news[j1:j2]:
                body = "\n".join(_text(u) for u in unit_list(n, 1))
                rows.append((n.heading, ADDED, f"{n.heading}\n{body}".strip(), n.key))
            continue
        for o, n in zip(olds[i1:i2], news[j1:j2], strict=True):
            if o.heading == n.heading and o.body == n.body:
                continue
            if o.heading != n.heading:
                rows.append((n.heading, o.heading, n.heading, n.key))
            co, cn = _clauses_of(o, old_clauses), _clauses_of(n, new_clauses)
            a, b = unit_list(o, 0), unit_list(n, 1)
            la, lb = _labels(o, a, co), _labels(n, b, cn)
            units_matcher = difflib.SequenceMatcher(None, [unit_text(u) for u in a], [unit_text(u) for u in b], autojunk=False)
            for uop, a1, a2, b1, b2 in units_matcher.get_opcodes():
                if uop == "equal":
                    continue
                pairs = min(a2 - a1, b2 - b1)
                for k in range(pairs):
                    rows += _paired_rows(a[a1 + k], b[b1 + k], la[a1 + k], lb[b1 + k], co, cn, n.key)
                for k in range(a1 + pairs, a2):
                    rows.append((f"{la[k]}（原）", _text(a[k]), REMOVED, n.key))
                for k in range(b1 + pairs, b2):
                    rows.append((lb[k], ADDED, _text(b[k]), n.key))
    out = []
    for number, (clause, before, after, key) in enumerate(rows, start=1):
        found = requests.get(key, ())
        explanation = "；".join(dict.fromkeys(r.reason for r in found if r.reason)) or "—"
        ids = "、".join(dict.fromkeys(r.id for r in found)) or "（无）"
        out.append(ComparisonRow(number, clause, before, after, explanation, ids))
    return out


def _tables_before(blocks: Sequence[Block]) -> dict[str, int]:
    """For each block, the tables of its chapter in the blocks before it (表 X-N numbering)."""
    out: dict[str, int] = {}
    seen: dict[int, int] = {}
    for b in blocks:
        out[b.key] = seen.get(b.chapter, 0)
        seen[b.chapter] = out[b.key] + sum(1 for t in parse(b.body) if t.type == "table_open")
    return out


def released_requests(
    ids: Sequence[str], views: Sequence[RequestView], reasons: Mapping[str, str], sections: Sequence[str], summary: str
) -> list[ReleasedRequest]:
    """The change requests ``ids`` of one release, in its order: each with its reason (from
    ``reasons``, else its title, else the release's summary) and the sections it lists as released
    (``views``; the release's ``sections`` when it does not say)."""
    by_id = {v.id: v for v in views}
    out = []
    for cr_id in ids:
        view = by_id.get(cr_id)
        reason = reasons.get(cr_id) or (view.title if view else summary)
        out.append(ReleasedRequest(cr_id, reason, tuple(view.sections if view else sections)))
    return out


def clause_requests(old: Manual, new: Manual, released: Sequence[ReleasedRequest]) -> dict[str, list[Request]]:
    """Per section id, the change requests (oldest first) that changed it: a section that differs
    between ``old`` and ``new`` (paired as ``manual diff`` pairs them) is credited to each request
    listing its number in either version."""
    out: dict[str, list[Request]] = {}
    for status, before, after in match_sections(section_texts(old), section_texts(new)):
        if status == "unchanged":
            continue
        ids = {s.id for s in (before, after) if s is not None}
        for r in released:
            if ids & set(r.sections):
                for key in ids:
                    note = (r.answers or {}).get(key, "")
                    out.setdefault(key, []).append(Request(r.id, f"{r.reason}；{note}" if note and r.reason else note or r.reason))
    return out


def release_comparison(old: Manual, new: Manual, released: Sequence[ReleasedRequest]) -> list[ComparisonRow]:
    """The 修订对照表 from ``old`` to ``new``, each row with the requests among ``released`` that
    changed its section (``manual diff --layout table``, the staff site and the DOCX appendix)."""
    return comparison_rows(old, new, clause_requests(old, new, released))


def table_title(metadata: ManualMetadata, from_version: str, to_version: str) -> str:
    return f"《{metadata.title}》（{metadata.document_number}）修订对照表　{from_version} → {to_version}"


def _paired_rows(
    old: Unit, new: Unit, old_label: str, label: str, old_clauses: Sequence[Clause], clauses: Sequence[Clause], key: str
) -> list[tuple[str, str, str, str]]:
    if isinstance(old, Table) and isinstance(new, Table):
        a, b = _row_texts(old), _row_texts(new)
        names = [plain(c.segments) for c in new.rows[0].cells] if new.rows and new.rows[0].header else []
        old_names = [plain(c.segments) for c in old.rows[0].cells] if old.rows and old.rows[0].header else []

        def where(table: Table, row: int, found: Sequence[Clause], fallback: str) -> str:
            hit = clause_at(found, table.rows[row].line) if table.rows[row].line else None
            return hit.text if hit else f"{fallback} 第 {row + 1} 行"

        out = []
        for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            pairs = min(a2 - a1, b2 - b1)
            for k in range(pairs):
                before, after = _changed_cells(old.rows[a1 + k], new.rows[b1 + k], old_names, names)
                out.append((where(new, b1 + k, clauses, label), before, after, key))
            out += [(f"{where(old, k, old_clauses, old_label)}（原）", _cells_text(old.rows[k], old_names), REMOVED, key) for k in range(a1 + pairs, a2)]
            out += [(where(new, k, clauses, label), ADDED, _cells_text(new.rows[k], names), key) for k in range(b1 + pairs, b2)]
        return out
    if isinstance(old, Paragraph) and isinstance(new, Paragraph) and old.style == new.style:
        return [(label, _text(old), _text(new), key)]
    return [(label, _text(old), REMOVED, key), (label, ADDED, _text(new), key)]


def _row_texts(table: Table) -> list[str]:
    return [" | ".join(plain(c.segments) for c in row.cells) for row in table.rows]


def _named(names: Sequence[str], index: int) -> str:
    return names[index] if index < len(names) and names[index] else f"第 {index + 1} 列"


def _cells_text(row: Row, names: Sequence[str]) -> str:
    """A whole row, one ``列名：值`` per line (a header row, which names nothing, as its cells)."""
    if row.header or not names:
        return " | ".join(plain(c.segments) for c in row.cells)
    return "\n".join(f"{_named(names, i)}：{plain(c.segments)}" for i, c in enumerate(row.cells))


def _changed_cells(old: Row, new: Row, old_names: Sequence[str], names: Sequence[str]) -> tuple[str, str]:
    """A changed row as ``列名：值`` for the cells that changed, before and after (a header row, or
    a row whose number of cells changed, whole)."""
    if old.header or new.header or len(old.cells) != len(new.cells) or not names:
        return _cells_text(old, old_names), _cells_text(new, names)
    changed = [i for i, (x, y) in enumerate(zip(old.cells, new.cells, strict=True)) if plain(x.segments) != plain(y.segments)]
    before = "\n".join(f"{_named(old_names or names, i)}：{plain(old.cells[i].segments)}" for i in changed)
    after = "\n".join(f"{_named(names, i)}：{plain(new.cells[i].segments)}" for i in changed)
    return before, after


# --------------------------------------------------------------------------- renderings


def marked(row: ComparisonRow) -> tuple[list[Segment], list[Segment]]:
    """修订前 and 修订后 as segments: in 修订前 the deleted characters (``delete``), in 修订后 the
    inserted ones (``insert``), character-granular as ``manual diff`` computes them
    (text.redline.inline_diff); a clause added or removed whole is one unmarked segment."""
    if row.before == ADDED or row.after == REMOVED:
        return [Segment("equal", row.before)], [Segment("equal", row.after)]
    segments = inline_diff(row.before, row.after)
    before = [s for s in segments if s.kind != "insert"]
    after = [s for s in segments if s.kind != "delete"]
    return before, after


#: How the Markdown table marks the change, without raw HTML: deleted text ~~struck through~~,
#: inserted text in **bold** (Markdown has no underline); a line break within a cell is "；".
MARKDOWN_LEGEND = "修订前栏中 ~~删除线~~ 标出删除的文字，修订后栏中 **粗体** 标出新增的文字。"

_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_~[]<>|"})


def _markdown_text(text: str) -> str:
    return html.escape(text, quote=False).translate(_MARKDOWN_SPECIAL).replace("\n", "；")


def _markdown_segments(segments: Sequence[Segment]) -> str:
    out = []
    for s in segments:
        if s.kind == "equal" or not s.text.strip():
            out.append(_markdown_text(s.text))
            continue
        core = s.text.strip()
        lead, trail = s.text[: len(s.text) - len(s.text.lstrip())], s.text[len(s.text.rstrip()) :]
        mark = "~~" if s.kind == "delete" else "**"
        out.append(f"{_markdown_text(lead)}{mark}{_markdown_text(core)}{mark}{_markdown_text(trail)}")
    return "".join(out) or "—"


def table_markdown(rows: Sequence[ComparisonRow], title: str) -> str:
    def cell(text: str) -> str:
        return _markdown_text(text) or "—"

    lines = [f"# {title}", "", MARKDOWN_LEGEND, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        before, after = marked(r)
        cells = [cell(str(r.number)), cell(r.clause), _markdown_segments(before), _markdown_segments(after), cell(r.explanation), cell(r.requests)]
        lines.append("| " + " | ".join(cells) + " |")
    if not rows:
        lines.append("| — | 两个版本之间没有修订 | — | — | — | — |")
    return "\n".join(lines) + "\n"


def _html_segments(segments: Sequence[Segment]) -> str:
    def text(t: str) -> str:
        return html.escape(t).replace("\n", "<br>")

    # The classes of the site's redlines (site.css), so the table marks a change as they do.
    tags = {"delete": ('<del class="redline-del">', "</del>"), "insert": ('<ins class="redline-ins">', "</ins>")}
    return "".join(f"{tags[s.kind][0]}{text(s.text)}{tags[s.kind][1]}" if s.kind in tags else text(s.text) for s in segments)


def table_html(rows: Sequence[ComparisonRow], *, css_class: str = "mk-comparison", labels: bool = False) -> str:
    """The table as an HTML fragment (every text escaped), for a page of its own or the site;
    ``labels``: each cell carries its column's name as ``data-label`` (the site shows each row as
    a card on a narrow screen); ``css_class=""``: a table without a class."""

    def cell(text: str, column: int, kind: str = "", inner: str | None = None) -> str:
        marked = f' class="{kind}"' if kind else ""
        label = f' data-label="{COLUMNS[column]}"' if labels else ""
        return f"<td{label}{marked}>{html.escape(text).replace(chr(10), '<br>') if inner is None else inner}</td>"

    head = "".join(f'<th scope="col">{c}</th>' for c in COLUMNS)
    body = []
    for r in rows:
        before_kind = "mk-added" if r.before == ADDED else ""
        after_kind = "mk-removed" if r.after == REMOVED else ""
        before, after = marked(r)
        body.append(
            f"<tr>{cell(str(r.number), 0)}{cell(r.clause, 1)}{cell(r.before, 2, before_kind, _html_segments(before))}"
            f"{cell(r.after, 3, after_kind, _html_segments(after))}"
            f"{cell(r.explanation, 4)}{cell(r.requests, 5)}</tr>"
        )
    if not rows:
        body.append(f'<tr><td colspan="{len(COLUMNS)}">两个版本之间没有修订</td></tr>')
    table_class = f' class="{css_class}"' if css_class else ""
    return f'<table{table_class}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def table_page(rows: Sequence[ComparisonRow], title: str) -> str:
    style = (
        "body{font-family:'Noto Serif CJK SC','SimSun',serif;margin:2em}"
        "table{border-collapse:collapse;width:100%}th,td{border:1px solid #444;padding:4px 6px;vertical-align:top}"
        "th{background:#d9d9d9;font-family:'Noto Sans CJK SC','SimHei',sans-serif}td:first-child{text-align:center}"
        ".mk-added,.mk-removed{color:#c00000;font-weight:bold}"
        "del{color:#c00000;text-decoration:line-through}ins{color:#0b5394;text-decoration:underline;background:#fff2cc}"
    )
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{table_html(rows)}</body></html>\n"
    )


def table_docx(
    rows: Sequence[ComparisonRow], *, manual: Manual, title: str, intro: Sequence[str], header: str, created: dt.datetime
) -> bytes:
    """The table as a DOCX on landscape A4, by the release document's renderer (styles, header,
    page numbers, repeated header row)."""
    from manualkit.documents.docx.body import LANDSCAPE_TEXT_WIDTH, Body
    from manualkit.documents.docx.package import finish, new_document
    from manualkit.documents.docx.xml import SZ_CHAPTER, run, size, utc_naive
    from manualkit.records.edition import Edition, Status

    document = new_document(manual.metadata.company)
    body = Body(manual, Edition(version="", status=Status.DRAFT, published=None, effective=None), document.part, {})
    body.para("Title", run(title, f"<w:rPr>{size(SZ_CHAPTER)}</w:rPr>"), bar=None)
    for line in intro:
        body.para("FrontNote", run(line), bar=None)
    write_table(body, rows, LANDSCAPE_TEXT_WIDTH, LANDSCAPE_WIDTHS)
    body.end_mark()
    xml = body.body_xml(landscape=True)
    props = document.core_properties
    props.title = title
    props.author = manual.metadata.company
    props.language = "zh-CN"
    props.created = props.modified = utc_naive(created)
    props.revision = 1
    return finish(document, xml, body.lists, header_text=header, marks=["非受控"], watermark_text=None)


#: Column widths (twips) but the last, which takes the rest: A4 across (``manual diff --layout
#: table``) and down (the appendix), where 序号 and a request number (CR-2026-003) stay whole.
LANDSCAPE_WIDTHS = (560, 2200, 4000, 4000, 1900)
PORTRAIT_WIDTHS = (600, 1450, 2300, 2300, 1150)


def write_table(body: Body, rows: Sequence[ComparisonRow], text_width: int, widths: Sequence[int]) -> None:
    """The table into ``body``, ``text_width`` (twips) wide, its header row repeated on each page."""
    from manualkit.documents.docx.xml import RED, run

    BLUE = "0B5394"  # a colour, as xml.RED

    red = f'<w:rPr><w:b/><w:color w:val="{RED}"/></w:rPr>'
    # The change marked as a reviewer reads it: deleted characters struck through, inserted ones
    # underlined, both in colour (not colour alone: a grey printout still shows them).
    looks = {"delete": f'<w:rPr><w:strike/><w:color w:val="{RED}"/></w:rPr>', "insert": f'<w:rPr><w:u w:val="single"/><w:color w:val="{BLUE}"/></w:rPr>'}

    def lines(text: str) -> str:
        if text in (ADDED, REMOVED):
            return run(text, red)
        return "<w:r><w:br/></w:r>".join(run(line) for line in text.split("\n"))

    def marks(segments: Sequence[Segment]) -> str:
        if len(segments) == 1 and segments[0].kind == "equal":
            return lines(segments[0].text)
        out = []
        for s in segments:
            for i, part in enumerate(s.text.split("\n")):
                if i:
                    out.append("<w:r><w:br/></w:r>")
                out.append(run(part, looks.get(s.kind, "")))
        return "".join(out)

    cells = [[(c, run(c), "center") for c in COLUMNS]]
    for r in rows:
        before, after = marked(r)
        cells.append([
            (str(r.number), run(str(r.number)), "center"), (r.clause, lines(r.clause), ""), (r.before, marks(before), ""),
            (r.after, marks(after), ""), (r.explanation, lines(r.explanation), ""), (r.requests, lines(r.requests.replace("、", "\n")), "center"),
        ])  # fmt: skip
    if not rows:
        cells.append([("—", run("—"), "center"), *[("", run("两个版本之间没有修订" if i == 0 else ""), "") for i in range(len(COLUMNS) - 1)]])
    columns = [*widths, text_width - sum(widths)]
    body.out.append(body.table(cells, header_rows=1, columns=len(COLUMNS), widths=columns, compact=True))


APPENDIX_TITLE = "附录　修订对照表"


def appendix(rows: Sequence[ComparisonRow], *, from_version: str, to_version: str) -> Appendix:
    """附录 修订对照表 of a release DOCX: the table against ``from_version``, on the page's width."""
    from manualkit.documents.docx.body import Appendix
    from manualkit.documents.docx.xml import TEXT_WIDTH, run

    def write(body: Body) -> None:
        body.para("FrontNote", run(f"本附录逐条列出 {to_version} 版相对 {from_version} 版修订的条款；未修订的条款不列。修订前栏中删除的文字加删除线，修订后栏中新增的文字加下划线。修订说明为修订申请单所述的修订原因。"), bar=None)
        write_table(body, rows, TEXT_WIDTH, PORTRAIT_WIDTHS)

    return Appendix(APPENDIX_TITLE, write)
