"""下载 and 验证: every signed release with its files and their SHA-256, and the page that tells
staff which release a file is (pure functions over plain data, as :mod:`manualkit.site.pages`).

The status of each release is the one on the day the site is built for (状态截至 that day):
现行有效, 已作废（…起由 X 替代）, or 即将生效. :func:`published_list` is the list the 验证 page's
script matches a dropped file against (the files offered, and those each release had in its earlier
statuses: a copy downloaded while a release was in force is still its genuine file once superseded): JSON, every ``<``, ``>`` and ``&`` escaped, so that its
bytes can stand inside the page's ``<script type="application/json">`` block (never run: the
site's Content-Security-Policy allows no inline script) as well as in ``downloads/releases.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from manualkit.records.edition import Status
from manualkit.site.model import CHECKSUMS, DOWNLOADS, DOWNLOADS_DIR, SiteVersion
from manualkit.site.pages import day_html, day_text, esc, hash_html, ident, link, md_escape, table

VERIFY = "verify.html"
VERIFY_JS = "assets/manualkit/verify.js"
DATA_ID = "mk-release-files"  # the id of the page's JSON block, which verify.js reads


@dataclass(frozen=True)
class Download:
    name: str  # file name under downloads/
    description: str
    size: int
    sha256: str


@dataclass(frozen=True)
class EarlierDownloads:
    """The files a release had in an earlier status (``version`` as it stood then, from ``since``):
    recognised by the 验证 page, no longer offered."""

    version: SiteVersion
    since: dt.date
    files: tuple[Download, ...]


@dataclass(frozen=True)
class ReleaseDownloads:
    """A release as the 下载 page lists it: its version and its files (and, for the 验证 page,
    those of its earlier statuses)."""

    version: SiteVersion
    files: tuple[Download, ...]
    earlier: tuple[EarlierDownloads, ...] = ()


#: Each status in the words staff read on the 下载 and 验证 pages (:func:`short_status`);
#: :func:`status_text` adds its dates. A draft is never on the site, which lists releases.
STATUS_WORDS = {Status.IN_FORCE: "现行有效", Status.APPROVED: "即将生效", Status.SUPERSEDED: "已作废", Status.DRAFT: "现行有效"}


def short_status(version: SiteVersion) -> str:
    """现行有效, 即将生效, 已作废: the status without its dates."""
    return STATUS_WORDS[version.status]


def status_text(version: SiteVersion) -> str:
    """现行有效; 已作废（2026年7月1日起由 B/0 替代）; 即将生效（2027年1月15日起实施）."""
    words = short_status(version)
    if version.status is Status.SUPERSEDED and version.superseded_by and version.effective_to:
        return f"{words}（{day_text(version.effective_to)}起由 {version.superseded_by} 替代）"
    if version.status is Status.APPROVED:
        return f"{words}（{day_text(version.effective)}起实施）"
    return words


STATUS_CSS = {Status.IN_FORCE: "in-force", Status.SUPERSEDED: "superseded", Status.APPROVED: "approved", Status.DRAFT: "draft"}
# Newest first within each group: what to use now, what comes, what was.
_ORDER = {Status.IN_FORCE: 0, Status.APPROVED: 1, Status.SUPERSEDED: 2, Status.DRAFT: 3}


def ordered(releases: Sequence[ReleaseDownloads]) -> list[ReleaseDownloads]:
    """The version in force first, then the one to come, then the superseded ones, newest first."""
    indexed = list(enumerate(releases))
    return [r for _, r in sorted(indexed, key=lambda p: (_ORDER[p[1].version.status], -p[0]))]


def kind(name: str) -> str:
    return "PDF/A 文档" if name.lower().endswith(".pdf") else "Word 文档" if name.lower().endswith(".docx") else "文件"


def advice(version: SiteVersion, in_force: SiteVersion | None) -> str:
    """What a holder of a file of ``version`` should do, given the version in force."""
    current = f"现行有效的 {in_force.name} 版" if in_force is not None else "现行有效的版本"
    if version.status is Status.SUPERSEDED:
        return f"此版本已作废，请勿再依据它执行；请按{current}执行，可从“下载”页取得。"
    if version.status is Status.APPROVED:
        return f"此版本尚未生效：{day_text(version.effective)}前请继续按{current}执行。"
    return "这是现行有效版本的正式文件，可以依据它执行。"


def earlier_verdict(then: SiteVersion, now: SiteVersion) -> str:
    """What a copy issued while ``then`` held is, now that the release stands as ``now``:
    正式文件（下载时为现行有效）；现已作废（2026年7月1日起由 B/0 替代）."""
    issued = f"正式文件（下载时为{short_status(then)}）"
    if now.status is Status.IN_FORCE:
        return f"{issued}；现为现行有效（{day_text(now.effective)}起实施）"
    return f"{issued}；现{status_text(now)}"


def earlier_advice(then: SiteVersion, now: SiteVersion, in_force: SiteVersion | None) -> str:
    """What the holder of such a copy should do: its cover's status is out of date."""
    cover = f"文件封面所示的状态（{short_status(then)}）是下载时的状态，已经过时。"
    if now.status is Status.SUPERSEDED:
        current = f"现行有效的 {in_force.name} 版" if in_force is not None else "现行有效的版本"
        return f"此版本已作废，请勿再依据它执行；请改用{current}，可从“下载”页取得。{cover}"
    return f"该版本现已生效，可以依据其内容执行；{cover}需要存档或分发时，请从“下载”页取得标注现行有效的正式文件。"


