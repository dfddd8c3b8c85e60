"""The manual's text as document blocks: each unit (paragraph, list item, heading, quote,
figure, table with its caption) rendered plainly, or, in a redline, compared with the unit it
replaces and rendered with tracked changes inside the paragraph or the table cell."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import NamedTuple

from markdown_it.token import Token

from manualkit.documents.docx.changes import Author, Changes
from manualkit.documents.docx.inline import Inline
from manualkit.documents.docx.model import Paragraph, Segment, Table, Unit, plain, unit_text, units
from manualkit.documents.docx.paragraphs import Paragraphs
from manualkit.documents.docx.tables import Tables
from manualkit.documents.docx.xml import run
from manualkit.text.redline import Op, edit_ops, tokenize

#: Who made a change: given "insert" or "delete" and the unit's text, the author to record.
Attribution = Callable[[str, str], Author]


class Atom(NamedTuple):
    """The smallest thing a tracked change inserts or deletes: a Chinese character, a Latin word,
    a number, a space or punctuation mark, a line break or an image, with its formatting."""

    kind: str
    text: str
    bold: bool
    italic: bool
    link: bool
    target: str = ""


def atoms(segs: Sequence[Segment]) -> list[Atom]:
    out: list[Atom] = []
    link = 0
    for seg in segs:
        if seg.kind == "link_open":
            link += 1
        elif seg.kind == "link_close":
            link = max(0, link - 1)
        elif seg.kind in ("text", "code"):
            out += [Atom(seg.kind, token, seg.bold, seg.italic, link > 0) for token in tokenize(seg.text)]
        elif seg.kind == "break":
            out.append(Atom("break", "\n", False, False, False))
        elif seg.kind == "image":
            out.append(Atom("image", seg.text, False, False, False, seg.target))
    return out


def atom_ops(a: Sequence[Atom], b: Sequence[Atom]) -> list[Op]:
    """Which atoms a redline marks: :func:`manualkit.text.redline.edit_ops` over the atoms' kind and
    text (formatting alone is no change), as the site's redline and the text diff mark tokens."""
    return edit_ops([(x.kind, x.text) for x in a], [(x.kind, x.text) for x in b], lambda i: a[i].kind == "break" or not a[i].text.strip())


