"""The released versions as the staff site shows them, and where each page of the site lives.

Plain data made from :func:`manualkit.records.history.release_history` entries and the day the site is
built for. No git and no MkDocs here: :mod:`manualkit.site.pages` turns this into page text.

Page paths are site paths of the built HTML files (``use_directory_urls: false``), e.g.
``03-execution.html``, ``requests/CR-2026-001.html``, ``archive/A-0/index.html``; every link the
generated pages contain is made relative with :func:`relative`, so the site works from any folder
of any static host.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from manualkit.records.edition import Status, status_on
from manualkit.records.history import ApprovalView, ReleaseEntry, RequestView

HOME = "index.html"
REVISIONS = "revisions.html"
ARCHIVE = "archive.html"
DOWNLOADS = "downloads.html"
UPCOMING = "upcoming.html"
DOWNLOADS_DIR = "downloads"
CHECKSUMS = "SHA256SUMS"


def chapter_page(file_name: str, prefix: str = "") -> str:
    """``03-execution.md`` → ``03-execution.html`` (under ``prefix``, e.g. ``archive/A-0/``)."""
    return prefix + posixpath.splitext(posixpath.basename(file_name))[0] + ".html"


def request_page(cr_id: str) -> str:
    return f"requests/{cr_id}.html"


def diff_page(old: SiteVersion, new: SiteVersion) -> str:
    return f"diff/{old.slug}_{new.slug}.html"


def comparison_page(old: SiteVersion, new: SiteVersion) -> str:
    """The 修订对照表 of ``new`` against the version before it."""
    return f"comparison/{old.slug}_{new.slug}.html"


def archive_prefix(version: SiteVersion) -> str:
    """Where a superseded version's own pages live: ``archive/A-0/``."""
    return f"archive/{version.slug}/"


def version_prefix(version: SiteVersion) -> str:
    """Where a version's pages live: the version in force at the top of the site, a superseded one
    under ``archive/A-0/``, an approved one still to come, in full, under ``upcoming/B-1/``."""
    if version.status is Status.SUPERSEDED:
        return archive_prefix(version)
    if version.status is Status.APPROVED:
        return f"upcoming/{version.slug}/"
    return ""


def source_path(page: str) -> str:
    """The Markdown file of a page in a docs folder: ``requests/CR-1.html`` → ``requests/CR-1.md``."""
    return posixpath.splitext(page)[0] + ".md"


def relative(page: str, target: str) -> str:
    """The link from site page ``page`` to site path ``target`` (which may carry ``#fragment``)."""
    path, hash_mark, fragment = target.partition("#")
    if not path:
        return f"#{fragment}"
    link = posixpath.relpath(path, posixpath.dirname(page) or ".")
    return link + (f"#{fragment}" if hash_mark else "")


@dataclass(frozen=True)
class SiteVersion:
    """One released version on the day the site is built for."""

    name: str  # "B/0"
    slug: str  # "B-0"
    status: Status
    class_name: str  # 重大修订 / 一般修订 / 编辑性修改
    published: dt.date
    effective: dt.date
    effective_to: dt.date | None  # the next version's effective date
    superseded_by: str | None  # the version that replaced it, once it has
    change_requests: tuple[str, ...]
    sections: tuple[str, ...]  # sections the release changed (the first edition: all)
    summary: str
    first: bool  # the first edition (全文)
    requests: tuple[RequestView, ...]  # the bundled change requests as released
    approvals: tuple[ApprovalView, ...]  # every signature, verified at the release commit
    commit: str  # the release commit
    digest: str  # git tree hash of manual/ at the release commit

    @property
    def archived(self) -> bool:
        return self.status is Status.SUPERSEDED

    @property
    def voided_requests(self) -> tuple[str, ...]:
        """The change requests of this release with a signature that is invalid: made with a key
        after its revocation (8.2 四, MAN812; the only invalid signature a site is built with)."""
        return tuple(dict.fromkeys(a.change_request for a in self.approvals if not a.valid))

    def signers(self, role: str) -> str:
        """The names that signed ``role`` for this release (编制 / 审核 / 会签 / 批准), or —."""
        return "、".join(dict.fromkeys(a.name for a in self.approvals if a.role == role)) or "—"


def site_versions(entries: Sequence[ReleaseEntry], day: dt.date, class_names: Mapping[str, str]) -> list[SiteVersion]:
    """The releases published by ``day``, oldest first, each with its status on ``day``.

    A release published later than ``day`` did not exist yet on that day, so ``--as-of`` shows
    the site as it stood then. ``class_names`` maps ``major`` etc. to 重大修订 etc.
    """
    visible = [e for e in entries if e.record.published <= day and e.commit is not None]
    out: list[SiteVersion] = []
    for i, entry in enumerate(visible):
        record = entry.record
        status = status_on(visible, i, day)
        following = visible[i + 1] if i + 1 < len(visible) else None
        out.append(
            SiteVersion(
                name=str(record.version),
                slug=record.version.slug,
                status=status,
                class_name=class_names.get(record.class_key, record.class_key),
                published=record.published,
                effective=record.effective,
                effective_to=following.record.effective if following else None,
                superseded_by=str(following.record.version) if following and status is Status.SUPERSEDED else None,
                change_requests=record.change_requests,
                sections=record.sections,
                summary=record.summary,
                first=record.previous is None,
                requests=entry.requests,
                approvals=entry.approvals,
                commit=str(entry.commit),
                digest=record.content_digest,
            )
        )
    return out


def in_force_index(versions: Sequence[SiteVersion]) -> int | None:
    return next((i for i, v in enumerate(versions) if v.status is Status.IN_FORCE), None)


@dataclass(frozen=True)
class LastChange:
    """The release that last changed a page, and by which change requests."""

    version: str
    effective: dt.date
    change_requests: tuple[str, ...]


def release_change(version: SiteVersion) -> LastChange:
    return LastChange(version.name, version.effective, version.change_requests)


def last_change(versions: Sequence[SiteVersion], upto: int, section_ids: Iterable[str]) -> LastChange | None:
    """The latest release up to ``versions[upto]`` that changed any of ``section_ids``.

    The change requests named are those of that release which list one of the sections (all of
    the release's requests when the record does not say which one did).
    """
    wanted = set(section_ids)
    for version in reversed(versions[: upto + 1]):
        if version.first:
            return release_change(version)
        if wanted & set(version.sections):
            named = tuple(r.id for r in version.requests if wanted & set(r.sections))
            return LastChange(version.name, version.effective, named or version.change_requests)
    return None
