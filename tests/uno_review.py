"""Make a reviewer's edits in a DOCX with LibreOffice, through UNO, and save it as DOCX again.

Run with the system Python, which has LibreOffice's ``uno`` module::

    /usr/bin/python3 tests/uno_review.py IN.docx OUT.docx EDITS.json

``EDITS.json`` holds ``{"author": NAME, "edits": [...]}``: ``author`` is the user name the
profile gives LibreOffice (the author of every tracked change, as a reviewer's Word or
LibreOffice would record it), and each edit one of

* ``{"op": "comment", "find": TEXT, "text": COMMENT, "author": NAME, "reply": {"text": …, "author": …}}``:
  a comment on the first occurrence of ``TEXT`` (and a reply to it, Insert ▸ Comment ▸ Reply);
* ``{"op": "replace", "find": TEXT, "old": OLD, "new": NEW}``: in the first occurrence of ``TEXT``,
  ``OLD`` typed over with ``NEW`` (a tracked replacement);
* ``{"op": "delete", "find": TEXT}``: the first occurrence of ``TEXT`` deleted (tracked);
* ``{"op": "header", "text": TEXT}``: ``TEXT`` typed at the end of the body pages' header (tracked).

Edit ▸ Track Changes ▸ Record is on throughout. Exit status 0 when the file was written, 2 when
LibreOffice could not be used, 3 when a ``find`` text is not in the document.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.util import DateTime  # type: ignore[import-not-found]
from uno_verify_signature import connect, start_office, stop_office


class NotFound(Exception):
    pass


def _property(name: str, value: object) -> PropertyValue:
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def set_user_name(ctx, name: str) -> None:  # type: ignore[no-untyped-def]
    """Tools ▸ Options ▸ User Data: the name LibreOffice writes as the author of tracked changes."""
    provider = ctx.ServiceManager.createInstanceWithContext("com.sun.star.configuration.ConfigurationProvider", ctx)
    node = _property("nodepath", "/org.openoffice.UserProfile/Data")
    access = provider.createInstanceWithArguments("com.sun.star.configuration.ConfigurationUpdateAccess", (node,))
    access.setPropertyValue("givenname", name)
    access.setPropertyValue("sn", "")
    access.commitChanges()


def _paragraphs(text):  # type: ignore[no-untyped-def]
    """Every paragraph of ``text`` in order, table cells included (row by row)."""
    enum = text.createEnumeration()
    while enum.hasMoreElements():
        element = enum.nextElement()
        if element.supportsService("com.sun.star.text.TextTable"):
            for name in element.getCellNames():
                yield from _paragraphs(element.getCellByName(name))
        elif element.supportsService("com.sun.star.text.Paragraph"):
            yield element


def find(document, text: str):  # type: ignore[no-untyped-def]
    """The first occurrence of ``text`` inside one paragraph, selected (a model without a view
    has no search: Edit ▸ Find needs the layout)."""
    for paragraph in _paragraphs(document.getText()):
        content = paragraph.getString()
        if text in content:
            cursor = paragraph.getText().createTextCursorByRange(paragraph.getStart())
            cursor.goRight(content.index(text), False)
            cursor.goRight(len(text), True)
            return cursor
    raise NotFound(text)


def comment(document, where, text: str, author: str, moment: DateTime):  # type: ignore[no-untyped-def]
    """A comment on ``where`` (Insert ▸ Comment). LibreOffice 7.4 has no thread in its model: its
    Reply inserts a second comment on the same text, and that is what a reply here is."""
    annotation = document.createInstance("com.sun.star.text.textfield.Annotation")
    annotation.Author = author
    annotation.Content = text
    annotation.DateTimeValue = moment
    where.getText().insertTextContent(where, annotation, True)
    return annotation


def _moment(hour: int, minute: int) -> DateTime:
    moment = DateTime()
    moment.Year, moment.Month, moment.Day, moment.Hours, moment.Minutes = 2026, 12, 8, hour, minute
    return moment


def load(ctx, source: Path):  # type: ignore[no-untyped-def]
    """The document model, loaded without a frame or view: the Debian "nogui" LibreOffice has no
    user-interface files, and a comment's sidebar window would need one."""
    document = ctx.ServiceManager.createInstanceWithContext("com.sun.star.text.TextDocument", ctx)
    document.load((_property("URL", source.resolve().as_uri()), _property("FilterName", "MS Word 2007 XML")))
    return document


def edit(ctx, source: Path, target: Path, spec: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    set_user_name(ctx, spec["author"])
    document = load(ctx, source)
    try:
        document.RecordChanges = True
        for item in spec["edits"]:
            op = item["op"]
            if op == "comment":
                found = find(document, item["find"])
                comment(document, found, item["text"], item["author"], _moment(10, 30))
                if item.get("reply"):
                    comment(document, find(document, item["find"]), item["reply"]["text"], item["reply"]["author"], _moment(11, 0))
            elif op == "replace":
                found = find(document, item["find"])
                cursor = found.getText().createTextCursorByRange(found.getStart())
                offset = item["find"].index(item["old"])
                cursor.goRight(offset, False)
                cursor.goRight(len(item["old"]), True)
                cursor.setString(item["new"])
            elif op == "delete":
                find(document, item["find"]).setString("")
            elif op == "header":
                for header in _headers(document):
                    end = header.createTextCursor()
                    end.gotoEnd(False)
                    header.insertString(end, item["text"], False)
            else:
                raise ValueError(op)
        filters = (_property("FilterName", "MS Word 2007 XML"),)
        document.storeToURL(target.resolve().as_uri(), filters)
    finally:
        document.close(True)


def _headers(document):  # type: ignore[no-untyped-def]
    """The header texts of every page style that shows a header. (A model loaded without a view
    has no layout, and LibreOffice then exports only the first page's header: the edit goes into
    each, so that the one exported holds it.)"""
    styles = document.StyleFamilies.getByName("PageStyles")
    found = [styles.getByName(name) for name in styles.getElementNames()]
    headers = [style.HeaderText for style in found if style.HeaderIsOn]
    if not headers:
        raise NotFound("a page style with a header")
    return headers


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: uno_review.py IN.docx OUT.docx EDITS.json", file=sys.stderr)
        return 2
    source, target, edits = Path(argv[0]), Path(argv[1]), Path(argv[2])
    spec = json.loads(edits.read_text(encoding="utf-8"))
    workdir = Path(tempfile.mkdtemp(prefix="uno-review-"))
    pipe = f"manualkit-{uuid.uuid4().hex}"
    office = start_office(workdir / "profile", pipe)
    ctx = None
    try:
        ctx = connect(office, pipe)
        edit(ctx, source, target, spec)
    except NotFound as exc:
        print(f"not in the document: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        print(f"LibreOffice failed: {exc!r}", file=sys.stderr)
        return 2
    finally:
        stop_office(ctx, office)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    del uno
    sys.exit(main(sys.argv[1:]))
