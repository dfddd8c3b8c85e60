"""Build the staff site from the releases in git: the version in force, what is coming, the archive.

:func:`build_site` reads and verifies the release history of the HEAD commit (never the working
tree) and writes the site in three steps:

1. the pages of the version in force — its chapters, 首页, 修订记录, 版本归档, 下载, 即将生效, the
   redline between each pair of consecutive versions and one page per change request — are made
   by :mod:`manualkit.site.pages` into a temporary docs folder, and MkDocs renders them once;
2. each superseded version is a MkDocs site of its own under ``archive/<A-0>/`` (已作废 banner,
   ``noindex``, no search). It is built once and kept in a cache keyed by its content digest (the
   git tree hash of ``manual/`` at its release commit) together with everything else its pages
   say (its dates, the version that replaced it, the builder's code); later builds link it in;
3. the new site replaces the old one by renaming, so a failed build leaves the old site in place.

:mod:`manualkit.site.draft` makes the draft preview of ``manual serve`` from the working tree.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.base import clock, git
from manualkit.base.atomic import check_writable
from manualkit.base.diagnostics import Diagnostic, ManualError, fail
from manualkit.documents.comparison_table import ComparisonRow, release_comparison, released_requests
from manualkit.records.change_request import REQUESTS_DIR, ChangeRequest
from manualkit.records.edition import Status
from manualkit.records.history import ReleaseEntry, ReleaseReader, release_history
from manualkit.records.policy import Policy
from manualkit.records.repository import ContentCache, commit_snapshot, require_full_history
from manualkit.site import download_pages, pages
from manualkit.site.cache import COMPLETE, archive_key, cache_root, link_or_copy, prune, site_fingerprint
from manualkit.site.model import (
    ARCHIVE,
    CHECKSUMS,
    DOWNLOADS,
    DOWNLOADS_DIR,
    HOME,
    REVISIONS,
    UPCOMING,
    LastChange,
    SiteVersion,
    chapter_page,
    comparison_page,
    diff_page,
    in_force_index,
    last_change,
    release_change,
    request_page,
    site_versions,
    source_path,
    version_prefix,
)
from manualkit.site.redlines import SectionRedline, manual_changes
from manualkit.site.release_files import RELEASES_JSON, ReleaseFiles, StatusPeriod
from manualkit.site.release_files import DownloadFile as DownloadFile  # re-exported: commands/build.py makes them
from manualkit.site.render import SITE_DATE_CSS, VERSIONS_JS, Docs, mkdocs_config, run_mkdocs, site_date_css
from manualkit.site.sitemap import site_url
from manualkit.text.chapter import Chapter, split_front_matter
from manualkit.text.manual import MANUAL_DIR, Manual, ManualFiles, decode
from manualkit.text.markup import unsafe_findings
from manualkit.text.metadata import METADATA_PATH, ManualMetadata, parse_metadata
from manualkit.text.outline import chinese_numeral

if TYPE_CHECKING:
    from manualkit.base.run import Run
    from manualkit.records.answers import Answer
    from manualkit.records.obligation_map import ObligationReport
    from manualkit.records.opinions import Opinion
    from manualkit.records.procedure import SignedRecord

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_TEXT_BYTES = 1024 * 1024


#: Makes a release's signed files in one of its statuses (``period.version`` stands as it stood
#: then; ``period.signed_at``: the moment to sign at, None for the build's own).
DownloadMaker = Callable[[StatusPeriod, ManualMetadata], Sequence[DownloadFile]]


def checksums(files: Sequence[DownloadFile]) -> bytes:
    """``SHA256SUMS`` in the format ``sha256sum -c`` reads."""
    return "".join(f"{f.sha256}  {f.name}\n" for f in files).encode()


@dataclass(frozen=True)
class SiteBuild:
    """What a build produced."""

    site_dir: Path
    day: dt.date
    in_force: SiteVersion
    upcoming: tuple[SiteVersion, ...]
    archived: tuple[SiteVersion, ...]
    rebuilt: tuple[str, ...]  # archived versions built this time (not found in the cache)
    pages: int
    downloads: tuple[DownloadFile, ...]  # the files of the version in force (written to dist/)
    seconds: Mapping[str, float]
    invalid_signatures: tuple[Diagnostic, ...] = ()  # shown as invalid on the site (MAN812)
    releases: tuple[ReleaseFiles, ...] = ()  # every release's files, offered on the 下载 page


def chapter_heading(chapter: Chapter) -> str:
    return f"第{chinese_numeral(chapter.number)}章 {chapter.title}"


def chapter_body(files: ManualFiles, chapter: Chapter) -> str:
    """A chapter's Markdown as released, without its front matter (the site shows its own header)."""
    text, problems = decode(chapter.path, files.contents[chapter.path])
    if text is None:
        raise ManualError(problems)
    split = split_front_matter(text)
    return (split[1] if split else text).lstrip("\n")


