"""The text of every page of the staff site: pure functions over plain data.

Each ``*_markdown`` function returns the Markdown of one generated page (headings in Markdown, so
the table of contents and the anchors work; tables, lists and redlines as HTML blocks with every
text escaped). :func:`header_html` returns the block shown above every page: the banners (an
approved version still to come, 已作废, 草稿), the metadata block (文件编号, 版本, 实施日期, 负责部门,
最近修订 with its change requests) and the mark a printed copy carries. Links are relative
(:func:`~manualkit.site.model.relative`), so the site works from any folder of any static host.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from manualkit.base.clock import CST, prose_date
from manualkit.documents.comparison_table import ComparisonRow, table_html
from manualkit.records.change_request import ChangeRequest
from manualkit.records.edition import Status
from manualkit.records.revision_table import REVISION_COLUMNS, section_names
from manualkit.site.model import (
    ARCHIVE,
    HOME,
    UPCOMING,
    LastChange,
    SiteVersion,
    comparison_page,
    diff_page,
    relative,
    request_page,
    version_prefix,
)
from manualkit.site.redlines import SectionRedline
from manualkit.text.metadata import ManualMetadata

ROLES = ("编制", "审核", "会签", "批准")
STATUS_CLASS = {
    Status.IN_FORCE: "in-force",
    Status.APPROVED: "approved",
    Status.SUPERSEDED: "superseded",
    Status.DRAFT: "draft",
}
STATUS_LABEL = {
    Status.IN_FORCE: "现行有效",
    Status.APPROVED: "已批准待实施",
    Status.SUPERSEDED: "已作废",
    Status.DRAFT: "草稿（未生效）",
}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def md_escape(text: str) -> str:
    """Text for a Markdown heading: HTML-escaped, Markdown punctuation backslash-escaped."""
    return re.sub(r"([\\`*_\[\]#{}])", r"\\\1", html.escape(text, quote=False))


def link(page: str, target: str, text: str, *, ident: bool = False) -> str:
    """A relative link; ``ident``: its text is an identifier (CR-2026-004, B/0), never broken."""
    inner = f'<span class="mk-id">{esc(text)}</span>' if ident else esc(text)
    return f'<a href="{esc(relative(page, target))}">{inner}</a>'


def ident(text: str) -> str:
    """An identifier (document number, file name, user id), never broken across lines."""
    return f'<span class="mk-id">{esc(text)}</span>'


def day_text(day: dt.date) -> str:
    """A date as every page writes it: 2026年3月16日 (one way on every page of the site)."""
    return prose_date(day)


def day_html(day: dt.date) -> str:
    return f'<span class="mk-date">{esc(day_text(day))}</span>'


def hash_html(digest: str, group: int = 8) -> str:
    """A hash sum that wraps only between groups of ``group`` characters."""
    parts = [esc(digest[i : i + group]) for i in range(0, len(digest), group)]
    return '<code class="mk-hash">' + "<wbr>".join(f'<span class="mk-id">{p}</span>' for p in parts) + "</code>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    """An HTML table on one line (a Markdown HTML block); ``headers`` are text, cells are HTML.

    Each cell carries its column's header as ``data-label``: on a narrow screen a table of three
    or more columns shows each row as a card of “label value” lines (``mk-stack``), and on a wide
    one it fits the page (``mk-fit``)."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{esc(h)}">{c}</td>' for h, c in zip(headers, row, strict=True)) + "</tr>"
        for row in rows
    )
    classes = " ".join(c for c in (css, "mk-fit", "mk-stack" if len(headers) >= 3 else "") if c)
    return f'<div class="{classes}"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def pairs_table(pairs: Sequence[tuple[str, str]], css: str, per_row: int = 2) -> str:
    """Key/value pairs, ``per_row`` to a row (keys are text, values HTML): a compact identification block."""
    rows = []
    for start in range(0, len(pairs), per_row):
        chunk = pairs[start : start + per_row]
        cells = "".join(f'<th scope="row">{esc(k)}</th><td>{v}</td>' for k, v in chunk)
        cells += "<td></td><td></td>" * (per_row - len(chunk))
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="{css}"><table><tbody>{"".join(rows)}</tbody></table></div>'


