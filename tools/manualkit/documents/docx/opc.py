"""The OPC package of a rendered DOCX: parts, their relationships, and the core properties.

Every DOCX the manual makes starts from the same few parts of python-docx's default template (its
theme and web settings, and the root elements, with their namespace declarations, of the document,
styles, settings, numbering, header and footer parts), read from the installed template files
with :mod:`zipfile` and lxml when a document is first made. python-docx itself (some 90 ms of
imports, and two 430 KB style parts parsed that every document then dropped) is imported only for
a document with an image, to read the image's size (:meth:`DocumentPart.get_or_add_image`).

The package is written as python-docx wrote it (the same part names, relationship ids, element
order and XML serialisation), so a document's bytes did not change when this module replaced it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.util
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from lxml import etree

from manualkit.documents.docx.xml import esc

# The relationship types and content types of the parts written here (ECMA-376 part 1 and 2).
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RT_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
RT_OFFICE_DOCUMENT = f"{_R}/officeDocument"
RT_EXTENDED_PROPERTIES = f"{_R}/extended-properties"
RT_CUSTOM_PROPERTIES = f"{_R}/custom-properties"
RT_STYLES = f"{_R}/styles"
RT_SETTINGS = f"{_R}/settings"
RT_WEB_SETTINGS = f"{_R}/webSettings"
RT_THEME = f"{_R}/theme"
RT_NUMBERING = f"{_R}/numbering"
RT_FONT_TABLE = f"{_R}/fontTable"
RT_HEADER = f"{_R}/header"
RT_FOOTER = f"{_R}/footer"
RT_HYPERLINK = f"{_R}/hyperlink"
RT_IMAGE = f"{_R}/image"

_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
CT_EXTENDED = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
CT_CUSTOM = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CT_DOCUMENT = f"{_WML}.document.main+xml"
CT_STYLES = f"{_WML}.styles+xml"
CT_SETTINGS = f"{_WML}.settings+xml"
CT_WEB_SETTINGS = f"{_WML}.webSettings+xml"
CT_THEME = "application/vnd.openxmlformats-officedocument.theme+xml"
CT_NUMBERING = f"{_WML}.numbering+xml"
CT_FONT_TABLE = f"{_WML}.fontTable+xml"
CT_HEADER = f"{_WML}.header+xml"
CT_FOOTER = f"{_WML}.footer+xml"

_DECLARATION = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False)


def parse_xml(xml: str | bytes) -> Any:
    """An lxml element of ``xml``, parsed as python-docx parsed its parts (blank text dropped,
    no entities resolved)."""
    return etree.fromstring(xml, _PARSER)  # a str as it is: a large body is never copied to bytes first


def serialize(element: Any) -> bytes:
    """A part's XML as python-docx stored it: lxml's declaration (single quotes), no pretty printing."""
    data: bytes = etree.tostring(element, encoding="UTF-8", standalone=True)
    return data


class Template(NamedTuple):
    """What every document takes from python-docx's default template."""

    theme: bytes
    web_settings: bytes
    roots: dict[str, bytes]  # part → its root element without children, serialised


@functools.cache
def template() -> Template:
    spec = importlib.util.find_spec("docx")  # finds the installed package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("python-docx is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "templates"
    with zipfile.ZipFile(folder / "default.docx") as zf:
        theme, web = zf.read("word/theme/theme1.xml"), zf.read("word/webSettings.xml")
        roots = {}
        for name in ("word/document.xml", "word/styles.xml", "word/settings.xml", "word/numbering.xml"):
            with zf.open(name) as part:
                roots[name] = _empty_root(part.read(_HEAD_BYTES))
    for name in ("header", "footer"):
        with (folder / f"default-{name}.xml").open("rb") as file:
            roots[name] = _empty_root(file.read(_HEAD_BYTES))
    return Template(theme, web, roots)


# The root's start tag of every template part ends within its first few kilobytes.
_HEAD_BYTES = 16 * 1024