class Blocks(Paragraphs, Tables, Inline, Changes):
    """Mixin: renders units, plainly or with tracked changes."""

    lists: list[tuple[bool, int, int]]

    # ----------------------------------------------------------------- plain

    def blocks(self, tokens: Sequence[Token], chapter: int = 0, tables: list[int] | None = None) -> None:
        """Paragraphs, headings, lists, quotes and tables of one parsed Markdown fragment."""
        for unit in units(tokens, self.lists, chapter, tables):
            self.unit(unit)

    def unit(self, unit: Unit) -> None:
        if isinstance(unit, Table):
            self.out.append(self.manual_table(unit, barred=self.bar is not None))
            self.out.append(self.spacer())
        else:
            self.paragraph(unit, self.inline(unit.segments), self.bar_of(unit, self.bar))

    def manual_table(
        self,
        unit: Table,
        *,
        runs: Sequence[Sequence[str]] | None = None,
        row_marks: Sequence[str] = (),
        barred: bool | Sequence[bool] = False,
        widths_of: Sequence[Sequence[str]] | None = None,
    ) -> str:
        """A table of the manual's text; ``runs`` (per row, per cell) replace the plain runs and
        ``widths_of`` the texts the column widths are fitted to (a changed cell holds both texts)."""
        rows = [
            [
                (widths_of[r][c] if widths_of is not None else plain(cell.segments), runs[r][c] if runs is not None else self.inline(cell.segments), cell.align)
                for c, cell in enumerate(row.cells)
            ]
            for r, row in enumerate(unit.rows)
        ]
        header_rows = sum(1 for row in unit.rows if row.header)
        bars = [barred] * len(rows) if isinstance(barred, bool) else list(barred)
        return self.table(rows, header_rows=header_rows, columns=unit.columns, row_marks=row_marks, barred=bars)

    # ----------------------------------------------------------------- tracked

    def atom_runs(self, items: Sequence[Atom]) -> str:
        out: list[str] = []
        i = 0
        while i < len(items):
            atom = items[i]
            if atom.kind == "break":
                out.append("<w:r><w:br/></w:r>")
                i += 1
            elif atom.kind == "image":
                out.append(self.image(atom.target, atom.text))
                i += 1
            else:  # text of one format, as one run
                j = i
                while j < len(items) and items[j][:1] + items[j][2:5] == atom[:1] + atom[2:5]:
                    j += 1
                text = "".join(a.text for a in items[i:j])
                out.append(run(text, self.rpr(atom.bold, atom.italic, atom.kind == "code", atom.link)))
                i = j
        return "".join(out)

    def tracked_runs(self, old: Sequence[Segment], new: Sequence[Segment], author: Attribution) -> tuple[str, bool]:
        """Runs turning ``old`` into ``new`` (deletions before insertions), and whether any changed."""
        a, b = atoms(old), atoms(new)
        out: list[str] = []
        changed = False
        old_text, new_text = plain(old), plain(new)
        for op, i1, i2, j1, j2 in atom_ops(a, b):
            if op == "equal":
                out.append(self.atom_runs(b[j1:j2]))
                continue
            changed = True
            if i2 > i1:
                out.append(self.deleted(self.atom_runs(a[i1:i2]), author("delete", old_text)))
            if j2 > j1:
                out.append(self.inserted(self.atom_runs(b[j1:j2]), author("insert", new_text)))
        return "".join(out), changed

    def whole(self, unit: Unit, kind: str, author: Attribution) -> None:
        """A unit added or removed as a whole: every run, paragraph mark or table row tracked."""
        who = author(kind, plain(unit.segments) if isinstance(unit, Paragraph) else unit_text(unit))
        wrap = self.inserted if kind == "insert" else self.deleted
        if isinstance(unit, Paragraph):
            self.paragraph(unit, wrap(self.inline_plain(unit.segments), who), self.bar_of(unit, self.bar), mark=self.mark(kind, who))
            return
        runs = [[wrap(self.inline_plain(cell.segments), who) for cell in row.cells] for row in unit.rows]
        marks = [self.mark(kind, who) for _ in unit.rows]
        self.out.append(self.manual_table(unit, runs=runs, row_marks=marks, barred=True))
        self.out.append(self.spacer())

    def inline_plain(self, segs: Sequence[Segment]) -> str:
        """Runs without hyperlinks (tracked text keeps the link's look, not the link)."""
        return self.atom_runs(atoms(segs))

    def paired(self, old: Unit, new: Unit, author: Attribution) -> None:
        """``old`` replaced by ``new`` of the same kind: changes tracked inside the paragraph, or
        inside the cells and rows of the table."""
        if isinstance(old, Paragraph) and isinstance(new, Paragraph):
            content, changed = self.tracked_runs(old.segments, new.segments, author)
            self.paragraph(new, content, self.bar_of(new, self.bar) if changed else None)
            return
        assert isinstance(old, Table) and isinstance(new, Table)
        self.tracked_table(old, new, author)

    def tracked_table(self, old: Table, new: Table, author: Attribution) -> None:
        matcher = difflib.SequenceMatcher(None, _row_keys(old), _row_keys(new), autojunk=False)
        rows: list[tuple[list[str], list[str], str, bool]] = []  # (texts for widths, runs, row mark, barred)
        table_rows = []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                for row in new.rows[j1:j2]:
                    table_rows.append(row)
                    rows.append(([plain(c.segments) for c in row.cells], [self.inline(c.segments) for c in row.cells], "", False))
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for k in range(pairs):
                o, n = old.rows[i1 + k], new.rows[j1 + k]
                cells, texts = [], []
                for c, cell in enumerate(n.cells):
                    before = o.cells[c].segments if c < len(o.cells) else ()
                    cells.append(self.tracked_runs(before, cell.segments, author)[0])
                    texts.append(plain(before) + plain(cell.segments) if plain(before) != plain(cell.segments) else plain(cell.segments))
                table_rows.append(n)
                rows.append((texts, cells, "", True))
            for o in old.rows[i1 + pairs : i2]:
                who = author("delete", "\x1f".join(plain(c.segments) for c in o.cells))
                table_rows.append(o)
                rows.append(([plain(c.segments) for c in o.cells], [self.deleted(self.inline_plain(c.segments), who) for c in o.cells], self.mark("delete", who), True))
            for n in new.rows[j1 + pairs : j2]:
                who = author("insert", "\x1f".join(plain(c.segments) for c in n.cells))
                table_rows.append(n)
                rows.append(([plain(c.segments) for c in n.cells], [self.inserted(self.inline_plain(c.segments), who) for c in n.cells], self.mark("insert", who), True))
        table = Table(tuple(table_rows), max(old.columns, new.columns))
        runs = [cells + [""] * (table.columns - len(cells)) for _, cells, _, _ in rows]
        width_texts = [t + [""] * (table.columns - len(t)) for t, _, _, _ in rows]
        marks = [m for _, _, m, _ in rows]
        self.out.append(self.manual_table(table, runs=runs, row_marks=marks, barred=[b for *_, b in rows], widths_of=width_texts))
        self.out.append(self.spacer())

    def compared(self, old: Sequence[Unit], new: Sequence[Unit], author: Attribution) -> None:
        """The units of ``old`` turned into those of ``new``: unchanged units plainly, changed ones
        paired with what they replace where they are of the same kind, the rest added or removed."""
        matcher = difflib.SequenceMatcher(None, [unit_text(u) for u in old], [unit_text(u) for u in new], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                saved, self.bar = self.bar, None
                for unit in new[j1:j2]:
                    self.unit(unit)
                self.bar = saved
                continue
            olds, news = list(old[i1:i2]), list(new[j1:j2])
            while olds and news and _same_kind(olds[0], news[0]):
                self.paired(olds.pop(0), news.pop(0), author)
            for unit in olds:
                self.whole(unit, "delete", author)
            for unit in news:
                self.whole(unit, "insert", author)


def _row_keys(table: Table) -> list[str]:
    return ["\x1f".join(plain(c.segments) for c in row.cells) for row in table.rows]


def _same_kind(a: Unit, b: Unit) -> bool:
    if isinstance(a, Table) and isinstance(b, Table):
        return a.columns == b.columns
    return isinstance(a, Paragraph) and isinstance(b, Paragraph) and a.style == b.style
