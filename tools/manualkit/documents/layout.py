"""The layout engine: LibreOffice headless lays a DOCX out into pages (PDF).

LibreOffice is the reference renderer of the release DOCX (see ``docs/documents.md``): the page
numbers of the table of contents are the pages LibreOffice puts each heading on, and the PDF/A of
a release is LibreOffice's export of the same DOCX, so the two always agree.

Every run is isolated and repeatable: its own user profile in a temporary folder (no user
settings, no dialogs; copied from the profile an earlier run kept in the layout cache, which spares
LibreOffice setting up an empty profile and restarting itself; a new profile says which version of
LibreOffice last started it, see :func:`new_profile`), and a fontconfig file that maps the document's Chinese fonts to the Noto
CJK fonts (SIL Open Font License, embeddable): 宋体 and 楷体 → Noto Serif CJK SC, 黑体 → Noto Sans
CJK SC, and Times New Roman / Arial / Consolas → Liberation Serif / Sans / Mono (metric-compatible,
SIL OFL), so that the layout does not depend on which fonts happen to be installed first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from manualkit.base.diagnostics import ManualError, diagnostic

T = TypeVar("T")

#: The exact command that installs the layout engine and the fonts on Debian/Ubuntu.
INSTALL_COMMAND = "sudo apt-get install -y libreoffice-writer-nogui fonts-noto-cjk fonts-liberation2 faketime"
TIMEOUT_SECONDS = 300
MAX_PDF_BYTES = 256 * 1024 * 1024

_FONT_ALIASES = (
    (("宋体", "SimSun", "NSimSun", "楷体", "KaiTi", "仿宋", "FangSong"), "Noto Serif CJK SC"),
    (("黑体", "SimHei", "微软雅黑", "Microsoft YaHei"), "Noto Sans CJK SC"),
    (("Times New Roman",), "Liberation Serif"),  # metric-compatible with the fonts Word uses
    (("Arial",), "Liberation Sans"),
    (("Consolas",), "Liberation Mono"),
)

#: Export options of LibreOffice's PDF filter: PDF/A-2b, headings as bookmarks and as named
#: destinations (so the page of each heading can be read back), no extra viewer preferences.
PDFA_OPTIONS: Mapping[str, object] = {
    "SelectPdfVersion": 2,  # PDF/A-2b
    "ExportBookmarks": True,
    "ExportBookmarksToPDFDestination": True,
    "UseTaggedPDF": True,
    "EmbedStandardFonts": True,
    "ExportNotes": False,
    "IsSkipEmptyPages": False,
}


class LayoutError(ManualError):
    """The layout engine is missing or failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(diagnostic("LibreOffice", 0, 0, code, message))
        self.code = code


def soffice() -> str:
    """The LibreOffice executable, or a :class:`LayoutError` naming the command that installs it."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    raise LayoutError("DOC540", f"未安装排版引擎 LibreOffice（生成页码和 PDF 需要它）；请先运行：{INSTALL_COMMAND}")


def clock_can_be_frozen() -> bool:
    """Whether LibreOffice's clock can be frozen for a layout (faketime is installed): what a
    reproducible PDF needs."""
    return shutil.which("faketime") is not None


def require_engine(*, reproducible: bool = False) -> None:
    """Stop with the install command unless LibreOffice (and, for a reproducible build, faketime)
    is present."""
    soffice()
    if reproducible and not clock_can_be_frozen():
        raise LayoutError("DOC542", f"SOURCE_DATE_EPOCH 要求可复现的 PDF，需要 faketime 固定排版引擎的时钟；请先运行：{INSTALL_COMMAND}")


def fontconfig_xml() -> str:
    """A fontconfig file: the system configuration plus the aliases of the document's fonts."""
    aliases = "".join(
        f"<alias binding=\"same\"><family>{family}</family><prefer><family>{target}</family></prefer></alias>"
        for families, target in _FONT_ALIASES
        for family in families
    )
    return f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>{aliases}</fontconfig>'


def _filter(options: Mapping[str, object]) -> str:
    typed = {
        name: {"type": "boolean" if isinstance(value, bool) else "long" if isinstance(value, int) else "string", "value": str(value).lower() if isinstance(value, bool) else str(value)}
        for name, value in options.items()
    }
    return "pdf:writer_pdf_Export:" + json.dumps(typed, separators=(",", ":"))


