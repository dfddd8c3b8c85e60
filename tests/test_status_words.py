"""The words a release's status is told in on the 下载 and 验证 pages (site/download_pages): the
short words (现行有效, 即将生效, 已作废) are the status's own, and the full text adds its dates.
Both are pinned here for every status, so that neither can drift from the other."""

from __future__ import annotations

import datetime as dt

import pytest

from manualkit.records.edition import Status
from manualkit.site.download_pages import STATUS_WORDS, short_status, status_text
from manualkit.site.model import SiteVersion


def _version(status: Status, *, until: str | None = None, by: str | None = None) -> SiteVersion:
    return SiteVersion(
        name="B/0", slug="B-0", status=status, class_name="一般修订", published=dt.date(2026, 6, 17), effective=dt.date(2026, 7, 1),
        effective_to=dt.date.fromisoformat(until) if until else None, superseded_by=by, change_requests=("CR-1",), sections=("3.2",),
        summary="", first=False, requests=(), approvals=(), commit="c" * 40, digest="d" * 40,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("version", "short", "full"),
    [
        (_version(Status.IN_FORCE, until="2027-01-15"), "现行有效", "现行有效"),
        (_version(Status.APPROVED), "即将生效", "即将生效（2026年7月1日起实施）"),
        (_version(Status.SUPERSEDED, until="2027-01-15", by="B/1"), "已作废", "已作废（2027年1月15日起由 B/1 替代）"),
        (_version(Status.SUPERSEDED), "已作废", "已作废"),  # superseded, the successor not known
        (_version(Status.DRAFT), "现行有效", "现行有效"),  # never on the site (it lists releases); as it always read
    ],
    ids=["in-force", "approved", "superseded", "superseded-bare", "draft"],
)
def test_both_texts_of_every_status(version: SiteVersion, short: str, full: str) -> None:
    assert short_status(version) == short
    assert status_text(version) == full
    assert full.startswith(short)


def test_every_status_has_its_words() -> None:
    assert set(STATUS_WORDS) == set(Status)
