"""The package around a rendered body: styles, numbering, settings, fonts, header and footer,
document properties, and deterministic serialisation.

The package (parts, relationships, core properties) is :mod:`manualkit.documents.docx.opc`, which
starts every document from python-docx's default template as python-docx did, without importing
python-docx; every part's XML is written here as text, so that no style is looked up by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from manualkit.documents.docx.numbering import numbering_xml
from manualkit.documents.docx.opc import (
    CT_CORE,
    CT_CUSTOM,
    CT_EXTENDED,
    CT_FONT_TABLE,
    CT_FOOTER,
    CT_HEADER,
    CT_NUMBERING,
    CT_SETTINGS,
    CT_STYLES,
    CT_THEME,
    CT_WEB_SETTINGS,
    RT_CORE,
    RT_CUSTOM_PROPERTIES,
    RT_EXTENDED_PROPERTIES,
    RT_FONT_TABLE,
    RT_FOOTER,
    RT_HEADER,
    RT_NUMBERING,
    RT_OFFICE_DOCUMENT,
    RT_SETTINGS,
    RT_STYLES,
    RT_THEME,
    RT_WEB_SETTINGS,
    CoreProperties,
    DocumentPart,
    Package,
    Part,
    document_with,
    root_with,
    template,
)
from manualkit.documents.docx.styles import styles_xml
from manualkit.documents.docx.xml import ALL_DECLS, HEI, NS, RED, W_DECL, esc, field, run, utc_naive
from manualkit.documents.ooxml_package import write_package

FONT_TABLE = (
    f"<w:fonts {W_DECL}>"
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

def settings_xml(*, track_revisions: bool = False) -> str:
    """``w:settings``. No ``updateFields``: the table of contents carries its page numbers, and an
    update on opening would both prompt the reader and change a signed file. A redline turns on
    ``trackRevisions`` so that further edits are tracked too."""
    track = "<w:trackRevisions/>" if track_revisions else ""
    return (
        f"<w:settings {W_DECL}>"
        '<w:zoom w:percent="100"/>'
        f"{track}"
        '<w:defaultTabStop w:val="420"/>'
        '<w:characterSpacingControl w:val="compressPunctuation"/>'
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


def watermark(text: str, index: int) -> str:
    """A large pale diagonal text behind the page, anchored in the header (Word's watermark)."""
    return (
        f"<w:r><w:rPr><w:noProof/></w:rPr><w:pict>{_WATERMARK_SHAPETYPE}"
        f'<v:shape id="PowerPlusWaterMarkObject{index}" o:spid="_x0000_s{2048 + index}" type="#_x0000_t136" '
        'style="position:absolute;margin-left:0;margin-top:0;width:415pt;height:207pt;rotation:315;'
        "z-index:-251657216;mso-position-horizontal:center;mso-position-horizontal-relative:margin;"
        'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
        'fillcolor="#d8d8d8" stroked="f"><v:fill opacity=".5"/>'
        f'<v:textpath style="font-family:&quot;{HEI}&quot;;font-size:1pt" string="{esc(text)}"/>'
        '<w10:wrap anchorx="margin" anchory="margin"/></v:shape></w:pict></w:r>'
    )


def app_xml(company: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"<Application>manualkit</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
        f"<Company>{esc(company)}</Company><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
        "<HyperlinksChanged>false</HyperlinksChanged></Properties>"
    ).encode()


def custom_xml(properties: Sequence[tuple[str, str]]) -> bytes:
    items = "".join(
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" '
        f'pid="{pid}" name="{esc(name)}"><vt:lpwstr>{esc(value)}</vt:lpwstr></property>'
        for pid, (name, value) in enumerate(properties, start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        f'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{items}</Properties>'
    ).encode()


class Document:
    """A DOCX being made: its package, main document part and core properties."""

    def __init__(self, company: str) -> None:
        self.package = Package()
        self.core_properties = CoreProperties()
        self.part = DocumentPart(self.package)
        # The template's relationship ids, less the parts a controlled copy must not carry (a
        # thumbnail of another document, Word's bibliography store, a second copy of the styles,
        # an app.xml naming another application), in the order python-docx left them.
        self._core = Part("/docProps/core.xml", CT_CORE)
        self.package.rels.add(RT_CORE, self._core, "rId3")
        self.package.rels.add(RT_OFFICE_DOCUMENT, self.part, "rId1")
        theme = template()
        self._styles = Part("/word/styles.xml", CT_STYLES)
        self._settings = Part("/word/settings.xml", CT_SETTINGS)
        self._numbering = Part("/word/numbering.xml", CT_NUMBERING)
        rels = self.part.rels
        rels.add(RT_STYLES, self._styles, "rId3")
        rels.add(RT_SETTINGS, self._settings, "rId5")
        rels.add(RT_WEB_SETTINGS, Part("/word/webSettings.xml", CT_WEB_SETTINGS, theme.web_settings), "rId6")
        rels.add(RT_THEME, Part("/word/theme/theme1.xml", CT_THEME, theme.theme), "rId8")
        rels.add(RT_NUMBERING, self._numbering, "rId2")
        rels.add(RT_FONT_TABLE, Part("/word/fontTable.xml", CT_FONT_TABLE, xml_bytes(FONT_TABLE)))
        self.package.relate_to(Part("/docProps/app.xml", CT_EXTENDED, app_xml(company)), RT_EXTENDED_PROPERTIES)

    def add_custom_properties(self, xml: bytes) -> None:
        """``docProps/custom.xml`` (:func:`custom_xml`)."""
        self.package.relate_to(Part("/docProps/custom.xml", CT_CUSTOM, xml), RT_CUSTOM_PROPERTIES)


def xml_bytes(xml: str) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml.encode()


def package_bytes(package: Package) -> bytes:
    """Serialise the package deterministically: content types, package relationships, then each
    part (with its relationships) in relationship-graph order."""
    parts = list(package.iter_parts())
    defaults = {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml"}
    overrides: list[str] = []
    for part in parts:
        ext = part.ext.lower()
        if ext not in ("rels", "xml") and ext not in defaults:
            defaults[ext] = part.content_type
        if defaults.get(ext) != part.content_type:
            overrides.append(f'<Override PartName="{esc(part.name)}" ContentType="{part.content_type}"/>')
    types = "".join(f'<Default Extension="{ext}" ContentType="{ct}"/>' for ext, ct in defaults.items())
    content_types = xml_bytes(
        f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{types}{"".join(overrides)}</Types>'
    )
    items: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", package.rels.xml()),
    ]
    for part in parts:
        items.append((part.name[1:], part.blob))
        if len(part.rels):
            folder, _, name = part.name[1:].rpartition("/")
            items.append((f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels", part.rels.xml()))
    return write_package(items)


# --------------------------------------------------------------------------- header and footer


def header_xml(text: str, marks: Sequence[str], watermark_text: str | None, *, first: bool) -> str:
    """The running header: ``text`` and the copy's status ``marks`` in red; on the cover (``first``)
    only the marks. ``watermark_text`` (作废, 草稿) is drawn large and pale behind every page."""
    red = f'<w:rPr><w:b/><w:color w:val="{RED}"/></w:rPr>'
    runs = []
    if first:
        if marks:
            runs.append(run("　".join(marks), red))
    else:
        runs.append(run(text))
        if marks:
            runs.append(run("　【" + " · ".join(marks) + "】", red))
    mark = watermark(watermark_text, 1 if first else 2) if watermark_text else ""
    # The cover's header has no rule under it.
    rule = '<w:pBdr><w:bottom w:val="nil"/></w:pBdr><w:jc w:val="right"/>' if first else ""
    return f'<w:p><w:pPr><w:pStyle w:val="Header"/>{rule}</w:pPr>{mark}{"".join(runs)}</w:p>'


def footer_xml() -> str:
    return (
        '<w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>'
        f"{run('第 ')}{field('PAGE', '1')}{run(' 页 共 ')}{field('NUMPAGES', '1')}{run(' 页')}</w:p>"
    )


def set_authorship(document: Document, company: str, created: dt.datetime, *, revision: int = 1, comments: str | None = None) -> None:
    """The core properties every DOCX of the manual carries after its own (title, subject, …):
    the company as author and last editor, zh-CN, the revision, created and modified at
    ``created`` (stored as naive UTC). Set in this order, which is the order of the XML."""
    props = document.core_properties
    props.author = company
    props.last_modified_by = company
    if comments is not None:
        props.comments = comments
    props.language = "zh-CN"
    props.revision = revision
    props.created = props.modified = utc_naive(created)


def new_document(company: str) -> Document:
    """A new document with our styles, font table and app.xml (see :class:`Document`)."""
    document = Document(company)
    document._styles.blob = root_with("word/styles.xml", styles_xml())
    return document


def finish(
    document: Document,
    body_xml: str,
    lists: Sequence[tuple[bool, int, int]],
    *,
    header_text: str,
    marks: Sequence[str],
    watermark_text: str | None,
    track_revisions: bool = False,
) -> bytes:
    """Put ``body_xml`` (a ``w:body``), the numbering of ``lists``, the header and footer into
    ``document`` and serialise it; the caller has set the document properties."""
    document._settings.blob = root_with("word/settings.xml", settings_xml(track_revisions=track_revisions))
    document._numbering.blob = root_with("word/numbering.xml", numbering_xml(lists))
    parts = (
        (RT_HEADER, CT_HEADER, "header", "/word/header1.xml", header_xml(header_text, marks, watermark_text, first=False)),
        (RT_HEADER, CT_HEADER, "header", "/word/header2.xml", header_xml(header_text, marks, watermark_text, first=True)),
        (RT_FOOTER, CT_FOOTER, "footer", "/word/footer1.xml", footer_xml()),
        (RT_FOOTER, CT_FOOTER, "footer", "/word/footer2.xml", '<w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr></w:p>'),
    )
    references = []
    for (reltype, content_type, kind, name, xml), which in zip(parts, ("default", "first", "default", "first"), strict=True):
        tag = "w:hdr" if kind == "header" else "w:ftr"
        part = Part(name, content_type, root_with(kind, f"<{tag} {ALL_DECLS}>{xml}</{tag}>"))
        rid = document.part.relate_to(part, reltype)
        references.append(f'<w:{kind}Reference {W_DECL} xmlns:r="{NS["r"]}" w:type="{which}" r:id="{rid}"/>')
    document.part.blob = document_with(body_xml, references)
    document._core.blob = document.core_properties.xml()
    return package_bytes(document.package)