def front_matter(title: str, *, searchable: bool, wide: bool = False) -> str:
    """YAML front matter (JSON strings are YAML): the page title, and whether search indexes it.

    MkDocs and Material print a page's title as HTML, unescaped (in ``<title>``, the header, the
    navigation and the search index), so the title text is HTML-escaped here: a change request
    titled ``<script>…`` shows those characters and runs nothing."""
    import json

    lines = ["---", f"title: {json.dumps(esc(title), ensure_ascii=False)}"]
    if not searchable:
        lines += ["search:", "  exclude: true"]
    if wide:  # a wide table: the page gives it the width of the navigation and the table of contents
        lines += ["hide:", "  - navigation", "  - toc"]
    return "\n".join([*lines, "---", "", ""])


# --- the block above every page ------------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    kind: Literal["upcoming", "superseded", "draft"]
    html: str


def upcoming_banner(
    page: str,
    version: SiteVersion,
    training: bool | None,
    trained_on: dt.date | None = None,
    previous: SiteVersion | None = None,
    departments: Sequence[str] = (),
) -> Banner:
    """“B/1 版将于 2027年1月15日 生效”, linking to what will change (and to its 修订对照表 against
    ``previous``); when it needs a training not yet recorded (``trained_on``: the date of its
    training record), the departments it concerns and what staff do meanwhile, in words they can
    act on; nothing about training when none is needed."""
    note = ""
    if training:
        whom = f"需培训部门：{'、'.join(departments)}" if departments else "需培训"
        note = f"（培训已于 {prose_date(trained_on)} 完成）" if trained_on else f"（{whom}；培训完成前按现行版本执行）"
    voided = f"。{voided_html(page, version.voided_requests)}" if version.voided_requests else ""
    table = f"、{link(page, comparison_page(previous, version), '修订对照表')}" if previous is not None else ""
    return Banner(
        "upcoming",
        f'<div class="mk-banner mk-banner--upcoming" role="note"><strong>{esc(version.name)} 版将于 {day_html(version.effective)} 生效</strong>'
        f"（已批准，{esc(version.class_name)}）。{link(page, UPCOMING, '查看将要修订的内容')}{table}{esc(note)}{voided}</div>",
    )


def superseded_banner(page: str, version: SiteVersion, in_force: str = HOME) -> Banner:
    """已作废: a superseded version, kept for reference only; links to ``in_force`` (the same
    chapter in the version in force, or its first page)."""
    replaced = ""
    if version.superseded_by and version.effective_to:
        replaced = f"已于 {day_html(version.effective_to)} 由 {ident(version.superseded_by)} 版替代，"
    target = "查看现行有效版本的本章" if in_force != HOME else "查看现行有效版本"
    return Banner(
        "superseded",
        f'<div class="mk-banner mk-banner--superseded" role="note"><strong>已作废</strong>：本页为 {ident(version.name)} 版，'
        f"{replaced}仅供查阅，不得作为执行依据。{link(page, in_force, target)}</div>",
    )


def approved_banner(page: str, version: SiteVersion, in_force_name: str, in_force: str = HOME) -> Banner:
    """已批准待实施: the full text of an approved version before its effective date."""
    target = "查看现行有效版本的本章" if in_force != HOME else "查看现行有效版本"
    return Banner(
        "upcoming",
        f'<div class="mk-banner mk-banner--upcoming" role="note"><strong>已批准待实施</strong>：本页为 {ident(version.name)} 版，'
        f"将于 {day_html(version.effective)} 起施行；在此之前仍执行 {ident(in_force_name)} 版。{link(page, in_force, target)}</div>",
    )


def draft_banner(based_on: str | None) -> Banner:
    basis = f"（以 {ident(based_on)} 版为基础）" if based_on else ""
    return Banner(
        "draft",
        f'<div class="mk-banner mk-banner--draft" role="note"><strong>草稿（未生效）</strong>：本页为工作区中尚未发布的内容{basis}，'
        "仅供编辑预览，不得作为执行依据。</div>",
    )


@dataclass(frozen=True)
class VersionLink:
    """A released version as the date picker and 本章的其他版本 list it: its period and where to read it."""

    name: str
    status: Status
    effective: dt.date
    until: dt.date | None  # the next version's effective date (the first day it no longer applies)
    target: str  # site path: the same chapter in that version, or its first page