def _file_entry(f: Download, *, offered: bool) -> dict[str, object]:
    entry: dict[str, object] = {"name": f.name, "kind": kind(f.name), "size": f.size, "sha256": f.sha256}
    if offered:
        entry["href"] = f"{DOWNLOADS_DIR}/{f.name}"
    return entry


def published_list(releases: Sequence[ReleaseDownloads], day: dt.date) -> bytes:
    """``downloads/releases.json``: every file offered, its SHA-256, and its release's status on
    ``day``; and, under ``earlier``, the files each release had in its earlier statuses (the
    status their cover states, since when, and what they are now)."""
    in_force = next((r.version for r in releases if r.version.status is Status.IN_FORCE), None)
    data = {
        "as_of": day.isoformat(),
        "as_of_text": day_text(day),
        "releases": [
            {
                "version": r.version.name,
                "effective": r.version.effective.isoformat(),
                "effective_text": day_text(r.version.effective),
                "status": STATUS_CSS[r.version.status],
                "status_text": status_text(r.version),
                "advice": advice(r.version, in_force),
                "superseded_by": r.version.superseded_by,
                "files": [_file_entry(f, offered=True) for f in r.files],
                "earlier": [
                    {
                        "status": STATUS_CSS[e.version.status],
                        "status_text": status_text(e.version),
                        "since": e.since.isoformat(),
                        "since_text": day_text(e.since),
                        "verdict": earlier_verdict(e.version, r.version),
                        "advice": earlier_advice(e.version, r.version, in_force),
                        "files": [_file_entry(f, offered=False) for f in e.files],
                    }
                    for e in r.earlier
                ],
            }
            for r in ordered(releases)
        ],
    }
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n").encode("utf-8")


def _status_html(version: SiteVersion) -> str:
    return f'<span class="mk-status mk-status--{STATUS_CSS[version.status]}">{esc(status_text(version))}</span>'