@dataclass(frozen=True)
class VersionContent:
    """A version's text as released: the parsed manual, its files, and its images."""

    manual: Manual
    files: ManualFiles
    images: Mapping[str, bytes]  # path relative to manual/ → bytes


def refuse_unsafe_markup(version: str, manual: Manual, files: ManualFiles) -> None:
    """MkDocs passes raw HTML through to every reader's browser: a version holding any (or a script,
    a ``javascript:`` link, an outside image) is not rendered, although ``manual check``,
    ``manual approve`` and ``manual release`` refuse such text long before it is released."""
    found = []
    for chapter in manual.chapters:
        found += unsafe_findings(chapter.body, chapter.path, chapter.body_line, files.names)
    if found:
        raise ManualError([d._replace(message=f"{version} 版：{d.message}；站点不渲染此版本") for d in found])


class Releases:
    """Reads versions from their release commits (batched git reads, each chapter text parsed once)."""

    def __init__(self, root: Path) -> None:
        self.reader = ReleaseReader(root)
        self._content: dict[str, VersionContent] = {}

    def content(self, version: SiteVersion) -> VersionContent:
        if version.commit not in self._content:
            manual = self.reader.manual(version.commit)
            if manual is None:
                raise fail(f"release/{version.slug}", 0, 0, "MAN683", f"{version.name} 发布时的手册无法加载，无法生成网页")
            files = self.reader.files_at([version.commit])[0]
            refuse_unsafe_markup(version.name, manual, files)
            self._content[version.commit] = VersionContent(manual, files, self._images(version.commit))
        return self._content[version.commit]

    def _images(self, commit: str) -> dict[str, bytes]:
        items = [
            i for i in self.reader.objects.files([commit], MANUAL_DIR)[commit]
            if i.mode != "120000" and i.path.lower().endswith(IMAGE_SUFFIXES)
        ]  # fmt: skip
        sizes = self.reader.objects.sizes(i.sha for i in items)
        small = [i for i in items if sizes.get(i.sha, MAX_IMAGE_BYTES + 1) <= MAX_IMAGE_BYTES]
        blobs = self.reader.objects.read(i.sha for i in small)
        return {i.path.removeprefix(MANUAL_DIR + "/"): blobs[i.sha] for i in small if i.sha in blobs}

    def metadata(self, version: SiteVersion) -> ManualMetadata | None:
        """``manual.yml`` of a version, without parsing its chapters."""
        raw = self.reader.objects.blob(version.commit, METADATA_PATH)
        if raw is None:
            return None
        text, _ = decode(METADATA_PATH, raw)
        return parse_metadata(text)[0] if text is not None else None

    def prefetch(self, versions: Sequence[SiteVersion]) -> None:
        """Read every version's ``manual.yml`` and change requests in two ``git cat-file`` batches."""
        names = [f"{v.commit}:{METADATA_PATH}" for v in versions]
        names += [f"{v.commit}:{REQUESTS_DIR}/{cr}.yml" for v in versions for cr in v.change_requests]
        found = self.reader.objects.resolve(names)
        self.reader.objects.read(i.sha for i in found.values() if i is not None and i.kind == "blob" and i.size <= MAX_TEXT_BYTES)

    def requests(self, version: SiteVersion) -> list[ChangeRequest]:
        metadata = self.metadata(version)
        departments = metadata.departments if metadata else ()
        found = [self.reader.request(version.commit, cr, departments) for cr in version.change_requests]
        return [cr for cr in found if cr is not None]


