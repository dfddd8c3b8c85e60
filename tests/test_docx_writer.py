"""The DOCX renderer, on the real manual and on small hand-made manuals.

Every produced file is opened twice: with python-docx (what a user's tools see) and with lxml
(the exact XML: numbering, fields, bookmarks, fonts). The LibreOffice test converts the file to PDF
and reads it back, the closest thing to opening it in an office suite.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import docx
import pytest
from conftest import PROJECT_ROOT, new_libreoffice_profile
from lxml import etree

from manualkit.documents.docx.front import TOC_PLACEHOLDER
from manualkit.documents.docx.release import render_docx
from manualkit.records.edition import Edition, RevisionRow, Signoff, Status
from manualkit.text.chapter import Chapter, Section
from manualkit.text.manual import Manual, load_manual
from manualkit.text.markup import parse
from manualkit.text.metadata import ManualMetadata
from manualkit.text.worktree import read_manual_files

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {
    "w": W_NS,
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "v": "urn:schemas-microsoft-com:vml",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "op": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
    "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
TZ = dt.timezone(dt.timedelta(hours=8))
GENERATED = dt.datetime(2025, 12, 20, 9, 0, tzinfo=TZ)
DIGEST = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
REVISION_TITLES = [
    "序号",
    "版本",
    "修订章节",
    "修订内容摘要",
    "修订申请单号",
    "编制",
    "审核",
    "会签",
    "批准",
    "发布日期",
    "实施日期",
]
MEANINGS = {
    "编制": "编制人对修订内容的准确性和完整性负责",
    "审核": "审核人确认修订内容符合公司制度和业务实际",
    "会签": "法务合规部确认修订内容符合法律法规",
    "批准": "批准人批准修订内容发布施行",
}
SIGNERS = {"编制": ("王晓明", "陈静"), "审核": ("李建国", "赵敏"), "会签": ("孙丽", "周强"), "批准": ("张伟", "刘洋")}


# --------------------------------------------------------------------------- inputs


def make_edition(
    status: Status = Status.IN_FORCE,
    *,
    roles: tuple[str, ...] = ("编制", "审核", "会签", "批准"),
    development_signature: bool = False,
) -> Edition:
    """Version A/1: two signoffs of each role, two revision rows, 3.2 changed."""
    signoffs = []
    for day, role in enumerate(roles, start=10):
        for k, name in enumerate(SIGNERS[role]):
            signed = dt.datetime(2025, 12, day, 9 + k, 30, tzinfo=TZ)
            signoffs.append(Signoff(role, MEANINGS[role], name, signed, f"CR-2025-00{k + 1}"))
    return Edition(
        version="A/1",
        status=status,
        published=None if status is Status.DRAFT else dt.date(2025, 12, 20),
        effective=None if status is Status.DRAFT else dt.date(2026, 1, 1),
        change_class="一般修订",
        signoffs=tuple(signoffs),
        revisions=(
            RevisionRow(
                1,
                "A/0",
                (),
                "首次发布",
                ("CR-2025-000",),
                "王晓明",
                "李建国",
                "—",
                "张伟",
                dt.date(2025, 6, 1),
                dt.date(2025, 7, 1),
            ),
            RevisionRow(
                2,
                "A/1",
                ("3.2",),
                "调整报价审批权限和合同评审时限",
                ("CR-2025-001", "CR-2025-002"),
                "王晓明",
                "李建国",
                "王芳",
                "张伟",
                dt.date(2025, 12, 20),
                dt.date(2026, 1, 1),
            ),
        ),
        changed_sections=frozenset({"3.2"}),
        content_digest=DIGEST,
        development_signature=development_signature,
    )


def small_manual(body: str, *, extra_sections: tuple[tuple[str, str], ...] = ()) -> Manual:
    """A one-chapter manual whose section 1.1 holds ``body``."""
    sections = [Section("1.1", "测试小节", "sec-1-1", 12, body, 13)]
    for k, (title, text) in enumerate(extra_sections, start=2):
        sections.append(Section(f"1.{k}", title, f"sec-1-{k}", 20 * k, text, 20 * k + 1))
    chapter_body = "\n\n".join(
        ["# 第一章 测试章", *(f"## {s.id} {s.title} {{#{s.anchor}}}\n\n{s.body}" for s in sections)]
    )
    chapter = Chapter(
        path="manual/01-test.md",
        number=1,
        title="测试章",
        owner="质量管理部",
        review_cycle_months=12,
        last_reviewed=dt.date(2026, 1, 1),
        review_line=6,
        sections=tuple(sections),
        body=chapter_body,
        body_line=10,
        preamble="",
    )
    metadata = ManualMetadata(
        title="测试手册",
        document_number="XS-QM-99",
        company="测试有限公司",
        issuing_department="质量管理部",
        interpreting_department="质量管理部",
        departments=("质量管理部",),
        chapter_files=("01-test.md",),
    )
    return Manual(metadata, (chapter,))


def tiny_png() -> bytes:
    """A valid 2x2 grey PNG, made by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- reading the output


