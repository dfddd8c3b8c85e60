"""The DOCX copy of one edition of the manual (受控文件的 Word 版本).

:func:`render_docx` turns a :class:`~manualkit.text.manual.Manual` and the
:class:`~manualkit.records.edition.Edition` it belongs to into the bytes of an unsigned DOCX: cover,
sign-off page (签署页), 修订记录, a table of contents, then the chapters. The body is rendered from
the same markdown-it tokens that ``manual check`` inspects (:func:`manualkit.text.markup.parse`), so
what the check accepts is exactly what appears in the document.

python-docx provides the package (parts, relationships, headers and footers, core properties).
The body, the styles and the numbering definitions are written as WordprocessingML text and parsed
once by lxml: no style is ever looked up by name and no run goes through the python-docx object
API, which is where python-docx spends its time on large documents.

The output is reproducible: the same manual, edition and ``generated`` time give the same bytes
(zip entries get fixed timestamps, see :func:`manualkit.documents.ooxml_package.write_package`).
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import docx
from docx.document import Document
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.package import OpcPackage
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.parser import parse_xml
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.document import DocumentPart
from markdown_it.token import Token

from manualkit.documents.ooxml_package import write_package
from manualkit.records.edition import Edition, Signoff, Status
from manualkit.records.revision_table import REVISION_COLUMNS
from manualkit.text.chapter import Chapter, Section
from manualkit.text.manual import MANUAL_DIR, Manual
from manualkit.text.markup import SAFE_SCHEMES, parse

__all__ = ["CUSTOM_PROPERTY_NAMES", "IDENTITY_PROPERTY_NAMES", "render_docx", "signers_property"]

# --------------------------------------------------------------------------- layout

# All lengths in twentieths of a point (twips) unless named otherwise; font sizes in half-points.
PAGE_WIDTH = 11906  # A4
PAGE_HEIGHT = 16838
MARGIN = 1418  # 25 mm
HEADER_DISTANCE = 851  # 15 mm from the page edge
FOOTER_DISTANCE = 851
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
EMU_PER_TWIP = 635

SONG = "宋体"  # body text
HEI = "黑体"  # headings
KAI = "楷体"  # emphasis and notes
LATIN = "Times New Roman"
LATIN_SANS = "Arial"
MONO = "Consolas"

SZ_BODY = 24  # 小四 12 pt
SZ_TABLE = 21  # 五号 10.5 pt
SZ_TITLE = 44  # 二号 22 pt
SZ_CHAPTER = 32  # 三号 16 pt
SZ_SECTION = 28  # 四号 14 pt
SZ_COMPANY = 36  # 小二 18 pt
SZ_SMALL = 18  # 小五 9 pt
SZ_STAMP = 72  # 作废 stamp on the cover, 36 pt

LINE_15 = 360  # 1.5 lines ("auto" rule: 240 = single)
INDENT_2_CHARS = 480  # 2 characters of 小四, the fallback of firstLineChars="200"
LIST_STEP = 480  # each list level moves the number 2 characters right
LIST_HANG = 480  # room for the number ("1." / "（1）") before the text

RED = "C00000"
CHANGE_BAR = f'w:val="single" w:sz="18" w:color="{RED}"'
CHANGE_BAR_SPACE_PT = 8  # the bar sits this far left of the paragraph, i.e. in the margin
HEADER_SHADING = "D9D9D9"

#: Names of the custom document properties (docProps/custom.xml) a verifier reads.
CUSTOM_PROPERTY_NAMES = ("version", "digest", "document_number", "status", "controlled", "generated", "published", "effective", "signers")
#: The properties that name a release (its signed identity, compared by manual verify and by
#: manual audit --witness): not the status or the moment the file was made.
IDENTITY_PROPERTY_NAMES = ("version", "digest", "document_number", "published", "effective", "signers")

ROLE_ORDER = ("编制", "审核", "会签", "批准")

_NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "v": "urn:schemas-microsoft-com:vml",
    "o": "urn:schemas-microsoft-com:office:office",
    "w10": "urn:schemas-microsoft-com:office:word",
}
_W_DECL = f'xmlns:w="{_NS["w"]}"'
_ALL_DECLS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NS.items())

_INVALID_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_HEADING_LINE_RE = re.compile(r"^#\s+(.+?)\s*(?:\{#[A-Za-z][A-Za-z0-9_-]*\})?\s*$", re.MULTILINE)
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def _esc(text: str) -> str:
    """Text or attribute value as XML: markup characters escaped, characters XML forbids dropped."""
    if _INVALID_XML_RE.search(text):
        text = _INVALID_XML_RE.sub("", text)
    return text.translate(_ESCAPES)


def _fonts(east_asia: str, latin: str = LATIN) -> str:
    return f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{east_asia}" w:cs="{latin}"/>'


def _size(half_points: int) -> str:
    return f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'


def _t(text: str) -> str:
    escaped = _esc(text)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<w:t xml:space="preserve">{escaped}</w:t>'
    return f"<w:t>{escaped}</w:t>"


def _run(text: str, rpr: str = "") -> str:
    if not text:
        return ""
    return f"<w:r>{rpr}{_t(text)}</w:r>" if rpr else f"<w:r>{_t(text)}</w:r>"


def _field(instruction: str, cached: str, rpr: str = "") -> str:
    """A complex field (``PAGE``, ``NUMPAGES``, ``PAGEREF x``) with ``cached`` as its result."""
    return (
        f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r>{rpr}<w:instrText xml:space="preserve"> {_esc(instruction)} </w:instrText></w:r>'
        f'<w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r>'
        f"{_run(cached, rpr)}"
        f'<w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r>'
    )


def _ppr(
    style: str,
    *,
    keep_next: bool = False,
    page_break_before: bool = False,
    num: tuple[int, int] | None = None,
    bar: int | None = None,
    tabs: str = "",
    spacing: str = "",
    ind: str = "",
    jc: str = "",
) -> str:
    """A paragraph's ``w:pPr`` with its children in schema order; ``bar`` is the change bar's
    distance from the text in points."""
    parts = [f'<w:pPr><w:pStyle w:val="{style}"/>']
    if keep_next:
        parts.append("<w:keepNext/>")
    if page_break_before:
        parts.append("<w:pageBreakBefore/>")
    if num is not None:
        parts.append(f'<w:numPr><w:ilvl w:val="{num[1]}"/><w:numId w:val="{num[0]}"/></w:numPr>')
    if bar is not None:
        parts.append(f'<w:pBdr><w:left {CHANGE_BAR} w:space="{bar}"/></w:pBdr>')
    if tabs:
        parts.append(tabs)
    if spacing:
        parts.append(spacing)
    if ind:
        parts.append(ind)
    if jc:
        parts.append(f'<w:jc w:val="{jc}"/>')
    parts.append("</w:pPr>")
    return "".join(parts)


def _spacing(before: int, after: int) -> str:
    """Single-spaced lines with the given space before and after (twips)."""
    return f'<w:spacing w:before="{max(before, 0)}" w:after="{after}" w:line="240" w:lineRule="auto"/>'


def _display_width(text: str) -> int:
    """Width in half-width characters: CJK and full-width forms count double."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _bookmark_name(anchor: str) -> str:
    """Word bookmark names allow letters, digits and ``_`` only, at most 40 characters."""
    return re.sub(r"[^A-Za-z0-9_]", "_", anchor)[:40]


