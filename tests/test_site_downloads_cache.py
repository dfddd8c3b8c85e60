"""The kept files of every release (manualkit.site.release_files): made once per release and
status, read back only when whole and unaltered, never an error when the cache cannot be written,
and shared with another build that kept its own first. Real folders; the maker is a plain
function that records its calls (the DOCX and PDF makers are exercised by test_site_downloads).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

from manualkit.records.edition import Status
from manualkit.records.history import ApprovalView
from manualkit.site.cache import prune
from manualkit.site.download_pages import Download, ReleaseDownloads, published_list, status_text
from manualkit.site.model import SiteVersion
from manualkit.site.release_files import (
    COMPLETE,
    FILES_PREFIX,
    DownloadFile,
    Signer,
    StatusPeriod,
    files_key,
    release_files,
)


def _version(name: str, status: Status, effective: str, until: str | None = None, by: str | None = None) -> SiteVersion:
    return SiteVersion(
        name=name, slug=name.replace("/", "-"), status=status, class_name="一般修订",
        published=dt.date.fromisoformat(effective) - dt.timedelta(days=14), effective=dt.date.fromisoformat(effective),
        effective_to=dt.date.fromisoformat(until) if until else None, superseded_by=by,
        change_requests=("CR-1",), sections=("3.2",), summary="", first=name.endswith("/0"), requests=(),
        approvals=(ApprovalView("CR-1", "批准", "chen", "陈刚", "2026-01-01T09:00:00+08:00", True),),
        commit=f"{abs(hash(name)):040x}"[:40], digest="d" * 40,
    )  # fmt: skip


VERSIONS = [
    _version("A/0", Status.SUPERSEDED, "2026-01-01", "2026-07-01", "B/0"),
    _version("B/0", Status.IN_FORCE, "2026-07-01", "2027-01-15"),
    _version("B/1", Status.APPROVED, "2027-01-15"),
]


class Maker:
    """Makes a version's two files, each time with other bytes (as a new signing time would)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, period: StatusPeriod) -> list[DownloadFile]:
        version = period.version
        self.calls.append(version.name)
        n = len(self.calls)
        return [DownloadFile(f"X_{version.slug}.docx", "Word", f"docx {version.name} {n}".encode()), DownloadFile(f"X_{version.slug}.pdf", "PDF", f"%PDF {n}".encode())]


SIGNER = Signer("cert", dt.datetime(2025, 6, 1, tzinfo=dt.UTC))


def _run(cache: Path | None, maker: Maker, versions: list[SiteVersion] = VERSIONS) -> tuple[dict[str, bytes], set[str]]:
    """The files as a build without faketime makes them: only each release's current ones."""
    made, used = release_files(versions, maker, cache=cache, fingerprint="code", signer=SIGNER, epoch="", zone=None)
    return {f.name: f.data for r in made for f in r.files}, used


def test_each_release_is_made_once_and_then_read_back(tmp_path: Path) -> None:
    maker = Maker()
    first, used = _run(tmp_path, maker)
    assert maker.calls == ["A/0", "B/0", "B/1"] and len(used) == 3
    again, _ = _run(tmp_path, maker)
    assert maker.calls == ["A/0", "B/0", "B/1"] and again == first
    # B/0 superseded in its turn: its cover changes, so its files are made anew; the others are kept
    later = [VERSIONS[0], replace(VERSIONS[1], status=Status.SUPERSEDED, superseded_by="B/1"), replace(VERSIONS[2], status=Status.IN_FORCE)]
    changed, _ = _run(tmp_path, maker, later)
    assert maker.calls[3:] == ["B/0", "B/1"]
    assert changed["X_A-0.pdf"] == first["X_A-0.pdf"] and changed["X_B-0.pdf"] != first["X_B-0.pdf"]


def test_the_key_holds_what_the_files_say(tmp_path: Path) -> None:
    base = files_key(VERSIONS, 0, "code", "cert", "")
    assert files_key(VERSIONS, 0, "other code", "cert", "") != base
    assert files_key(VERSIONS, 0, "code", "other cert", "") != base
    assert files_key(VERSIONS, 0, "code", "cert", "1780000000") != base
    revoked = [replace(VERSIONS[0], approvals=(VERSIONS[0].approvals[0]._replace(valid=False),)), *VERSIONS[1:]]
    assert files_key(revoked, 0, "code", "cert", "") != base
    assert files_key([replace(VERSIONS[0], superseded_by="A/1"), *VERSIONS[1:]], 0, "code", "cert", "") != base
    # what comes after a version is not in its files (only its successor)
    assert files_key(VERSIONS[:2], 0, "code", "cert", "") == base


def test_an_altered_or_incomplete_entry_is_made_anew(tmp_path: Path) -> None:
    maker = Maker()
    _run(tmp_path, maker)
    entries = {json.loads((e / "manifest.json").read_text())[0]["name"]: e for e in tmp_path.glob(FILES_PREFIX + "*")}
    (entries["X_A-0.docx"] / "X_A-0.docx").write_bytes(b"tampered")
    (entries["X_B-0.docx"] / COMPLETE).unlink()
    again, _ = _run(tmp_path, maker)
    assert maker.calls[3:] == ["A/0", "B/0"]
    assert again["X_A-0.docx"] != b"tampered"


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    """A cache folder that cannot be made (a file stands in its place; root writes into read-only
    folders, but not below a file) or written: every file is made, nothing fails."""
    blocked = tmp_path / "cache"
    blocked.write_bytes(b"not a folder")
    maker = Maker()
    made, used = _run(blocked, maker)
    assert maker.calls == ["A/0", "B/0", "B/1"] and len(made) == 6 and len(used) == 3
    assert blocked.read_bytes() == b"not a folder"
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            made, _ = _run(folder, maker)
            assert len(made) == 6 and not list(folder.iterdir())
        finally:
            folder.chmod(stat.S_IRWXU)


