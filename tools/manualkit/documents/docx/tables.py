"""Tables: bordered, header rows repeated on every page, column widths fitted to the content,
each table of the manual numbered 表 X-X and followed by a little space; rows that changed carry
the change bar, and in a redline rows added or removed are tracked as such."""

from __future__ import annotations

from collections.abc import Sequence

from manualkit.documents.docx.xml import CHANGE_BAR, HEADER_SHADING, SZ_TABLE, TEXT_WIDTH, display_width


class Tables:
    """Mixin: writes tables."""

    def table(
        self,
        rows: Sequence[Sequence[tuple[str, str, str]]],
        *,
        header_rows: int,
        columns: int,
        widths: Sequence[int] | None = None,
        compact: bool = False,
        row_height: int = 0,
        row_marks: Sequence[str] = (),
        barred: Sequence[bool] = (),
    ) -> str:
        """A bordered table; ``rows`` hold (plain text, runs, alignment) per cell. The header rows
        repeat on every page (w:tblHeader) and are never split. ``row_marks`` are tracked changes
        of whole rows (``w:ins``/``w:del`` in ``w:trPr``); a row whose ``barred`` is true carries
        the change bar on its left edge."""
        if widths is None:
            widths = column_widths([[cell[0] for cell in row] for row in rows], columns, header_rows)
        margins = (
            '<w:tblCellMar><w:left w:w="40" w:type="dxa"/><w:right w:w="40" w:type="dxa"/></w:tblCellMar>'
            if compact
            else ""
        )
        out = [
            '<w:tbl><w:tblPr><w:tblStyle w:val="ManualTable"/>'
            f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/>'
            f'<w:tblLayout w:type="fixed"/>{margins}'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
            'w:noHBand="1" w:noVBand="1"/></w:tblPr><w:tblGrid>',
            "".join(f'<w:gridCol w:w="{w}"/>' for w in widths),
            "</w:tblGrid>",
        ]
        for index, row in enumerate(rows):
            header = index < header_rows
            height = f'<w:trHeight w:val="{row_height}"/>' if row_height else ""
            tracked = row_marks[index] if index < len(row_marks) else ""
            if header:
                out.append(f"<w:tr><w:trPr><w:cantSplit/>{height}<w:tblHeader/>{tracked}</w:trPr>")
            else:
                out.append(f"<w:tr><w:trPr><w:cantSplit/>{height}{tracked}</w:trPr>")
            bar = f'<w:tcBorders><w:left {CHANGE_BAR} w:space="0"/></w:tcBorders>' if index < len(barred) and barred[index] else ""
            shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_SHADING}"/>' if header else ""
            style = "TableHeader" if header else "TableText"
            for col in range(columns):
                _, runs, align = row[col] if col < len(row) else ("", "", "")
                jc = f'<w:jc w:val="{align}"/>' if align else ""
                edge = bar if col == 0 else ""
                out.append(
                    f'<w:tc><w:tcPr><w:tcW w:w="{widths[col]}" w:type="dxa"/>{edge}{shading}<w:vAlign w:val="center"/></w:tcPr>'
                    f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{jc}</w:pPr>{runs}</w:p></w:tc>'
                )
            out.append("</w:tr>")
        out.append("</w:tbl>")
        return "".join(out)

    def spacer(self) -> str:
        """The gap after a table, so the next paragraph does not touch its border."""
        return '<w:p><w:pPr><w:pStyle w:val="TableSpacer"/></w:pPr></w:p>'


def column_widths(texts: Sequence[Sequence[str]], columns: int, header_rows: int) -> list[int]:
    """Widths (twips) filling the text width: every column gets what its longest cell needs when
    that fits; otherwise the widest columns are narrowed to a common cap (so long text wraps and
    short columns such as 频次 or 负责部门 stay on one line), never below what the header needs."""
    unit = SZ_TABLE * 5  # a half-width character of 五号, in twips
    pad = 230  # cell margins and a little air
    need = [4] * columns
    floor = [4] * columns
    for index, row in enumerate(texts):
        for col, text in enumerate(row[:columns]):
            width = display_width(text)
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