def _chapter_bookmark(number: int) -> str:
    return f"chap_{number}"


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else "—"


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    """What python-docx writes as W3CDTF ``...Z``: the UTC time without tzinfo."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- styles


def _style(
    kind: str,
    style_id: str,
    name: str,
    *,
    based_on: str | None = None,
    next_style: str | None = None,
    ppr: str = "",
    rpr: str = "",
    extra: str = "",
    default: bool = False,
    priority: int | None = None,
) -> str:
    attrs = ' w:default="1"' if default else ""
    out = [f'<w:style w:type="{kind}"{attrs} w:styleId="{style_id}"><w:name w:val="{name}"/>']
    if based_on:
        out.append(f'<w:basedOn w:val="{based_on}"/>')
    if next_style:
        out.append(f'<w:next w:val="{next_style}"/>')
    if priority is not None:
        out.append(f'<w:uiPriority w:val="{priority}"/>')
    out.append("<w:qFormat/>")
    if ppr:
        out.append(f"<w:pPr>{ppr}</w:pPr>")
    if rpr:
        out.append(f"<w:rPr>{rpr}</w:rPr>")
    out.append(extra)
    out.append("</w:style>")
    return "".join(out)


def _styles_xml() -> str:
    """The complete ``w:styles``: docDefaults and every style the writer uses, each naming its
    East Asian font (w:eastAsia) as well as the Latin ones."""
    lang = '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
    body_fonts = _fonts(SONG)
    hei = _fonts(HEI, LATIN_SANS)
    no_indent = '<w:ind w:firstLine="0" w:firstLineChars="0"/>'
    single = '<w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>'
    right_tab = f'<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{TEXT_WIDTH}"/></w:tabs>'
    border = 'w:val="single" w:sz="4" w:space="0" w:color="000000"'
    table_borders = (
        f"<w:tblBorders><w:top {border}/><w:left {border}/><w:bottom {border}/><w:right {border}/>"
        f"<w:insideH {border}/><w:insideV {border}/></w:tblBorders>"
    )
    cell_margins = (
        '<w:tblCellMar><w:top w:w="28" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
        '<w:bottom w:w="28" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
    )
    styles = [
        _style("paragraph", "Normal", "Normal", default=True,
               ppr=f'<w:spacing w:before="0" w:after="0" w:line="{LINE_15}" w:lineRule="auto"/><w:jc w:val="both"/>',
               rpr=f"{body_fonts}{_size(SZ_BODY)}{lang}"),
        _style("character", "DefaultParagraphFont", "Default Paragraph Font", default=True, priority=1),
        _style("table", "TableNormal", "Normal Table", default=True, priority=99,
               extra='<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
                     '<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/>'
                     '<w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr>'),
        _style("numbering", "NoList", "No List", default=True, priority=99),
        _style("paragraph", "BodyText", "Body Text", based_on="Normal", priority=1,
               ppr=f'<w:ind w:firstLine="{INDENT_2_CHARS}" w:firstLineChars="200"/>',
               rpr=f"{body_fonts}{_size(SZ_BODY)}"),
        _style("paragraph", "Title", "Title", based_on="Normal", next_style="BodyText", priority=10,
               ppr=f'<w:spacing w:before="240" w:after="240" w:line="{LINE_15}" w:lineRule="auto"/>{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}<w:b/><w:bCs/>{_size(SZ_TITLE)}"),
        _style("paragraph", "Heading1", "heading 1", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:pageBreakBefore/><w:spacing w:before="240" w:after="360" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="center"/><w:outlineLvl w:val="0"/>',
               rpr=f"{hei}{_size(SZ_CHAPTER)}"),
        _style("paragraph", "Heading2", "heading 2", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="120" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="left"/><w:outlineLvl w:val="1"/>',
               rpr=f"{hei}{_size(SZ_SECTION)}"),
        _style("paragraph", "Heading3", "heading 3", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:spacing w:before="120" w:after="0" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'<w:ind w:firstLine="{INDENT_2_CHARS}" w:firstLineChars="200"/><w:jc w:val="left"/><w:outlineLvl w:val="2"/>',
               rpr=f"{hei}{_size(SZ_BODY)}"),
        _style("paragraph", "Heading4", "heading 4", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:ind w:firstLine="{INDENT_2_CHARS}" w:firstLineChars="200"/>'
                   '<w:jc w:val="left"/><w:outlineLvl w:val="3"/>',
               rpr=f"{_fonts(KAI)}<w:b/><w:bCs/>{_size(SZ_BODY)}"),
        _style("paragraph", "ListParagraph", "List Paragraph", based_on="Normal", priority=34,
               ppr=f"{no_indent}", rpr=f"{body_fonts}{_size(SZ_BODY)}"),
        _style("paragraph", "Quote", "Quote", based_on="Normal", next_style="BodyText", priority=29,
               ppr='<w:pBdr><w:left w:val="single" w:sz="18" w:space="6" w:color="A6A6A6"/></w:pBdr>'
                   '<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/>'
                   f'<w:spacing w:before="60" w:after="60" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'<w:ind w:left="{INDENT_2_CHARS}" w:right="{INDENT_2_CHARS // 2}" w:firstLine="0" w:firstLineChars="0"/>',
               rpr=f"{_fonts(KAI)}{_size(SZ_BODY)}"),
        _style("paragraph", "Figure", "图片", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/>{no_indent}<w:jc w:val="center"/>', rpr=body_fonts),
        _style("paragraph", "TableText", "表格文字", based_on="Normal",
               ppr=f"{single}{no_indent}<w:jc w:val=\"left\"/>", rpr=f"{body_fonts}{_size(SZ_TABLE)}"),
        _style("paragraph", "TableHeader", "表格标题行", based_on="TableText",
               ppr='<w:keepNext/><w:jc w:val="center"/>', rpr=f"{_fonts(HEI, LATIN_SANS)}{_size(SZ_TABLE)}"),
        _style("paragraph", "FrontTitle", "前置页标题", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/><w:pageBreakBefore/><w:spacing w:before="240" w:after="360" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}{_size(SZ_CHAPTER)}"),
        _style("paragraph", "FrontNote", "前置页说明", based_on="Normal",
               ppr=f'<w:spacing w:before="120" w:after="120" w:line="{LINE_15}" w:lineRule="auto"/>{no_indent}',
               rpr=f"{body_fonts}{_size(SZ_TABLE)}"),
        _style("paragraph", "CoverText", "封面文字", based_on="Normal",
               ppr=f'{single}{no_indent}<w:jc w:val="center"/>', rpr=f"{body_fonts}{_size(SZ_SECTION)}"),
        _style("paragraph", "CoverCompany", "封面公司名称", based_on="CoverText",
               ppr='<w:spacing w:before="960" w:after="0" w:line="240" w:lineRule="auto"/>',
               rpr=f"{hei}<w:spacing w:val=\"40\"/>{_size(SZ_COMPANY)}"),
        _style("paragraph", "CoverMark", "封面状态标记", based_on="CoverText",
               ppr='<w:spacing w:before="240" w:after="0" w:line="240" w:lineRule="auto"/>',
               rpr=f"{hei}<w:b/><w:bCs/><w:color w:val=\"{RED}\"/>{_size(SZ_CHAPTER)}"),
        _style("paragraph", "TOCHeading", "TOC Heading", based_on="Normal", next_style="BodyText", priority=39,
               ppr=f'<w:keepNext/><w:pageBreakBefore/><w:spacing w:before="240" w:after="360" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}{_size(SZ_CHAPTER)}"),
        _style("paragraph", "TOC1", "toc 1", based_on="Normal", next_style="BodyText", priority=39,
               ppr=f'{right_tab}<w:spacing w:before="120" w:after="0" w:line="{LINE_15}" w:lineRule="auto"/>{no_indent}<w:jc w:val="left"/>',
               rpr=f"{hei}{_size(SZ_BODY)}"),
        _style("paragraph", "TOC2", "toc 2", based_on="Normal", next_style="BodyText", priority=39,
               ppr=f'{right_tab}<w:ind w:left="{INDENT_2_CHARS}" w:firstLine="0" w:firstLineChars="0"/><w:jc w:val="left"/>',
               rpr=f"{body_fonts}{_size(SZ_BODY)}"),
        _style("paragraph", "Header", "header", based_on="Normal", priority=99,
               ppr='<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="000000"/></w:pBdr>'
                   f'<w:tabs><w:tab w:val="center" w:pos="{TEXT_WIDTH // 2}"/><w:tab w:val="right" w:pos="{TEXT_WIDTH}"/></w:tabs>'
                   f'{single}{no_indent}<w:jc w:val="center"/>',
               rpr=f"{body_fonts}{_size(SZ_SMALL)}"),
        _style("paragraph", "Footer", "footer", based_on="Normal", priority=99,
               ppr=f'{single}{no_indent}<w:jc w:val="center"/>', rpr=f"{body_fonts}{_size(SZ_SMALL)}"),
        _style("paragraph", "RevisionNote", "本版修订标注", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/>{single}{no_indent}<w:jc w:val="left"/>',
               rpr=f'{_fonts(HEI, LATIN_SANS)}<w:color w:val="{RED}"/>{_size(SZ_SMALL)}'),
        _style("character", "Hyperlink", "Hyperlink", based_on="DefaultParagraphFont", priority=99,
               rpr='<w:color w:val="0563C1"/><w:u w:val="single"/>'),
        _style("character", "InlineCode", "行内代码", based_on="DefaultParagraphFont",
               rpr=f'{_fonts(SONG, MONO)}<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/>'),
        _style("table", "ManualTable", "手册表格", based_on="TableNormal", priority=59,
               ppr=f"{single}{no_indent}",
               rpr=f"{body_fonts}{_size(SZ_TABLE)}",
               extra=f"<w:tblPr>{table_borders}{cell_margins}</w:tblPr>"
                     '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:bCs/></w:rPr>'
                     f'<w:tblPr/><w:trPr><w:tblHeader/></w:trPr><w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{HEADER_SHADING}"/></w:tcPr></w:tblStylePr>'),
    ]  # fmt: skip
    defaults = (
        f'<w:docDefaults><w:rPrDefault><w:rPr>{body_fonts}<w:kern w:val="2"/>{_size(SZ_BODY)}{lang}</w:rPr></w:rPrDefault>'
        f'<w:pPrDefault><w:pPr><w:spacing w:line="{LINE_15}" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>'
    )
    return f"<w:styles {_W_DECL}>{defaults}{''.join(styles)}</w:styles>"


# --------------------------------------------------------------------------- numbering

_BULLETS = ("•", "◦", "▪")
_ORDERED = (("decimal", "%{n}."), ("decimal", "（%{n}）"), ("lowerLetter", "%{n})"))
_LEVELS = 9


def _numbering_xml(lists: Sequence[tuple[bool, int, int]]) -> str:
    """Two abstract definitions (bullets, decimal; nine levels each, three formats repeated) and
    one ``w:num`` per list of the manual, restarting at its own level."""
    abstract = []
    for abstract_id, ordered in ((1, False), (2, True)):
        levels = []
        for level in range(_LEVELS):
            left = LIST_STEP * (level + 1) + LIST_HANG
            ind = f'<w:ind w:left="{left}" w:hanging="{LIST_HANG}"/>'
            tab = f'<w:tabs><w:tab w:val="num" w:pos="{left}"/></w:tabs>'
            if ordered:
                fmt, text = _ORDERED[level % 3]
                lvl_text = text.format(n=level + 1)
                rpr = f"<w:rPr>{_fonts(SONG)}</w:rPr>"
            else:
                fmt, lvl_text = "bullet", _BULLETS[level % 3]
                rpr = f"<w:rPr>{_fonts(SONG, LATIN_SANS)}</w:rPr>"
            levels.append(
                f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f'<w:lvlText w:val="{_esc(lvl_text)}"/><w:lvlJc w:val="left"/><w:pPr>{tab}{ind}</w:pPr>{rpr}</w:lvl>'
            )
        abstract.append(
            f'<w:abstractNum w:abstractNumId="{abstract_id}"><w:multiLevelType w:val="multilevel"/>'
            f"{''.join(levels)}</w:abstractNum>"
        )
    nums = []
    for num_id, (ordered, level, start) in enumerate(lists, start=1):
        nums.append(
            f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{2 if ordered else 1}"/>'
            f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride></w:num>'
        )
    return f"<w:numbering {_W_DECL}>{''.join(abstract)}{''.join(nums)}</w:numbering>"


# --------------------------------------------------------------------------- package furniture

_FONT_TABLE = (
    f"<w:fonts {_W_DECL}>"
    '<w:font w:name="宋体"><w:altName w:val="SimSun"/><w:panose1 w:val="02010600030101010101"/><w:charset w:val="86"/>'
    '<w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>'
    '<w:font w:name="黑体"><w:altName w:val="SimHei"/><w:panose1 w:val="02010609060101010101"/><w:charset w:val="86"/>'
    '<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>'
    '<w:font w:name="楷体"><w:altName w:val="KaiTi"/><w:panose1 w:val="02010609060101010101"/><w:charset w:val="86"/>'
    '<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>'
    '<w:font w:name="Times New Roman"><w:panose1 w:val="02020603050405020304"/><w:charset w:val="00"/>'
    '<w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>'
    '<w:font w:name="Arial"><w:panose1 w:val="020B0604020202020204"/><w:charset w:val="00"/>'
    '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>'
    '<w:font w:name="Consolas"><w:panose1 w:val="020B0609020204030204"/><w:charset w:val="00"/>'
    '<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>'
    "</w:fonts>"
)

_SETTINGS = (
    f"<w:settings {_W_DECL}>"
    '<w:zoom w:percent="100"/>'
    '<w:defaultTabStop w:val="420"/>'
    '<w:characterSpacingControl w:val="compressPunctuation"/>'
    # The table of contents is pre-filled without page numbers; Word fills them in on opening.
    '<w:updateFields w:val="true"/>'
    '<w:compat><w:useFELayout/><w:compatSetting w:name="compatibilityMode" '
    'w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>'
    '<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/>'
    '<w:decimalSymbol w:val="."/><w:listSeparator w:val=","/>'
    "</w:settings>"
)

# Word's own shape type for WordArt watermarks ("PowerPlusWaterMarkObject").
_WATERMARK_SHAPETYPE = (
    '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
    'path="m@7,l@8,m@5,21600l@6,21600e"><v:formulas>'
    + "".join(
        f'<v:f eqn="{eqn}"/>'
        for eqn in (
            "sum #0 0 10800", "prod #0 2 1", "sum 21600 0 @1", "sum 0 0 @2", "sum 21600 0 @3",
            "if @0 @3 0", "if @0 21600 @1", "if @0 0 @2", "if @0 @4 21600", "mid @5 @6",
            "mid @8 @5", "mid @7 @8", "mid @6 @7", "sum @6 0 @5",
        )
    )
    + '</v:formulas><v:path textpathok="t" o:connecttype="custom" '
    'o:connectlocs="@9,0;@10,10800;@11,21600;@12,10800" o:connectangles="270,180,90,0"/>'
    '<v:textpath on="t" fitshape="t"/><v:handles><v:h position="#0,bottomRight" xrange="6629,14971"/></v:handles>'
    '<o:lock v:ext="edit" text="t" shapetype="t"/></v:shapetype>'
)  # fmt: skip


def _watermark(text: str, index: int) -> str:
    """A large pale diagonal text behind the page, anchored in the header (Word's watermark)."""
    return (
        f"<w:r><w:rPr><w:noProof/></w:rPr><w:pict>{_WATERMARK_SHAPETYPE}"
        f'<v:shape id="PowerPlusWaterMarkObject{index}" o:spid="_x0000_s{2048 + index}" type="#_x0000_t136" '
        'style="position:absolute;margin-left:0;margin-top:0;width:415pt;height:207pt;rotation:315;'
        "z-index:-251657216;mso-position-horizontal:center;mso-position-horizontal-relative:margin;"
        'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
        'fillcolor="#d8d8d8" stroked="f"><v:fill opacity=".5"/>'
        f'<v:textpath style="font-family:&quot;{HEI}&quot;;font-size:1pt" string="{_esc(text)}"/>'
        '<w10:wrap anchorx="margin" anchory="margin"/></v:shape></w:pict></w:r>'
    )


def _app_xml(company: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"<Application>manualkit</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
        f"<Company>{_esc(company)}</Company><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
        "<HyperlinksChanged>false</HyperlinksChanged></Properties>"
    ).encode()


def _custom_xml(properties: Sequence[tuple[str, str]]) -> bytes:
    items = "".join(
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" '
        f'pid="{pid}" name="{_esc(name)}"><vt:lpwstr>{_esc(value)}</vt:lpwstr></property>'
        for pid, (name, value) in enumerate(properties, start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        f'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{items}</Properties>'
    ).encode()


# --------------------------------------------------------------------------- body


class _Inherit:
    """Marker type: take the setting of the enclosing section."""


_INHERIT = _Inherit()


@dataclass
class _ListLevel:
    num_id: int
    level: int
    numbered: bool = False  # the current item already has its numbered paragraph


class _Body:
    """Writes the document body as WordprocessingML text, one block at a time."""

    def __init__(self, manual: Manual, edition: Edition, part: DocumentPart, images: Mapping[str, bytes]) -> None:
        self.manual = manual
        self.edition = edition
        self.part = part
        self.images = images
        self.out: list[str] = []
        self.lists: list[tuple[bool, int, int]] = []  # (ordered, level, start) per numId - 1
        self._bookmark_id = 0
        self._drawing_id = 0
        self._path = ""  # chapter file being rendered, for relative links and images
        self._bar: int | None = None  # change bar spacing while in a changed section
        self._rpr_cache: dict[tuple[bool, bool, bool, bool], str] = {}
        self._chapter_bookmarks = {posixpath.basename(c.path): _chapter_bookmark(c.number) for c in manual.chapters}

    # ----------------------------------------------------------------- primitives

    def para(
        self,
        style: str,
        content: str,
        *,
        bar: int | _Inherit | None = _INHERIT,
        num: tuple[int, int] | None = None,
        tabs: str = "",
        spacing: str = "",
        ind: str = "",
        jc: str = "",
    ) -> None:
        """One paragraph; ``bar`` defaults to the change bar of the section being rendered."""
        spacing_pt = self._bar if isinstance(bar, _Inherit) else bar
        ppr = _ppr(style, num=num, bar=spacing_pt, tabs=tabs, spacing=spacing, ind=ind, jc=jc)
        self.out.append(f"<w:p>{ppr}{content}</w:p>")

    def bookmark(self, name: str, content: str) -> str:
        self._bookmark_id += 1
        i = self._bookmark_id
        return f'<w:bookmarkStart w:id="{i}" w:name="{name}"/>{content}<w:bookmarkEnd w:id="{i}"/>'

    def _rpr(self, bold: bool, italic: bool, code: bool, link: bool) -> str:
        key = (bold, italic, code, link)
        cached = self._rpr_cache.get(key)
        if cached is None:
            style = "Hyperlink" if link else "InlineCode" if code else ""
            parts = [f'<w:rStyle w:val="{style}"/>' if style else ""]
            if italic:
                parts.append(f'<w:rFonts w:eastAsia="{KAI}"/>')
            if bold:
                parts.append("<w:b/><w:bCs/>")
            if italic:
                parts.append("<w:i/><w:iCs/>")
            inner = "".join(parts)
            cached = f"<w:rPr>{inner}</w:rPr>" if inner else ""
            self._rpr_cache[key] = cached
        return cached

    # ----------------------------------------------------------------- inline

    def inline(self, children: Sequence[Token] | None) -> str:
        """Runs (and hyperlinks) of one paragraph, heading or cell."""
        out: list[str] = []
        bold = italic = 0
        links: list[bool] = []  # per open link: whether it became a w:hyperlink
        last = ""
        tokens = children or []
        for index, tok in enumerate(tokens):
            t = tok.type
            live = any(links)
            if t == "text":
                out.append(_run(tok.content, self._rpr(bold > 0, italic > 0, False, live)))
                last = tok.content or last
            elif t == "softbreak":
                nxt = next((c.content for c in tokens[index + 1 :] if c.content), "")
                # A line break inside Chinese text is no space; between Latin words it is one.
                if last and nxt and last[-1].isascii() and nxt[0].isascii() and not last[-1].isspace():
                    out.append(_run(" ", self._rpr(bold > 0, italic > 0, False, live)))
            elif t == "hardbreak":
                out.append("<w:r><w:br/></w:r>")
            elif t == "strong_open":
                bold += 1
            elif t == "strong_close":
                bold -= 1
            elif t == "em_open":
                italic += 1
            elif t == "em_close":
                italic -= 1
            elif t == "code_inline":
                out.append(_run(tok.content, self._rpr(bold > 0, italic > 0, True, live)))
                last = tok.content or last
            elif t == "link_open":
                opening = self._link_open(str(tok.attrs.get("href", "")))
                out.append(opening)
                links.append(bool(opening))
            elif t == "link_close":
                if links and links.pop():
                    out.append("</w:hyperlink>")
            elif t == "image":
                out.append(self._image(str(tok.attrs.get("src", "")), tok.content))
            elif t == "html_inline":  # outside the subset (the check reports it): shown as text
                out.append(_run(tok.content, self._rpr(bold > 0, italic > 0, False, live)))
        return "".join(out)

    def _link_open(self, href: str) -> str:
        m = _SCHEME_RE.match(href.strip())
        if m:
            if m.group(1).lower() not in SAFE_SCHEMES:
                return ""  # never a live link to javascript: and the like (the check rejects them)
            rid = self.part.relate_to(href.strip(), RT.HYPERLINK, is_external=True)
            return f'<w:hyperlink r:id="{rid}" w:history="1">'
        target, _, anchor = href.partition("#")
        if anchor:
            bookmark = _bookmark_name(anchor)
        elif target:
            bookmark = self._chapter_bookmarks.get(posixpath.basename(target), "")
        else:
            bookmark = ""
        return f'<w:hyperlink w:anchor="{bookmark}" w:history="1">' if bookmark else ""

    def _image(self, src: str, alt: str) -> str:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(self._path) or MANUAL_DIR, src))
        blob = self.images.get(resolved)
        if blob is None:
            return _run(f"［图：{alt or src}］")
        rid, image = self.part.get_or_add_image(io.BytesIO(blob))
        cx, cy = int(image.width), int(image.height)
        max_cx = TEXT_WIDTH * EMU_PER_TWIP
        if cx > max_cx:
            cx, cy = max_cx, int(cy * max_cx / cx)
        self._drawing_id += 1
        i = self._drawing_id
        name = _esc(posixpath.basename(resolved))
        return (
            f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
            f'<wp:docPr id="{i}" name="图片 {i}" descr="{_esc(alt)}"/><wp:cNvGraphicFramePr>'
            '<a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr><a:graphic>'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
            f'<pic:nvPicPr><pic:cNvPr id="0" name="{name}"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData>'
            "</a:graphic></wp:inline></w:drawing></w:r>"
        )

    # ----------------------------------------------------------------- blocks

    def blocks(self, tokens: Sequence[Token]) -> None:
        """Paragraphs, headings, lists, quotes and tables of one parsed Markdown fragment."""
        lists: list[_ListLevel] = []
        quote = 0
        i = 0
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            t = tok.type
            if t == "paragraph_open":
                inline = tokens[i + 1]
                self._paragraph(self.inline(inline.children), inline.children, lists, quote)
                i += 3
                continue
            if t == "heading_open":
                level = min(max(int(tok.tag[1:]), 3), 4)  # sections own levels 1 and 2
                content = self.inline(tokens[i + 1].children)
                self.para(f"Heading{level}", content)
                i += 3
                continue
            if t in ("bullet_list_open", "ordered_list_open"):
                ordered = t == "ordered_list_open"
                start = int(tok.attrs.get("start", 1) or 1) if ordered else 1
                level = min(len(lists), _LEVELS - 1)
                self.lists.append((ordered, level, start))
                lists.append(_ListLevel(len(self.lists), level))
            elif t in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
            elif t == "list_item_open":
                lists[-1].numbered = False
            elif t == "list_item_close":
                if not lists[-1].numbered:  # an empty item still shows its number
                    self._paragraph("", None, lists, quote)
            elif t == "blockquote_open":
                quote += 1
            elif t == "blockquote_close":
                quote -= 1
            elif t == "table_open":
                j = i
                while tokens[j].type != "table_close":
                    j += 1
                self._table(tokens[i : j + 1])
                i = j + 1
                continue
            elif t in ("fence", "code_block", "html_block"):
                # Outside the subset (the check reports them); shown as text rather than lost.
                for line in tok.content.rstrip("\n").split("\n"):
                    self.para("BodyText", _run(line, self._rpr(False, False, True, False)))
            i += 1

    def _paragraph(self, content: str, children: Sequence[Token] | None, lists: list[_ListLevel], quote: int) -> None:
        if lists:
            current = lists[-1]
            left = LIST_STEP * (current.level + 1) + LIST_HANG
            if not current.numbered:
                current.numbered = True
                bar = None if self._bar is None else min(31, CHANGE_BAR_SPACE_PT + (left - LIST_HANG) // 20)
                self.para("ListParagraph", content, num=(current.num_id, current.level), bar=bar)
            else:
                bar = None if self._bar is None else min(31, CHANGE_BAR_SPACE_PT + left // 20)
                self.para("ListParagraph", content, ind=f'<w:ind w:left="{left}"/>', bar=bar)
        elif quote:
            self.para("Quote", content)
        elif children is not None and len(children) == 1 and children[0].type == "image":
            self.para("Figure", content)
        else:
            self.para("BodyText", content)

    def _table(self, tokens: Sequence[Token]) -> None:
        rows: list[tuple[bool, list[tuple[Token, str]]]] = []
        head = False
        align = ""
        for tok in tokens:
            t = tok.type
            if t == "thead_open":
                head = True
            elif t == "thead_close":
                head = False
            elif t == "tr_open":
                rows.append((head, []))
            elif t in ("th_open", "td_open"):
                style = str(tok.attrs.get("style", ""))
                align = {"text-align:center": "center", "text-align:right": "right"}.get(style, "")
            elif t == "inline" and rows:
                rows[-1][1].append((tok, align))
        columns = max((len(cells) for _, cells in rows), default=0)
        if columns == 0:
            return
        cells = [[(tok.content, self.inline(tok.children), align) for tok, align in row] for _, row in rows]
        self.out.append(self.table(cells, header_rows=sum(1 for head, _ in rows if head), columns=columns))

    def table(
        self,
        rows: Sequence[Sequence[tuple[str, str, str]]],
        *,
        header_rows: int,
        columns: int,
        widths: Sequence[int] | None = None,
        compact: bool = False,
        row_height: int = 0,
    ) -> str:
        """A bordered table; ``rows`` hold (plain text, runs, alignment) per cell. The header rows
        repeat on every page (w:tblHeader) and are never split."""
        if widths is None:
            widths = _column_widths([[cell[0] for cell in row] for row in rows], columns, header_rows)
        bar = f'<w:tblBorders><w:left {CHANGE_BAR} w:space="0"/></w:tblBorders>' if self._bar is not None else ""
        margins = (
            '<w:tblCellMar><w:left w:w="40" w:type="dxa"/><w:right w:w="40" w:type="dxa"/></w:tblCellMar>'
            if compact
            else ""
        )
        out = [
            '<w:tbl><w:tblPr><w:tblStyle w:val="ManualTable"/>'
            f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/>{bar}'
            f'<w:tblLayout w:type="fixed"/>{margins}'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
            'w:noHBand="1" w:noVBand="1"/></w:tblPr><w:tblGrid>',
            "".join(f'<w:gridCol w:w="{w}"/>' for w in widths),
            "</w:tblGrid>",
        ]
        for index, row in enumerate(rows):
            header = index < header_rows
            height = f'<w:trHeight w:val="{row_height}"/>' if row_height else ""
            if header:
                out.append(f"<w:tr><w:trPr><w:cantSplit/>{height}<w:tblHeader/></w:trPr>")
            else:
                out.append(f"<w:tr><w:trPr>{height}</w:trPr>" if height else "<w:tr>")
            shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_SHADING}"/>' if header else ""
            style = "TableHeader" if header else "TableText"
            for col in range(columns):
                _, runs, align = row[col] if col < len(row) else ("", "", "")
                jc = f'<w:jc w:val="{align}"/>' if align else ""
                out.append(
                    f'<w:tc><w:tcPr><w:tcW w:w="{widths[col]}" w:type="dxa"/>{shading}<w:vAlign w:val="center"/></w:tcPr>'
                    f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{jc}</w:pPr>{runs}</w:p></w:tc>'
                )
            out.append("</w:tr>")
        out.append("</w:tbl>")
        return "".join(out)

    # ----------------------------------------------------------------- chapters

    def chapters(self) -> None:
        changed = self.edition.changed_sections
        note = f"本版修订：本节内容在 {self.edition.version} 版中修订。"
        for chapter in self.manual.chapters:
            self._path = chapter.path
            self._bar = None
            heading = _chapter_heading(chapter)
            self.para("Heading1", self.bookmark(_chapter_bookmark(chapter.number), _run(heading)))
            if chapter.preamble:
                self.blocks(parse(chapter.preamble))
            for section in chapter.sections:
                self._bar = CHANGE_BAR_SPACE_PT if section.id in changed else None
                title = _run(_section_heading(section))
                self.para("Heading2", self.bookmark(_bookmark_name(section.anchor), title))
                if self._bar is not None:
                    self.para("RevisionNote", _run(note))
                self.blocks(parse(section.body))
            self._bar = None

    def toc(self) -> None:
        """A real TOC field whose result already lists every chapter and section, linked to the
        heading bookmarks, so the contents page is complete before any field update.

        Page numbers are left to the update (settings.xml asks Word for it on opening): only a
        layout engine knows them, and a guessed page number in a controlled copy would be wrong.
        """
        entries: list[tuple[str, str, str]] = []
        for chapter in self.manual.chapters:
            entries.append(("TOC1", _chapter_heading(chapter), _chapter_bookmark(chapter.number)))
            for section in chapter.sections:
                entries.append(("TOC2", _section_heading(section), _bookmark_name(section.anchor)))
        self.para("TOCHeading", _run("目　录"), bar=None)
        begin = (
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> TOC \\o "1-2" \\h \\z \\u </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        )
        for index, (style, text, bookmark) in enumerate(entries):
            link = f'<w:hyperlink w:anchor="{bookmark}" w:history="1">{_run(text)}</w:hyperlink>'
            self.para(style, (begin if index == 0 else "") + link, bar=None)
        end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        self.para("BodyText", (begin if not entries else "") + end, bar=None)

    # ----------------------------------------------------------------- front matter

    def cover(self) -> None:
        meta = self.manual.metadata
        edition = self.edition
        controlled = "受控" if edition.controlled else "非受控"
        stamp = (
            f'<w:rPr>{_fonts(HEI, LATIN_SANS)}<w:color w:val="{RED}"/>{_size(SZ_SECTION)}'
            f'<w:bdr w:val="single" w:sz="8" w:space="1" w:color="{RED}"/></w:rPr>'
        )
        self.para("CoverText", _run(f" {controlled} ", stamp), jc="right")
        self.para("CoverCompany", _run(meta.company))
        self.para("Title", _run(meta.title), spacing=_spacing(720, 0))
        marks: list[tuple[str, int]] = []
        if edition.status is Status.SUPERSEDED:
            marks.append(("作　废", SZ_STAMP))
        elif edition.status is Status.DRAFT:
            marks.append((Status.DRAFT.value, SZ_CHAPTER))
        if edition.development_signature:
            marks.append(("开发签名（非正式）", SZ_SECTION))
        for text, size in marks:
            self.para("CoverMark", _run(text, f"<w:rPr>{_size(size)}</w:rPr>"))
        rows: list[tuple[str, str]] = [
            ("文件编号", meta.document_number),
            ("版　　本", edition.version),
            ("受控状态", controlled),
            ("文件状态", edition.status.value),
            *([("分 发 号", edition.copy_number)] if edition.copy_number else []),
            ("发布部门", meta.issuing_department),
            ("发布日期", _date(edition.published)),
            ("实施日期", _date(edition.effective)),
        ]
        for role in ROLE_ORDER:
            signers = [s for s in edition.signoffs if s.role == role]
            if signers:
                names = "、".join(dict.fromkeys(s.signer for s in signers))
                last = max(s.signed_at for s in signers)
                rows.append((f"{role[0]}　　{role[1]}", f"{names}　{last:%Y-%m-%d}"))
        # Whitespace is what is left of the page: estimate the height of everything else (lines
        # taken at 1.45 em, the tallest CJK fallback fonts) and put the rest above the table and
        # above the release line, so that the cover never spills onto a second page.
        used = 400 + 1430 + 1290 + sum(240 + size * 15 for _, size in marks) + 480 * len(rows) + 420 + 760
        spare = PAGE_HEIGHT - 2 * MARGIN - used - 600
        above = max(240, min(1200, spare // 3))
        self.para("CoverText", "", spacing=_spacing(above, 0))
        self.out.append(self._cover_table(rows))
        pub, eff = _date(edition.published), _date(edition.effective)
        self.para(
            "CoverText",
            _run(f"{pub} 发布") + "<w:r><w:tab/></w:r>" + _run(f"{eff} 实施"),
            tabs=f'<w:tabs><w:tab w:val="right" w:pos="{TEXT_WIDTH - 850}"/></w:tabs>',
            spacing=_spacing(max(240, spare - above), 0),
            ind='<w:ind w:left="850" w:right="850" w:firstLine="0" w:firstLineChars="0"/>',
            jc="left",
        )
        self.para("CoverCompany", _run(f"{meta.company}{meta.issuing_department}　发布"), spacing=_spacing(240, 0))

    def _cover_table(self, rows: Sequence[tuple[str, str]]) -> str:
        label_w, value_w = 1800, 4400
        out = [
            f'<w:tbl><w:tblPr><w:tblW w:w="{label_w + value_w}" w:type="dxa"/><w:jc w:val="center"/>'
            '<w:tblBorders><w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/><w:right w:val="nil"/>'
            '<w:insideH w:val="nil"/><w:insideV w:val="nil"/></w:tblBorders><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
            'w:noHBand="1" w:noVBand="1"/></w:tblPr>'
            f'<w:tblGrid><w:gridCol w:w="{label_w}"/><w:gridCol w:w="{value_w}"/></w:tblGrid>',
        ]
        line = '<w:tcBorders><w:bottom w:val="single" w:sz="4" w:space="0" w:color="000000"/></w:tcBorders>'
        label_rpr = f"<w:rPr>{_fonts(HEI, LATIN_SANS)}{_size(SZ_BODY)}</w:rPr>"
        value_rpr = f"<w:rPr>{_size(SZ_BODY)}</w:rPr>"
        for label, value in rows:
            out.append(
                '<w:tr><w:trPr><w:trHeight w:val="480"/></w:trPr>'
                f'<w:tc><w:tcPr><w:tcW w:w="{label_w}" w:type="dxa"/><w:vAlign w:val="bottom"/></w:tcPr>'
                f'<w:p><w:pPr><w:pStyle w:val="CoverText"/><w:jc w:val="left"/></w:pPr>{_run(label + "：", label_rpr)}</w:p></w:tc>'
                f'<w:tc><w:tcPr><w:tcW w:w="{value_w}" w:type="dxa"/>{line}<w:vAlign w:val="bottom"/></w:tcPr>'
                f'<w:p><w:pPr><w:pStyle w:val="CoverText"/></w:pPr>{_run(value, value_rpr)}</w:p></w:tc></w:tr>'
            )
        out.append("</w:tbl>")
        return "".join(out)

    def signoff_page(self) -> None:
        edition = self.edition
        self.para("FrontTitle", _run("签　署　页"))
        self.para(
            "FrontNote",
            _run(
                f"本手册 {edition.version} 版经下列人员签署后发布。每项签署均为签署人使用本人专有并仅由本人控制的"
                "密钥所作的电子签名，签署后对签名或文件内容的任何改动均能够被发现。"
            ),
        )
        header = [("签署角色", _run("签署角色"), ""), ("签署人", _run("签署人"), ""), ("签署含义", _run("签署含义"), ""),
                  ("签署时间", _run("签署时间"), ""), ("修订申请单号", _run("修订申请单号"), "")]  # fmt: skip
        rows: list[list[tuple[str, str, str]]] = [header]
        for signoff in _ordered_signoffs(edition.signoffs):
            signer = signoff.signer if signoff.valid else f"{signoff.signer}（签名无效）"
            when = signoff.signed_at.strftime("%Y-%m-%d %H:%M")
            cells = (signoff.role, signer, signoff.meaning, when, signoff.change_request)
            rows.append([(text, _run(text), "center" if k != 2 else "") for k, text in enumerate(cells)])
        if not edition.signoffs:
            rows.append([("", _run(text), "center") for text in ("—", "（尚未签署）", "—", "—", "—")])
        self.out.append(
            self.table(rows, header_rows=1, columns=5, widths=(1100, 1200, 3200, 1870, 1700), row_height=560)
        )
        if edition.development_signature:
            self.para("FrontNote", _run("开发签名（非正式）：本版本使用开发密钥签署，仅供测试，不具有正式签署效力。",
                                        f'<w:rPr><w:color w:val="{RED}"/></w:rPr>'))  # fmt: skip
        if any(not s.valid for s in edition.signoffs):
            self.para("FrontNote", _run("标注“签名无效”的签署未通过验证，不构成有效签署。",
                                        f'<w:rPr><w:color w:val="{RED}"/></w:rPr>'))  # fmt: skip

    def revision_page(self) -> None:
        self.para("FrontTitle", _run("修　订　记　录"))
        titles = REVISION_COLUMNS
        rows: list[list[tuple[str, str, str]]] = [[(t, _run(t), "") for t in titles]]
        for row in self.edition.revisions:
            requests = "<w:r><w:br/></w:r>".join(_run(cr) for cr in row.change_requests) or _run("—")
            cells = [
                (str(row.number), _run(str(row.number)), "center"),
                (row.version, _run(row.version), "center"),
                ("、".join(row.sections), _run("、".join(row.sections) or "—"), "center"),
                (row.summary, _run(row.summary), ""),
                (" ".join(row.change_requests), requests, "center"),
            ]
            for value in (row.prepared_by, row.reviewed_by, row.approved_by, row.published.isoformat(),
                          row.effective.isoformat()):  # fmt: skip
                cells.append((value, _run(value), "center"))
            rows.append(cells)
        if not self.edition.revisions:
            rows.append([("—", _run("—"), "center") for _ in titles])
        # Fixed widths: dates, request numbers and three-character names each fit on one line of 五号.
        widths = (520, 520, 640, 1730, 1240, 740, 740, 740, 1100, 1100)
        self.out.append(self.table(rows, header_rows=1, columns=len(titles), widths=widths, compact=True))

    # ----------------------------------------------------------------- whole body

    def document(self) -> bytes:
        self.cover()
        self.signoff_page()
        self.revision_page()
        self.toc()
        self.chapters()
        sect = (
            f'<w:sectPr><w:pgSz w:w="{PAGE_WIDTH}" w:h="{PAGE_HEIGHT}"/>'
            f'<w:pgMar w:top="{MARGIN}" w:right="{MARGIN}" w:bottom="{MARGIN}" w:left="{MARGIN}" '
            f'w:header="{HEADER_DISTANCE}" w:footer="{FOOTER_DISTANCE}" w:gutter="0"/>'
            '<w:cols w:space="425"/><w:titlePg/><w:docGrid w:linePitch="360"/></w:sectPr>'
        )
        xml = f"<w:body {_ALL_DECLS}>{''.join(self.out)}{sect}</w:body>".encode()
        self.out.clear()  # the pieces weigh as much as the text; free them before lxml parses it
        return xml


def _column_widths(texts: Sequence[Sequence[str]], columns: int, header_rows: int) -> list[int]:
    """Widths (twips) filling the text width: every column gets what its longest cell needs when
    that fits; otherwise the widest columns are narrowed to a common cap (so long text wraps and
    short columns such as 频次 or 负责部门 stay on one line), never below what the header needs."""
    unit = SZ_TABLE * 5  # a half-width character of 五号, in twips
    pad = 230  # cell margins and a little air
    need = [4] * columns
    floor = [4] * columns
    for index, row in enumerate(texts):
        for col, text in enumerate(row[:columns]):
            width = _display_width(text)
            need[col] = max(need[col], width)
            if index < header_rows:
                floor[col] = max(floor[col], min(width, 16))
    need_tw = [n * unit + pad for n in need]
    floor_tw = [min(f, n) * unit + pad for f, n in zip(floor, need, strict=True)]
    total = sum(need_tw)
    if total <= TEXT_WIDTH:
        widths = [w + (TEXT_WIDTH - total) * w // total for w in need_tw]
    elif sum(floor_tw) >= TEXT_WIDTH:
        widths = [TEXT_WIDTH * w // sum(floor_tw) for w in floor_tw]
    else:
        low, high = 0, max(need_tw)
        while high - low > 1:  # the largest cap that still fits
            cap = (low + high) // 2
            if sum(max(f, min(n, cap)) for f, n in zip(floor_tw, need_tw, strict=True)) <= TEXT_WIDTH:
                low = cap
            else:
                high = cap
        widths = [max(f, min(n, low)) for f, n in zip(floor_tw, need_tw, strict=True)]
    widths[widths.index(max(widths))] += TEXT_WIDTH - sum(widths)
    return widths


def _chapter_heading(chapter: Chapter) -> str:
    """The chapter's ``#`` heading exactly as written (第三章 …)."""
    m = _HEADING_LINE_RE.search(chapter.body)
    return m.group(1).strip() if m else f"第{chapter.number}章 {chapter.title}"


def _section_heading(section: Section) -> str:
    return f"{section.id} {section.title}"


def _ordered_signoffs(signoffs: Iterable[Signoff]) -> list[Signoff]:
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(signoffs, key=lambda s: rank.get(s.role, len(ROLE_ORDER)))


# --------------------------------------------------------------------------- header and footer


def _header_xml(manual: Manual, edition: Edition, *, first: bool) -> str:
    meta = manual.metadata
    marks = _copy_marks(edition) + ([f"分发号 {edition.copy_number}"] if edition.copy_number else [])
    runs = []
    if first:
        # The cover has its own large title; its header carries only the copy's status.
        if marks:
            runs.append(_run("　".join(marks), f'<w:rPr><w:b/><w:color w:val="{RED}"/></w:rPr>'))
    else:
        effective = _date(edition.effective) if edition.effective else "未定"
        runs.append(_run(f"{meta.title} · {meta.document_number} · 版本 {edition.version} · 实施日期 {effective}"))
        if marks:
            runs.append(_run("　【" + " · ".join(marks) + "】", f'<w:rPr><w:b/><w:color w:val="{RED}"/></w:rPr>'))
    watermark = ""
    if edition.status is Status.SUPERSEDED:
        watermark = _watermark("作废", 1 if first else 2)
    elif edition.status is Status.DRAFT:
        watermark = _watermark("草稿", 1 if first else 2)
    # The cover's header has no rule under it.
    rule = '<w:pBdr><w:bottom w:val="nil"/></w:pBdr><w:jc w:val="right"/>' if first else ""
    return f'<w:p><w:pPr><w:pStyle w:val="Header"/>{rule}</w:pPr>{watermark}{"".join(runs)}</w:p>'


def _copy_marks(edition: Edition) -> list[str]:
    if edition.status is Status.SUPERSEDED:
        return ["作废", "非受控"]
    if edition.status is Status.DRAFT:
        return [Status.DRAFT.value, "非受控"]
    return []


def _footer_xml() -> str:
    return (
        '<w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>'
        f"{_run('第 ')}{_field('PAGE', '1')}{_run(' 页 共 ')}{_field('NUMPAGES', '1')}{_run(' 页')}</w:p>"
    )


# --------------------------------------------------------------------------- assembly


def _replace_children(target: BaseOxmlElement, xml: str) -> None:
    """Swap the children of a python-docx part element for those of ``xml`` (same root tag)."""
    for child in list(target):
        target.remove(child)
    target.extend(list(parse_xml(xml)))


_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _strip_template(document: Document, company: str) -> None:
    """Drop what python-docx's default template carries that a controlled copy must not: a
    thumbnail of another document, Word's bibliography store, a second copy of the styles, and
    an app.xml naming another application."""
    part = document.part
    package = part.package
    assert package is not None
    for rid, rel in list(part.rels.items()):
        if rel.reltype in (RT.CUSTOM_XML, _STYLES_WITH_EFFECTS, RT.FONT_TABLE):
            del part.rels[rid]
    for rid, rel in list(package.rels.items()):
        if rel.reltype in (RT.THUMBNAIL, RT.EXTENDED_PROPERTIES):
            del package.rels[rid]
    fonts = Part(PackURI("/word/fontTable.xml"), CT.WML_FONT_TABLE, _xml_bytes(_FONT_TABLE), package)
    part.relate_to(fonts, RT.FONT_TABLE)
    app = Part(PackURI("/docProps/app.xml"), CT.OFC_EXTENDED_PROPERTIES, _app_xml(company), package)
    package.relate_to(app, RT.EXTENDED_PROPERTIES)


def _xml_bytes(xml: str) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml.encode()


def _properties(document: Document, manual: Manual, edition: Edition, generated: dt.datetime) -> None:
    meta = manual.metadata
    digest = edition.content_digest
    props = document.core_properties
    moment = _utc_naive(generated)
    props.title = meta.title
    props.subject = f"{meta.document_number} 版本 {edition.version} 内容摘要 {digest}"
    props.identifier = f"{meta.document_number}/{edition.version}/{digest}"
    props.keywords = f"version={edition.version}; digest={digest}"
    props.version = edition.version
    props.category = "受控文件"
    props.content_status = edition.status.value
    props.author = meta.company
    props.last_modified_by = meta.company
    props.comments = f"{meta.company}《{meta.title}》（{meta.document_number}）{edition.version} 版"
    props.language = "zh-CN"
    props.revision = max(1, len(edition.revisions))
    props.created = moment
    props.modified = moment
    package = document.part.package
    assert package is not None
    custom = (
        ("version", edition.version),
        ("digest", digest),
        ("document_number", meta.document_number),
        ("status", edition.status.value),
        ("controlled", "受控" if edition.controlled else "非受控"),
        ("generated", moment.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("published", edition.published.isoformat() if edition.published else ""),
        ("effective", edition.effective.isoformat() if edition.effective else ""),
        ("signers", signers_property(edition)),
        *((("copy_number", edition.copy_number),) if edition.copy_number else ()),
    )
    part = Part(PackURI("/docProps/custom.xml"), CT.OFC_CUSTOM_PROPERTIES, _custom_xml(custom), package)
    package.relate_to(part, RT.CUSTOM_PROPERTIES)


def signers_property(edition: Edition) -> str:
    """The signatures of a release as one line: ``CR 角色 姓名 时间`` joined by ``；``."""
    return "；".join(f"{s.change_request} {s.role} {s.signer} {s.signed_at.isoformat()}" for s in edition.signoffs if s.valid)


def _package_bytes(package: OpcPackage) -> bytes:
    """Serialise the package deterministically: content types, package relationships, then each
    part (with its relationships) in relationship-graph order."""
    parts = list(package.iter_parts())
    defaults = {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml"}
    overrides: list[str] = []
    for part in parts:
        ext = part.partname.ext.lower()
        if ext not in ("rels", "xml") and ext not in defaults:
            defaults[ext] = part.content_type
        if defaults.get(ext) != part.content_type:
            overrides.append(f'<Override PartName="{_esc(str(part.partname))}" ContentType="{part.content_type}"/>')
    types = "".join(f'<Default Extension="{ext}" ContentType="{ct}"/>' for ext, ct in defaults.items())
    content_types = _xml_bytes(
        f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{types}{"".join(overrides)}</Types>'
    )
    items: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", _rels_bytes(package.rels.xml)),
    ]
    for part in parts:
        items.append((part.partname.membername, part.blob))
        if len(part.rels):
            items.append((part.partname.rels_uri.membername, _rels_bytes(part.rels.xml)))
    return write_package(items)


def _rels_bytes(xml: str | bytes) -> bytes:
    return xml if isinstance(xml, bytes) else xml.encode()


def render_docx(
    manual: Manual,
    edition: Edition,
    *,
    generated: dt.datetime,
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """The unsigned DOCX of ``manual`` as ``edition``.

    ``generated`` becomes the created/modified time of the document properties (naive times are
    taken as UTC), so equal inputs give byte-identical output. ``images`` maps repository paths
    (``manual/images/x.png``) to their bytes; an image without bytes is shown as its alt text.
    """
    document = docx.Document()
    meta = manual.metadata
    _strip_template(document, meta.company)
    _replace_children(document.styles.element, _styles_xml())
    _replace_children(document.settings.element, _SETTINGS)

    body = _Body(manual, edition, document.part, images or {})
    new_body = parse_xml(body.document())
    element = document.element
    element.replace(element.body, new_body)
    _replace_children(document.part.numbering_part.element, _numbering_xml(body.lists))

    section = document.sections[0]
    section.different_first_page_header_footer = True
    for header, first in ((section.header, False), (section.first_page_header, True)):
        header.is_linked_to_previous = False
        _replace_children(
            header.part.element, f"<w:hdr {_ALL_DECLS}>{_header_xml(manual, edition, first=first)}</w:hdr>"
        )
    footer = section.footer
    footer.is_linked_to_previous = False
    _replace_children(footer.part.element, f"<w:ftr {_ALL_DECLS}>{_footer_xml()}</w:ftr>")
    first_footer = section.first_page_footer
    first_footer.is_linked_to_previous = False
    _replace_children(
        first_footer.part.element, f'<w:ftr {_ALL_DECLS}><w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr></w:p></w:ftr>'
    )

    _properties(document, manual, edition, generated)
    package = document.part.package
    assert package is not None
    return _package_bytes(package)