def test_another_build_that_kept_its_files_first_is_followed(tmp_path: Path) -> None:
    """Two builds at once: the one that renames its entry into place second offers the first's
    files, so both publish the same digests."""
    first, _ = _run(tmp_path, Maker())
    key = FILES_PREFIX + files_key(VERSIONS, 1, "code", "cert", "")
    from manualkit.site import release_files as module

    ours = [DownloadFile("X_B-0.docx", "Word", b"ours"), DownloadFile("X_B-0.pdf", "PDF", b"%PDF ours")]
    kept = module._keep(tmp_path / key, ours)
    assert [f.data for f in kept] == [first["X_B-0.docx"], first["X_B-0.pdf"]]
    assert not list(tmp_path.glob(".files-*.tmp"))


def test_without_a_cache_or_signer_every_file_is_made(tmp_path: Path) -> None:
    maker = Maker()
    _run(None, maker)
    release_files(VERSIONS, maker, cache=tmp_path, fingerprint="code", signer=None, epoch="", zone=None)
    assert maker.calls == ["A/0", "B/0", "B/1"] * 2 and not list(tmp_path.iterdir())


def test_unused_entries_are_pruned_after_thirty_days(tmp_path: Path) -> None:
    _, used = _run(tmp_path, Maker())
    old = sorted(used)[0]
    os.utime(tmp_path / old / COMPLETE, (0, 0))
    (tmp_path / "files-abandoned").mkdir()  # never completed
    prune(tmp_path, used - {old}, FILES_PREFIX)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(used - {old})


def test_the_published_list_is_inert_inside_a_script_block() -> None:
    hostile = replace(VERSIONS[1], name="B/0</script><script>alert(1)</script>&")
    listed = [ReleaseDownloads(hostile, (Download("x</script>.pdf", "PDF", 1, "ab" * 32),))]
    data = published_list(listed, dt.date(2026, 12, 1))
    assert b"<" not in data and b">" not in data and b"&" not in data
    parsed = json.loads(data)
    assert parsed["releases"][0]["version"] == hostile.name
    assert parsed["releases"][0]["files"][0]["name"] == "x</script>.pdf"
    assert parsed["as_of"] == "2026-12-01"


def test_status_texts() -> None:
    assert status_text(VERSIONS[0]) == "已作废（2026年7月1日起由 B/0 替代）"
    assert status_text(VERSIONS[1]) == "现行有效"
    assert status_text(VERSIONS[2]) == "即将生效（2027年1月15日起实施）"


def test_with_a_zone_each_status_had_is_made_and_signed_when_it_began(tmp_path: Path) -> None:
    """A/0 (superseded) was 即将生效 from its publication and 现行有效 from its effective date; each
    status's files are made for that status, signed at 00:00 of the day it began in the company's
    zone, or at the certificate's notBefore when later."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    periods: list[StatusPeriod] = []

    def make(period: StatusPeriod) -> list[DownloadFile]:
        periods.append(period)
        return [DownloadFile(f"X_{period.version.slug}_{period.version.status.value}.pdf", "PDF", period.version.status.value.encode())]

    late = Signer("cert", dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.UTC))  # 2026-07-01 02:00 in Shanghai
    made, _ = release_files(VERSIONS, make, cache=tmp_path, fingerprint="code", signer=late, epoch="", zone=zone)
    seen = [(p.version.name, p.version.status, p.since, p.signed_at) for p in periods]
    midnight = lambda day: dt.datetime(*day, tzinfo=zone)  # noqa: E731
    assert seen == [
        ("A/0", Status.APPROVED, dt.date(2025, 12, 18), late.not_before),
        ("A/0", Status.IN_FORCE, dt.date(2026, 1, 1), late.not_before),
        ("A/0", Status.SUPERSEDED, dt.date(2026, 7, 1), late.not_before),
        ("B/0", Status.APPROVED, dt.date(2026, 6, 17), late.not_before),
        ("B/0", Status.IN_FORCE, dt.date(2026, 7, 1), late.not_before),
        ("B/1", Status.APPROVED, dt.date(2027, 1, 1), midnight((2027, 1, 1))),
    ]
    a0 = made[0]
    assert [f.name for f in a0.files] == [f"X_A-0_{Status.SUPERSEDED.value}.pdf"]
    assert [(e.period.version.status, e.period.version.superseded_by) for e in a0.earlier] == [(Status.APPROVED, None), (Status.IN_FORCE, None)]
    # a second build reads every status's files back
    periods.clear()
    release_files(VERSIONS, make, cache=tmp_path, fingerprint="code", signer=late, epoch="", zone=zone)
    assert periods == []


def test_the_verify_page_says_whether_copies_of_earlier_builds_are_recognised() -> None:
    from manualkit.site.download_pages import VERIFY, verify_markdown

    day = dt.date(2026, 12, 1)
    lasting = verify_markdown(VERIFY, b"{}", day, True, lasting=True)
    once = verify_markdown(VERIFY, b"{}", day, True, lasting=False)
    assert "包括在版本状态改变之前下载的副本" in lasting and "faketime" not in lasting
    assert "未安装 faketime" in once and "早前下载的副本也会显示为“不是发布文件”" in once