#: The kind of profile kept in the layout cache; a kept profile of another kind is not used.
#: 2: it says which LibreOffice version last started it (:func:`new_profile`).
_PROFILE_KIND = 2

_LAST_VERSION_ITEM = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    '<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">'
    "<value>{version}</value></prop></item>\n"
    "</oor:items>\n"
)


def engine_version(program: str, env: Mapping[str, str]) -> str | None:
    """``major.minor`` of the LibreOffice at ``program`` (``soffice --version`` prints, e.g.,
    ``LibreOffice 7.4.7.2 40(Build:2)``), or None when it does not say."""
    try:
        proc = subprocess.run([program, "--version"], env=dict(env), capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(rb"\b(\d{1,3})\.(\d{1,3})\.\d", proc.stdout)
    return f"{int(found.group(1))}.{int(found.group(2))}" if found else None


def new_profile(profile: Path, version: str | None) -> None:
    """Make ``profile`` a new LibreOffice user profile that says LibreOffice ``version`` (``7.4``)
    last started it.

    LibreOffice runs its graphics self-tests (some 100 drawings, about 0.7 s of CPU) whenever the
    profile's last version (``/org.openoffice.Setup/Product/ooSetupLastVersion``) is older than
    itself, and only its first-start dialogs, which a headless conversion never shows, record
    the version: without this, every run on a new or kept profile would pay for the tests. They
    decide which screen drawing back end to use, which plays no part in writing a PDF (the same
    bytes either way; test_pdf_release). With ``version`` None the profile is left empty."""
    profile.mkdir(parents=True, exist_ok=True)
    if version is not None:
        (profile / "user").mkdir(exist_ok=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_LAST_VERSION_ITEM.format(version=version), encoding="utf-8")


def _profile_template(program: str, cache: Path) -> Path:
    """Where the user profile of this LibreOffice installation is kept between runs: keyed by the
    installed program, so that another LibreOffice version starts from a profile of its own."""
    real = Path(os.path.realpath(program))
    binary = real.with_name("soffice.bin")
    stat = (binary if binary.is_file() else real).stat()
    key = hashlib.sha256(f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}\0{_PROFILE_KIND}".encode()).hexdigest()[:16]
    return cache / f"libreoffice-profile-{key}"


def _start_profile(profile: Path, template: Path | None) -> bool:
    """Seed ``profile`` from ``template``: LibreOffice starting on an empty profile creates it and
    then restarts itself, which costs about 0.4 s of each run. Without a usable template (none yet,
    or unreadable, e.g. made by another user) LibreOffice starts on a new one (:func:`new_profile`)."""
    if template is None or not template.is_dir():
        return False
    try:
        shutil.copytree(template, profile, symlinks=True)
    except OSError:
        shutil.rmtree(profile, ignore_errors=True)
        return False
    return True


def _keep_profile(profile: Path, template: Path | None) -> None:
    """Keep the profile a run created as the template of later runs (complete or not at all: it is
    copied aside and renamed into place; a run that loses the race to another keeps nothing)."""
    if template is None or template.is_dir() or not profile.is_dir():
        return
    aside = template.with_name(f".{template.name}.{os.getpid()}.tmp")
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(profile, aside, symlinks=True)
        os.rename(aside, template)
    except OSError:
        shutil.rmtree(aside, ignore_errors=True)


def docx_to_pdf(
    docx: bytes,
    options: Mapping[str, object] = PDFA_OPTIONS,
    *,
    frozen_at: dt.datetime | None = None,
    profile_cache: Path | None = None,
    pdf_cache: Path | None = None,
) -> bytes:
    """The PDF LibreOffice makes of ``docx`` with the PDF filter ``options``.

    With ``frozen_at``, LibreOffice runs under ``faketime`` with its clock stopped at that moment
    (UTC), so the dates it writes (creation date, the ICC profile's date, the file identifier
    derived from them) and hence the PDF's bytes are the same on every run. With
    ``profile_cache`` (a folder), each run starts from a copy of a user profile kept there. With
    ``pdf_cache`` (a folder), a PDF laid out before from the same DOCX, options, clock, fonts and
    LibreOffice installation is read from there instead (:func:`cached_pdf`): ``manual verify``
    lays a release out again for every PDF it is shown, and a release does not change."""
    if pdf_cache is None:
        return _laid_out(docx, options, frozen_at, profile_cache, Path.read_bytes)
    return cached_pdf(pdf_cache, _pdf_key(docx, options, frozen_at), lambda: _laid_out(docx, options, frozen_at, profile_cache, Path.read_bytes))


#: The kind of the PDFs kept by :func:`cached_pdf`: raised when what goes into a layout changes.
_PDF_CACHE_KIND = "pdf-1"
#: A laid-out PDF larger than this is not kept (the 25x manual's is 24 MiB).
MAX_CACHED_PDF_BYTES = 32 * 1024 * 1024


def _pdf_key(docx: bytes, options: Mapping[str, object], frozen_at: dt.datetime | None) -> str:
    """The digest of everything a layout depends on: the DOCX's bytes, the filter options, the
    frozen clock, the font mapping and the installed LibreOffice (its path, size and time)."""
    program = soffice()
    real = Path(os.path.realpath(program))
    binary = real.with_name("soffice.bin")
    stat = (binary if binary.is_file() else real).stat()
    moment = "" if frozen_at is None else (frozen_at.astimezone(dt.UTC) if frozen_at.tzinfo else frozen_at).isoformat()
    head = "\0".join((_PDF_CACHE_KIND, str(real), str(stat.st_size), str(stat.st_mtime_ns), _filter(options), moment, fontconfig_xml()))
    return hashlib.sha256(head.encode() + b"\0" + docx).hexdigest()


#: A kept PDF not used for this many days is removed when another is kept.
PDF_KEEP_DAYS = 30


def cached_pdf(cache: Path, key: str, make: Callable[[], bytes]) -> bytes:
    """``<cache>/pdf-<key>.pdf`` if it is there (a regular file within the size limit, a whole
    PDF from ``%PDF-`` to ``%%EOF``), else what ``make`` returns, kept there for the next time
    (written aside and renamed into place, so a reader never sees half a file; a cache that
    cannot be written only costs time). A kept PDF read is marked used; keeping one removes
    those not used for :data:`PDF_KEEP_DAYS`."""
    path = cache / f"pdf-{key}.pdf"
    try:
        if path.is_file() and not path.is_symlink() and 0 < path.stat().st_size <= MAX_CACHED_PDF_BYTES:
            data = path.read_bytes()
            if data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"):
                os.utime(path)
                return data
    except OSError:
        pass
    data = make()
    if len(data) <= MAX_CACHED_PDF_BYTES:
        aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            cache.mkdir(parents=True, exist_ok=True)
            aside.write_bytes(data)
            os.replace(aside, path)
            _prune_pdfs(cache)
        except OSError:
            aside.unlink(missing_ok=True)
    return data


def _prune_pdfs(cache: Path) -> None:
    """Remove the kept PDFs not used for :data:`PDF_KEEP_DAYS`, and files written aside a day ago
    or more (a run killed before its rename)."""
    from manualkit.base.clock import seconds_since_epoch

    now = seconds_since_epoch()
    for path in [*cache.glob("pdf-*.pdf"), *cache.glob(".pdf-*.tmp")]:
        try:
            age = now - path.stat().st_mtime
            if age > (PDF_KEEP_DAYS if path.name.startswith("pdf-") else 1) * 86400:
                path.unlink()
        except OSError:
            pass


def laid_out_destinations(docx: bytes, *, profile_cache: Path | None = None) -> dict[str, int]:
    """Named destination → page of the PDF LibreOffice makes of ``docx``, read from the file by
    poppler's ``pdfinfo -dests`` when it is installed: the PDF (24 MiB for a manual 25 times this
    one's size) is then never held in this process, nor parsed into objects (42 MiB more); without
    pdfinfo, pyHanko reads it (:func:`destination_pages`)."""
    return _laid_out(docx, PDFA_OPTIONS, None, profile_cache, _file_destinations)


def pdf_destinations(pdf: bytes) -> dict[str, int]:
    """Named destination → page of ``pdf`` (bytes already laid out), read as
    :func:`laid_out_destinations` reads a layout's file."""
    with tempfile.TemporaryDirectory(prefix="manualkit-dests-") as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(pdf)
        return _file_destinations(path)


_DEST_LINE = re.compile(r'^\s*(\d+)\s+\[[^\]]*\]\s+"([^"]*)"\s*$')


def _file_destinations(pdf: Path) -> dict[str, int]:
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is not None:
        proc = subprocess.run([pdfinfo, "-dests", str(pdf)], capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        if proc.returncode == 0:
            found = (_DEST_LINE.match(line) for line in proc.stdout.decode("utf-8", "replace").splitlines()[1:])
            return {m.group(2): int(m.group(1)) for m in found if m}
    return destination_pages(pdf.read_bytes())


def _laid_out(
    docx: bytes, options: Mapping[str, object], frozen_at: dt.datetime | None, profile_cache: Path | None, read: Callable[[Path], T]
) -> T:
    program = soffice()
    template = _profile_template(program, profile_cache) if profile_cache is not None else None
    prefix: list[str] = []
    if frozen_at is not None:
        faketime = shutil.which("faketime")
        if faketime is None:
            raise LayoutError("DOC542", f"SOURCE_DATE_EPOCH 要求可复现的 PDF，需要 faketime 固定排版引擎的时钟；请先运行：{INSTALL_COMMAND}")
        moment = frozen_at.astimezone(dt.UTC) if frozen_at.tzinfo else frozen_at
        prefix = [faketime, "-f", moment.strftime("%Y-%m-%d %H:%M:%S")]
    with tempfile.TemporaryDirectory(prefix="manualkit-layout-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        source = work / "in" / "document.docx"
        source.write_bytes(docx)
        fonts = work / "fonts.conf"
        fonts.write_text(fontconfig_xml(), encoding="utf-8")
        seeded = _start_profile(work / "profile", template)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "FONTCONFIG_FILE": str(fonts),
            "SAL_USE_VCLPLUGIN": "svp",
        }
        if not seeded:
            new_profile(work / "profile", engine_version(program, env))
        command = [
            *prefix,
            program,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
            "--convert-to", _filter(options), "--outdir", str(work / "out"), str(source),
        ]  # fmt: skip
        try:
            proc = subprocess.run(command, env=env, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
            result = work / "out" / "document.pdf"
            if (proc.returncode != 0 or not result.is_file()) and seeded and template is not None:
                # A kept profile that LibreOffice cannot start from (damaged, say) never breaks a
                # build: once more on a new profile, which then replaces the kept one.
                shutil.rmtree(work / "profile", ignore_errors=True)
                new_profile(work / "profile", engine_version(program, env))
                proc = subprocess.run(command, env=env, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
                if proc.returncode == 0 and result.is_file():
                    shutil.rmtree(template, ignore_errors=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LayoutError("DOC541", f"LibreOffice 排版失败：{exc}") from None
        if proc.returncode != 0 or not result.is_file():
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["没有生成 PDF"]
            raise LayoutError("DOC541", f"LibreOffice 排版失败（退出状态 {proc.returncode}）：{message[0]}")
        if result.stat().st_size > MAX_PDF_BYTES:
            raise LayoutError("DOC541", "LibreOffice 生成的 PDF 超过大小上限")
        _keep_profile(work / "profile", template)
        return read(result)


def destination_name(bookmark: str) -> str:
    """The name LibreOffice gives a Word bookmark as a PDF destination: every character other
    than a letter or digit written as its two hex digits (``sec_3_2`` → ``sec5F35F2``)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"{ord(ch):02X}" for ch in bookmark)


def destination_pages(pdf: bytes) -> dict[str, int]:
    """Named destination → page number (1 = first page) of a PDF LibreOffice exported with
    ``ExportBookmarksToPDFDestination``."""
    import io

    from pyhanko.pdf_utils.generic import IndirectObject
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    root = reader.root
    page_numbers: dict[int, int] = {}
    stack = [root.raw_get("/Pages")]
    order: list[int] = []
    while stack:  # the page tree, depth first, left to right
        ref = stack.pop()
        node = ref.get_object()
        if node.get("/Type") == "/Pages":
            stack.extend(reversed(list(node.raw_get("/Kids"))))
        elif isinstance(ref, IndirectObject):
            order.append(ref.idnum)
    for number, idnum in enumerate(order, start=1):
        page_numbers[idnum] = number
    out: dict[str, int] = {}
    if "/Dests" not in root:
        return out
    dests = root["/Dests"]
    for name in list(dests.keys()):
        target = dests.raw_get(name)
        array = target.get_object() if isinstance(target, IndirectObject) else target
        if isinstance(array, dict) or hasattr(array, "keys"):
            array = array["/D"]
        page = array.raw_get(0) if hasattr(array, "raw_get") else array[0]
        if isinstance(page, IndirectObject) and page.idnum in page_numbers:
            out[str(name).lstrip("/")] = page_numbers[page.idnum]
    return out