def _empty_root(head: bytes) -> bytes:
    """The part's root element without its children, serialised, from the part's first bytes:
    its declaration and root start tag, closed at once, are parsed instead of the whole part
    (the styles part alone is 430 KB). The same bytes as parsing the part and removing every
    child (tests/test_docx_opc.py compares both)."""
    start = 0
    while True:  # past the declaration, processing instructions and comments
        start = head.index(b"<", start)
        if head.startswith(b"<?", start):
            start = head.index(b"?>", start) + 2
        elif head.startswith(b"<!--", start):
            start = head.index(b"-->", start) + 3
        else:
            break
    end, quote = start, b""
    while True:  # the start tag's closing bracket, outside any quoted attribute value
        end += 1
        char = head[end : end + 1]
        if not char:
            raise ValueError("template part: root start tag not found in its first bytes")
        if quote:
            quote = b"" if char == quote else quote
        elif char in (b'"', b"'"):
            quote = char
        elif char == b">":
            break
    tag = head[start + 1 : end].split(None, 1)[0].rstrip(b"/")
    closing = b"" if head[end - 1 : end] == b"/" else b"</" + tag + b">"
    return serialize(parse_xml(head[: end + 1] + closing))


def root_with(name: str, xml: str) -> bytes:
    """The template's root element of part ``name`` holding the children of ``xml`` (an element
    of the same tag, with its own namespace declarations)."""
    root = parse_xml(template().roots[name])
    root.extend(list(parse_xml(xml)))
    return serialize(root)


def document_with(body_xml: str, section_start: Sequence[str]) -> bytes:
    """``word/document.xml``: the template's root holding ``body_xml`` (a ``w:body`` whose last
    child is its ``w:sectPr``), with the elements ``section_start`` (the header and footer
    references, each with its own namespace declarations) put first in that ``w:sectPr``."""
    root = parse_xml(template().roots["word/document.xml"])
    body = parse_xml(body_xml)
    section = body[-1]
    for index, xml in enumerate(section_start):
        section.insert(index, parse_xml(xml))
    root.append(body)
    return serialize(root)


@dataclass
class Part:
    name: str  # "/word/document.xml"
    content_type: str
    blob: bytes = b""
    rels: Relationships = field(default_factory=lambda: Relationships())

    @property
    def ext(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass
class Relationship:
    rid: str
    reltype: str
    target: Part | str  # a part, or an external address


class Relationships:
    """A part's (or the package's) relationships, in the order they were added; a new one takes
    the lowest free ``rIdN``, and relating to the same target twice gives the same id."""

    def __init__(self, base: str = "/") -> None:
        self.base = base
        self.items: dict[str, Relationship] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, reltype: str, target: Part | str, rid: str | None = None) -> str:
        for rel in self.items.values():
            if rel.reltype == reltype and (rel.target is target if isinstance(target, Part) else rel.target == target):
                return rel.rid
        if rid is None:
            rid = next(f"rId{n}" for n in range(1, len(self.items) + 2) if f"rId{n}" not in self.items)
        self.items[rid] = Relationship(rid, reltype, target)
        return rid

    def drop(self, reltype: str) -> None:
        for rid in [rid for rid, rel in self.items.items() if rel.reltype == reltype]:
            del self.items[rid]

    def parts(self) -> Iterator[Part]:
        return (rel.target for rel in self.items.values() if isinstance(rel.target, Part))

    def xml(self) -> bytes:
        root = parse_xml('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')
        for rel in self.items.values():
            child = etree.SubElement(root, "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship")
            child.set("Id", rel.rid)
            child.set("Type", rel.reltype)
            if isinstance(rel.target, Part):
                child.set("Target", _relative(self.base, rel.target.name))
            else:
                child.set("Target", rel.target)
                child.set("TargetMode", "External")
        return serialize(root)


def _relative(base: str, name: str) -> str:
    """``name`` relative to the folder ``base`` ("/word/" → "media/image1.png")."""
    import posixpath

    return posixpath.relpath(name, base)