def period_text(link_: VersionLink) -> str:
    """2026年1月1日 至 2026年3月15日; 2026年7月1日 起."""
    if link_.until is None:
        return f"{day_text(link_.effective)} 起"
    return f"{day_text(link_.effective)} 至 {day_text(link_.until - dt.timedelta(days=1))}"


def version_items(page: str, links: Sequence[VersionLink], current: str) -> str:
    """The versions as list items carrying their periods as data (the date picker reads them)."""
    items = []
    for v in links:
        until = v.until.isoformat() if v.until else ""
        label = f"{v.name} 版"
        text = f'<span class="mk-id">{esc(label)}</span>'
        anchor = f'<strong class="mk-this-version">{text}（本页）</strong>' if v.name == current else f'<a href="{esc(relative(page, v.target))}">{text}</a>'
        items.append(
            f'<li data-mk-from="{v.effective.isoformat()}" data-mk-until="{until}" data-mk-href="{esc(relative(page, v.target))}" data-mk-version="{esc(v.name)}">'
            f'{anchor}：{esc(period_text(v))}，<span class="mk-status mk-status--{STATUS_CLASS[v.status]}">{esc(STATUS_LABEL[v.status])}</span></li>'
        )
    return "<ul>" + "".join(items) + "</ul>"


def _shared_list(page: str, current: str) -> str:
    """A list that site.js fills from the versions of the whole site (``assets/manualkit/versions.js``
    at the top of the site): for the pages of a superseded or approved version, which are built once
    and kept, while the list of versions grows with each release."""
    root = "../" * page.count("/")
    name = posixpath.basename(page)
    return f'<ul data-mk-list data-mk-root="{esc(root)}" data-mk-page="{esc(name)}" data-mk-current="{esc(current)}"></ul>'


def date_picker_html(page: str, links: Sequence[VersionLink], current: str, *, shared: bool = False) -> str:
    """查看某日有效的版本: a date field (shown when script runs) over the list of versions and periods."""
    if links:
        versions = version_items(page, links, current)
    elif shared:
        versions = _shared_list(page, current) + f'<p class="mk-pit__fallback">各版本及其有效期间见{link(page, ARCHIVE, "版本归档")}。</p>'
    else:
        return ""
    return (
        '<details class="mk-pit"><summary>查看某日有效的版本</summary>'
        '<form class="mk-pit__form" hidden><label for="mk-pit-date">日期</label>'
        '<input type="date" id="mk-pit-date" name="date" required>'
        '<button type="submit">查看该日有效的版本</button><output class="mk-pit__result" for="mk-pit-date" role="status"></output></form>'
        f"{versions}</details>"
    )


def other_versions_html(page: str, links: Sequence[VersionLink], current: str, *, in_force: str | None = None) -> str:
    """本章的其他版本: the same chapter in every version, with the period each was (or will be) in force.

    Pages of the version in force list them here; the pages of another version (``in_force``: the
    same chapter in the version in force) link to that chapter and to 版本归档, and site.js lists
    every version from the data of the whole site."""
    heading = '<h2 id="mk-versions-title">本章的其他版本</h2>'
    if links:
        if len(links) < 2:
            return ""
        return f'<section class="mk-versions" aria-labelledby="mk-versions-title">{heading}{version_items(page, links, current)}</section>'
    if in_force is None:
        return ""
    static = f"<p>{link(page, in_force, '现行有效版本的本章')} · {link(page, ARCHIVE, '版本归档（全部版本及其有效期间）')}</p>"
    return f'<section class="mk-versions" aria-labelledby="mk-versions-title">{heading}{static}{_shared_list(page, current)}</section>'


@dataclass(frozen=True)
class PageHeader:
    """What the block above a page says: the document, its version, and the banners."""

    document_number: str
    version: str
    status: Status
    effective: dt.date | None
    department: str  # 负责部门
    last_change: LastChange | None
    banners: tuple[Banner, ...] = ()
    link_requests: bool = True  # the site has a page per change request (not in a draft preview)
    versions: tuple[VersionLink, ...] = ()  # for the date picker (the same page in each version where it exists)
    shared_versions: bool = False  # the date picker lists the versions from the site's data (see _shared_list)
    voided_requests: tuple[str, ...] = ()  # this version's requests with a signature voided by a key revocation


