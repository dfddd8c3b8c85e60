"""``manual verify FILE.docx``: is this the genuine, untampered release?

Checks the embedded package signature, that the signing certificate is a trusted release (or
local development) certificate, and that the document's text is the text of that release in git
(the document is rendered again from the release's tree and compared part by part).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.run import Run
    from manualkit.commands.context import RunContext
    from manualkit.documents.ooxml_package import Package
    from manualkit.records.history import ReleaseEntry

MAX_DOCX_BYTES = 64 * 1024 * 1024
TRUSTED_CERTS_DIR = "certs"  # PEM release certificates committed to the repository
COMPARED_PARTS = ("word/document.xml", "word/header1.xml", "word/header2.xml", "word/footer1.xml", "word/styles.xml", "word/numbering.xml")


class Verdict(IntEnum):
    """Exit statuses of ``manual verify``, one per answer."""

    GENUINE = 0
    TAMPERED = 3
    UNKNOWN_CERTIFICATE = 4
    UNSIGNED = 5
    DAMAGED = 6
    NOT_THE_RELEASE = 7


@dataclass
class Verification:
    verdict: Verdict
    message: str
    version: str | None = None
    development: bool = False
    details: list[str] = field(default_factory=list)


def custom_properties(data: bytes) -> dict[str, str]:
    from manualkit.documents.ooxml_package import parse_xml, read_package

    package = read_package(data)
    name = package.find("docProps/custom.xml")
    if name is None:
        return {}
    root = parse_xml(package.parts[name], name)
    out = {}
    for prop in root:
        name = prop.get("name")
        value = "".join(prop.itertext()).strip()
        if name:
            out[name] = value
    return out


def _trusted(run: Run) -> list[tuple[bytes, bool]]:
    """DER bytes of every trusted certificate (the run's configured ones, then those released at
    ``run.root``), with whether it is the development one."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from manualkit.documents.signing_key import is_development_certificate, trusted_certificates

    certificates = list(trusted_certificates(run.env))
    # Only certificates released through the chain of trust count: those in certs/ of the latest
    # release commit, never a file merely committed or lying in the working tree (issue 9).
    for pem in released_certificates(run.root):
        try:
            certificates += x509.load_pem_x509_certificates(pem)
        except ValueError:
            continue
    return [(c.public_bytes(Encoding.DER), is_development_certificate(c)) for c in certificates]


def released_certificates(root: Path) -> list[bytes]:
    """The PEM files under ``certs/`` of the latest release commit (none before a release)."""
    from manualkit.base import git
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.trust import release_commit, trusted_certificates_at

    if git.facts(root) is None:
        return []
    records = worktree_snapshot(root).records
    commit = release_commit(root, records[-1]) if records else None
    return trusted_certificates_at(root, commit) if commit else []


def verify_docx(run: Run, path: Path) -> Verification:
    """The verdict on a release file on ``run.today``: a DOCX, or (by its first bytes) a PDF. Only a regular file
    is read (never /dev/zero, a FIFO or a socket: MAN768), and only up to its kind's size limit."""
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.files import peek_regular

    try:
        head = peek_regular(path, 5)
    except ManualError as exc:
        return _unreadable(exc)
    if head == b"%PDF-":
        return verify_pdf_file(run, path)
    return _verify_docx(run, path)


def _signer_verdict(run: Run, kind: str, status: str, problems: list[str], certificate: bytes | None) -> Verification | bool:
    """The verdict when the signature is missing, broken or by an untrusted certificate; else
    whether the trusted certificate is the development one."""
    from manualkit.documents.signing_key import SigningKeyError

    if status == "damaged":
        return Verification(Verdict.DAMAGED, f"不是 {kind} 文件或文件已损坏", details=problems)
    if status == "unsigned":
        return Verification(Verdict.UNSIGNED, "文件没有数字签名：不是正式发布的受控文件", details=problems)
    if status == "tampered":
        return Verification(Verdict.TAMPERED, "数字签名验证失败：文件在签署后被改动", details=problems)
    try:
        trusted = _trusted(run)
    except SigningKeyError as exc:
        return Verification(Verdict.UNKNOWN_CERTIFICATE, f"无法读取受信任的发布证书：{exc.message}")
    match = next((dev for der, dev in trusted if der == certificate), None)
    if match is None:
        return Verification(Verdict.UNKNOWN_CERTIFICATE, "签名有效，但签名证书不是本仓库信任的发布证书：来源不明")
    return match


