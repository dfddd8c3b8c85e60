"""The draft preview of ``manual serve``: the working tree's chapters, every page marked 草稿（未生效）.

The same pages, template and search as the staff site, made from the files under ``manual/`` as
they are now, with the redline of the draft against the latest released version. The hooks call
:func:`refresh_draft` before each rebuild, so the preview follows every save.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from manualkit.base import clock
from manualkit.base.diagnostics import ManualError, Severity, fail
from manualkit.records.edition import Status
from manualkit.records.history import release_history
from manualkit.records.policy import declared_time_zone
from manualkit.site import pages
from manualkit.site.build import IMAGE_SUFFIXES, MAX_IMAGE_BYTES, Releases, VersionContent, add_chapters, chapter_pages
from manualkit.site.model import HOME, LastChange, site_versions, source_path
from manualkit.site.redlines import manual_changes
from manualkit.site.render import SITE_DATE_CSS, VERSIONS_JS, Docs, mkdocs_config, site_date_css, write_config
from manualkit.text.manual import MANUAL_DIR
from manualkit.text.metadata import ManualMetadata


def draft_docs(root: Path) -> tuple[Docs, ManualMetadata]:
    """The docs folder of ``manual serve``: the working tree's chapters, each marked 草稿（未生效）."""
    from manualkit.records.repository import worktree_snapshot

    snapshot = worktree_snapshot(root)
    manual = snapshot.manual
    if manual is None:
        errors = [d for d in snapshot.diagnostics if d.severity is Severity.ERROR]
        if errors:
            raise ManualError(errors)
        raise fail(MANUAL_DIR, 0, 0, "MAN008", "手册无法加载；请先运行 manual check 修复")
    metadata = manual.metadata
    policy = snapshot.policy
    class_names = {k: c.name for k, c in policy.classes.items()} if policy else {}
    try:
        entries = release_history(root, snapshot)
    except ManualError:
        entries = []
    versions = site_versions(entries, dt.date.max, class_names)
    latest = versions[-1] if versions else None
    banner = pages.draft_banner(latest.name if latest else None)

    def header(path: str, department: str, changed: LastChange | None) -> pages.PageHeader:
        return pages.PageHeader(metadata.document_number, "草稿", Status.DRAFT, None, department, changed, (banner,), link_requests=False)

    content = VersionContent(manual, snapshot.files, {})
    made, entries_ = chapter_pages(versions, len(versions) - 1, content, prefix="", header=header, searchable=True, noindex=True)
    docs = Docs()
    cover = pages.draft_cover_markdown(HOME, metadata, entries_, latest)
    docs.add(pages.Page(HOME, f"{metadata.title}（草稿）", cover, header(HOME, metadata.issuing_department, None), False, True))
    chapters_nav = add_chapters(docs, made, content, "")
    nav: list[Any] = [{"首页": source_path(HOME)}, {"手册正文（草稿）": chapters_nav}]
    if latest is not None:
        released = Releases(root).content(latest).manual
        changes = manual_changes(released, manual)
        path = "changes.html"
        page = pages.Page(path, "与最新发布版本的差异", pages.draft_changes_markdown(latest, changes), header(path, metadata.issuing_department, None), False, True)
        nav.append({"与最新发布版本的差异": docs.add(page)})
    for rel in snapshot.files.names:
        local = root / rel
        if rel.lower().endswith(IMAGE_SUFFIXES) and local.is_file() and not local.is_symlink() and local.stat().st_size <= MAX_IMAGE_BYTES:
            docs.files[rel.removeprefix(MANUAL_DIR + "/")] = local.read_bytes()
    docs.nav = nav
    docs.files[SITE_DATE_CSS] = site_date_css(pages.day_text(clock.today(os.environ, declared_time_zone(root))))
    docs.files[VERSIONS_JS] = b"window.manualkitVersions = []\n"
    return docs, metadata


def draft_site(root: Path, work: Path) -> Path:
    """Write the draft docs folder and its MkDocs configuration under ``work``; returns the configuration."""
    docs, metadata = draft_docs(root)
    docs_dir = work / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    docs.write(docs_dir)
    config = mkdocs_config(
        metadata, docs_dir, work / "site", docs, search=True, cache_dir=None, draft_root=root, site_name=f"{metadata.title}（草稿）"
    )
    return write_config(config, work / "mkdocs.yml")


def refresh_draft(root: Path, docs_dir: Path) -> dict[str, dict[str, Any]]:
    """Regenerate the draft docs from the working tree (before each rebuild of ``manual serve``)."""
    docs, _ = draft_docs(root)
    docs.write(docs_dir)
    return docs.headers