def last_change_html(page: str, change: LastChange | None, link_requests: bool = True) -> str:
    if change is None:
        return "—"
    requests = "、".join(link(page, request_page(cr), cr, ident=True) if link_requests else ident(cr) for cr in change.change_requests)
    return f"{ident(change.version)} 版（{day_html(change.effective)} 实施）" + (f"，{requests}" if requests else "")


def voided_html(page: str, requests: Sequence[str], link_requests: bool = True) -> str:
    """“含无效签署”: a release with a signature made after its key was revoked (8.2 四), linking
    to the change requests whose pages say which signature and since when."""
    names = "、".join(link(page, request_page(cr), cr) if link_requests else esc(cr) for cr in requests)
    return f'<span class="mk-sig mk-sig--invalid">✗ 含无效签署</span>（密钥停用后所作，见 {names}）'


def header_html(page: str, header: PageHeader) -> str:
    """Banners, the metadata block, the date picker and the print mark of ``page`` (a site path)."""
    effective = day_html(header.effective) if header.effective else "未定"
    status = STATUS_CLASS[header.status]
    label = STATUS_LABEL[header.status]
    badge = f'<span class="mk-status mk-status--{status}">{esc(label)}</span>'
    draft = header.status is Status.DRAFT
    items: tuple[tuple[str, str], ...] = (
        ("文件编号", ident(header.document_number)),
        ("版本", badge if draft else f"{ident(header.version)} {badge}"),
        ("实施日期", effective),
        ("负责部门", esc(header.department)),
        ("最近修订", last_change_html(page, header.last_change, header.link_requests)),
    )
    if header.voided_requests:
        items += (("签署状态", voided_html(page, header.voided_requests, header.link_requests)),)
    meta = "".join(f'<div class="mk-meta__item"><dt>{esc(k)}</dt><dd>{v}</dd></div>' for k, v in items)
    banners = "".join(b.html for b in header.banners)
    version = esc(label) if draft else f"版本 {esc(header.version)}（{esc(label)}）"
    mark = (
        f'<div class="mk-print-mark" aria-hidden="true"><strong>非受控（打印件）</strong>'
        f'<span class="mk-id">{esc(header.document_number)}</span><span>{version}</span>'
        '<span class="mk-print-date"></span></div>'
    )
    picker = date_picker_html(page, header.versions, header.version, shared=header.shared_versions)
    signatures = ' data-mk-signatures="invalid"' if header.voided_requests else ""
    return (
        f'<div class="mk-page-header" data-mk-version="{esc(header.version)}" data-mk-status="{status}"{signatures}>'
        f'{banners}<dl class="mk-meta">{meta}</dl>{picker}</div>{mark}'
    )


# --- pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One generated page: where it lives, its title, its Markdown and the block above it."""

    path: str  # site path, e.g. requests/CR-2026-001.html
    title: str
    markdown: str  # without front matter
    header: PageHeader
    searchable: bool = False  # the chapters, 修订记录 and the change requests are searched
    noindex: bool = False  # superseded versions: <meta name="robots" content="noindex">
    wide: bool = False  # a wide table: no navigation or table of contents beside it


@dataclass(frozen=True)
class ChapterEntry:
    number: int
    heading: str  # 第三章 业务流程执行与实施
    page: str  # site path of the chapter
    owner: str  # 负责部门
    last_change: LastChange | None


