"""Ask LibreOffice for the paragraph texts of DOCX files, after accepting or rejecting every
tracked change (Edit ▸ Track Changes ▸ Accept All / Reject All).

Run with the system Python, which has LibreOffice's ``uno`` module::

    /usr/bin/python3 tests/uno_paragraphs.py accept|reject|none FILE.docx [FILE.docx ...]

Prints one JSON object: for each file the list of paragraph texts in document order (the
paragraphs of a table cell by cell, row by row). Exit status 0 when every file was read, 2 when
LibreOffice could not be used. Starts and stops its own soffice like ``uno_verify_signature.py``.
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
from uno_verify_signature import connect, start_office, stop_office

COMMANDS = {"accept": ".uno:AcceptAllTrackedChanges", "reject": ".uno:RejectAllTrackedChanges"}


def _property(name: str, value: object) -> PropertyValue:
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def _texts(text) -> list[str]:  # type: ignore[no-untyped-def]
    out: list[str] = []
    enumeration = text.createEnumeration()
    while enumeration.hasMoreElements():
        element = enumeration.nextElement()
        if element.supportsService("com.sun.star.text.TextTable"):
            for name in element.getCellNames():
                out += _texts(element.getCellByName(name).getText())
        else:
            out.append(element.getString())
    return out


def paragraphs(ctx, path: Path, mode: str) -> list[str]:  # type: ignore[no-untyped-def]
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    document = desktop.loadComponentFromURL(path.resolve().as_uri(), "_blank", 0, (_property("Hidden", True),))
    try:
        if mode in COMMANDS:
            dispatcher = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
            frame = document.getCurrentController().getFrame()
            dispatcher.executeDispatch(frame, COMMANDS[mode], "", 0, ())
        return _texts(document.getText())
    finally:
        document.close(True)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("accept", "reject", "none"):
        print("usage: uno_paragraphs.py accept|reject|none FILE.docx [FILE.docx ...]", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="uno-paragraphs-"))
    pipe = f"manualkit-{uuid.uuid4().hex}"
    office = start_office(workdir / "profile", pipe)
    ctx = None
    try:
        ctx = connect(office, pipe)
        results = {name: paragraphs(ctx, Path(name), argv[0]) for name in argv[1:]}
    except Exception as exc:
        print(f"LibreOffice failed: {exc!r}", file=sys.stderr)
        return 2
    finally:
        stop_office(ctx, office)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    del uno
    sys.exit(main(sys.argv[1:]))