def chapter_pages(
    versions: Sequence[SiteVersion],
    index: int,
    content: VersionContent,
    *,
    prefix: str,
    header: Callable[[str, str, LastChange | None], pages.PageHeader],
    searchable: bool,
    noindex: bool,
    in_force: Callable[[str], str] | None = None,
) -> tuple[list[pages.Page], list[pages.ChapterEntry]]:
    """The chapter pages of ``versions[index]`` under ``prefix``, with their entries for the cover."""
    from manualkit.site.captions import linked_references, table_captions

    made: list[pages.Page] = []
    entries: list[pages.ChapterEntry] = []
    section_pages = {s.id: posixpath.basename(c.path) for c in content.manual.chapters for s in c.sections}
    for chapter in content.manual.chapters:
        path = chapter_page(chapter.path, prefix)
        changed = last_change(versions, index, [s.id for s in chapter.sections])
        heading = chapter_heading(chapter)
        top = header(path, chapter.owner, changed)
        body = chapter_body(content.files, chapter).rstrip("\n") + "\n"
        body = linked_references(table_captions(body, chapter.number), section_pages)
        others = pages.other_versions_html(path, top.versions, top.version, in_force=in_force(path) if in_force else None)
        made.append(pages.Page(path, heading, body + (f"\n{others}\n" if others else ""), top, searchable, noindex))
        entries.append(pages.ChapterEntry(chapter.number, heading, path, chapter.owner, changed))
    return made, entries


def add_chapters(docs: Docs, made: Sequence[pages.Page], content: VersionContent, prefix: str) -> list[dict[str, str]]:
    nav = []
    for page in made:
        nav.append({pages.esc(page.title): docs.add(page, prefix)})  # MkDocs prints nav titles as HTML
    for rel, data in content.images.items():
        docs.files[rel] = data
    return nav


# --- the site of the version in force -------------------------------------------------------------


@dataclass
class Context:
    """Everything one build reads, shared by the page makers."""

    root: Path
    day: dt.date
    versions: list[SiteVersion]
    current: int
    releases: Releases
    redlines: ContentCache | None
    class_names: Mapping[str, str]
    role_titles: Mapping[str, str]
    retention_years: int
    generated: dt.date  # the day the pages are written (the print date of a copy printed without script)
    requests: dict[str, list[ChangeRequest]] = field(default_factory=dict)
    chapters: dict[str, frozenset[str]] = field(default_factory=dict)  # version → its chapter pages
    procedure: ProcedureView | None = None  # chapter 8's other records at HEAD (issue #11)

    @property
    def in_force(self) -> SiteVersion:
        return self.versions[self.current]

    def chapter_pages_of(self) -> dict[str, frozenset[str]]:
        """Each version's chapter pages (``03-execution.html``), read from git trees in one batch."""
        if not self.chapters:
            trees = self.releases.reader.objects.files([v.commit for v in self.versions], MANUAL_DIR)
            for v in self.versions:
                names = (i.path.removeprefix(MANUAL_DIR + "/") for i in trees.get(v.commit, []))
                self.chapters[v.name] = frozenset(chapter_page(n) for n in names if "/" not in n and n.endswith(".md"))
        return self.chapters

    def version_links(self, path: str) -> tuple[pages.VersionLink, ...]:
        """Every version, linking to the page at ``path`` (a site path under any version's prefix) in
        that version when it is a chapter the version has, otherwise to the version's first page."""
        name = posixpath.basename(path)
        chapters = self.chapter_pages_of()
        return tuple(
            pages.VersionLink(
                v.name, v.status, v.effective, v.effective_to,
                version_prefix(v) + (name if name in chapters[v.name] else HOME),
            )
            for v in self.versions
        )  # fmt: skip

    def in_force_target(self, path: str) -> str:
        """The page at ``path`` in the version in force: the same chapter, or the first page."""
        name = posixpath.basename(path)
        return name if name in self.chapter_pages_of()[self.in_force.name] else HOME

    def site_name(self, title: str, version: SiteVersion) -> str:
        """The end of every ``<title>`` of a version's pages: the manual, the version and its status."""
        return f"{title} {version.name} 版（{pages.STATUS_LABEL[version.status]}）"

    def versions_script(self) -> bytes:
        """``assets/manualkit/versions.js``: every version, its period, status, place and chapter pages,
        for the date picker and 本章的其他版本 of pages built once and kept (superseded versions)."""
        chapters = self.chapter_pages_of()
        data = [
            {
                "name": v.name, "status": pages.STATUS_LABEL[v.status], "css": pages.STATUS_CLASS[v.status],
                "from": v.effective.isoformat(), "until": v.effective_to.isoformat() if v.effective_to else "",
                "period": pages.period_text(pages.VersionLink(v.name, v.status, v.effective, v.effective_to, "")),
                "prefix": version_prefix(v), "chapters": sorted(chapters[v.name]),
            }
            for v in self.versions
        ]  # fmt: skip
        text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
        return f"window.manualkitVersions = {text}\n".encode()

    def requests_of(self, version: SiteVersion) -> list[ChangeRequest]:
        if version.name not in self.requests:
            self.requests[version.name] = self.releases.requests(version)
        return self.requests[version.name]

    def changes(self, old: SiteVersion, new: SiteVersion) -> list[SectionRedline]:
        """The redline of ``new`` against ``old``, cached by the two content digests."""
        key = f"redline\0{old.digest}\0{new.digest}"
        hit = self.redlines.get(key) if self.redlines else None
        if isinstance(hit, list):
            try:
                return [SectionRedline.from_json(c) for c in hit]
            except (KeyError, TypeError, ValueError):
                pass
        changes = manual_changes(self.releases.content(old).manual, self.releases.content(new).manual)
        if self.redlines is not None:
            self.redlines.put(key, [c.as_json() for c in changes])
        return changes


    def comparison(self, old: SiteVersion, new: SiteVersion) -> list[ComparisonRow]:
        """The 修订对照表 of ``new`` against ``old``, with the reasons of ``new``'s change requests as
        released, cached by the two release commits (text and requests are fixed there)."""
        key = f"comparison\0{old.commit}\0{new.commit}"
        hit = self.redlines.get(key) if self.redlines else None
        if isinstance(hit, list):
            try:
                return [ComparisonRow(*row) for row in hit]
            except TypeError:
                pass
        reasons = {cr.id: cr.reason.strip() for cr in self.requests_of(new)}
        released = released_requests(new.change_requests, new.requests, reasons, new.sections, new.summary)
        rows = release_comparison(self.releases.content(old).manual, self.releases.content(new).manual, released)
        if self.redlines is not None:
            self.redlines.put(key, [list(r) for r in rows])
        return rows


