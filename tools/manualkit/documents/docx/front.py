"""The front matter of a controlled copy: cover, 签署页 (sign-off page), 修订记录 and the table of
contents with the pages the layout engine found."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from manualkit.documents.docx.paragraphs import Paragraphs
from manualkit.documents.docx.tables import Tables
from manualkit.documents.docx.xml import (
    HEADING_LINE_RE,
    HEI,
    LATIN_SANS,
    MARGIN,
    PAGE_HEIGHT,
    RED,
    SZ_BODY,
    SZ_CHAPTER,
    SZ_SECTION,
    SZ_STAMP,
    TEXT_WIDTH,
    bookmark_name,
    chapter_bookmark,
    date_text,
    field,
    fonts,
    run,
    size,
    spacing,
)  # fmt: skip
from manualkit.records.edition import Edition, Signoff, Status
from manualkit.records.revision_table import REVISION_COLUMNS, section_name
from manualkit.text.chapter import Chapter, Section
from manualkit.text.manual import Manual

ROLE_ORDER = ("编制", "审核", "会签", "批准")

#: What a TOC entry shows as its page before the layout engine's page is filled in: two digits,
#: as wide as the pages of the manual, so the contents lay out as they will with the numbers.
TOC_PLACEHOLDER = "00"

#: 修订记录 column widths (twips, 五号 with 2 pt cell margins): 序号, 版本, 修订章节 ("3.2" per
#: line), 修订内容摘要 (the rest), 修订申请单号 ("CR-2026-001"), 编制, 审核, 会签, 批准 (a name per line),
#: 发布日期 and 实施日期 ("2026-03-16"), each measured in Liberation Serif / Noto CJK with air.
_FIXED_WIDTHS = (480, 520, 560, 0, 1260, 720, 720, 720, 720, 1120, 1120)
REVISION_WIDTHS = tuple(w or TEXT_WIDTH - sum(_FIXED_WIDTHS) for w in _FIXED_WIDTHS)


def chapter_heading(chapter: Chapter) -> str:
    """The chapter's ``#`` heading exactly as written (第三章 …)."""
    m = HEADING_LINE_RE.search(chapter.body)
    return m.group(1).strip() if m else f"第{chapter.number}章 {chapter.title}"


def toc_entries(manual: Manual) -> list[tuple[str, str, str]]:
    """(style, text, bookmark) of each line of the table of contents."""
    entries: list[tuple[str, str, str]] = []
    for chapter in manual.chapters:
        entries.append(("TOC1", chapter_heading(chapter), chapter_bookmark(chapter.number)))
        for section in chapter.sections:
            entries.append(("TOC2", section_heading(section), bookmark_name(section.anchor)))
    return entries


def section_heading(section: Section) -> str:
    return f"{section.id} {section.title}"


def ordered_signoffs(signoffs: Iterable[Signoff]) -> list[Signoff]:
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(signoffs, key=lambda s: rank.get(s.role, len(ROLE_ORDER)))


