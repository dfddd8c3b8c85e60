"""One byte sequence for one laid-out document: the canonical form of LibreOffice's PDF.

LibreOffice 7.4 does not write the same PDF twice for the same DOCX, even with its clock frozen:
its PDF writer keeps the fonts to embed in a map ordered by the *memory address* of each font
face, so the order in which it emits the fonts (and so their object numbers) can change from one
run to the next; and it numbers the Type 1 fonts it converts from CFF (the Noto CJK fonts) with a
counter, ``/UniqueID 4100001…``, in that same order. Seen here now and then (a few times in a day of
test runs), more often under load.

The canonical form removes both: every object is renumbered in the order a walk from the document
catalog and then the document information dictionary first reaches it (the walk follows each
dictionary's keys in the order LibreOffice wrote them, which does not depend on memory), stream
lengths are written inline, and each embedded Type 1 font gets the UniqueID of its place among
the subset names (``BAAAAA+…`` < ``CAAAAA+…``), which LibreOffice assigns in order of first use on
the pages. Nothing a reader sees changes: pages, text, fonts, bookmarks, the structure tree, the
XMP metadata, the document information dictionary and the file identifier are kept as they are.

Only the reproducible build (``SOURCE_DATE_EPOCH``) needs this; it costs about 1.5 s on the
manual, so the everyday build skips it.
"""

from __future__ import annotations

import io
import re
from typing import Any

#: The private-interchange UniqueID range LibreOffice uses for its converted Type 1 fonts.
_UNIQUE_ID_BASE = 4100000
_UNIQUE_ID = re.compile(rb"/UniqueID \d{7} def")
_EEXEC_KEY, _C1, _C2 = 55665, 52845, 22719


def _eexec(data: bytes, *, decrypt: bool) -> bytes:
    """Type 1 ``eexec`` encryption (Adobe Type 1 Font Format, section 7.2), either way."""
    key = _EEXEC_KEY
    out = bytearray(len(data))
    for i, byte in enumerate(data):
        plain_or_cipher = byte ^ (key >> 8)
        out[i] = plain_or_cipher
        cipher = byte if decrypt else plain_or_cipher
        key = ((cipher + key) * _C1 + _C2) & 0xFFFF
    return bytes(out)


def renumbered_type1(program: bytes, clear_length: int, encrypted_length: int, unique_id: int) -> bytes:
    """The Type 1 font ``program`` (as embedded in a PDF: clear text, eexec part, trailer) with
    every ``/UniqueID n def`` set to ``unique_id``, in the clear part and in the private dictionary.
    Lengths stay the same: LibreOffice's IDs and ours have seven digits."""
    replacement = b"/UniqueID %d def" % unique_id
    clear = _UNIQUE_ID.sub(replacement, program[:clear_length])
    private = _UNIQUE_ID.sub(replacement, _eexec(program[clear_length : clear_length + encrypted_length], decrypt=True))
    return clear + _eexec(private, decrypt=False) + program[clear_length + encrypted_length :]


def canonical_pdf(pdf: bytes) -> bytes:
    """The canonical form of a PDF LibreOffice exported (see the module's docstring)."""
    from manualkit.documents.pyhanko_import import load_pyhanko_sign

    load_pyhanko_sign()  # pyHanko's reader and writer import its signer lazily
    from pyhanko.pdf_utils import generic as pdf_generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    generic: Any = pdf_generic  # pyHanko's object model is untyped

    def copied(source: Any, document_id: Any, version: tuple[int, int]) -> Any:
        """A new writer holding every object of ``source``, numbered in the order the walk from
        the catalog reaches them. It keeps LibreOffice's metadata (pyHanko would stamp its producer
        and the time into it), identifier (pyHanko would draw a random one) and PDF version."""
        writer: Any = copy_into_new_writer(source)
        writer._update_meta = lambda: None
        writer._document_id = document_id
        writer.output_version = version
        return writer

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    writer = copied(reader, generic.ArrayObject(list(reader.trailer["/ID"])), reader.input_version)
    type1: list[tuple[str, Any]] = []
    lengths: set[tuple[int, int]] = set()
    for obj in writer.objects.values():
        if isinstance(obj, generic.DictionaryObject) and obj.get("/Type") == "/FontDescriptor":
            program = obj.raw_get("/FontFile") if "/FontFile" in obj else None
            if isinstance(program, generic.IndirectObject):
                type1.append((str(obj["/FontName"]), program))
        if isinstance(obj, generic.StreamObject):
            length = obj.raw_get("/Length")
            if isinstance(length, generic.IndirectObject):
                lengths.add((length.generation, length.idnum))
                obj["/Length"] = generic.NumberObject(len(obj.encoded_data))
    for place, (_name, ref) in enumerate(sorted(type1, key=lambda item: item[0]), start=1):
        stream = ref.get_object()
        program = renumbered_type1(stream.data, int(stream["/Length1"]), int(stream["/Length2"]), _UNIQUE_ID_BASE + place)
        entries = {key: value for key, value in stream.items() if key not in ("/Filter", "/DecodeParms", "/Length")}
        renumbered = generic.StreamObject(entries, stream_data=program)
        renumbered.compress()
        writer.objects[(ref.generation, ref.idnum)] = renumbered
    for key in lengths:  # written inline by the writer; the old length objects would be orphans
        writer.objects.pop(key, None)
    # Number again, without the gaps the length objects left: the numbering must not depend on
    # whether the input wrote its stream lengths as objects of their own.
    out = io.BytesIO()
    copied(writer, writer._document_id, writer.output_version).write(out)
    return out.getvalue()