def main_docs(ctx: Context, metadata: ManualMetadata, releases: Sequence[ReleaseFiles]) -> Docs:
    """The docs folder of the version in force: chapters and every generated page."""
    version = ctx.in_force
    content = ctx.releases.content(version)
    upcoming = [
        pages.Upcoming(v, ctx.versions[i - 1], tuple(ctx.changes(ctx.versions[i - 1], v)), tuple(ctx.requests_of(v)))
        for i, v in enumerate(ctx.versions)
        if i > ctx.current
    ]

    # The departments a version's training concerns: those owning the chapters it changes.
    concerned = {
        u.version.name: tuple(dict.fromkeys(
            c.owner for c in ctx.releases.content(u.version).manual.chapters if any(s.id in u.version.sections for s in c.sections)
        ))
        for u in upcoming
    }  # fmt: skip

    def header(path: str, department: str, changed: LastChange | None) -> pages.PageHeader:
        trained = ctx.procedure.trained if ctx.procedure else {}
        banners = tuple(
            pages.upcoming_banner(path, u.version, u.training, trained.get(u.version.name), u.previous, concerned[u.version.name]) for u in upcoming
        )
        return pages.PageHeader(
            metadata.document_number, version.name, version.status, version.effective, department, changed, banners,
            versions=ctx.version_links(path),
            voided_requests=version.voided_requests,
        )  # fmt: skip

    def generated(
        path: str, title: str, markdown: str, changed: LastChange | None = None, *, searchable: bool = False, wide: bool = False
    ) -> pages.Page:
        top = header(path, metadata.issuing_department, changed or release_change(version))
        return pages.Page(path, title, markdown, top, searchable=searchable, wide=wide)

    docs = Docs()
    made, entries = chapter_pages(ctx.versions, ctx.current, content, prefix="", header=header, searchable=True, noindex=False)
    links = [("修订记录", REVISIONS), ("版本归档", ARCHIVE), ("下载", DOWNLOADS), ("验证文件", download_pages.VERIFY)]
    if upcoming:
        links.insert(0, (f"即将生效：{upcoming[0].version.name} 版（{upcoming[0].version.effective.isoformat()}）", UPCOMING))
    docs.add(generated(HOME, "首页", pages.cover_markdown(HOME, metadata, version, entries, links)))
    chapters_nav = add_chapters(docs, made, content, "")
    history_nav: list[dict[str, str]] = []
    if upcoming:
        history_nav.append({"即将生效": docs.add(generated(UPCOMING, "即将生效的修订", pages.upcoming_markdown(UPCOMING, upcoming)))})
    revisions = pages.revisions_markdown(REVISIONS, ctx.versions)
    history_nav.append({"修订记录": docs.add(generated(REVISIONS, "修订记录", revisions, searchable=True, wide=True))})
    archive = pages.archive_markdown(ARCHIVE, ctx.versions, ctx.retention_years)
    history_nav.append({"版本归档": docs.add(generated(ARCHIVE, "版本归档", archive, wide=True))})
    history_nav += add_download_pages(docs, ctx.day, releases, generated)
    for old, new in itertools.pairwise(ctx.versions):
        path = diff_page(old, new)
        markdown = pages.diff_markdown(path, old, new, ctx.changes(old, new))
        docs.add(generated(path, f"{new.name} 版的修订内容", markdown, release_change(new)))
        path = comparison_page(old, new)
        markdown = pages.comparison_markdown(path, old, new, ctx.comparison(old, new))
        docs.add(generated(path, f"{new.name} 版修订对照表", markdown, release_change(new), wide=True))
    for v in ctx.versions:
        for cr in ctx.requests_of(v):
            path = request_page(cr.id)
            markdown = pages.request_markdown(path, cr, v, ctx.class_names, ctx.role_titles)
            if ctx.procedure is not None and cr.id in ctx.procedure.opinions:
                from manualkit.site.review_pages import opinions_markdown

                markdown += "\n" + opinions_markdown(cr.id, *ctx.procedure.opinions[cr.id])
            docs.add(generated(path, f"{cr.id} {cr.title}", markdown, LastChange(v.name, v.effective, (cr.id,)), searchable=True))
    if ctx.procedure is not None:
        history_nav += add_procedure_pages(docs, ctx.procedure, ctx.class_names, generated)
    docs.nav = [{"首页": source_path(HOME)}, {"手册正文": chapters_nav}, {"修订与版本": history_nav}]
    docs.files[SITE_DATE_CSS] = site_date_css(pages.day_text(ctx.generated))
    docs.files[VERSIONS_JS] = ctx.versions_script()
    return docs