class DocumentPart(Part):
    """``/word/document.xml``: what the body's renderer relates to (links, images)."""

    def __init__(self, package: Package) -> None:
        super().__init__("/word/document.xml", CT_DOCUMENT, b"", Relationships("/word/"))
        self.package = package
        self._images: dict[str, tuple[Part, Any]] = {}  # SHA-1 of the bytes → part, image

    def relate_to(self, target: Part | str, reltype: str, is_external: bool = False) -> str:
        """The id of the relationship to ``target`` (an external address when ``is_external``)."""
        del is_external  # a str target is external, a Part internal
        return self.rels.add(reltype, target)

    def get_or_add_image(self, blob: bytes) -> tuple[str, Any]:
        """The relationship id of the image part holding ``blob`` (one part per distinct image)
        and the image (its ``width`` and ``height`` in EMU, read by python-docx's image reader)."""
        sha1 = hashlib.sha1(blob).hexdigest()
        if sha1 not in self._images:
            from docx.image.image import Image  # only a manual with images pays for python-docx

            image = Image.from_blob(blob)
            used = {int(p.name.rsplit("/image", 1)[1].split(".")[0]) for p, _ in self._images.values()}
            number = next(n for n in range(1, len(used) + 2) if n not in used)
            part = Part(f"/word/media/image{number}.{image.ext}", image.content_type, blob)
            self._images[sha1] = (part, image)
        part, image = self._images[sha1]
        return self.relate_to(part, RT_IMAGE), image


#: The core properties in the order the template's core.xml holds them, with its values: the
#: properties set later keep their place, new ones follow in the order they are set.
_CORE_ORDER = ("title", "subject", "author", "keywords", "comments", "last_modified_by", "revision", "created", "modified", "category")
_CORE_TAGS = {
    "title": "dc:title", "subject": "dc:subject", "author": "dc:creator", "keywords": "cp:keywords",
    "comments": "dc:description", "last_modified_by": "cp:lastModifiedBy", "revision": "cp:revision",
    "created": "dcterms:created", "modified": "dcterms:modified", "category": "cp:category",
    "identifier": "dc:identifier", "version": "cp:version", "content_status": "cp:contentStatus", "language": "dc:language",
}  # fmt: skip
_TEMPLATE_CORE: dict[str, object] = {
    "author": "python-docx",
    "comments": "",
    "revision": 1,
    "created": dt.datetime(2013, 12, 23, 23, 15),
    "modified": dt.datetime(2013, 12, 23, 23, 15),
}


class CoreProperties:
    """``docProps/core.xml``: set as attributes (``title``, ``author``, ``created`` …)."""

    _values: dict[str, object]

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {name: _TEMPLATE_CORE.get(name, "") for name in _CORE_ORDER})

    def __setattr__(self, name: str, value: object) -> None:
        if name not in _CORE_TAGS:
            raise AttributeError(name)
        self._values[name] = value

    def __getattr__(self, name: str) -> object:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def xml(self) -> bytes:
        out = []
        for name, value in self._values.items():
            tag = _CORE_TAGS[name]
            if isinstance(value, dt.datetime):
                out.append(f'<{tag} xsi:type="dcterms:W3CDTF">{value.strftime("%Y-%m-%dT%H:%M:%SZ")}</{tag}>')
            elif value == "":
                out.append(f"<{tag}/>")
            else:
                out.append(f"<{tag}>{_text(str(value))}</{tag}>")
        return _DECLARATION + (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            + "".join(out)
            + "</cp:coreProperties>"
        ).encode()


def _text(value: str) -> str:
    """Element text as lxml writes it: ``&``, ``<``, ``>`` escaped and a carriage return as a
    character reference; quotes as they are (characters XML forbids are dropped)."""
    return esc(value).replace("&quot;", '"').replace("&apos;", "'").replace("&#39;", "'").replace("\r", "&#13;")


class Package:
    """The parts of one DOCX, reached from the package's relationships."""

    def __init__(self) -> None:
        self.rels = Relationships("/")

    def relate_to(self, part: Part, reltype: str) -> str:
        return self.rels.add(reltype, part)

    def iter_parts(self) -> Iterator[Part]:
        """Every part once, depth first in relationship order (as python-docx walked them)."""
        seen: set[int] = set()

        def walk(rels: Relationships) -> Iterator[Part]:
            for part in rels.parts():
                if id(part) not in seen:
                    seen.add(id(part))
                    yield part
                    yield from walk(part.rels)

        return walk(self.rels)
