"""A redline DOCX: two versions of the manual as one document with Word tracked changes.

Every difference is a real revision (``w:ins`` / ``w:del``, and for whole paragraphs the
paragraph mark's ``w:rPr/w:ins`` / ``w:rPr/w:del``) whose author is the change request that made
it (its id and title) and whose date is that request's approval, so Word and LibreOffice list
them as changes that can be accepted or rejected one by one. Accepting them all gives exactly the
newer text, rejecting them all exactly the older one.

A section changed by several releases in between is attributed token by token: the text is
followed through each intermediate version (:func:`attributed_diff`), so each insertion and
deletion names the request that made it, and text added and removed again in between does not
appear at all.

Pure: blocks of text in, DOCX bytes out (python-docx for the package and styles; the body is
written as WordprocessingML).
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from manualkit.text.redline import Kind, tokenize

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@dataclass(frozen=True)
class Author:
    """Who made a change, as a tracked change records it."""

    name: str  # "CR-2026-001 缩短报价有效期"
    date: dt.datetime  # the approval


@dataclass(frozen=True)
class Step:
    """One later version of a text and who made it."""

    text: str
    author: Author


@dataclass(frozen=True)
class Piece:
    kind: Kind
    text: str
    author: Author | None = None


@dataclass(frozen=True)
class Block:
    """A chapter heading (level 1) or a section (level 2) with the text under it."""

    key: str  # "ch3" or "3.2"
    level: int
    heading: str
    body: str


@dataclass(frozen=True)
class BlockHistory:
    """How a block got from the old text to the new one: each intermediate version in order
    (the last is the new text). Without steps, a change is attributed to ``author``."""

    author: Author
    headings: tuple[Step, ...] = ()
    bodies: tuple[Step, ...] = ()


@dataclass
class _Item:
    text: str
    origin: Author | None  # None: in the old text
    deleted_by: Author | None = None
    gone: bool = field(default=False)


def attributed_diff(old: str, steps: Sequence[Step]) -> list[Piece]:
    """Old text to the last step's text, each change attributed to the step that made it.

    Accepting every insertion and rejecting nothing gives the last text; keeping only equal
    and deleted pieces gives ``old``.
    """
    items = [_Item(token, None) for token in tokenize(old)]
    for step in steps:
        live = [i for i, item in enumerate(items) if item.deleted_by is None]
        target = tokenize(step.text)
        matcher = difflib.SequenceMatcher(None, [items[i].text for i in live], target, autojunk=False)
        for op, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
            if op == "equal":
                continue
            for k in live[i1:i2]:
                if items[k].origin is None:
                    items[k].deleted_by = step.author
                else:  # inserted by an earlier step, deleted by this one: never in either text
                    items[k].gone = True
            if j2 > j1:
                if i2 > i1:
                    at = live[i2 - 1] + 1
                elif i1 < len(live):
                    at = live[i1]
                else:
                    at = len(items)
                items[at:at] = [_Item(token, step.author) for token in target[j1:j2]]
        items = [item for item in items if not item.gone]
    pieces: list[Piece] = []
    for item in items:
        if item.origin is None and item.deleted_by is None:
            piece = Piece("equal", item.text)
        elif item.origin is None:
            piece = Piece("delete", item.text, item.deleted_by)
        else:
            piece = Piece("insert", item.text, item.origin)
        if pieces and pieces[-1].kind == piece.kind and pieces[-1].author == piece.author:
            pieces[-1] = Piece(piece.kind, pieces[-1].text + piece.text, piece.author)
        else:
            pieces.append(piece)
    return _deletions_first(pieces)


def _deletions_first(pieces: list[Piece]) -> list[Piece]:
    """Within a run of changes, deletions before insertions (~~old~~ new), as readers expect."""
    out: list[Piece] = []
    run: list[Piece] = []
    for piece in [*pieces, Piece("equal", "")]:
        if piece.kind == "equal":
            out += [p for p in run if p.kind == "delete"] + [p for p in run if p.kind == "insert"]
            run = []
            if piece.text:
                out.append(piece)
        else:
            run.append(piece)
    return out


def paragraph_text(body: str) -> str:
    """A body as the redline shows it: one paragraph per non-blank Markdown line."""
    return "\n".join(line for line in body.split("\n") if line.strip())


# --- WordprocessingML ----------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _w_date(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Writer:
    def __init__(self) -> None:
        self.next_id = 1
        self.paragraphs: list[str] = []

    def _attrs(self, author: Author) -> str:
        self.next_id += 1
        return f'w:id="{self.next_id}" w:author="{_esc(author.name)}" w:date="{_w_date(author.date)}"'

    def _run(self, piece: Piece) -> str:
        if not piece.text:
            return ""
        if piece.kind == "equal":
            return f'<w:r><w:t xml:space="preserve">{_esc(piece.text)}</w:t></w:r>'
        assert piece.author is not None
        if piece.kind == "insert":
            return f'<w:ins {self._attrs(piece.author)}><w:r><w:t xml:space="preserve">{_esc(piece.text)}</w:t></w:r></w:ins>'
        return f'<w:del {self._attrs(piece.author)}><w:r><w:delText xml:space="preserve">{_esc(piece.text)}</w:delText></w:r></w:del>'

    def paragraph(self, runs: Sequence[Piece], style: str, mark: Piece | None = None) -> None:
        """One paragraph; ``mark`` (insert/delete with an author) tracks its paragraph mark."""
        mark_xml = ""
        if mark is not None and mark.kind != "equal" and mark.author is not None:
            tag = "w:ins" if mark.kind == "insert" else "w:del"
            mark_xml = f"<w:rPr><{tag} {self._attrs(mark.author)}/></w:rPr>"
        body = "".join(self._run(p) for p in runs)
        self.paragraphs.append(f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{mark_xml}</w:pPr>{body}</w:p>')

    def pieces(self, pieces: Sequence[Piece], style: str, last_mark: Piece | None = None) -> None:
        """Paragraphs from pieces whose text may hold line breaks: a break inside an inserted or
        deleted piece is an inserted or deleted paragraph mark."""
        runs: list[Piece] = []
        for piece in pieces:
            parts = piece.text.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self.paragraph(runs, style, Piece(piece.kind, "", piece.author))
                    runs = []
                if part:
                    runs.append(Piece(piece.kind, part, piece.author))
        self.paragraph(runs, style, last_mark)


_STYLE = {1: "Heading1", 2: "Heading2"}


def _whole(writer: _Writer, block: Block, kind: Kind, author: Author) -> None:
    """A block added or removed as a whole: every run and every paragraph mark tracked."""
    mark = Piece(kind, "", author)
    writer.pieces([Piece(kind, block.heading, author)], _STYLE[block.level], mark)
    body = paragraph_text(block.body)
    if body:
        writer.pieces([Piece(kind, body, author)], "Normal", mark)


def _paired(writer: _Writer, old: Block, new: Block, history: BlockHistory) -> None:
    headings = history.headings or (Step(new.heading, history.author),)
    bodies = history.bodies or (Step(new.body, history.author),)
    writer.pieces(attributed_diff(old.heading, headings) if old.heading != new.heading else [Piece("equal", new.heading)], _STYLE[new.level])
    old_body, new_body = paragraph_text(old.body), paragraph_text(new.body)
    if not old_body and not new_body:
        return
    steps = [Step(paragraph_text(s.text), s.author) for s in bodies]
    pieces = attributed_diff(old_body, steps) if old_body != new_body else [Piece("equal", new_body)]
    if not old_body or not new_body:
        # The body paragraph itself comes or goes: its mark is tracked with it.
        kind: Kind = "insert" if new_body else "delete"
        author = next((p.author for p in pieces if p.author is not None), history.author)
        writer.pieces(pieces, "Normal", Piece(kind, "", author))
    else:
        writer.pieces(pieces, "Normal")


def redline_docx(
    *,
    title: str,
    intro: Sequence[str],
    old: Sequence[Block],
    new: Sequence[Block],
    histories: Mapping[str, BlockHistory],
    fallback: Author,
    created: dt.datetime,
) -> bytes:
    """The redline document from ``old`` to ``new`` (blocks in document order).

    ``histories`` gives, per block key, who changed it (and through which intermediate texts);
    a block without one is attributed to ``fallback``. The document opens with ``title`` and the
    ``intro`` paragraphs and ends with a closing paragraph; in between, accepting all changes gives
    ``new`` and rejecting all gives ``old``.
    """
    writer = _Writer()
    writer.paragraph([Piece("equal", title)], "Title")
    for line in intro:
        writer.paragraph([Piece("equal", line)], "Normal")
    old_keys, new_keys = [b.key for b in old], [b.key for b in new]
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for o, n in zip(old[i1:i2], new[j1:j2], strict=True):
                _paired(writer, o, n, histories.get(n.key, BlockHistory(fallback)))
            continue
        for o in old[i1:i2]:
            _whole(writer, o, "delete", histories.get(o.key, BlockHistory(fallback)).author)
        for n in new[j1:j2]:
            _whole(writer, n, "insert", histories.get(n.key, BlockHistory(fallback)).author)
    writer.paragraph([Piece("equal", "（全文完）")], "Normal")
    return _package(title, writer.paragraphs, created)


def _package(title: str, paragraphs: Sequence[str], created: dt.datetime) -> bytes:
    import docx
    from docx.oxml.ns import qn
    from docx.oxml.parser import parse_xml

    from manualkit.documents.ooxml_package import write_package

    document = docx.Document()
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            fonts = rpr.find(qn("w:rFonts"))
            if fonts is None:
                fonts = parse_xml(f'<w:rFonts xmlns:w="{W_NS}"/>')
                rpr.insert(0, fonts)
            fonts.set(qn("w:eastAsia"), "宋体")
    settings = document.settings.element
    anchor = settings.find(qn("w:defaultTabStop"))
    if anchor is not None and settings.find(qn("w:trackRevisions")) is None:
        anchor.addprevious(parse_xml(f'<w:trackRevisions xmlns:w="{W_NS}"/>'))
    body = document.element.body
    section = body.find(qn("w:sectPr"))
    new_body = parse_xml(f'<w:body xmlns:w="{W_NS}">{"".join(paragraphs)}</w:body>')
    if section is not None:
        new_body.append(section)
    document.element.replace(body, new_body)
    props = document.core_properties
    moment = created.astimezone(dt.UTC).replace(tzinfo=None) if created.tzinfo else created
    props.title = title
    props.author = "manualkit"
    props.last_modified_by = "manualkit"
    props.language = "zh-CN"
    props.revision = 1
    props.created = moment
    props.modified = moment
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        parts = [(name, archive.read(name)) for name in archive.namelist()]
    return write_package(parts)