def verify_pdf_file(run: Run, path: Path) -> Verification:
    """The signed PDF/A: one PAdES signature covering the whole file, by a trusted certificate,
    stating (in its signed Keywords) a version and content digest that are a release in git."""
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.files import read_regular
    from manualkit.documents.pdf_release import MAX_PDF_BYTES, verify_pdf
    from manualkit.records.history import release_history, release_index

    try:
        data = read_regular(path, MAX_PDF_BYTES)
    except ManualError as exc:
        return _unreadable(exc)
    report = verify_pdf(data)
    root, today = run.root, run.today
    signer = _signer_verdict(run, "PDF", report.status, report.problems, report.certificate)
    if isinstance(signer, Verification):
        return signer
    development = signer
    version = report.version
    if not version or not report.digest:
        return Verification(Verdict.NOT_THE_RELEASE, "签名有效，但 PDF 没有记录版本号和内容摘要，无法与发布记录核对")
    try:
        entries = release_history(root)
        index = release_index(entries, version, today)
        record = entries[index].record
    except ManualError as exc:
        return Verification(Verdict.NOT_THE_RELEASE, f"签名有效，但无法在 git 历史中找到版本 {version} 的发布：{exc}", version)
    if record.content_digest != report.digest:
        return Verification(
            Verdict.NOT_THE_RELEASE, f"签名有效，但 PDF 所载内容摘要与 git 中 {version} 版的发布不一致", version, development,
            [f"PDF：{report.digest}", f"发布记录：{record.content_digest}"],
        )  # fmt: skip
    earlier_form = _earlier_form(report.layout)
    try:
        differing = _pdf_content_differences(run, data, entries, index, development, earlier_form)
    except ManualError as exc:
        return Verification(Verdict.NOT_THE_RELEASE, f"签名有效，但无法核对 PDF 的内容：{exc.diagnostics[0].message}", version, development)
    if differing:
        return Verification(
            Verdict.NOT_THE_RELEASE, f"签名有效，但 PDF 的内容与 git 中 {version} 版的发布不一致", version, development, differing
        )
    note = "（开发签名，非正式：仅在持有开发密钥的本机可信）" if development else ""
    compared = "正文与 git 中的发布逐字一致" if earlier_form else "内容与 git 中的发布逐页一致"
    return Verification(
        Verdict.GENUINE,
        f"真实有效：{version} 版 PDF/A，{record.published.isoformat()} 发布，{record.effective.isoformat()} 起实施，"
        f"{compared}{note}；截至 {today.isoformat()}：{status_today(entries, index, today)}",
        version,
        development,
        [f"文件由早期版本的 manual 生成（版式 {earlier_form}）：页眉、修订记录等版式与现在不同，已逐字核对各章正文"] if earlier_form else [],
    )