def add_download_pages(docs: Docs, day: dt.date, releases: Sequence[ReleaseFiles], generated: Callable[..., pages.Page]) -> list[dict[str, str]]:
    """下载 (every release's signed files, ``SHA256SUMS`` over all of them), 验证, and the list of
    files and digests both read (``downloads/releases.json``)."""
    def listed_files(files: Sequence[DownloadFile]) -> tuple[download_pages.Download, ...]:
        return tuple(download_pages.Download(f.name, f.description, len(f.data), f.sha256) for f in files)

    listed = [
        download_pages.ReleaseDownloads(
            r.version,
            listed_files(r.files),
            tuple(download_pages.EarlierDownloads(e.period.version, e.period.since, listed_files(e.files)) for e in r.earlier),
        )
        for r in releases
    ]
    everything = [f for r in releases for f in r.files]
    data = download_pages.published_list(listed, day)
    lasting = bool(releases) and all(r.signed_at is not None for r in releases)  # the same bytes on every build
    for f in everything:
        docs.files[f"{DOWNLOADS_DIR}/{f.name}"] = f.data
    if everything:
        docs.files[f"{DOWNLOADS_DIR}/{CHECKSUMS}"] = checksums(everything)
        docs.files[f"{DOWNLOADS_DIR}/{RELEASES_JSON}"] = data
    downloads = docs.add(generated(DOWNLOADS, "下载", download_pages.downloads_markdown(DOWNLOADS, listed, day)))
    verify = docs.add(generated(download_pages.VERIFY, "验证文件", download_pages.verify_markdown(download_pages.VERIFY, data, day, bool(everything), lasting=lasting)))
    return [{"下载": downloads}, {"验证文件": verify}]