def cover_markdown(
    page: str,
    meta: ManualMetadata,
    version: SiteVersion,
    chapters: Sequence[ChapterEntry],
    links: Sequence[tuple[str, str]],
    *,
    link_requests: bool = True,
) -> str:
    """The first page of a version: its identification, sign-offs, chapters and further links."""
    controlled = {
        Status.IN_FORCE: "受控（现行有效）",
        Status.APPROVED: "受控（已批准待实施）",
        Status.SUPERSEDED: "作废（仅供查阅）",
        Status.DRAFT: "草稿（未生效）",
    }[version.status]
    rows = [
        ("文件名称", esc(meta.title)),
        ("文件编号", ident(meta.document_number)),
        ("版本", ident(version.name)),
        ("受控状态", esc(controlled)),
        ("发布日期", day_html(version.published)),
        ("实施日期", day_html(version.effective)),
        ("发布部门", esc(meta.issuing_department)),
        ("解释部门", esc(meta.interpreting_department)),
    ]
    rows += [(role, esc(version.signers(role))) for role in ROLES if version.signers(role) != "—" or role != "会签"]
    cover = pairs_table(rows, "mk-cover")
    chapter_rows = [
        (esc(c.heading.split(" ")[0]), link(page, c.page, c.heading.partition(" ")[2] or c.heading), esc(c.owner), last_change_html(page, c.last_change, link_requests))
        for c in chapters
    ]
    parts = [
        f"# {md_escape(meta.title)}",
        f"<p>{esc(meta.company)} · {esc(meta.document_number)} · {esc(version.name)} 版，自 {day_html(version.effective)}起施行。</p>",
        cover,
        "## 各章 {#chapters}",
        table(("章", "标题", "负责部门", "最近修订"), chapter_rows, "mk-toc-table"),
    ]
    if links:
        parts += ["## 修订与版本", "<ul>" + "".join(f"<li>{link(page, target, text)}</li>" for text, target in links) + "</ul>"]
    return "\n\n".join(parts) + "\n"


def _version_target(version: SiteVersion) -> str:
    """Where a version can be read in full: the site itself, its archive, or the approved version to come."""
    return version_prefix(version) + HOME


def revisions_markdown(page: str, versions: Sequence[SiteVersion]) -> str:
    """修订记录: every released version, as the revision history table of the manual has it."""
    rows = []
    for number, v in enumerate(versions, start=1):
        sections = "全文" if v.first else section_names(v.sections)
        summary = esc(v.summary)
        if number > 1:
            summary += f"<br>{link(page, comparison_page(versions[number - 2], v), '修订对照表')}"
        requests = "、".join(link(page, request_page(cr), cr, ident=True) for cr in v.change_requests)
        status = f'<span class="mk-status mk-status--{STATUS_CLASS[v.status]}">{esc(STATUS_LABEL[v.status])}</span>'
        rows.append(
            (
                esc(number), link(page, _version_target(v), v.name, ident=True), esc(sections), summary, requests,
                esc(v.signers("编制")), esc(v.signers("审核")), esc(v.signers("会签")), esc(v.signers("批准")),
                day_html(v.published), day_html(v.effective), status,
            )
        )  # fmt: skip
    headers = (*REVISION_COLUMNS, "状态")
    intro = "<p>本表列出本手册已发布的全部版本。新版本自其实施日期起替代上一版本；被替代的版本即行作废，可在版本归档中查阅。</p>"
    return "\n\n".join(["# 修订记录", intro, table(headers, rows, "mk-revisions")]) + "\n"


def archive_markdown(page: str, versions: Sequence[SiteVersion], retention_years: int) -> str:
    """版本归档: every version with its period of validity, where to read it, and what changed."""
    rows = []
    for i, v in enumerate(versions):
        until = day_html(v.effective_to) if v.effective_to and v.status is Status.SUPERSEDED else "—"
        read = link(page, _version_target(v), "查阅")
        changes = "首次发布"
        if i > 0:
            changes = link(page, diff_page(versions[i - 1], v), f"与 {versions[i - 1].name} 版的差异")
            changes += f"<br>{link(page, comparison_page(versions[i - 1], v), '修订对照表')}"
        requests = "、".join(link(page, request_page(cr), cr, ident=True) for cr in v.change_requests)
        status = f'<span class="mk-status mk-status--{STATUS_CLASS[v.status]}">{esc(STATUS_LABEL[v.status])}</span>'
        if v.voided_requests:
            status += "<br>" + voided_html(page, v.voided_requests)
        rows.append((ident(v.name), status, day_html(v.effective), until, requests, read, changes))
    intro = (
        f"<p>被新版本替代的版本即行作废，按修订政策至少保留 {esc(retention_years)} 年（本网站保留全部版本）。"
        "作废版本的每一页都标有“已作废”，仅供查阅，不得作为执行依据。</p>"
    )
    headers = ("版本", "状态", "实施日期", "作废日期", "修订申请单", "浏览", "修订内容")
    return "\n\n".join(["# 版本归档", intro, table(headers, reversed(rows), "mk-archive")]) + "\n"