class Docx:
    """A rendered DOCX, read with lxml part by part."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.parts = {name: archive.read(name) for name in archive.namelist()}

    def xml(self, name: str) -> Any:
        return etree.fromstring(self.parts[name])

    @property
    def document(self) -> Any:
        return self.xml("word/document.xml")

    def names(self, prefix: str) -> list[str]:
        return sorted(n for n in self.parts if n.startswith(prefix) and n.endswith(".xml"))

    def text(self, element: Any) -> str:
        return "".join(element.itertext(f"{{{W_NS}}}t"))

    def paragraphs(self, style: str | None = None) -> list[Any]:
        paras = self.document.iter(f"{{{W_NS}}}p")
        if style is None:
            return list(paras)
        return [p for p in paras if p.xpath("string(w:pPr/w:pStyle/@w:val)", namespaces=NS) == style]

    def style(self, style_id: str) -> Any:
        found = self.xml("word/styles.xml").xpath(f'w:style[@w:styleId="{style_id}"]', namespaces=NS)
        assert found, f"style {style_id} missing"
        return found[0]


@pytest.fixture(scope="module")
def real_manual() -> Manual:
    manual = load_manual(read_manual_files(PROJECT_ROOT)).manual
    assert manual is not None
    return manual


@pytest.fixture(scope="module")
def rendered(real_manual: Manual) -> Docx:
    return Docx(render_docx(real_manual, make_edition(), generated=GENERATED))


def inline_samples(body: str) -> list[str]:
    """The first plain text of every paragraph, heading and cell of a Markdown fragment."""
    samples = []
    for token in parse(body):
        if token.type == "inline" and token.children:
            first = next((c.content for c in token.children if c.type == "text" and c.content.strip()), "")
            if first:
                samples.append(first[:24])
    return samples


def chapter_heading(chapter: Chapter) -> str:
    m = re.search(r"^# (.+)$", chapter.body, re.MULTILINE)
    assert m
    return m.group(1).strip()


# --------------------------------------------------------------------------- content


def test_python_docx_sees_every_heading_with_a_real_heading_style(rendered: Docx, real_manual: Manual) -> None:
    document = docx.Document(io.BytesIO(rendered.data))
    by_style: dict[str, list[str]] = {}
    for paragraph in document.paragraphs:
        by_style.setdefault(paragraph.style.name if paragraph.style is not None else "", []).append(paragraph.text)
    assert by_style["Heading 1"] == [chapter_heading(c) for c in real_manual.chapters]
    assert by_style["Heading 2"] == [f"{s.id} {s.title}" for c in real_manual.chapters for s in c.sections]
    assert "一、询价与报价" in by_style["Heading 3"]
    for level in (1, 2, 3):
        outline = rendered.style(f"Heading{level}").xpath("string(w:pPr/w:outlineLvl/@w:val)", namespaces=NS)
        assert outline == str(level - 1)
        assert rendered.style(f"Heading{level}").xpath("string(w:name/@w:val)", namespaces=NS) == f"heading {level}"


def test_every_section_has_its_text(rendered: Docx, real_manual: Manual) -> None:
    text = rendered.text(rendered.document)
    for chapter in real_manual.chapters:
        for section in chapter.sections:
            samples = inline_samples(section.body)
            assert samples, section.id
            for sample in samples:
                assert sample in text, f"{section.id}: {sample!r} missing"


def test_inline_formatting_and_chinese_line_breaks() -> None:
    body = (
        "第一行**粗体文字**与*强调文字*，系统字段 `ERP_ORDER`；\n这一行与上一行之间不加空格。English words\nstay apart."
    )
    out = Docx(render_docx(small_manual(body), make_edition(), generated=GENERATED))
    para = next(p for p in out.paragraphs("BodyText") if "第一行" in out.text(p))
    assert (
        out.text(para)
        == "第一行粗体文字与强调文字，系统字段 ERP_ORDER；这一行与上一行之间不加空格。English words stay apart."
    )
    runs = {out.text(r): r for r in para.iter(f"{{{W_NS}}}r")}
    assert runs["粗体文字"].find("w:rPr/w:b", NS) is not None
    assert runs["强调文字"].find("w:rPr/w:i", NS) is not None
    assert runs["ERP_ORDER"].xpath("string(w:rPr/w:rStyle/@w:val)", namespaces=NS) == "InlineCode"


def test_tables_have_repeating_header_rows_borders_and_style(rendered: Docx, real_manual: Manual) -> None:
    document = rendered.document
    tables = document.findall(".//w:tbl", NS)
    styled = [t for t in tables if t.xpath("string(w:tblPr/w:tblStyle/@w:val)", namespaces=NS) == "ManualTable"]
    markdown_tables = sum(
        1 for c in real_manual.chapters for s in c.sections for t in parse(s.body) if t.type == "table_open"
    )
    assert len(styled) == markdown_tables + 2  # plus the sign-off and revision tables
    for table in styled:
        first_row = table.find("w:tr", NS)
        assert first_row.find("w:trPr/w:tblHeader", NS) is not None
        assert len(table.find("w:tblGrid", NS)) == len(first_row.findall("w:tc", NS))
    borders = rendered.style("ManualTable").find("w:tblPr/w:tblBorders", NS)
    assert {child.tag.split("}")[1] for child in borders} >= {"top", "left", "bottom", "right", "insideH", "insideV"}
    assert all(b.get(f"{{{W_NS}}}val") == "single" for b in borders)
    table_31 = next(t for t in styled if "备货与发运" in rendered.text(t))
    header_cells = [rendered.text(tc) for tc in table_31.find("w:tr", NS).findall("w:tc", NS)]
    assert header_cells == ["序号", "环节", "责任部门", "完成时限", "形成记录"]
    assert len(table_31.findall("w:tr", NS)) == 7


def test_lists_use_word_numbering_restarting_per_list(rendered: Docx) -> None:
    numbering = rendered.xml("word/numbering.xml")
    formats = set(numbering.xpath("w:abstractNum/w:lvl/w:numFmt/@w:val", namespaces=NS))
    assert {"bullet", "decimal"} <= formats
    nums = {n.get(f"{{{W_NS}}}numId"): n for n in numbering.findall("w:num", NS)}
    used = rendered.document.xpath("//w:numPr", namespaces=NS)
    assert len(used) > 50
    for num_pr in used:
        num_id = num_pr.xpath("string(w:numId/@w:val)", namespaces=NS)
        level = num_pr.xpath("string(w:ilvl/@w:val)", namespaces=NS)
        assert num_id in nums
        override = nums[num_id].find(f'w:lvlOverride[@w:ilvl="{level}"]/w:startOverride', NS)
        assert override is not None, "every list restarts its own numbering"
    levels = {num_pr.xpath("string(w:ilvl/@w:val)", namespaces=NS) for num_pr in used}
    assert {"0", "1"} <= levels  # 3.2 nests bullets inside a numbered list


def test_nested_lists_three_levels_and_restart() -> None:
    body = (
        "第一个列表：\n\n1. 甲\n2. 乙\n    - 乙一\n        1. 乙一甲\n        2. 乙一乙\n    - 乙二\n3. 丙\n\n"
        "第二个列表：\n\n1. 重新从一开始\n2. 第二项\n\n第三个列表：\n\n4. 从四开始的列表"
    )
    out = Docx(render_docx(small_manual(body), make_edition(), generated=GENERATED))
    items = {}
    for p in out.paragraphs("ListParagraph"):
        num_pr = p.find("w:pPr/w:numPr", NS)
        if num_pr is not None:
            items[out.text(p)] = (
                num_pr.xpath("string(w:numId/@w:val)", namespaces=NS),
                num_pr.xpath("string(w:ilvl/@w:val)", namespaces=NS),
            )
    assert items["甲"][1] == "0" and items["乙一"][1] == "1" and items["乙一甲"][1] == "2"
    assert items["甲"][0] == items["丙"][0]
    assert items["甲"][0] != items["重新从一开始"][0]  # a new list is a new w:num: it restarts
    numbering = out.xml("word/numbering.xml")

    def start(num_id: str) -> str:
        return str(
            numbering.xpath(f'string(w:num[@w:numId="{num_id}"]/w:lvlOverride/w:startOverride/@w:val)', namespaces=NS)
        )

    def kind(num_id: str) -> str:
        abstract = numbering.xpath(f'string(w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val)', namespaces=NS)
        return str(
            numbering.xpath(
                f'string(w:abstractNum[@w:abstractNumId="{abstract}"]/w:lvl[@w:ilvl="0"]/w:numFmt/@w:val)',
                namespaces=NS,
            )
        )

    assert start(items["重新从一开始"][0]) == "1"
    assert start(items["从四开始的列表"][0]) == "4"
    assert kind(items["甲"][0]) == "decimal" and kind(items["乙一"][0]) == "bullet"


def test_block_quotes_links_and_images() -> None:
    body = (
        "见 [第 1.2 节](#sec-1-2)、[本章](01-test.md) 和 [官网](https://example.com/规范)，[坏链接](javascript:alert(1))。\n\n"
        "> 注：这是一条注释。\n\n"
        "![流程图](images/flow.png)\n\n"
        "![缺失的图](images/missing.png)"
    )
    manual = small_manual(body, extra_sections=(("第二小节", "第二小节的正文内容。"),))
    out = Docx(render_docx(manual, make_edition(), generated=GENERATED, images={"manual/images/flow.png": tiny_png()}))
    document = out.document
    assert [out.text(p) for p in out.paragraphs("Quote")] == ["注：这是一条注释。"]
    anchors = document.xpath("//w:hyperlink/@w:anchor", namespaces=NS)
    assert "sec_1_2" in anchors and "chap_1" in anchors
    bookmarks = set(document.xpath("//w:bookmarkStart/@w:name", namespaces=NS))
    assert {"sec_1_1", "sec_1_2", "chap_1"} <= bookmarks
    rid = document.xpath("string(//w:hyperlink/@r:id)", namespaces=NS)
    rels = out.xml("word/_rels/document.xml.rels")
    rel = rels.xpath(f'rel:Relationship[@Id="{rid}"]', namespaces=NS)[0]
    assert rel.get("TargetMode") == "External" and rel.get("Target").startswith("https://example.com/")
    assert len(rels.xpath('rel:Relationship[@TargetMode="External"]', namespaces=NS)) == 1  # not javascript:
    assert "坏链接" in out.text(document)
    blip = document.xpath("string(//w:drawing//@r:embed)", namespaces=NS)
    image = rels.xpath(f'rel:Relationship[@Id="{blip}"]', namespaces=NS)[0]
    assert out.parts["word/" + image.get("Target")] == tiny_png()
    assert "［图：缺失的图］" in out.text(document)


def test_internal_links_of_the_real_manual_point_at_heading_bookmarks(rendered: Docx) -> None:
    document = rendered.document
    heading_bookmarks = set(
        document.xpath('//w:p[w:pPr/w:pStyle/@w:val="Heading2"]/w:bookmarkStart/@w:name', namespaces=NS)
    )
    assert "sec_8_2" in heading_bookmarks
    body_links = document.xpath('//w:p[w:pPr/w:pStyle/@w:val="BodyText"]//w:hyperlink/@w:anchor', namespaces=NS)
    assert "sec_8_2" in body_links and "sec_6_3" in body_links
    assert set(body_links) <= heading_bookmarks


# --------------------------------------------------------------------------- typography


def test_chinese_typography_in_styles(rendered: Docx) -> None:
    styles = rendered.xml("word/styles.xml")
    defaults = styles.find("w:docDefaults/w:rPrDefault/w:rPr", NS)
    assert defaults.xpath("string(w:rFonts/@w:eastAsia)", namespaces=NS) == "宋体"
    assert defaults.xpath("string(w:lang/@w:eastAsia)", namespaces=NS) == "zh-CN"
    for style in styles.xpath('w:style[@w:type="paragraph"]', namespaces=NS):
        font = style.xpath("string(w:rPr/w:rFonts/@w:eastAsia)", namespaces=NS)
        assert font in ("宋体", "黑体", "楷体"), style.get(f"{{{W_NS}}}styleId")

    def size(style_id: str) -> str:
        return str(rendered.style(style_id).xpath("string(w:rPr/w:sz/@w:val)", namespaces=NS))

    def east_asia(style_id: str) -> str:
        return str(rendered.style(style_id).xpath("string(w:rPr/w:rFonts/@w:eastAsia)", namespaces=NS))

    assert (size("Normal"), size("BodyText"), size("TableText")) == ("24", "24", "21")
    assert (size("Title"), size("Heading1"), size("Heading2")) == ("44", "32", "28")
    assert (east_asia("BodyText"), east_asia("Heading1"), east_asia("Title")) == ("宋体", "黑体", "黑体")
    normal_spacing = rendered.style("Normal").find("w:pPr/w:spacing", NS)
    assert normal_spacing.get(f"{{{W_NS}}}line") == "360" and normal_spacing.get(f"{{{W_NS}}}lineRule") == "auto"
    assert rendered.style("BodyText").xpath("string(w:pPr/w:ind/@w:firstLineChars)", namespaces=NS) == "200"
    section = rendered.document.find("w:body/w:sectPr", NS)
    assert section.xpath("string(w:pgSz/@w:w)", namespaces=NS) == "11906"
    assert section.xpath("string(w:pgSz/@w:h)", namespaces=NS) == "16838"
    for side in ("top", "bottom", "left", "right"):
        margin_mm = int(section.xpath(f"string(w:pgMar/@w:{side})", namespaces=NS)) / 1440 * 25.4
        assert 24 <= margin_mm <= 26
    settings = rendered.xml("word/settings.xml")
    assert settings.xpath("string(w:themeFontLang/@w:eastAsia)", namespaces=NS) == "zh-CN"
    body_paragraphs = rendered.paragraphs("BodyText")
    assert len(body_paragraphs) > 100


# --------------------------------------------------------------------------- furniture


def test_table_of_contents_is_a_prefilled_field(rendered: Docx, real_manual: Manual) -> None:
    document = rendered.document
    instructions = [t.text for t in document.iter(f"{{{W_NS}}}instrText")]
    assert ' TOC \\o "1-2" \\h \\z \\u ' in instructions
    entries = [(p, style) for style in ("TOC1", "TOC2") for p in rendered.paragraphs(style)]
    # Each entry: its heading, a tab (dot leader) and its page (the placeholder until filled in).
    texts = {rendered.text(p).removesuffix(TOC_PLACEHOLDER): p.xpath("string(.//w:hyperlink/@w:anchor)", namespaces=NS) for p, _ in entries}
    assert all(rendered.text(p).endswith(TOC_PLACEHOLDER) for p, _ in entries)
    assert all(" PAGEREF " in "".join(p.xpath(".//w:instrText/text()", namespaces=NS)) for p, _ in entries)
    bookmarks = set(document.xpath("//w:bookmarkStart/@w:name", namespaces=NS))
    for chapter in real_manual.chapters:
        assert texts[chapter_heading(chapter)] == f"chap_{chapter.number}"
        for section in chapter.sections:
            anchor = texts[f"{section.id} {section.title}"]
            assert anchor == section.anchor.replace("-", "_") and anchor in bookmarks
    # The entries sit inside the field: after its separator, before its end.
    chars = [(c.get(f"{{{W_NS}}}fldCharType"), c) for c in document.iter(f"{{{W_NS}}}fldChar")]
    toc_paragraphs = rendered.paragraphs("TOC1")
    first_entry, last_entry = toc_paragraphs[0], rendered.paragraphs("TOC2")[-1]
    assert first_entry.find(".//w:fldChar[@w:fldCharType='separate']", NS) is not None
    following_end = last_entry.getnext().find(".//w:fldChar", NS)
    assert following_end is not None and following_end.get(f"{{{W_NS}}}fldCharType") == "end"
    assert chars


def test_running_header_and_page_number_footer(rendered: Docx) -> None:
    section = rendered.document.find("w:body/w:sectPr", NS)
    assert section.find("w:titlePg", NS) is not None
    rels = rendered.xml("word/_rels/document.xml.rels")

    def target(kind: str, ref_type: str) -> str:
        rid = section.xpath(f'string(w:{kind}Reference[@w:type="{ref_type}"]/@r:id)', namespaces=NS)
        return "word/" + str(rels.xpath(f'string(rel:Relationship[@Id="{rid}"]/@Target)', namespaces=NS))

    header = rendered.xml(target("header", "default"))
    assert rendered.text(header) == "销售业务流程规范手册（标准版） · XS-QM-01 · 版本 A/1 · 实施日期 2026-01-01　【受控】"
    assert rendered.text(rendered.xml(target("header", "first"))) == "受控"  # the cover's header: the mark alone
    footer = rendered.xml(target("footer", "default"))
    instructions = [t.text.strip() for t in footer.iter(f"{{{W_NS}}}instrText")]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert rendered.text(footer).startswith("第 ") and "页 共" in rendered.text(footer)
    assert target("header", "first") != target("header", "default")


def test_cover_signoff_page_and_revision_record(rendered: Docx) -> None:
    document = rendered.document
    body = list(document.find("w:body", NS))
    cover_end = next(
        i for i, el in enumerate(body) if el.xpath("string(w:pPr/w:pStyle/@w:val)", namespaces=NS) == "FrontTitle"
    )
    cover = "".join(rendered.text(el) for el in body[:cover_end])
    for expected in ("晟达实业有限公司", "销售业务流程规范手册（标准版）", "XS-QM-01", "A/1", "受控", "2025-12-20",
                     "2026-01-01", "质量管理部", "王晓明、陈静"):  # fmt: skip
        assert expected in cover, expected
    assert "作废" not in cover and "非受控" not in cover and "开发签名" not in cover
    tables = document.findall(".//w:tbl", NS)
    signoff = next(t for t in tables if "签署含义" in rendered.text(t))
    rows = [[rendered.text(tc) for tc in tr.findall("w:tc", NS)] for tr in signoff.findall("w:tr", NS)]
    assert rows[0] == ["签署角色", "签署人", "签署含义", "签署时间", "修订申请单号"]
    assert [r[0] for r in rows[1:]] == ["编制", "编制", "审核", "审核", "会签", "会签", "批准", "批准"]
    assert rows[1] == ["编制", "王晓明", MEANINGS["编制"], "2025-12-10 09:30", "CR-2025-001"]
    assert rows[-1] == ["批准", "刘洋", MEANINGS["批准"], "2025-12-13 10:30", "CR-2025-002"]
    revision = next(t for t in tables if "修订内容摘要" in rendered.text(t))
    rows = [[rendered.text(tc) for tc in tr.findall("w:tc", NS)] for tr in revision.findall("w:tr", NS)]
    assert rows[0] == REVISION_TITLES
    assert rows[1] == [
        "1",
        "A/0",
        "—",
        "首次发布",
        "CR-2025-000",
        "王晓明",
        "李建国",
        "—",
        "张伟",
        "2025-06-01",
        "2025-07-01",
    ]
    assert rows[2][:4] == ["2", "A/1", "3.2", "调整报价审批权限和合同评审时限"]
    assert rows[2][7] == "王芳"  # the 会签 column
    assert "CR-2025-001" in rows[2][4] and "CR-2025-002" in rows[2][4]


def test_signoff_table_has_no_cosign_row_without_cosigners(real_manual: Manual) -> None:
    out = Docx(render_docx(real_manual, make_edition(roles=("编制", "审核", "批准")), generated=GENERATED))
    signoff = next(t for t in out.document.findall(".//w:tbl", NS) if "签署含义" in out.text(t))
    roles = [out.text(tr.find("w:tc", NS)) for tr in signoff.findall("w:tr", NS)[1:]]
    assert roles == ["编制", "编制", "审核", "审核", "批准", "批准"]


def test_changed_sections_carry_a_change_bar_and_note(rendered: Docx) -> None:
    document = rendered.document
    headings = {rendered.text(p): p for p in rendered.paragraphs("Heading2")}
    changed, unchanged = headings["3.2 业务流程实施步骤"], headings["3.1 业务流程执行流程"]
    assert changed.find("w:pPr/w:pBdr/w:left", NS) is not None
    assert unchanged.find("w:pPr/w:pBdr", NS) is None
    note = changed.getnext()
    assert note.xpath("string(w:pPr/w:pStyle/@w:val)", namespaces=NS) == "RevisionNote"
    assert "本版修订" in rendered.text(note)
    assert len(rendered.paragraphs("RevisionNote")) == 1
    # Every paragraph of 3.2, up to the next section, has the bar.
    paragraph = note.getnext()
    while paragraph is not None and paragraph.xpath("string(w:pPr/w:pStyle/@w:val)", namespaces=NS) != "Heading2":
        if paragraph.tag == f"{{{W_NS}}}p":
            assert paragraph.find("w:pPr/w:pBdr/w:left", NS) is not None, rendered.text(paragraph)
        paragraph = paragraph.getnext()
    assert document is not None


def test_superseded_edition_is_marked_on_every_page(real_manual: Manual) -> None:
    out = Docx(render_docx(real_manual, make_edition(Status.SUPERSEDED), generated=GENERATED))
    headers = out.names("word/header")
    assert len(headers) == 2  # first page and all others
    for name in headers:
        header = out.xml(name)
        assert "作废" in out.text(header) and "非受控" in out.text(header)
        assert header.xpath("string(//v:textpath/@string)", namespaces=NS) == "作废"  # watermark
    cover = "".join(out.text(p) for p in out.paragraphs("CoverMark"))
    assert "作　废" in cover
    assert "非受控" in out.text(out.document)


def test_draft_and_development_signature_marks(real_manual: Manual) -> None:
    out = Docx(render_docx(real_manual, make_edition(Status.DRAFT, development_signature=True), generated=GENERATED))
    marks = [out.text(p) for p in out.paragraphs("CoverMark")]
    assert marks == ["草稿（未生效）", "开发签名（非正式）"]
    for name in out.names("word/header"):
        assert "草稿（未生效）" in out.text(out.xml(name))
    custom = out.xml("docProps/custom.xml")
    assert custom.xpath('string(op:property[@name="controlled"]/vt:lpwstr)', namespaces=NS) == "非受控"


def test_core_properties_carry_version_and_digest(rendered: Docx) -> None:
    properties = docx.Document(io.BytesIO(rendered.data)).core_properties
    assert properties.title == "销售业务流程规范手册（标准版）"
    assert properties.keywords == f"version=A/1; digest={DIGEST}; layout=2"
    assert "A/1" in properties.subject and DIGEST in properties.subject
    assert "A/1" in properties.identifier and DIGEST in properties.identifier
    assert properties.category == "受控文件"
    assert properties.author == "晟达实业有限公司"
    assert properties.version == "A/1"
    expected = GENERATED.astimezone(dt.UTC)
    assert properties.created == expected and properties.modified == expected
    custom = rendered.xml("docProps/custom.xml")
    values = {p.get("name"): p.findtext("vt:lpwstr", namespaces=NS) for p in custom.findall("op:property", NS)}
    assert values["version"] == "A/1" and values["digest"] == DIGEST and values["document_number"] == "XS-QM-01"
    content_types = rendered.parts["[Content_Types].xml"].decode()
    assert "/docProps/custom.xml" in content_types
    assert "docProps/thumbnail.jpeg" not in rendered.parts  # nothing left from python-docx's template


def test_rendering_is_reproducible(real_manual: Manual) -> None:
    edition = make_edition()
    first = render_docx(real_manual, edition, generated=GENERATED)
    second = render_docx(real_manual, edition, generated=GENERATED)
    assert Docx(first).parts["word/document.xml"] == Docx(second).parts["word/document.xml"]
    assert first == second
    later = Docx(render_docx(real_manual, edition, generated=GENERATED + dt.timedelta(days=1)))
    assert later.parts["word/document.xml"] == Docx(first).parts["word/document.xml"]
    assert later.parts["docProps/core.xml"] != Docx(first).parts["docProps/core.xml"]


def test_text_outside_xml_is_dropped_and_markup_escaped() -> None:
    out = Docx(render_docx(small_manual("含有 <尖括号> & 符号\x01 的正文，长度足够四十个字符以上的一段文字。"),
                           make_edition(), generated=GENERATED))  # fmt: skip
    assert "含有 <尖括号> & 符号 的正文" in out.text(out.document)


# --------------------------------------------------------------------------- LibreOffice

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"


def libreoffice_available() -> bool:
    return Path(SOFFICE).is_file() and shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_renders_the_manual(tmp_path: Path, real_manual: Manual, rendered: Docx) -> None:
    if not libreoffice_available():
        message = "LibreOffice (soffice) or poppler-utils (pdftotext, pdftoppm) not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires them")
        pytest.skip(message)
    source = tmp_path / "manual.docx"
    source.write_bytes(rendered.data)
    profile = new_libreoffice_profile(tmp_path / "lo-profile")
    proc = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    pdf = tmp_path / "manual.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr.decode("utf-8", "replace")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    pages = text.decode("utf-8").split("\f")
    compact = re.sub(r"\s+", "", text.decode("utf-8"))
    for chapter in real_manual.chapters:
        assert re.sub(r"\s+", "", chapter_heading(chapter)) in compact
        for section in chapter.sections:
            assert f"{section.id}{section.title}" in compact, section.id
    assert len([p for p in pages if p.strip()]) > 10
    assert "第1页共" in re.sub(r"\s+", "", pages[1]) or "第2页共" in re.sub(r"\s+", "", pages[1])
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == 1 and images[0].read_bytes().startswith(b"\x89PNG")
