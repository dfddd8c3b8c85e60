"""The styles part: every style the renderer uses, each naming its East Asian font (w:eastAsia)."""

from __future__ import annotations

from manualkit.documents.docx.xml import (
    HEADER_SHADING,
    HEI,
    INDENT_2_CHARS,
    KAI,
    LATIN_SANS,
    LINE_15,
    MONO,
    RED,
    SONG,
    SZ_BODY,
    SZ_CHAPTER,
    SZ_COMPANY,
    SZ_SECTION,
    SZ_SMALL,
    SZ_TABLE,
    SZ_TITLE,
    TEXT_WIDTH,
    W_DECL,
    fonts,
    size,
)  # fmt: skip


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


def styles_xml() -> str:
    """The complete ``w:styles``: docDefaults and every style the writer uses, each naming its
    East Asian font (w:eastAsia) as well as the Latin ones."""
    lang = '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
    body_fonts = fonts(SONG)
    hei = fonts(HEI, LATIN_SANS)
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
               rpr=f"{body_fonts}{size(SZ_BODY)}{lang}"),
        _style("character", "DefaultParagraphFont", "Default Paragraph Font", default=True, priority=1),
        _style("table", "TableNormal", "Normal Table", default=True, priority=99,
               extra='<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
                     '<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/>'
                     '<w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr>'),
        _style("numbering", "NoList", "No List", default=True, priority=99),
        _style("paragraph", "BodyText", "Body Text", based_on="Normal", priority=1,
               ppr=f'<w:ind w:firstLine="{INDENT_2_CHARS}" w:firstLineChars="200"/>',
               rpr=f"{body_fonts}{size(SZ_BODY)}"),
        _style("paragraph", "Title", "Title", based_on="Normal", next_style="BodyText", priority=10,
               ppr=f'<w:spacing w:before="240" w:after="240" w:line="{LINE_15}" w:lineRule="auto"/>{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}<w:b/><w:bCs/>{size(SZ_TITLE)}"),
        _style("paragraph", "Heading1", "heading 1", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:pageBreakBefore/><w:spacing w:before="240" w:after="360" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="center"/><w:outlineLvl w:val="0"/>',
               rpr=f"{hei}{size(SZ_CHAPTER)}"),
        _style("paragraph", "Heading2", "heading 2", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="120" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="left"/><w:outlineLvl w:val="1"/>',
               rpr=f"{hei}{size(SZ_SECTION)}"),
        _style("paragraph", "Heading3", "heading 3", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:spacing w:before="120" w:after="0" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'<w:ind w:firstLine="{INDENT_2_CHARS}" w:firstLineChars="200"/><w:jc w:val="left"/><w:outlineLvl w:val="2"/>',
               rpr=f"{hei}{size(SZ_BODY)}"),
        _style("paragraph", "Heading4", "heading 4", based_on="Normal", next_style="BodyText", priority=9,
               ppr=f'<w:keepNext/><w:keepLines/><w:ind w:firstLine="{INDENT_2_CHARS}" w:firstLineChars="200"/>'
                   '<w:jc w:val="left"/><w:outlineLvl w:val="3"/>',
               rpr=f"{fonts(KAI)}<w:b/><w:bCs/>{size(SZ_BODY)}"),
        _style("paragraph", "ListParagraph", "List Paragraph", based_on="Normal", priority=34,
               ppr=f"{no_indent}", rpr=f"{body_fonts}{size(SZ_BODY)}"),
        _style("paragraph", "Quote", "Quote", based_on="Normal", next_style="BodyText", priority=29,
               ppr='<w:pBdr><w:left w:val="single" w:sz="18" w:space="6" w:color="A6A6A6"/></w:pBdr>'
                   '<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/>'
                   f'<w:spacing w:before="60" w:after="60" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'<w:ind w:left="{INDENT_2_CHARS}" w:right="{INDENT_2_CHARS // 2}" w:firstLine="0" w:firstLineChars="0"/>',
               rpr=f"{fonts(KAI)}{size(SZ_BODY)}"),
        _style("paragraph", "Figure", "图片", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/>{no_indent}<w:jc w:val="center"/>', rpr=body_fonts),
        _style("paragraph", "TableText", "表格文字", based_on="Normal",
               ppr=f"{single}{no_indent}<w:jc w:val=\"left\"/>", rpr=f"{body_fonts}{size(SZ_TABLE)}"),
        _style("paragraph", "TableHeader", "表格标题行", based_on="TableText",
               ppr='<w:keepNext/><w:jc w:val="center"/>', rpr=f"{fonts(HEI, LATIN_SANS)}{size(SZ_TABLE)}"),
        _style("paragraph", "FrontTitle", "前置页标题", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/><w:pageBreakBefore/><w:spacing w:before="240" w:after="360" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}{size(SZ_CHAPTER)}"),
        _style("paragraph", "FrontNote", "前置页说明", based_on="Normal",
               ppr=f'<w:spacing w:before="120" w:after="120" w:line="{LINE_15}" w:lineRule="auto"/>{no_indent}',
               rpr=f"{body_fonts}{size(SZ_TABLE)}"),
        _style("paragraph", "CoverText", "封面文字", based_on="Normal",
               ppr=f'{single}{no_indent}<w:jc w:val="center"/>', rpr=f"{body_fonts}{size(SZ_SECTION)}"),
        _style("paragraph", "CoverCompany", "封面公司名称", based_on="CoverText",
               ppr='<w:spacing w:before="960" w:after="0" w:line="240" w:lineRule="auto"/>',
               rpr=f"{hei}<w:spacing w:val=\"40\"/>{size(SZ_COMPANY)}"),
        _style("paragraph", "CoverMark", "封面状态标记", based_on="CoverText",
               ppr='<w:spacing w:before="240" w:after="0" w:line="240" w:lineRule="auto"/>',
               rpr=f"{hei}<w:b/><w:bCs/><w:color w:val=\"{RED}\"/>{size(SZ_CHAPTER)}"),
        _style("paragraph", "TOCHeading", "TOC Heading", based_on="Normal", next_style="BodyText", priority=39,
               ppr=f'<w:keepNext/><w:pageBreakBefore/><w:spacing w:before="240" w:after="360" w:line="{LINE_15}" w:lineRule="auto"/>'
                   f'{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}{size(SZ_CHAPTER)}"),
        _style("paragraph", "TOC1", "toc 1", based_on="Normal", next_style="BodyText", priority=39,
               ppr=f'{right_tab}<w:spacing w:before="120" w:after="0" w:line="{LINE_15}" w:lineRule="auto"/>{no_indent}<w:jc w:val="left"/>',
               rpr=f"{hei}{size(SZ_BODY)}"),
        _style("paragraph", "TOC2", "toc 2", based_on="Normal", next_style="BodyText", priority=39,
               ppr=f'{right_tab}<w:ind w:left="{INDENT_2_CHARS}" w:firstLine="0" w:firstLineChars="0"/><w:jc w:val="left"/>',
               rpr=f"{body_fonts}{size(SZ_BODY)}"),
        _style("paragraph", "Header", "header", based_on="Normal", priority=99,
               ppr='<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="000000"/></w:pBdr>'
                   f'<w:tabs><w:tab w:val="center" w:pos="{TEXT_WIDTH // 2}"/><w:tab w:val="right" w:pos="{TEXT_WIDTH}"/></w:tabs>'
                   f'{single}{no_indent}<w:jc w:val="center"/>',
               rpr=f"{body_fonts}{size(SZ_SMALL)}"),
        _style("paragraph", "Footer", "footer", based_on="Normal", priority=99,
               ppr=f'{single}{no_indent}<w:jc w:val="center"/>', rpr=f"{body_fonts}{size(SZ_SMALL)}"),
        _style("paragraph", "TableCaption", "表题", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/><w:keepLines/><w:spacing w:before="120" w:after="60" w:line="240" w:lineRule="auto"/>{no_indent}<w:jc w:val="center"/>',
               rpr=f"{hei}{size(SZ_TABLE)}"),
        _style("paragraph", "TableSpacer", "表后间距", based_on="Normal", next_style="BodyText",
               ppr=f'<w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>{no_indent}',
               rpr=f"{body_fonts}{size(SZ_SMALL)}"),
        _style("paragraph", "EndMark", "以下空白", based_on="Normal",
               ppr=f'<w:spacing w:before="480" w:after="0" w:line="240" w:lineRule="auto"/>{no_indent}<w:jc w:val="center"/>',
               rpr=f"{body_fonts}{size(SZ_TABLE)}"),
        _style("paragraph", "RevisionNote", "本版修订标注", based_on="Normal", next_style="BodyText",
               ppr=f'<w:keepNext/>{single}{no_indent}<w:jc w:val="left"/>',
               rpr=f'{fonts(HEI, LATIN_SANS)}<w:color w:val="{RED}"/>{size(SZ_SMALL)}'),
        _style("character", "Hyperlink", "Hyperlink", based_on="DefaultParagraphFont", priority=99,
               rpr='<w:color w:val="0563C1"/><w:u w:val="single"/>'),
        _style("character", "InlineCode", "行内代码", based_on="DefaultParagraphFont",
               rpr=f'{fonts(SONG, MONO)}<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/>'),
        _style("table", "ManualTable", "手册表格", based_on="TableNormal", priority=59,
               ppr=f"{single}{no_indent}",
               rpr=f"{body_fonts}{size(SZ_TABLE)}",
               extra=f"<w:tblPr>{table_borders}{cell_margins}</w:tblPr>"
                     '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:bCs/></w:rPr>'
                     f'<w:tblPr/><w:trPr><w:tblHeader/></w:trPr><w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{HEADER_SHADING}"/></w:tcPr></w:tblStylePr>'),
    ]  # fmt: skip
    defaults = (
        f'<w:docDefaults><w:rPrDefault><w:rPr>{body_fonts}<w:kern w:val="2"/>{size(SZ_BODY)}{lang}</w:rPr></w:rPrDefault>'
        f'<w:pPrDefault><w:pPr><w:spacing w:line="{LINE_15}" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>'
    )
    return f"<w:styles {W_DECL}>{defaults}{''.join(styles)}</w:styles>"