def _legend() -> str:
    return (
        '<p class="mk-rl-legend">图例：<del class="redline-del">删除的文字</del> <ins class="redline-ins">新增的文字</ins>；'
        "左侧色条标出有修改的段落、列表项和表格行。</p>"
    )


def _changes_markdown(changes: Sequence[SectionRedline], level: str = "##") -> list[str]:
    parts: list[str] = []
    if not changes:
        parts.append("<p>两个版本的正文没有差异。</p>")
    for change in changes:
        state = {"added": "（新增）", "removed": "（删除）"}.get(change.status, "")
        if change.status == "moved" and change.from_id:
            state = f"（原第 {change.from_id} 节）"
        parts.append(f"{level} {md_escape(change.title)}{state} {{#{change.anchor}}}")
        if change.old_title:
            parts.append(f'<p class="mk-rl-title">原标题：<del class="redline-del">{esc(change.old_title)}</del></p>')
        parts.append(f'<div class="mk-redline">{change.html}</div>')
    return parts


def _summary_table(page: str, version: SiteVersion, previous: SiteVersion) -> str:
    requests = "、".join(link(page, request_page(cr), cr, ident=True) for cr in version.change_requests)
    rows = [
        ("版本", f"{ident(previous.name)} → {ident(version.name)}"),
        ("修订类别", esc(version.class_name)),
        ("修订内容摘要", esc(version.summary)),
        ("修订章节", esc(section_names(version.sections) or "—")),
        ("修订申请单", requests),
        ("发布日期", day_html(version.published)),
        ("实施日期", day_html(version.effective)),
    ]
    return table(("项目", "内容"), rows, "mk-cover")


def diff_markdown(page: str, old: SiteVersion, new: SiteVersion, changes: Sequence[SectionRedline]) -> str:
    """The redline of ``new`` against the version before it, section by section."""
    parts = [
        f"# {md_escape(new.name)} 版相对 {md_escape(old.name)} 版的修订内容",
        _summary_table(page, new, old),
        f"<p>逐条对照见{link(page, comparison_page(old, new), '修订对照表')}。</p>",
        _legend(),
    ]
    return "\n\n".join(parts + _changes_markdown(changes)) + "\n"


def comparison_markdown(page: str, old: SiteVersion, new: SiteVersion, rows: Sequence[ComparisonRow]) -> str:
    """修订对照表 of ``new`` against the version before it: one row per changed clause, with the
    text before and after and the reason of the change request (every text escaped)."""
    parts = [
        f"# {md_escape(new.name)} 版修订对照表（相对 {md_escape(old.name)} 版）",
        _summary_table(page, new, old),
        f"<p>逐条列出修订的条款，未修订的条款不列；修订前栏中删除的文字加删除线，修订后栏中新增的文字加下划线；修订说明为修订申请单所述的修订原因。"
        f"逐节标出增删的文字见{link(page, diff_page(old, new), f'{new.name} 版的修订内容')}。</p>",
        f'<div class="mk-comparison mk-fit mk-stack">{table_html(rows, css_class="", labels=True)}</div>',
    ]
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class Upcoming:
    """An approved version still to come: what it changes, and the requests that make it."""

    version: SiteVersion
    previous: SiteVersion
    changes: tuple[SectionRedline, ...]
    requests: tuple[ChangeRequest, ...]

    @property
    def training(self) -> bool:
        return any(cr.training_required for cr in self.requests)


def upcoming_markdown(page: str, items: Sequence[Upcoming]) -> str:
    """即将生效: each approved version still to come, whether staff must be trained, and its redline."""
    parts = ["# 即将生效的修订"]
    for item in items:
        v = item.version
        training = "需要培训" if item.training else "无需培训"
        parts.append(f"## {md_escape(v.name)} 版：{esc(day_text(v.effective))}起施行 {{#version-{v.slug}}}")
        parts.append(
            f'<p class="mk-upcoming-lead">{esc(v.name)} 版已经批准，将于 <strong>{day_html(v.effective)}</strong> 生效，'
            f"届时替代 {esc(item.previous.name)} 版。<strong class=\"mk-training mk-training--{'yes' if item.training else 'no'}\">{training}</strong>："
            + ("相关人员须在实施日期前完成培训。" if item.training else "各部门自行组织学习即可。")
            + "</p>"
        )
        parts.append(_summary_table(page, v, item.previous))
        rows = [
            (link(page, request_page(cr.id), cr.id, ident=True), esc(cr.title), esc(cr.department), esc("需要" if cr.training_required else "不需要"))
            for cr in item.requests
        ]
        parts.append(table(("修订申请单", "标题", "申请部门", "是否需要培训"), rows, "mk-requests"))
        parts.append(
            f"<p>{link(page, diff_page(item.previous, v), '在单独页面查看全部修订内容')} · {link(page, comparison_page(item.previous, v), '修订对照表')}</p>"
        )
        parts.append(_legend())
        parts += _changes_markdown(item.changes, "###")
    return "\n\n".join(parts) + "\n"


