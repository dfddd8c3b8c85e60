"""``manual docx``: the signed DOCX of a release, built from the release's git tree."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.commands.registry import Command, Outcome, output_folder, output_path

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext
    from manualkit.records.edition import Status
    from manualkit.records.history import ReleaseEntry, ReleaseReader

if TYPE_CHECKING:
    from manualkit.documents.docx.body import Appendix
    from manualkit.documents.signing_key import SigningKey
    from manualkit.records.policy import Policy
    from manualkit.records.release import ReleaseRecord
    from manualkit.text.manual import Manual


@dataclass(frozen=True)
class ReleaseDocument:
    """A signed release file: the DOCX, or (``suffix`` "pdf") its PDF/A."""

    data: bytes
    version: str
    status: Status
    development: bool
    document_number: str  # 文件编号 of the release (manual.yml at its commit)
    suffix: str = "docx"

    @property
    def file_name(self) -> str:
        return f"{self.document_number}_{self.version.replace('/', '-')}.{self.suffix}"


def find_release(entries: Sequence[ReleaseEntry], version: str | None, as_of: dt.date | None, today: dt.date) -> int:
    """Index of the release named by ``version``, or in force on ``as_of`` (default today)."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.history import in_force

    if not entries:
        raise fail("changelog/releases", 0, 0, "MAN685", "尚无发布记录；请先用 manual release 发布")
    versions = [str(e.record.version) for e in entries]
    if version is not None:
        if version not in versions:
            raise fail("--version", 0, 0, "MAN686", f"版本 {version} 不存在；已发布的版本：{'、'.join(versions)}")
        return versions.index(version)
    day = as_of or today
    entry = in_force(list(entries), day)
    if entry is None:
        first = entries[0].record
        raise fail("--as-of", 0, 0, "MAN687", f"{day.isoformat()} 尚无生效的版本；最早的版本 {first.version} 自 {first.effective.isoformat()} 起实施")
    return versions.index(str(entry.record.version))