@dataclass(frozen=True)
class ProcedureView:
    """What the site shows of chapter 8's other records: trainings, returns, the obligations."""

    trained: Mapping[str, dt.date]  # version → date of its first training before its effective date
    returned: Sequence[tuple[ChangeRequest, SignedRecord, bool, tuple[str, ...]]]  # request, return record, valid, resubmitted as
    obligations: ObligationReport
    # request → (its 审核意见, the 处理意见 to them), from changelog/opinions and changelog/answers
    opinions: Mapping[str, tuple[tuple[Opinion, ...], tuple[Answer, ...]]] = field(default_factory=dict)


def procedure_view(root: Path) -> ProcedureView | None:
    """Chapter 8's records committed at HEAD (the site never reads the working tree)."""
    from manualkit.records.obligation_map import obligation_report
    from manualkit.records.procedure import procedure_state, returned_requests

    head = git.head(root)
    if head is None:
        return None
    snap = commit_snapshot(root, head)
    if snap.manual is None or snap.policy is None:
        return None
    state = procedure_state(snap)
    trained: dict[str, dt.date] = {}
    for record in snap.records:
        dates = [t.date for t in state.training if t.version == str(record.version) and t.date < record.effective]
        if dates:
            trained[str(record.version)] = min(dates)
    returned = [(r.request, r.record, r.verified, r.replaced_by) for r in returned_requests(snap, state)]
    from manualkit.records.answers import review_state
    from manualkit.records.opinions import of_request

    records, answers, _ = review_state(snap.changelog_files("changelog"))
    opinions = {
        r.request: (tuple(o for _, o in of_request(records, r.request)), tuple(a for a in answers if a.request == r.request)) for r in records
    }
    return ProcedureView(trained, returned, obligation_report(snap.manual, snap.files.contents), opinions)


def add_procedure_pages(docs: Docs, view: ProcedureView, class_names: Mapping[str, str], generated: Callable[..., pages.Page]) -> list[dict[str, str]]:
    from manualkit.site.procedure_pages import OBLIGATIONS, obligations_markdown, returned_request_markdown

    for cr, record, valid, again in view.returned:
        path = request_page(cr.id)
        docs.add(generated(path, f"{cr.id} {cr.title}（已退回）", returned_request_markdown(cr, record, valid, class_names, again)))
    return [{"义务与证据": docs.add(generated(OBLIGATIONS, "第八章的义务与证据", obligations_markdown(view.obligations, [cr for cr, *_ in view.returned])))}]


def version_docs(ctx: Context, index: int) -> tuple[Docs, ManualMetadata]:
    """The docs folder of ``versions[index]`` other than the one in force, in full: a superseded one,
    every page marked 已作废; an approved one still to come, every page marked 已批准待实施."""
    version = ctx.versions[index]
    content = ctx.releases.content(version)
    metadata = content.manual.metadata
    prefix = version_prefix(version)
    superseded = version.status is Status.SUPERSEDED

    def header(path: str, department: str, changed: LastChange | None) -> pages.PageHeader:
        target = ctx.in_force_target(path)
        banner = (
            pages.superseded_banner(path, version, target)
            if superseded
            else pages.approved_banner(path, version, ctx.in_force.name, target)
        )
        return pages.PageHeader(
            metadata.document_number, version.name, version.status, version.effective, department, changed, (banner,),
            shared_versions=True,
            voided_requests=version.voided_requests,
        )  # fmt: skip

    docs = Docs()
    made, entries = chapter_pages(
        ctx.versions, index, content, prefix=prefix, header=header, searchable=False, noindex=True, in_force=ctx.in_force_target
    )  # fmt: skip
    links = [("现行有效版本", HOME), ("版本归档", ARCHIVE), ("修订记录", REVISIONS)]
    if index > 0:
        links.append((f"{version.name} 版的修订内容", diff_page(ctx.versions[index - 1], version)))
        links.append((f"{version.name} 版修订对照表", comparison_page(ctx.versions[index - 1], version)))
    cover = pages.cover_markdown(prefix + HOME, metadata, version, entries, links)
    state = pages.STATUS_LABEL[version.status]
    home = pages.Page(
        prefix + HOME, "首页", cover,
        header(prefix + HOME, metadata.issuing_department, release_change(version)), False, True,
    )  # fmt: skip
    docs.add(home, prefix)
    docs.nav = [{"首页": source_path(HOME)}, {f"{version.name} 版正文（{state}）": add_chapters(docs, made, content, prefix)}]
    return docs, metadata