def _pdf_content_differences(
    run: Run, data: bytes, entries: Sequence[ReleaseEntry], index: int, development: bool, earlier_form: str = ""
) -> list[str]:
    """What the PDF's pages say that the release, laid out again from git by the same engine, does
    not: one line per differing page (and one if the page counts differ); empty when every page
    reads the same. The status printed on the cover (as of the day the PDF was made) is read from
    the PDF and must be one a release can carry; the layout engine lays the release out with it."""
    from manualkit.documents.docx.body import APPENDIX_BOOKMARK
    from manualkit.documents.layout import destination_name, destination_pages, docx_to_pdf
    from manualkit.documents.pdf_cache import kept_pdfs
    from manualkit.documents.pdf_release import page_texts
    from manualkit.documents.release_document import render_release
    from manualkit.documents.toc import layout_cache_dir
    from manualkit.records.edition import Status

    actual = page_texts(data)
    printed = next((s for s in Status if actual and f"文件状态： {s.value}" in actual[0]), None)
    if printed is None:
        return ["第 1 页：封面没有印出发布文件的文件状态（现行有效、已批准待实施或已作废）"]
    destinations = destination_pages(data)
    with_comparison = destination_name(APPENDIX_BOOKMARK) in destinations
    docx = render_release(run.root, entries, index, printed, development, env=run.env, with_comparison=with_comparison)
    laid_out = docx_to_pdf(docx, profile_cache=layout_cache_dir(run.env), pdf_cache=kept_pdfs(run.env))  # the PDFs 下载 keeps too
    if earlier_form:  # an earlier form: the chapters' text, from the first chapter to the end mark
        have, want = _chapters_text(data, destinations), _chapters_text(laid_out, destination_pages(laid_out))
        if have == want:
            return []
        at = next((i for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b), min(len(have), len(want)))
        start = max(0, at - 20)
        return [f"各章正文不一致：文件中为“…{have[start : at + 40]}…”，发布中为“…{want[start : at + 40]}…”"]
    expected = page_texts(laid_out)
    out = []
    if len(actual) != len(expected):
        out.append(f"页数不一致：文件中为 {len(actual)} 页，按 git 中的发布排版为 {len(expected)} 页")
    for number, (have, want) in enumerate(zip(actual, expected, strict=False), start=1):
        if have != want:
            at = next((i for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b), min(len(have), len(want)))
            start = max(0, at - 20)
            out.append(f"第 {number} 页的文字不一致：文件中为“…{have[start : at + 40]}…”，发布中为“…{want[start : at + 40]}…”")
        if len(out) >= 10:
            out.append("……（其余不一致的页从略）")
            break
    return out


def _chapters_text(pdf: bytes, destinations: Mapping[str, int]) -> str:
    """The text between header and footer of every page from the first chapter's (its named
    destination) to the end mark （以下空白）, white space removed: what an earlier form of the
    document shares with the current one."""
    from manualkit.documents.layout import destination_name
    from manualkit.documents.pdf_release import page_texts

    first = destinations.get(destination_name("chap_1"), 1)
    text = "".join("".join(page.split()) for page in page_texts(pdf, body_only=True)[first - 1 :])
    return text.split("以下空白")[0]


def _unreadable(exc: ManualError) -> Verification:
    d = exc.diagnostics[0]
    return Verification(Verdict.DAMAGED, f"{d.code} {d.message}")


def _verify_docx(run: Run, path: Path) -> Verification:
    from manualkit.base.diagnostics import ManualError
    from manualkit.base.files import read_regular
    from manualkit.documents.ooxml_package import PackageError
    from manualkit.documents.package_signature import verify_package

    try:  # a regular file only (never /dev/zero or a FIFO), at most MAX_DOCX_BYTES
        data = read_regular(path, MAX_DOCX_BYTES)
    except ManualError as exc:
        return _unreadable(exc)
    try:
        report = verify_package(data)
        properties = custom_properties(data) if report.status != "damaged" else {}
    except PackageError as exc:
        return Verification(Verdict.DAMAGED, f"不是 DOCX 文件或文件已损坏（{exc.code} {exc.message}）")
    signer = _signer_verdict(run, "DOCX", report.status, report.problems, report.certificate)
    if isinstance(signer, Verification):
        return signer
    from manualkit.documents.package_bounds import bytes_outside_the_zip

    outside = bytes_outside_the_zip(data)
    if outside:
        return Verification(Verdict.TAMPERED, "文件中有数字签名未覆盖的内容：不是发布的原始文件", details=outside)
    match = signer
    version = properties.get("version")
    status_text = properties.get("status", "")
    result = _compare_with_release(run, data, version, status_text, match, properties.get("copy_number", ""))
    if result.verdict is Verdict.GENUINE and properties.get("copy_number"):
        result.message += _copy_note(run.root, properties["copy_number"], version)
    return result