def downloads_markdown(page: str, releases: Sequence[ReleaseDownloads], day: dt.date) -> str:
    """下载: every signed release (the one in force, the one to come, the superseded ones), each with
    its 生效日期, its status on ``day``, its DOCX and PDF/A and their SHA-256; ``SHA256SUMS``."""
    parts = ["# 下载"]
    if not any(r.files for r in releases):
        parts.append("<p>本次构建未生成下载文件（<code>manual build --site-only</code>）。</p>")
        return "\n\n".join(parts) + "\n"
    parts.append(
        f'<p class="mk-downloads-lead">本手册每个已发布版本的正式文件，均带数字签名。状态截至 {day_html(day)}：'
        "请按<strong>现行有效</strong>的版本执行；已作废的版本仅供查阅。"
        f"想确认手中的文件是哪一版、现在是否有效，请到 {link(page, VERIFY, '验证文件')} 页面拖入该文件。</p>"
    )
    for r in ordered(releases):
        v = r.version
        parts.append(f"## {md_escape(v.name)} 版（{esc(status_text(v).split('（')[0])}） {{#release-{v.slug}}}")
        parts.append(f'<p class="mk-release-meta">生效日期 {day_html(v.effective)} · 状态 {_status_html(v)}</p>')
        rows = [
            (link(page, f"{DOWNLOADS_DIR}/{f.name}", f.name, ident=True), esc(f.description), ident(f"{f.size / 1024:.1f} KB"), hash_html(f.sha256))
            for f in r.files
        ]
        parts.append(table(("文件", "说明", "大小", "SHA-256"), rows, "mk-downloads"))
    parts.append(
        f"<p>全部文件的校验值见 {link(page, f'{DOWNLOADS_DIR}/{CHECKSUMS}', CHECKSUMS)}（可用 <code>sha256sum -c {CHECKSUMS}</code> 校验）。"
        "打印或另存的副本为非受控文件，不随修订更新；使用前请以本网站的现行有效版本为准。</p>"
    )
    return "\n\n".join(parts) + "\n"


def verify_markdown(page: str, data: bytes, day: dt.date, has_files: bool, *, lasting: bool = False) -> str:
    """验证: drop or pick a DOCX or PDF; the browser computes its SHA-256 (nothing is sent anywhere)
    and says which release it is and its status, from ``data`` (:func:`published_list`).
    ``lasting``: the files are the same on every build (signed at the moment their status began),
    so copies downloaded from earlier builds are recognised; else the page says they are not."""
    parts = [
        "# 验证文件",
        '<p class="mk-verify-lead">把 DOCX 或 PDF 文件拖到下面的方框里（或点“选择文件”），本页会在您的浏览器里计算文件的 SHA-256 校验值，'
        "并与本网站发布的全部正式文件比对，告诉您它是哪一版、现在是否有效。"
        "<strong>文件不会上传</strong>，也不会离开您的电脑。</p>",
    ]
    if not has_files:
        parts.append("<p>本次构建未生成下载文件（<code>manual build --site-only</code>），没有可比对的发布文件。</p>")
    parts += [
        '<div class="mk-verify" id="mk-verify" hidden>'
        '<div class="mk-verify__drop" id="mk-verify-drop">'
        '<p class="mk-verify__hint">将文件拖放到此处</p>'
        '<label class="mk-verify__pick">选择文件<input id="mk-verify-file" class="mk-verify__input" type="file" multiple '
        'accept=".docx,.pdf,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document"></label>'
        "</div>"
        '<div class="mk-verify__results" id="mk-verify-results" role="status" aria-live="polite"></div>'
        "</div>",
        '<noscript><p class="mk-verify-noscript">本页需要浏览器运行脚本才能计算校验值。'
        f"也可以在电脑上自行计算文件的 SHA-256，与{link(page, DOWNLOADS, '下载')}页列出的校验值比对。</p></noscript>",
        f'<p class="mk-verify-asof">状态截至 {day_html(day)}（本网站生成时）。' + (
            "本页认得本网站发布过的每一份正式文件，包括在版本状态改变之前下载的副本（例如版本现行有效时下载、现已作废的文件），"
            "并告诉您它现在的状态；被改动过（哪怕一个字节）的文件显示为“不是发布文件”。"
            if lasting
            else "本次构建所在的电脑未安装 faketime，正式文件每次构建都会重新签署：本页只认得本网站现在提供下载的文件，"
            "早前下载的副本也会显示为“不是发布文件”，被改动过（哪怕一个字节）的文件同样如此。"
        ) + f"请从{link(page, DOWNLOADS, '下载')}页取得正式文件。</p>",
        "<p>审核人员如需核验文件的数字签名本身，可在仓库中运行 <code>manual verify 文件名</code>（见审核人员说明）。</p>",
        f'<script type="application/json" id="{DATA_ID}">{data.decode("utf-8").strip()}</script>',
        f'<script src="{esc(VERIFY_JS)}"></script>',
    ]
    return "\n\n".join(parts) + "\n"