def _archived_site(ctx: Context, index: int, cache: Path | None, work: Path, target: Path) -> bool:
    """Put the site of archived ``versions[index]`` at ``target``; True when it had to be built."""
    entry = cache / f"archive-{archive_key(ctx.versions, index, site_fingerprint(), sorted(ctx.chapter_pages_of()[ctx.in_force.name]))}" if cache else None
    if entry is not None and (entry / COMPLETE).is_file():
        os.utime(entry / COMPLETE)
        shutil.copytree(entry, target, copy_function=link_or_copy, ignore=shutil.ignore_patterns(COMPLETE))
        return False
    docs, metadata = version_docs(ctx, index)
    slug = ctx.versions[index].slug
    docs_dir = work / f"archive-{slug}" / "docs"
    docs_dir.mkdir(parents=True)
    docs.write(docs_dir)
    out = target if entry is None else entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    version = ctx.versions[index]
    root = "../" * version_prefix(version).count("/")
    config = mkdocs_config(
        metadata, docs_dir, out, docs, search=False, cache_dir=cache, site_name=ctx.site_name(metadata.title, version), root=root
    )
    run_mkdocs(config, docs_dir.parent)
    if entry is not None:
        (out / ".complete").write_text(ctx.versions[index].name + "\n", encoding="utf-8")
        try:
            out.rename(entry)
        except OSError:  # built meanwhile by another process: theirs is as good as ours
            shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(entry, target, copy_function=link_or_copy, ignore=shutil.ignore_patterns(COMPLETE))
    return True