def signing_time(env: Mapping[str, str]) -> dt.datetime:
    """The signing time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    from manualkit.base.clock import utc_now
    from manualkit.base.diagnostics import fail

    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise fail("SOURCE_DATE_EPOCH", 0, 0, "DOC512", f"SOURCE_DATE_EPOCH 应为整数秒，实际为 {epoch!r}")
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return utc_now()


def render_release(
    root: Path,
    entries: Sequence[ReleaseEntry],
    index: int,
    status: Status,
    development: bool,
    *,
    env: Mapping[str, str],
    pages: Mapping[str, int] | None = None,
    copy_number: str = "",
    with_comparison: bool = False,
    reader: ReleaseReader | None = None,
) -> bytes:
    """The unsigned DOCX of release ``index`` as ``status`` (deterministic: same input, same bytes),
    its table of contents numbered with ``pages`` (bookmark → page), or by the layout engine
    (LibreOffice, cached by the draft's digest) when ``pages`` is None; ``copy_number`` is the
    分发号 of a numbered controlled copy; ``with_comparison``: the 修订对照表 against the release
    before it as an appendix (附录)."""
    from manualkit.base import git
    from manualkit.base.clock import start_of_day
    from manualkit.documents.docx.release import render_docx
    from manualkit.documents.toc import fill_toc, laid_out_pages
    from manualkit.records.edition import release_edition
    from manualkit.records.history import ReleaseReader

    entry = entries[index]
    assert entry.commit is not None  # release_texts refuses a release outside git
    manual, policy = release_texts(reader or ReleaseReader(root), entry)
    edition = release_edition(entries, index, status, policy, development_signature=development)
    images = {
        e.path: blob
        for e in git.list_tree(root, entry.commit, "manual/")
        if e.path.lower().endswith((".png", ".jpg", ".jpeg", ".gif")) and e.size <= 8 * 1024 * 1024
        for blob in [git.show(root, entry.commit, e.path)]
        if blob is not None
    }
    generated = start_of_day(entry.record.published)
    appendix = comparison_appendix(root, entries, index) if with_comparison else None

    def draft(number: str) -> bytes:
        return render_docx(manual, replace(edition, copy_number=number), generated=generated, images=images, appendix=appendix)

    # Every copy of a version is laid out alike: its 分发号 (cover and header) has one shape and
    # never wraps. Its pages are those of the draft with the number's digits set to 0, laid out
    # once for all the copies of the version (the layout cache is keyed by that draft).
    final, neutral = draft(copy_number), re.sub(r"[0-9]", "0", copy_number)
    if pages is None:
        pages = laid_out_pages(final if neutral == copy_number else draft(neutral), env)
    return fill_toc(final, pages)


def release_texts(reader: ReleaseReader, entry: ReleaseEntry) -> tuple[Manual, Policy]:
    """The manual and policy of the commit that recorded ``entry``, parsed through the history's
    reader: a chapter text already parsed for verification (or cached under .git/manualkit/) is
    not parsed again."""
    from manualkit.base.diagnostics import fail

    if entry.commit is None:
        raise fail(entry.record.path, 0, 0, "MAN680", f"{entry.record.version} 的发布记录不在 git 历史中")
    manual, policy = reader.manual(entry.commit), reader.policy(entry.commit)
    if manual is None or policy is None:
        raise fail(entry.record.path, 0, 0, "MAN683", f"{entry.record.version} 发布时的手册或修订政策无法加载")
    return manual, policy


def comparison_appendix(root: Path, entries: Sequence[ReleaseEntry], index: int) -> Appendix:
    """附录 修订对照表 of release ``index`` against the release before it."""
    from manualkit.base.diagnostics import fail
    from manualkit.commands.diff import compare_versions, comparison_table
    from manualkit.documents.comparison_table import appendix

    if index == 0:
        record = entries[0].record
        raise fail(record.path, 0, 0, "MAN780", f"{record.version} 是首次发布，没有上一版本可对照；请去掉 --with-comparison")
    old, new = str(entries[index - 1].record.version), str(entries[index].record.version)
    return appendix(comparison_table(compare_versions(root, old, new)), from_version=old, to_version=new)


class UnsignedRelease(NamedTuple):
    """A release rendered from git, with the key that will sign it."""

    docx: bytes
    record: ReleaseRecord
    status: Status
    key: SigningKey
    document_number: str


def unsigned_release(
    root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False
) -> UnsignedRelease:
    """The release named by ``version`` (or in force on ``as_of``, default today), rendered with
    its table of contents numbered (and ``with_comparison``, the 修订对照表 as an appendix), and
    the release (or development) key."""
    from manualkit.base.diagnostics import fail
    from manualkit.documents.signing_key import SigningKeyError, load_signing_key
    from manualkit.records.edition import status_on
    from manualkit.records.history import ReleaseReader, release_history

    entries = release_history(root)
    index = find_release(entries, version, as_of, today)
    try:
        key = load_signing_key(env)
    except SigningKeyError as exc:
        raise fail("MANUAL_SIGNING_KEY", 0, 0, exc.code, exc.message) from None
    # The copy is marked by its status today: a version exported "as of" a past date is 作废 now.
    status = status_on(entries, index, today)
    # One reader for the file's name (the release's own 文件编号) and its text.
    reader = ReleaseReader(root)
    manual, _ = release_texts(reader, entries[index])
    docx = render_release(root, entries, index, status, key.development, env=env, with_comparison=with_comparison, reader=reader)
    return UnsignedRelease(docx, entries[index].record, status, key, manual.metadata.document_number)


def build_release_docx(
    root: Path, *, version: str | None, as_of: dt.date | None, today: dt.date, env: Mapping[str, str], with_comparison: bool = False
) -> ReleaseDocument:
    """Render the release from git (``with_comparison``: with 附录 修订对照表), then sign it with
    the release (or development) key."""
    from manualkit.documents.package_signature import sign_package

    release = unsigned_release(root, version=version, as_of=as_of, today=today, env=env, with_comparison=with_comparison)
    signed = sign_package(release.docx, release.key, signing_time(env))
    return ReleaseDocument(signed, str(release.record.version), release.status, release.key.development, release.document_number)


def release_docx(root: Path, version: str, today: dt.date, env: Mapping[str, str]) -> bytes:
    """The signed DOCX bytes of ``version`` (for the site's download page)."""
    return build_release_docx(root, version=version, as_of=None, today=today, env=env).data


def write_docx(path: Path, document: ReleaseDocument) -> None:
    from manualkit.base.atomic import write_atomic

    write_atomic(path, document.data)


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    from manualkit.base.clock import parse_date

    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", help="版本，如 B/0")
    which.add_argument("--as-of", type=parse_date, help="该日期现行有效的版本")
    p.add_argument("-o", "--output", help="输出文件（默认 dist/<文件编号>_<版本>.docx）")
    p.add_argument("--with-comparison", action="store_true", help="附上与上一版本的修订对照表（附录）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.base.atomic import check_writable

    root = context.root
    check_writable(output_folder(root, args.output))  # before the layout's seconds
    document = build_release_docx(root, version=args.version, as_of=args.as_of, today=context.today, env=context.env, with_comparison=args.with_comparison)
    out = output_path(root, args.output, document.file_name)
    write_docx(out, document)
    outcome = Outcome()
    dev = "；使用开发签名（非正式），请配置 MANUAL_SIGNING_KEY 以使用正式发布证书" if document.development else ""
    outcome.say(f"已生成 {document.version} 版（{document.status.value}）的签名 DOCX：{out}{dev}")
    return outcome


COMMANDS = (Command("docx", "生成某一发布版本的签名 DOCX（默认：今天现行有效的版本）", _arguments, _run),)
