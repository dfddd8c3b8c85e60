"""Ask LibreOffice for the paragraph texts of DOCX files, after accepting or rejecting every
tracked change (Edit ▸ Track Changes ▸ Accept All / Reject All).

Run with the system Python, which has LibreOffice's ``uno`` module::

    /usr/bin/python3 tests/uno_paragraphs.py accept|reject|none FILE.docx [accept|reject|none FILE.docx ...]

Prints one JSON object: for each pair ``"MODE FILE"`` the lines of LibreOffice's own plain-text
export of the document after that action, in document order (a table's paragraphs cell by cell,
row by row; list items with the number or bullet LibreOffice gives them). Exit status 0 when
every file was read, 2 when LibreOffice could not be used. One soffice, started and stopped like
``uno_verify_signature.py``, reads every file.
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
MODES = ("accept", "reject", "none")


def _property(name: str, value: object) -> PropertyValue:
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def paragraphs(ctx, path: Path, mode: str, text_file: Path) -> list[str]:  # type: ignore[no-untyped-def]
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    document = desktop.loadComponentFromURL(path.resolve().as_uri(), "_blank", 0, (_property("Hidden", True),))
    try:
        if mode in COMMANDS:
            dispatcher = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
            frame = document.getCurrentController().getFrame()
            dispatcher.executeDispatch(frame, COMMANDS[mode], "", 0, ())
        # One export instead of a UNO call per paragraph (thousands of round trips to soffice).
        options = (_property("FilterName", "Text (encoded)"), _property("FilterOptions", "UTF8,LF,,,"))
        document.storeToURL(text_file.as_uri(), options)
    finally:
        document.close(True)
    return text_file.read_text(encoding="utf-8-sig").split("\n")


def main(argv: list[str]) -> int:
    pairs = list(zip(argv[::2], argv[1::2], strict=False))
    if not pairs or len(argv) % 2 or any(mode not in MODES for mode, _ in pairs):
        print("usage: uno_paragraphs.py accept|reject|none FILE.docx [accept|reject|none FILE.docx ...]", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="uno-paragraphs-"))
    pipe = f"manualkit-{uuid.uuid4().hex}"
    office = start_office(workdir / "profile", pipe)
    ctx = None
    try:
        ctx = connect(office, pipe)
        results = {f"{mode} {name}": paragraphs(ctx, Path(name), mode, workdir / f"{n}.txt") for n, (mode, name) in enumerate(pairs)}
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