def _copy_note(root: Path, number: str, version: str | None) -> str:
    """A numbered controlled copy (manual distribute): whose it is, and whether it was recalled."""
    from manualkit.records.procedure import procedure_state
    from manualkit.records.repository import worktree_snapshot

    # Only a copy record that verifies (signed, unaltered) names a holder; its status comes from
    # its signed recall record.
    copy = (procedure_state(worktree_snapshot(root), root).copies or {}).get(number)
    if copy is None or copy.version != version:
        return f"；受控副本分发号 {number}，但分发记录中没有该副本"
    back = f"，已于 {copy.recalled.isoformat()} {'作废留存' if copy.retained else '回收'}" if copy.recalled else ""
    return f"；受控副本分发号 {number}，领用人 {copy.holder}（{copy.department}），{copy.issued.isoformat()} 分发{back}"


IDENTITY_LABELS = {
    "version": "版本", "digest": "内容摘要", "document_number": "文件编号",
    "published": "发布日期", "effective": "实施日期", "signers": "签署人",
}  # fmt: skip


def identity_of(package: Package) -> dict[str, str]:
    from manualkit.documents.ooxml_package import parse_xml

    name = package.find("docProps/custom.xml")
    if name is None:
        return {}
    out = {}
    for prop in parse_xml(package.parts[name], name):
        key = prop.get("name")
        if key:
            out[key] = "".join(prop.itertext()).strip()
    return out


def identity_differences(signed: Mapping[str, str], recorded: Mapping[str, str]) -> list[str]:
    """What the DOCX's signed identity (version, dates, content digest, signers) says that the
    release record in git does not, one line per property, both values quoted."""
    from manualkit.documents.docx.release import IDENTITY_PROPERTY_NAMES

    out = []
    for key in IDENTITY_PROPERTY_NAMES:
        have, want = signed.get(key), recorded.get(key)
        if have is None and key in ("published", "effective", "signers"):
            continue  # made before these properties existed: the text comparison covers them
        if have != want:
            out.append(f"{IDENTITY_LABELS[key]}不一致：文件中为“{have or '（无）'}”，git 中的发布记录为“{want or '（无）'}”")
    return out


def _earlier_form(layout: str) -> str:
    """The form a file says it has, when it is earlier than the form rendered now ("" otherwise)."""
    from manualkit.documents.docx.release import LAYOUT

    if not layout:
        return "1"
    return layout if layout.isdigit() and int(layout) < int(LAYOUT) else ""


def chapter_text(package: Package) -> list[str]:
    """The text of the manual's chapters in a release DOCX, paragraph by paragraph (tables cell by
    cell): from the first chapter's heading to the end mark （以下空白）, without the cover, the
    sign-off page, the 修订记录, the contents, headers and footers, which are the document's form."""
    from manualkit.documents.ooxml_package import parse_xml

    name = package.find("word/document.xml")
    if name is None:
        return []
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    body = parse_xml(package.parts[name], name).find(f"{w}body")
    out: list[str] = []
    started = False
    for p in body.iter(f"{w}p") if body is not None else ():
        if not started:
            started = any(b.get(f"{w}name", "").startswith("chap_") for b in p.iter(f"{w}bookmarkStart"))
            if not started:
                continue
        text = "".join(t.text or "" for t in p.iter(f"{w}t"))
        if "以下空白" in text:
            break
        out.append(text)
    return out


def _part(package: Package, name: str) -> bytes | None:
    found = package.find(name)
    return None if found is None else package.parts[found]