def _signed_time(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    offset = moment.utcoffset()
    if offset is None:
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    zone = "北京时间" if offset == CST.utcoffset(None) else f"UTC{moment:%z}"
    return f"{moment:%Y-%m-%d %H:%M:%S}（{zone}）"


def request_markdown(page: str, cr: ChangeRequest, version: SiteVersion, class_names: Mapping[str, str], role_titles: Mapping[str, str]) -> str:
    """A change request (文件修订申请单) as released, with every signature and its verification."""
    consultation = "不涉及"
    if cr.consultation_required:
        data = cr.data.get("staff_consultation", {}) if isinstance(cr.data, Mapping) else {}
        record = str(data.get("record", "")) if isinstance(data, Mapping) else ""
        day = data.get("date") if isinstance(data, Mapping) else None
        consultation = f"已协商并公示（{day}）：{record}" if cr.consultation_done else "未记录"
    rows = [
        ("申请单号", ident(cr.id)),
        ("修订标题", esc(cr.title)),
        ("修订类别", esc(class_names.get(cr.class_key, cr.class_key))),
        ("修订原因", esc(cr.reason)),
        ("修订章节", esc(section_names(cr.sections))),
        ("修订内容摘要", esc(cr.summary)),
        ("申请部门", esc(cr.department)),
        ("申请人", esc(cr.applicant)),
        ("申请日期", day_html(cr.date)),
        ("是否需要培训", esc("需要" if cr.training_required else "不需要")),
        ("职工协商（劳动合同法第四条）", esc(consultation)),
        ("发布版本", link(page, _version_target(version), version.name, ident=True) + f"（{day_html(version.effective)} 实施）"),
    ]
    valid = {(a.role, a.signer): a.valid for a in version.approvals if a.change_request == cr.id}
    revoked = {(a.role, a.signer): a.key_revoked_at for a in version.approvals if a.change_request == cr.id and a.key_revoked_at}
    signatures = []
    for a in cr.approvals:
        ok = valid.get((a.role, a.signer))
        stopped = revoked.get((a.role, a.signer))
        state = (
            (f'<span class="mk-sig mk-sig--valid">✓ 有效（签署在前；该密钥已于 {esc(_signed_time(stopped))} 停用）</span>' if ok
             else f'<span class="mk-sig mk-sig--invalid">✗ 无效（签署时密钥已于 {esc(_signed_time(stopped))} 停用）</span>')
            if stopped
            else
            '<span class="mk-sig mk-sig--valid">✓ 有效（签名已验证）</span>'
            if ok
            else '<span class="mk-sig mk-sig--invalid">✗ 无效</span>'
            if ok is False
            else '<span class="mk-sig mk-sig--unknown">未纳入发布</span>'
        )  # fmt: skip
        signatures.append(
            (esc(role_titles.get(a.role, a.role)), f"{esc(a.name)}（<code class=\"mk-id\">{esc(a.signer)}</code>）", esc(a.meaning), esc(_signed_time(a.signed_at)), state, f"<code class=\"mk-id\">{esc(a.digest[:23])}…</code>")
        )
    parts = [
        f"# {md_escape(cr.id)} {md_escape(cr.title)}",
        table(("项目", "内容"), rows, "mk-cover"),
        "## 签署记录 {#approvals}",
        "<p>每项签署都是签署人用本人密钥对申请单内容摘要所作的 SSH 电子签名（《电子签名法》第十三条），本网站在构建时逐一验证。</p>",
        table(("角色", "签署人", "签署含义", "签署时间", "签名状态", "所签内容摘要"), signatures, "mk-signatures"),
    ]
    return "\n\n".join(parts) + "\n"


def draft_cover_markdown(page: str, meta: ManualMetadata, chapters: Sequence[ChapterEntry], based_on: SiteVersion | None) -> str:
    """The first page of ``manual serve``: the draft's chapters and what it is based on."""
    basis = f"以 {esc(based_on.name)} 版（{day_html(based_on.effective)} 实施）为基础" if based_on else "尚无已发布的版本"
    rows = [
        (esc(c.heading.split(" ")[0]), link(page, c.page, c.heading.partition(" ")[2] or c.heading), esc(c.owner), last_change_html(page, c.last_change, False))
        for c in chapters
    ]
    parts = [
        f"# {md_escape(meta.title)}（草稿）",
        f"<p>{esc(meta.document_number)} · 工作区中的草稿，{basis}。修改 <code>manual/</code> 中的章节后，本预览自动刷新。</p>",
        "## 各章 {#chapters}",
        table(("章", "标题", "负责部门", "最近发布的修订"), rows, "mk-toc-table"),
    ]
    if based_on is not None:
        parts.append(f"<p>{link(page, 'changes.html', f'查看草稿与 {based_on.name} 版的差异')}</p>")
    return "\n\n".join(parts) + "\n"


def draft_changes_markdown(based_on: SiteVersion, changes: Sequence[SectionRedline]) -> str:
    """The redline of the working tree against the latest released version."""
    parts = [f"# 草稿相对 {md_escape(based_on.name)} 版的修改", _legend()]
    return "\n\n".join(parts + _changes_markdown(changes)) + "\n"


# --- the HTML of a chapter, after Markdown: tables for narrow screens, identifiers kept whole ------------

_TABLE = re.compile(r"<table>(.*?)</table>", re.S)
_HEAD_CELL = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
_BODY = re.compile(r"<tbody>(.*?)</tbody>", re.S)
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<td\b")
_TAG = re.compile(r"(<[^>]+>)")
# CR-2026-004, XS-QM-01, XS-QM-01_B-0.docx, SHA256SUMS: letters and digits joined by - _ . that a
# browser would otherwise break after a hyphen
IDENTIFIER = re.compile(r"(?<![\w.-])[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)+(?:\.[a-z]{2,4})?(?![\w-])")


def label_tables(content: str) -> str:
    """Give each cell of a Markdown table of three or more columns its column's header as
    ``data-label``, inside a ``mk-stack`` wrapper: on a narrow screen each row becomes a card."""

    def one(match: re.Match[str]) -> str:
        inner = match.group(1)
        labels = [esc(html.unescape(_TAG.sub("", h)).strip()) for h in _HEAD_CELL.findall(inner)]
        if len(labels) < 3 or "<thead>" not in inner or "data-label" in inner:  # narrow, no header row, or made by table()
            return match.group(0)

        def row(r: re.Match[str]) -> str:
            count = iter(range(len(labels)))
            cells = _CELL.sub(lambda _: f'<td data-label="{labels[min(next(count), len(labels) - 1)]}"', r.group(1))
            return f"<tr>{cells}</tr>"

        body = _BODY.sub(lambda b: "<tbody>" + _ROW.sub(row, b.group(1)) + "</tbody>", inner)
        return f'<div class="mk-stack"><table>{body}</table></div>'

    return _TABLE.sub(one, content)


def mark_identifiers(content: str) -> str:
    """Wrap identifiers in running text in ``<span class="mk-id">`` (never broken across lines);
    never inside a ``<script>`` element (the 验证 page's JSON data block)."""
    parts = _TAG.split(content)
    inside_id = 0
    inside_script = False
    for i, part in enumerate(parts):
        if part.startswith("<"):
            if part[:7].lower() in ("<script", "</scrip"):
                inside_script = not part.startswith("</")
            elif 'class="mk-id"' in part:
                inside_id += 1
            elif inside_id and part.startswith("</span"):
                inside_id -= 1
            continue
        if not inside_id and not inside_script:
            parts[i] = IDENTIFIER.sub(lambda m: f'<span class="mk-id">{m.group(0)}</span>', part)
    return "".join(parts)
