"""Ask LibreOffice whether the embedded OOXML signatures of DOCX files are valid.

Run with the system Python, which has LibreOffice's ``uno`` module::

    /usr/bin/python3 tests/uno_verify_signature.py FILE.docx [FILE.docx ...]

It starts ``soffice`` headless with a private profile (``-env:UserInstallation``) and a named
pipe, opens each file read-only as a storage the way LibreOffice itself does before checking
signatures, calls ``com.sun.star.security.DocumentDigitalSignatures``'
``verifyDocumentContentSignatures(storage, None)`` and prints one JSON object: for each file the
list of signatures with ``SignatureIsValid``, ``CertificateStatus`` (a
``com.sun.star.security.CertificateValidity`` bit set), ``PartialDocumentSignature`` and the
signer's subject. Exit status 0 when every file was checked, 2 when LibreOffice could not be used.
``UNO_VERIFY_DEBUG=1`` lets soffice's own error output through.

The storage format: an ``OFOPXMLFormat`` storage hides ``[Content_Types].xml`` and the ``_rels``
folders (its element names are only ``_xmlsignatures``, ``docProps``, ``word``, ...), and then
xmlsecurity finds no OOXML signature at all. LibreOffice opens a document for its signatures with ``ZipFormat`` instead
(``SfxMedium::GetZipStorageToSign_Impl`` in sfx2/source/doc/docfile.cxx) and xmlsecurity tells
OOXML from ODF by the ``[Content_Types].xml`` element (``DocumentSignatureHelper::
OpenSignatureStream``), so this script does the same.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

SOFFICE = os.environ.get("SOFFICE", "/usr/bin/soffice")
CONNECT_TIMEOUT = 90.0
READ = 1  # com.sun.star.embed.ElementModes.READ


def start_office(profile: Path, pipe: str) -> subprocess.Popen[bytes]:
    """Start soffice headless in its own process group, listening on a named pipe; on a copy of
    the profile ``UNO_PROFILE`` names, if set (the tests make one that spares LibreOffice its
    graphics self-tests: conftest.new_libreoffice_profile)."""
    if os.environ.get("UNO_PROFILE"):
        shutil.copytree(os.environ["UNO_PROFILE"], profile)
    command = [
        SOFFICE,
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nodefault",
        "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]
    env = dict(os.environ, HOME=str(profile.parent), SAL_USE_VCLPLUGIN="svp")
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("UNO_VERIFY_DEBUG") else subprocess.DEVNULL,
        start_new_session=True,
    )


def connect(office: subprocess.Popen[bytes], pipe: str):  # type: ignore[no-untyped-def]
    """The remote component context, once soffice answers on the pipe."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if office.poll() is not None:
                raise RuntimeError(f"soffice exited with status {office.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError("soffice did not answer in time") from None
            time.sleep(0.1)


def package_storage(ctx, path: Path):  # type: ignore[no-untyped-def]
    """The file as a read-only zip storage, as LibreOffice opens a document to check signatures."""
    factory = ctx.ServiceManager.createInstanceWithContext("com.sun.star.embed.StorageFactory", ctx)
    fmt = PropertyValue()
    fmt.Name = "StorageFormat"
    fmt.Value = "ZipFormat"
    descriptor = uno.Any("[]com.sun.star.beans.PropertyValue", (fmt,))
    arguments = (path.resolve().as_uri(), READ, descriptor)
    return uno.invoke(factory, "createInstanceWithArguments", (arguments,))


def verify(ctx, path: Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """LibreOffice's verdict on each signature of one file."""
    signatures = ctx.ServiceManager.createInstanceWithContext("com.sun.star.security.DocumentDigitalSignatures", ctx)
    storage = package_storage(ctx, path)
    try:
        infos = signatures.verifyDocumentContentSignatures(storage, None)
    finally:
        storage.dispose()
    found: list[dict[str, object]] = []
    for info in infos:
        signer = info.Signer
        found.append(
            {
                "SignatureIsValid": bool(info.SignatureIsValid),
                "CertificateStatus": int(info.CertificateStatus),
                "PartialDocumentSignature": bool(info.PartialDocumentSignature),
                "Signer": signer.SubjectName if signer is not None else None,
            }
        )
    return found


def stop_office(ctx, office: subprocess.Popen[bytes]) -> None:  # type: ignore[no-untyped-def]
    """Ask soffice to quit; end its process group (which this script started) if it will not."""
    try:
        if ctx is not None:
            desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
            desktop.terminate()
    except Exception:  # the bridge may already be gone; the process group is ended below
        pass
    try:
        office.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(office.pid, signal.SIGKILL)
        office.wait(timeout=30)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: uno_verify_signature.py FILE.docx [FILE.docx ...]", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="uno-verify-"))
    pipe = f"manualkit-{uuid.uuid4().hex}"
    office = start_office(workdir / "profile", pipe)
    ctx = None
    try:
        ctx = connect(office, pipe)
        results = [{"file": name, "signatures": verify(ctx, Path(name))} for name in argv]
    except Exception as exc:
        print(f"LibreOffice verification failed: {exc!r}", file=sys.stderr)
        return 2
    finally:
        stop_office(ctx, office)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps({"results": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