def _replace_dir(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


# --- the build -----------------------------------------------------------------------------------------


# A signature made with a key after its revocation (8.2 四) is void, but the version it released
# stays the text staff must follow until a new release replaces it: the site is built and shows
# that signature as invalid, while check, audit and history keep reporting it (MAN812).
SHOWN_AS_INVALID = frozenset({"MAN812"})


def verified_history(root: Path) -> tuple[list[ReleaseEntry], Policy | None]:
    """The release history recorded in the HEAD commit, verified (an error if any release fails
    for another reason than a signature voided by a key revocation), and the revision policy of
    that commit."""
    require_full_history(root)
    head = git.head(root)
    if head is None:
        raise fail(".", 0, 0, "MAN661", "仓库还没有任何提交，无法构建站点")
    snapshot = commit_snapshot(root, head)
    entries = release_history(root, snapshot)
    problems = [d for e in entries for d in e.problems if d.code not in SHOWN_AS_INVALID]
    if problems:
        raise ManualError(problems)
    if not entries:
        raise fail("changelog/releases", 0, 0, "MAN685", "尚无发布记录；请先用 manual release 发布")
    return entries, snapshot.policy


def build_site(run: Run, day: dt.date, *, site_dir: Path | None = None, downloads: DownloadMaker | None = None) -> SiteBuild:
    """Build the site of ``run.root`` as it stands on ``day`` (``--as-of``; the run's today
    otherwise) into ``site_dir`` (default ``root/site``)."""
    root, env = run.root, run.env
    address = site_url(env)  # refused before any work when malformed
    site_dir = (site_dir or root / "site").resolve()
    if site_dir == root.resolve() or (site_dir / MANUAL_DIR).is_dir():
        raise fail(str(site_dir), 0, 0, "MAN731", "站点输出目录不能是仓库根目录或含有 manual/ 的目录")
    check_writable(site_dir.parent)  # site/ is replaced whole, next to itself
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    entries, head_policy = verified_history(root)
    class_names = {k: c.name for k, c in head_policy.classes.items()} if head_policy else {}
    role_titles = {k: r.title for k, r in head_policy.roles.items()} if head_policy else {}
    versions = site_versions(entries, day, class_names)
    current = in_force_index(versions)
    if current is None:
        first = entries[0].record
        raise fail(
            "--as-of", 0, 0, "MAN687",
            f"{day.isoformat()} 尚无生效的版本：最早的版本 {first.version} 自 {first.effective.isoformat()} 起实施",
        )  # fmt: skip
    cache = cache_root(run)
    redlines = ContentCache.open(root, "site-redlines") if cache is not None else None
    ctx = Context(
        root, day, versions, current, Releases(root), redlines, class_names, role_titles,
        head_policy.retention_years if head_policy else 3, run.today,
    )  # fmt: skip
    ctx.procedure = procedure_view(root)
    ctx.releases.prefetch(versions)
    seconds["history"] = time.perf_counter() - started
    metadata = ctx.releases.content(ctx.in_force).manual.metadata
    releases, kept = _release_files(ctx, downloads, cache, run) if downloads else ((), set())
    files = next((r.files for r in releases if r.version is ctx.in_force), ())
    seconds["downloads"] = time.perf_counter() - started - sum(seconds.values())
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    out = site_dir.with_name(f".{site_dir.name}.new-{os.getpid()}")
    shutil.rmtree(out, ignore_errors=True)
    rebuilt: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="manual-site-") as tmp:
            work = Path(tmp)
            docs = main_docs(ctx, metadata, releases)
            docs_dir = work / "main" / "docs"
            docs_dir.mkdir(parents=True)
            docs.write(docs_dir)
            if redlines is not None:
                redlines.save()
            seconds["pages"] = time.perf_counter() - started - sum(seconds.values())
            config = mkdocs_config(
                metadata, docs_dir, out, docs, search=True, cache_dir=cache, site_name=ctx.site_name(metadata.title, ctx.in_force),
                site_url=address,
            )
            run_mkdocs(config, docs_dir.parent)
            seconds["mkdocs"] = time.perf_counter() - started - sum(seconds.values())
            used: set[str] = set()
            for i, version in enumerate(versions):
                if version.status in (Status.SUPERSEDED, Status.APPROVED):
                    built = _archived_site(ctx, i, cache, work, out / version_prefix(version))
                    if built and version.archived:
                        rebuilt.append(version.name)
                    used.add(f"archive-{archive_key(versions, i, site_fingerprint(), sorted(ctx.chapter_pages_of()[ctx.in_force.name]))}")
            if cache is not None:
                prune(cache, used)
                if downloads:
                    from manualkit.site.release_files import FILES_PREFIX

                    prune(cache, kept, FILES_PREFIX)
            seconds["archive"] = time.perf_counter() - started - sum(seconds.values())
        _replace_dir(out, site_dir)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return SiteBuild(
        site_dir=site_dir,
        day=day,
        in_force=ctx.in_force,
        upcoming=tuple(versions[current + 1 :]),
        archived=tuple(v for v in versions if v.archived),
        rebuilt=tuple(rebuilt),
        pages=sum(1 for p in docs.files if p.endswith(".md")),
        downloads=files,
        seconds=seconds,
        invalid_signatures=tuple(d for e in entries if e.record.published <= day for d in e.problems),
        releases=releases,
    )


def _release_files(ctx: Context, make: DownloadMaker, cache: Path | None, run: Run) -> tuple[tuple[ReleaseFiles, ...], set[str]]:
    """Every version's signed files, made by ``make`` (the code that makes the version in force's)
    once per release and status, and kept in the site cache (:mod:`manualkit.site.release_files`):
    signed at the moment each status began, in the company's zone, when the layout can be made
    reproducibly (faketime), so that every build gives the same bytes."""
    from manualkit.records.repository import code_fingerprint
    from manualkit.site.release_files import release_files, reproducible_signing, signer_identity

    def made(period: StatusPeriod) -> Sequence[DownloadFile]:
        metadata = ctx.releases.metadata(period.version) or ctx.releases.content(period.version).manual.metadata
        return make(period, metadata)

    frozen = clock.source_date(run.env)  # a reproducible build signs at that moment: other files
    epoch = frozen.isoformat() if frozen else ""
    zone = run.zone if reproducible_signing() else None
    return release_files(ctx.versions, made, cache=cache, fingerprint=code_fingerprint(), signer=signer_identity(run.env), epoch=epoch, zone=zone)