def _compare_with_release(run: Run, data: bytes, version: str | None, status_text: str, development: bool, copy_number: str = "") -> Verification:
    from manualkit.base.diagnostics import ManualError
    from manualkit.documents.docx.body import APPENDIX_BOOKMARK
    from manualkit.documents.ooxml_package import read_package
    from manualkit.documents.release_document import render_release
    from manualkit.documents.toc import toc_page_numbers
    from manualkit.records.edition import Status
    from manualkit.records.history import release_history, release_index

    root, today = run.root, run.today
    if not version:
        return Verification(Verdict.NOT_THE_RELEASE, "签名有效，但文件没有记录版本号，无法与发布记录核对")
    try:
        status = Status(status_text)
        entries = release_history(root)
        index = release_index(entries, version, today)
        # The page numbers of the contents are layout, not text: they are taken from the signed
        # file itself (the signature covers them), so verifying needs no layout engine.
        pages = toc_page_numbers(data)
        with_comparison = APPENDIX_BOOKMARK in pages  # a release DOCX made with --with-comparison
        expected = read_package(
            render_release(root, entries, index, status, development, env=run.env, pages=pages, copy_number=copy_number, with_comparison=with_comparison)
        )
    except (ValueError, ManualError) as exc:
        return Verification(Verdict.NOT_THE_RELEASE, f"签名有效，但无法在 git 历史中找到版本 {version} 的发布：{exc}", version)
    actual = read_package(data)
    properties = custom_properties(data)
    identity = identity_differences(properties, identity_of(expected))
    differing = [name for name in COMPARED_PARTS if _part(expected, name) != _part(actual, name)]
    earlier_form = _earlier_form(properties.get("layout", ""))
    if earlier_form and differing and not identity and chapter_text(expected) == chapter_text(actual):
        # made by an earlier version of the tool: its form differs, its identity and text do not
        differing, form_note = [], [f"文件由早期版本的 manual 生成（版式 {earlier_form}）：页眉、修订记录等版式与现在不同，已逐段核对正文"]
    else:
        form_note = []
    if identity or differing:
        return Verification(
            Verdict.NOT_THE_RELEASE,
            f"签名有效，但文件所载的发布{'身份' if identity else '文本'}与 git 中 {version} 版的发布记录不一致",
            version,
            development,
            identity + [f"不一致的部件：{name}" for name in differing],
        )
    note = "（开发签名，非正式：仅在持有开发密钥的本机可信）" if development else ""
    record = entries[index].record
    today_status = status_today(entries, index, today)
    details = form_note + ([] if status.value in today_status else [f"文件中印的状态为“{status.value}”（印制当日）；以今天的时间线为准"])
    return Verification(
        Verdict.GENUINE,
        f"真实有效：{version} 版，{record.published.isoformat()} 发布，{record.effective.isoformat()} 起实施，"
        f"内容与 git 中的发布一致{note}；截至 {today.isoformat()}：{today_status}",
        version,
        development,
        details,
    )


def status_today(entries: Sequence[ReleaseEntry], index: int, today: dt.date) -> str:
    """What release ``index`` is on ``today`` by the timeline of releases, not by what the document
    printed on the day it was made: 现行有效, 已批准待实施 (from when), or 已作废 (since when, by which version)."""
    from manualkit.records.edition import Status, status_on

    record = entries[index].record
    status = status_on(entries, index, today)
    if status is Status.APPROVED:
        return f"{Status.APPROVED.value}，将于 {record.effective.isoformat()} 起实施"
    if status is Status.SUPERSEDED:
        successor = next(e.record for e in entries[index + 1 :] if e.record.effective <= today)
        return f"已作废：自 {successor.effective.isoformat()} 起由 {successor.version} 版取代"
    return Status.IN_FORCE.value


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="DOCX 或 PDF 文件")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    result = verify_docx(context.run, Path(args.file))
    outcome = Outcome(int(result.verdict))
    say = outcome.write if result.verdict == 0 else outcome.warn
    say(f"{args.file}: {result.message}\n")
    for line in result.details:
        say(f"  {line}\n")
    return outcome


COMMANDS = (
    Command("verify", _arguments, _run,
        description="退出状态：0 真实有效；3 签署后被改动；4 签名证书不受信任；5 未签名；6 不是 DOCX/PDF 或已损坏；7 内容与 git 中的发布不一致",
    ),
)  # fmt: skip