class FrontMatter(Paragraphs, Tables):
    """Mixin: the pages before the chapters."""

    manual: Manual
    edition: Edition
    out: list[str]

    def appendix_entries(self) -> list[tuple[str, str, str]]:
        """(style, text, bookmark) of the appendices' lines of the table of contents."""
        return []

    def cover(self) -> None:
        meta = self.manual.metadata
        edition = self.edition
        controlled = "受控" if edition.controlled else "非受控"
        stamp = (
            f'<w:rPr>{fonts(HEI, LATIN_SANS)}<w:color w:val="{RED}"/>{size(SZ_SECTION)}'
            f'<w:bdr w:val="single" w:sz="8" w:space="1" w:color="{RED}"/></w:rPr>'
        )
        self.para("CoverText", run(f" {controlled} ", stamp), jc="right")
        self.para("CoverCompany", run(meta.company))
        self.para("Title", run(meta.title), spacing=spacing(720, 0))
        marks: list[tuple[str, int]] = []
        if edition.status is Status.SUPERSEDED:
            marks.append(("作　废", SZ_STAMP))
            if edition.superseded_by and edition.superseded_on:
                marks.append((f"自 {edition.superseded_on.isoformat()} 起由 {edition.superseded_by} 版替代", SZ_SECTION))
        elif edition.status is Status.DRAFT:
            marks.append((Status.DRAFT.value, SZ_CHAPTER))
        if edition.development_signature:
            marks.append(("开发签名（非正式）", SZ_SECTION))
        for text, points in marks:
            self.para("CoverMark", run(text, f"<w:rPr>{size(points)}</w:rPr>"))
        rows: list[tuple[str, str]] = [
            ("文件编号", meta.document_number),
            ("版　　本", edition.version),
            ("受控状态", controlled),
            ("文件状态", edition.status.value),
            *([("分 发 号", edition.copy_number)] if edition.copy_number else []),
            ("发布部门", meta.issuing_department),
            ("发布日期", date_text(edition.published)),
            ("实施日期", date_text(edition.effective)),
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
        self.para("CoverText", "", spacing=spacing(above, 0))
        self.out.append(self._cover_table(rows))
        pub, eff = date_text(edition.published), date_text(edition.effective)
        self.para(
            "CoverText",
            run(f"{pub} 发布") + "<w:r><w:tab/></w:r>" + run(f"{eff} 实施"),
            tabs=f'<w:tabs><w:tab w:val="right" w:pos="{TEXT_WIDTH - 850}"/></w:tabs>',
            spacing=spacing(max(240, spare - above), 0),
            ind='<w:ind w:left="850" w:right="850" w:firstLine="0" w:firstLineChars="0"/>',
            jc="left",
        )
        self.para("CoverCompany", run(f"{meta.company}{meta.issuing_department}　发布"), spacing=spacing(240, 0))

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
        label_rpr = f"<w:rPr>{fonts(HEI, LATIN_SANS)}{size(SZ_BODY)}</w:rPr>"
        value_rpr = f"<w:rPr>{size(SZ_BODY)}</w:rPr>"
        for label, value in rows:
            out.append(
                '<w:tr><w:trPr><w:trHeight w:val="480"/></w:trPr>'
                f'<w:tc><w:tcPr><w:tcW w:w="{label_w}" w:type="dxa"/><w:vAlign w:val="bottom"/></w:tcPr>'
                f'<w:p><w:pPr><w:pStyle w:val="CoverText"/><w:jc w:val="left"/></w:pPr>{run(label + "：", label_rpr)}</w:p></w:tc>'
                f'<w:tc><w:tcPr><w:tcW w:w="{value_w}" w:type="dxa"/>{line}<w:vAlign w:val="bottom"/></w:tcPr>'
                f'<w:p><w:pPr><w:pStyle w:val="CoverText"/></w:pPr>{run(value, value_rpr)}</w:p></w:tc></w:tr>'
            )
        out.append("</w:tbl>")
        return "".join(out)

    def signoff_page(self) -> None:
        edition = self.edition
        self.para("FrontTitle", run("签　署　页"))
        self.para(
            "FrontNote",
            run(
                f"本手册 {edition.version} 版经下列人员签署后发布。每项签署均为签署人使用本人专有并仅由本人控制的"
                "密钥所作的电子签名，签署后对签名或文件内容的任何改动均能够被发现。"
            ),
        )
        header = [("签署角色", run("签署角色"), ""), ("签署人", run("签署人"), ""), ("签署含义", run("签署含义"), ""),
                  ("签署时间", run("签署时间"), ""), ("修订申请单号", run("修订申请单号"), "")]  # fmt: skip
        rows: list[list[tuple[str, str, str]]] = [header]
        for signoff in ordered_signoffs(edition.signoffs):
            signer = signoff.signer if signoff.valid else f"{signoff.signer}（签名无效）"
            when = signoff.signed_at.strftime("%Y-%m-%d %H:%M")
            cells = (signoff.role, signer, signoff.meaning, when, signoff.change_request)
            rows.append([(text, run(text), "center" if k != 2 else "") for k, text in enumerate(cells)])
        if not edition.signoffs:
            rows.append([("", run(text), "center") for text in ("—", "（尚未签署）", "—", "—", "—")])
        self.out.append(
            self.table(rows, header_rows=1, columns=5, widths=(1100, 1200, 3200, 1870, 1700), row_height=560)
        )
        if edition.development_signature:
            self.para("FrontNote", run("开发签名（非正式）：本版本使用开发密钥签署，仅供测试，不具有正式签署效力。",
                                        f'<w:rPr><w:color w:val="{RED}"/></w:rPr>'))  # fmt: skip
        if any(not s.valid for s in edition.signoffs):
            self.para("FrontNote", run("标注“签名无效”的签署未通过验证，不构成有效签署。",
                                        f'<w:rPr><w:color w:val="{RED}"/></w:rPr>'))  # fmt: skip

    def revision_page(self) -> None:
        """修订记录: one line per section, change request and signer inside a cell (a list is
        never broken inside an item), columns fitted to dates and request numbers at 五号."""
        self.para("FrontTitle", run("修　订　记　录"))
        titles = REVISION_COLUMNS
        rows: list[list[tuple[str, str, str]]] = [[(t, run(t), "") for t in titles]]

        def lines(items: Sequence[str]) -> str:
            return "<w:r><w:br/></w:r>".join(run(item) for item in items) or run("—")

        for row in self.edition.revisions:
            sections = [section_name(s) for s in row.sections]
            cells = [
                (str(row.number), run(str(row.number)), "center"),
                (row.version, run(row.version), "center"),
                (max(sections, key=len, default="—"), lines(sections), "center"),
                (row.summary, run(row.summary), ""),
                (max(row.change_requests, key=len, default="—"), lines(row.change_requests), "center"),
            ]
            for value in (row.prepared_by, row.reviewed_by, row.cosigned_by, row.approved_by):
                names = [name for name in value.split("、") if name]
                cells.append((max(names, key=len, default="—"), lines(names), "center"))
            for day in (row.published.isoformat(), row.effective.isoformat()):
                cells.append((day, run(day), "center"))
            rows.append(cells)
        if not self.edition.revisions:
            rows.append([("—", run("—"), "center") for _ in titles])
        self.out.append(self.table(rows, header_rows=1, columns=len(titles), widths=REVISION_WIDTHS, compact=True))

    def toc(self) -> None:
        """A real TOC field whose result already lists every chapter and section with its page,
        linked to the heading bookmarks, with dot leaders: complete without any field update.

        Each page number is a ``PAGEREF`` field whose shown result is :data:`TOC_PLACEHOLDER`
        here; :func:`manualkit.documents.toc.fill_toc` writes in the pages the layout engine
        found (LibreOffice, the reference renderer), so nothing asks Word to update fields.
        """
        self.para("TOCHeading", run("目　录"), bar=None)
        begin = (
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> TOC \\o "1-2" \\h \\z \\u </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        )
        entries = toc_entries(self.manual) + self.appendix_entries()
        for index, (style, text, bookmark) in enumerate(entries):
            page = field(f"PAGEREF {bookmark} \\h", TOC_PLACEHOLDER)
            link = f'<w:hyperlink w:anchor="{bookmark}" w:history="1">{run(text)}<w:r><w:tab/></w:r>{page}</w:hyperlink>'
            self.para(style, (begin if index == 0 else "") + link, bar=None)
        end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        self.para("BodyText", (begin if not entries else "") + end, bar=None)
