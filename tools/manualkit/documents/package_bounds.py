"""Every byte of a signed DOCX is a part the package signature covers, or the zip structure that
holds those parts: nothing before the first entry, nothing between entries, no archive comment,
nothing after the end of the central directory. A zip reader skips such bytes, and a signature
over the parts never sees them — yet another program (a file-type sniffer, a polyglot's second
reader) may read them. ``manual verify`` refuses a file with any.
"""

from __future__ import annotations

import struct
import zipfile
from io import BytesIO

_EOCD = b"PK\x05\x06"
_LOCAL = b"PK\x03\x04"
_EOCD_SIZE = 22
_DATA_DESCRIPTOR_FLAG = 0x08


def bytes_outside_the_zip(data: bytes) -> list[str]:
    """What in ``data`` is neither an entry nor the zip structure, one line each (in Chinese);
    empty for an exact zip. The caller has read the package already (a broken zip is damaged)."""
    problems = []
    end = data.rfind(_EOCD)
    if end < 0 or len(data) - end < _EOCD_SIZE:
        return ["找不到 ZIP 的中央目录结尾记录"]
    entries, cd_size, cd_offset, comment_length = struct.unpack("<10xHIIH", data[end : end + _EOCD_SIZE])
    trailing = len(data) - (end + _EOCD_SIZE)
    if comment_length:
        problems.append(f"ZIP 注释有 {comment_length} 个字节，数字签名不覆盖")
    if trailing - comment_length > 0:
        problems.append(f"ZIP 结尾之后有 {trailing - comment_length} 个字节，数字签名不覆盖")
    prefix = end - (cd_offset + cd_size)  # bytes before the archive shift every offset it states
    if prefix > 0:
        problems.append(f"ZIP 之前有 {prefix} 个字节，数字签名不覆盖")
    elif prefix < 0:
        return [*problems, "ZIP 中央目录的位置与大小不符"]
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            infos = sorted(archive.infolist(), key=lambda i: i.header_offset)
    except (zipfile.BadZipFile, ValueError, OSError):
        return [*problems, "ZIP 结构无法读取"]
    if len(infos) != entries:
        problems.append("ZIP 中央目录的条目数与记录不符")
    position = prefix
    for info in infos:
        start = info.header_offset  # zipfile has added the bytes before the archive already
        if start != position:
            problems.append(f"条目 {info.filename} 之前有 {start - position} 个字节不属于任何部件，数字签名不覆盖")
        header = data[start : start + 30]
        if len(header) < 30 or not header.startswith(_LOCAL):
            return [*problems, f"条目 {info.filename} 的本地文件头无效"]
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        position = start + 30 + name_length + extra_length + info.compress_size
        if info.flag_bits & _DATA_DESCRIPTOR_FLAG:
            position += 16 if data[position : position + 4] == b"PK\x07\x08" else 12
    if position != cd_offset + prefix:
        problems.append(f"最后一个条目与中央目录之间有 {cd_offset + prefix - position} 个字节，数字签名不覆盖")
    return problems
