"""Bounded reading and deterministic writing of OPC (zip) packages such as DOCX.

Reading refuses anything a hostile file could use against us: too many entries, parts that are
too large (by their declared size and, again, while they are decompressed), a total that is too
large, compression ratios that only zip bombs have, absolute or ``..`` paths, duplicate names,
encryption and compression methods OPC does not allow. XML parts are parsed without DTDs,
entities or network access.

Writing is deterministic: the same parts in the same order give the same bytes, with fixed zip
timestamps (1980-01-01, or ``SOURCE_DATE_EPOCH`` when set) and fixed permissions.

Every failure raises :class:`PackageError` with a stable code (``DOC5xx``) and a Chinese message.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from lxml import etree

from manualkit.base.diagnostics import ManualError, diagnostic

KIB = 1024
MIB = 1024 * KIB

CONTENT_TYPES_NAME = "[Content_Types].xml"
NS_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
RELATIONSHIPS_CONTENT_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

#: The codes this module (and the signature modules) raise, with what each means.
PACKAGE_ERROR_CODES: dict[str, str] = {
    "DOC501": "文件不是有效的 ZIP/OPC 包或已损坏",
    "DOC502": "包内条目数超过上限",
    "DOC503": "单个部件超过大小上限",
    "DOC504": "包解压后的总大小超过上限",
    "DOC505": "压缩比异常，疑似 ZIP 炸弹",
    "DOC506": "不安全的条目名（绝对路径、.. 段、反斜杠等）",
    "DOC507": "重复的条目名",
    "DOC508": "[Content_Types].xml 缺失、无效，或部件没有内容类型",
    "DOC509": "关系部件（.rels）无效",
    "DOC510": "不支持的 ZIP 特性（加密或 OPC 不允许的压缩方法）",
    "DOC511": "XML 部件格式错误或含有 DTD 声明",
    "DOC512": "SOURCE_DATE_EPOCH 不是有效的时间戳",
}


class PackageError(ManualError):
    """A package could not be read or written. ``code`` is stable, ``message`` is Chinese.

    A :class:`~manualkit.base.diagnostics.ManualError` like every other failure, so that one left
    uncaught is still rendered once, as a diagnostic, by the command line."""

    def __init__(self, code: str, message: str, path: str = "DOCX") -> None:
        super().__init__(diagnostic(path, 0, 0, code, message))
        self.code = code
        self.message = message


class PackageLimits(NamedTuple):
    """What :func:`read_package` accepts. Entries of at most ``ratio_floor`` bytes are too small
    to be a bomb and are never refused for their compression ratio."""

    max_entries: int = 2000
    max_part_size: int = 64 * MIB
    max_total_size: int = 256 * MIB
    max_ratio: int = 200
    ratio_floor: int = 64 * KIB


DEFAULT_LIMITS = PackageLimits()
_CHUNK = 64 * KIB
_ALLOWED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


# --------------------------------------------------------------------------- names


def check_item_name(name: str) -> None:
    """Refuse a zip item name that is absolute, climbs out with ``..`` or is otherwise unsafe."""
    if not name:
        raise PackageError("DOC506", "条目名为空")
    if "\\" in name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise PackageError("DOC506", f"条目名含有反斜杠或控制字符：{name!r}")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise PackageError("DOC506", f"条目名是绝对路径：{name}")
    segments = name[:-1].split("/") if name.endswith("/") else name.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise PackageError("DOC506", f"条目名含有空段、. 或 .. 段：{name}")


def part_name_uri(item_name: str) -> str:
    """The OPC part name (an absolute URI path) of a zip item: ``word/document.xml`` →
    ``/word/document.xml``; characters outside the URI set are percent-encoded."""
    return "/" + quote(item_name, safe="/!$&'()*+,;=:@-._~")


def item_name_of_uri(part_name: str) -> str:
    """The zip item name of an OPC part name (the inverse of :func:`part_name_uri`)."""
    return unquote(part_name.removeprefix("/"))


def rels_name_for(source: str) -> str:
    """The relationships part of ``source`` (``""`` is the package itself)."""
    if not source:
        return "_rels/.rels"
    folder, _, base = source.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def source_of_rels(rels_name: str) -> str | None:
    """The part whose relationships ``rels_name`` holds (``""`` for the package); ``None`` when
    ``rels_name`` is not a relationships part."""
    folder, _, base = rels_name.rpartition("/")
    if not base.endswith(".rels") or not (folder == "_rels" or folder.endswith("/_rels")):
        return None
    parent = folder.removesuffix("_rels").removesuffix("/")
    source = base.removesuffix(".rels")
    if not source:
        return "" if not parent else None
    return f"{parent}/{source}" if parent else source


def resolve_target(source: str, target: str) -> str | None:
    """The zip item name an internal relationship of ``source`` points at, or ``None`` when the
    target leaves the package."""
    path = unquote(target.partition("#")[0])
    if not path:
        return None
    if path.startswith("/"):
        joined = path[1:]
    else:
        joined = posixpath.join(posixpath.dirname(source), path)
    normal = posixpath.normpath(joined)
    if normal.startswith("..") or normal.startswith("/") or normal == ".":
        return None
    return normal


# --------------------------------------------------------------------------- XML


def parse_xml(data: bytes, name: str, code: str = "DOC511") -> Any:
    """Parse a package XML part safely: no DTD, no entity expansion, no network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise PackageError(code, f"{name} 不是格式正确的 XML：{exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise PackageError(code, f"{name} 含有 DTD 声明，不予处理")
    return root


def _serialize(root: Any) -> bytes:
    body: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return XML_DECLARATION + body


# --------------------------------------------------------------------------- content types


class ContentTypes(NamedTuple):
    """``[Content_Types].xml``: extension defaults and part overrides, in document order."""

    defaults: tuple[tuple[str, str], ...]
    overrides: tuple[tuple[str, str], ...]

    def content_type(self, item_name: str) -> str | None:
        """The content type of a zip item: its override, else its extension's default."""
        wanted = part_name_uri(item_name).lower()
        for part_name, content_type in self.overrides:
            if part_name.lower() == wanted or item_name_of_uri(part_name).lower() == item_name.lower():
                return content_type
        base = item_name.rpartition("/")[2]
        if "." not in base:
            return None
        extension = base.rpartition(".")[2].lower()
        for ext, content_type in self.defaults:
            if ext.lower() == extension:
                return content_type
        return None

    def with_default(self, extension: str, content_type: str) -> ContentTypes:
        """Add a default unless the extension already has one."""
        if any(ext.lower() == extension.lower() for ext, _ in self.defaults):
            return self
        return ContentTypes((*self.defaults, (extension, content_type)), self.overrides)

    def with_override(self, item_name: str, content_type: str) -> ContentTypes:
        """Set the override of one part, replacing an earlier one."""
        kept = self.without_overrides({item_name})
        return ContentTypes(kept.defaults, (*kept.overrides, (part_name_uri(item_name), content_type)))

    def without_overrides(self, item_names: Iterable[str]) -> ContentTypes:
        """Drop the overrides of the given parts."""
        drop = {n.lower() for n in item_names}
        kept = tuple(o for o in self.overrides if item_name_of_uri(o[0]).lower() not in drop)
        return ContentTypes(self.defaults, kept)


def parse_content_types(data: bytes) -> ContentTypes:
    """Parse ``[Content_Types].xml``."""
    root = parse_xml(data, CONTENT_TYPES_NAME, "DOC508")
    if root.tag != f"{{{NS_CONTENT_TYPES}}}Types":
        raise PackageError("DOC508", f"{CONTENT_TYPES_NAME} 的根元素不是 Types")
    defaults: list[tuple[str, str]] = []
    overrides: list[tuple[str, str]] = []
    for child in root:
        if child.tag == f"{{{NS_CONTENT_TYPES}}}Default":
            ext, content_type = child.get("Extension"), child.get("ContentType")
            if not ext or not content_type:
                raise PackageError("DOC508", f"{CONTENT_TYPES_NAME} 的 Default 缺少属性")
            defaults.append((str(ext), str(content_type)))
        elif child.tag == f"{{{NS_CONTENT_TYPES}}}Override":
            part_name, content_type = child.get("PartName"), child.get("ContentType")
            if not part_name or not content_type or not str(part_name).startswith("/"):
                raise PackageError("DOC508", f"{CONTENT_TYPES_NAME} 的 Override 缺少属性或 PartName 无效")
            overrides.append((str(part_name), str(content_type)))
    return ContentTypes(tuple(defaults), tuple(overrides))


def serialize_content_types(types: ContentTypes) -> bytes:
    """``[Content_Types].xml`` as Office writes it."""
    root = etree.Element(f"{{{NS_CONTENT_TYPES}}}Types", nsmap={None: NS_CONTENT_TYPES})
    for ext, content_type in types.defaults:
        etree.SubElement(root, f"{{{NS_CONTENT_TYPES}}}Default", Extension=ext, ContentType=content_type)
    for part_name, content_type in types.overrides:
        etree.SubElement(root, f"{{{NS_CONTENT_TYPES}}}Override", PartName=part_name, ContentType=content_type)
    return _serialize(root)


# --------------------------------------------------------------------------- relationships


class Relationship(NamedTuple):
    """One ``<Relationship>`` of a ``.rels`` part."""

    id: str
    type: str
    target: str
    external: bool = False


def parse_relationships(data: bytes, rels_name: str) -> list[Relationship]:
    """Parse a ``.rels`` part; duplicate Ids and missing attributes are errors."""
    root = parse_xml(data, rels_name, "DOC509")
    if root.tag != f"{{{NS_RELATIONSHIPS}}}Relationships":
        raise PackageError("DOC509", f"{rels_name} 的根元素不是 Relationships")
    found: list[Relationship] = []
    seen: set[str] = set()
    for child in root:
        if child.tag != f"{{{NS_RELATIONSHIPS}}}Relationship":
            continue
        rel_id, rel_type, target = child.get("Id"), child.get("Type"), child.get("Target")
        mode = child.get("TargetMode", "Internal")
        if not rel_id or not rel_type or target is None or mode not in ("Internal", "External"):
            raise PackageError("DOC509", f"{rels_name} 中的关系缺少 Id、Type、Target 或 TargetMode 无效")
        if rel_id in seen:
            raise PackageError("DOC509", f"{rels_name} 中的关系 Id 重复：{rel_id}")
        seen.add(str(rel_id))
        found.append(Relationship(str(rel_id), str(rel_type), str(target), mode == "External"))
    return found


def serialize_relationships(relationships: Iterable[Relationship]) -> bytes:
    """A ``.rels`` part as Office writes it (``TargetMode`` only for external targets)."""
    root = etree.Element(f"{{{NS_RELATIONSHIPS}}}Relationships", nsmap={None: NS_RELATIONSHIPS})
    for rel in relationships:
        element = etree.SubElement(
            root, f"{{{NS_RELATIONSHIPS}}}Relationship", Id=rel.id, Type=rel.type, Target=rel.target
        )
        if rel.external:
            element.set("TargetMode", "External")
    return _serialize(root)


def next_relationship_id(relationships: Iterable[Relationship]) -> str:
    """The first ``rIdN`` not yet used."""
    used = {rel.id for rel in relationships}
    n = 1
    while f"rId{n}" in used:
        n += 1
    return f"rId{n}"


# --------------------------------------------------------------------------- the package


class Package(NamedTuple):
    """The parts of an OPC package by zip item name, in archive order."""

    parts: dict[str, bytes]

    def content_types(self) -> ContentTypes:
        """The parsed ``[Content_Types].xml``; missing is an error."""
        data = self.parts.get(CONTENT_TYPES_NAME)
        if data is None:
            raise PackageError("DOC508", f"包中缺少 {CONTENT_TYPES_NAME}")
        return parse_content_types(data)

    def relationships(self, source: str) -> list[Relationship]:
        """The relationships of ``source`` (``""`` is the package); none when it has no .rels."""
        name = rels_name_for(source)
        data = self.parts.get(name)
        return [] if data is None else parse_relationships(data, name)

    def find(self, item_name: str) -> str | None:
        """The stored spelling of ``item_name`` (OPC names compare case-insensitively)."""
        if item_name in self.parts:
            return item_name
        lowered = item_name.lower()
        return next((name for name in self.parts if name.lower() == lowered), None)


def read_package(data: bytes, limits: PackageLimits = DEFAULT_LIMITS) -> Package:
    """Read an OPC package from bytes within ``limits``, or raise :class:`PackageError`."""
    if len(data) > limits.max_total_size:
        raise PackageError("DOC504", f"文件大小 {len(data)} 字节超过上限 {limits.max_total_size} 字节")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise PackageError("DOC501", f"不是有效的 ZIP 文件：{exc}") from None
    with archive:
        infos = archive.infolist()
        _check_entries(infos, limits)
        parts: dict[str, bytes] = {}
        budget = limits.max_total_size
        for info in infos:
            if info.is_dir():
                continue
            content = _read_entry(archive, info, limits, budget)
            budget -= len(content)
            parts[info.filename] = content
    return Package(parts)


def _check_entries(infos: list[zipfile.ZipInfo], limits: PackageLimits) -> None:
    """Everything that can be refused from the central directory alone."""
    if len(infos) > limits.max_entries:
        raise PackageError("DOC502", f"包内有 {len(infos)} 个条目，超过上限 {limits.max_entries}")
    seen: set[str] = set()
    declared_total = 0
    for info in infos:
        check_item_name(info.filename)
        key = info.filename.lower()
        if key in seen:
            raise PackageError("DOC507", f"条目名重复：{info.filename}")
        seen.add(key)
        if info.flag_bits & 0x1:
            raise PackageError("DOC510", f"条目已加密：{info.filename}")
        if info.compress_type not in _ALLOWED_METHODS:
            raise PackageError("DOC510", f"条目使用了不支持的压缩方法 {info.compress_type}：{info.filename}")
        _check_size(info.filename, info.file_size, info.compress_size, limits)
        declared_total += info.file_size
        if declared_total > limits.max_total_size:
            raise PackageError("DOC504", f"解压后总大小超过上限 {limits.max_total_size} 字节")


def _check_size(name: str, size: int, compressed: int, limits: PackageLimits) -> None:
    if size > limits.max_part_size:
        raise PackageError("DOC503", f"部件 {name} 大小 {size} 字节，超过上限 {limits.max_part_size} 字节")
    if size > limits.ratio_floor and size > limits.max_ratio * max(compressed, 1):
        raise PackageError("DOC505", f"部件 {name} 的压缩比超过 {limits.max_ratio}:1（{size} / {compressed} 字节）")


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: PackageLimits, budget: int) -> bytes:
    """Decompress one entry chunk by chunk, stopping as soon as any limit is passed."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise PackageError("DOC505", f"部件 {info.filename} 解压后的大小超过其声明的大小")
                if size > budget:
                    raise PackageError("DOC504", f"解压后总大小超过上限 {limits.max_total_size} 字节")
                _check_size(info.filename, size, info.compress_size, limits)
                chunks.append(chunk)
    except PackageError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise PackageError("DOC501", f"无法解压部件 {info.filename}：{exc}") from None
    return b"".join(chunks)


# --------------------------------------------------------------------------- writing

_EPOCH_1980 = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644


def zip_date_time(env: Mapping[str, str] | None = None) -> tuple[int, int, int, int, int, int]:
    """The timestamp every entry gets: ``SOURCE_DATE_EPOCH`` (UTC) when set, else 1980-01-01."""
    from manualkit.base.clock import source_date  # the one reader of SOURCE_DATE_EPOCH

    try:
        moment = source_date(os.environ if env is None else env)
    except ManualError as exc:
        raise PackageError("DOC512", exc.diagnostics[0].message) from None
    if moment is None:
        return _EPOCH_1980
    if moment.year < 1980:
        return _EPOCH_1980
    if moment.year > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def write_package(parts: Iterable[tuple[str, bytes]], env: Mapping[str, str] | None = None) -> bytes:
    """Write parts into a zip deterministically: ``[Content_Types].xml`` first, the rest in the
    order given, deflated at a fixed level, with fixed timestamps and permissions."""
    ordered = list(parts)
    ordered.sort(key=lambda item: item[0] != CONTENT_TYPES_NAME)  # stable: keeps the given order
    date_time = zip_date_time(env)
    seen: set[str] = set()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in ordered:
            check_item_name(name)
            if name.lower() in seen:
                raise PackageError("DOC507", f"条目名重复：{name}")
            seen.add(name.lower())
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buffer.getvalue()
