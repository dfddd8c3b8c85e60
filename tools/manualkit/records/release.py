"""Releases: the record of a published version (``changelog/releases/<A-1>.yml``) and the
atomic ``manual release`` that creates it.

A release bundles the fully approved change requests into the next version. It is written as
git objects first and made visible by one ref transaction (branch and tag together), so an
interruption at any point, even SIGKILL, leaves the repository unchanged or fully released.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from manualkit.base import git, yamlfile
from manualkit.base.diagnostics import Diagnostic, ManualError, Severity, diagnostic, fail
from manualkit.base.yamlfile import quoted
from manualkit.records import signed
from manualkit.records.version import Version
from manualkit.text.manual import MANUAL_DIR, Manual
from manualkit.text.schema import Field, as_date, validate

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest
    from manualkit.records.policy import Policy

# Reading records is on the path of every auditors' command; making a release is not. What only
# making a release needs (approvals, change requests, the policy, the 修订记录) is imported there.

RELEASES_DIR = "changelog/releases"
REVISION_HISTORY_PATH = "changelog/revision-history.md"
PENDING_FILE = "manual-release-pending"


class SignedApproval(NamedTuple):
    """One signature as the release record lists it (a named tuple: a long history holds
    thousands, and they are read from the cache on every auditors' command)."""

    change_request: str
    role: str
    signer: str
    name: str
    signed_at: str
    digest: str


class ReleaseRecord(NamedTuple):
    version: Version
    class_key: str
    published: dt.date
    effective: dt.date
    previous: Version | None
    change_requests: tuple[str, ...]
    sections: tuple[str, ...]
    summary: str
    content_digest: str
    approvals: tuple[SignedApproval, ...]
    path: str
    # The commit of the previous release (hash chain, see docs/release-model.md); None in the
    # first release and in records written before the field existed.
    previous_release: str | None = None


def record_path(version: Version) -> str:
    return f"{RELEASES_DIR}/{version.slug}.yml"


def tag_name(version: Version) -> str:
    return f"release/{version.slug}"


def _classes() -> list[str]:
    from manualkit.records.policy import CLASS_ORDER

    return list(CLASS_ORDER)


def _schema() -> Field:
    return Field(
        "",
        dict,
        "发布记录",
        fields=(
            Field("version", str, "版本", pattern=r"[A-Z]/[0-9]{1,3}"),
            Field("class", str, "修订类别", choices=_classes),
            Field("published", dt.date, "发布日期"),
            Field("effective", dt.date, "实施日期"),
            Field("previous", str, "上一版本", required=False, pattern=r"[A-Z]/[0-9]{1,3}"),
            Field("previous_release", str, "上一次发布的提交", required=False, pattern=r"[0-9a-f]{40}|[0-9a-f]{64}"),
            Field("change_requests", list, "修订申请单", items=Field("", str, "申请单号")),
            Field("sections", list, "修订章节", items=Field("", str, "节编号")),
            Field("summary", str, "修订内容摘要"),
            Field("content_digest", str, "manual/ 的 git 树哈希", pattern=r"[0-9a-f]{40}|[0-9a-f]{64}"),
            Field(
                "approvals",
                list,
                "签署",
                items=Field(
                    "",
                    dict,
                    "签署",
                    fields=tuple(
                        Field(k, str, k) for k in ("change_request", "role", "signer", "name", "signed_at", "digest")
                    ),
                ),
            ),
        ),
    )


KIND = signed.register(
    signed.RecordKind(
        "manual-release", RELEASES_DIR, "发布记录",
        fields=("version", "class", "published", "effective", "change_requests", "sections", "summary", "content_digest", "approvals"),
        optional=("previous", "previous_release"),
        code="MAN104", codes=("MAN748",), generic=False, marked=False, max_bytes=256 * 1024, schema=_schema,
    )
)  # fmt: skip


def parse_record(path: str, raw: bytes) -> tuple[ReleaseRecord | None, list[Diagnostic]]:
    text, diags = signed.decode_record(path, raw, KIND)
    if text is None:
        return None, diags
    data, more = signed.parse_text(path, text)
    if more:
        return None, diags + more
    if not isinstance(data, dict):
        return None, [diagnostic(path, 1, 1, "MAN104", "发布记录应为键值映射")]
    diags += validate(data, _schema(), path, 1)
    if diags:
        return None, diags
    published, effective = as_date(data["published"]), as_date(data["effective"])
    assert published is not None and effective is not None
    return (
        ReleaseRecord(
            version=Version.parse(str(data["version"])),
            class_key=str(data["class"]),
            published=published,
            effective=effective,
            previous=Version.parse(str(data["previous"])) if data.get("previous") else None,
            change_requests=tuple(str(c) for c in data["change_requests"]),
            sections=tuple(str(s) for s in data["sections"]),
            summary=str(data["summary"]),
            content_digest=str(data["content_digest"]),
            approvals=tuple(SignedApproval(**{k: str(a[k]) for k in ("change_request", "role", "signer", "name", "signed_at", "digest")}) for a in data["approvals"]),
            path=path,
            previous_release=str(data["previous_release"]) if data.get("previous_release") else None,
        ),
        [],
    )


def record_text(record: ReleaseRecord) -> str:
    """The YAML of a new release record (written once, never edited)."""

    lines = [
        f"# 发布记录 {record.version}: written by `manual release`; never edit a released record.",
        f"version: {record.version}",
        f"class: {record.class_key}",
        f"published: {record.published.isoformat()}",
        f"effective: {record.effective.isoformat()}",
    ]
    if record.previous is not None:
        lines.append(f"previous: {record.previous}")
    if record.previous_release is not None:
        lines.append(f"previous_release: {record.previous_release}")
    lines += [
        f"change_requests: [{', '.join(record.change_requests)}]",
        f"sections: [{', '.join(quoted(s) for s in record.sections)}]",
        f"summary: {quoted(record.summary)}",
        f"content_digest: {record.content_digest}",
        "approvals:",
    ]
    for a in record.approvals:
        lines += [
            f"  - change_request: {a.change_request}",
            f"    role: {a.role}",
            f"    signer: {a.signer}",
            f"    name: {quoted(a.name)}",
            f"    signed_at: {quoted(a.signed_at)}",
            f"    digest: {a.digest}",
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Record text as one Markdown table cell: shown, never run (HTML escaped) and never splitting
    the row (``|`` escaped, line breaks joined)."""
    import html

    return " ".join(html.escape(text, quote=False).split()).replace("|", "\\|")


def revision_history_text(records: Sequence[ReleaseRecord], title: str) -> str:
    """``changelog/revision-history.md``: the 修订记录 of every release."""
    from manualkit.records.revision_table import REVISION_COLUMNS, SIGNING_COLUMNS, section_names, signer_names

    rows = [
        f"# {title} 修订记录",
        "",
        "Generated by `manual release`; do not edit.",
        "",
        "| " + " | ".join(REVISION_COLUMNS) + " |",
        "|" + "---|" * len(REVISION_COLUMNS),
    ]
    for n, r in enumerate(records, start=1):
        sections = "全文" if r.previous is None else section_names(r.sections)
        rows.append(
            f"| {n} | {r.version} | {sections} | {_cell(r.summary)} | {'、'.join(r.change_requests)} | "
            + " | ".join(_cell(signer_names(r.approvals, role)) for role in SIGNING_COLUMNS)
            + f" | {r.published.isoformat()} | {r.effective.isoformat()} |"
        )
    return "\n".join(rows) + "\n"


# --- making a release ---------------------------------------------------------------------------


class ReleasePlan(NamedTuple):
    record: ReleaseRecord
    requests: tuple[ChangeRequest, ...]


def open_requests(requests: Mapping[str, ChangeRequest], records: Sequence[ReleaseRecord], returned: Collection[str] = ()) -> list[ChangeRequest]:
    """The requests not yet released and not returned (退回: a returned request is closed)."""
    released = {cr for r in records for cr in r.change_requests}
    return [cr for cr_id, cr in sorted(requests.items()) if cr_id not in released and cr_id not in returned]


class ReleaseContext(NamedTuple):
    """What the chain of trust needs to judge a release (see records.trust): the controlled
    digests of the last release (None for the first) and of the release being made, the policy
    the release brings, the sections changed since the last release, and the company's today."""

    before: Mapping[str, str] | None
    after: Mapping[str, str]
    new_policy: Policy | None
    changed: frozenset[str]
    today: dt.date | None
    previous_release: str | None = None  # the commit of the last release (records.trust.release_commit)


def plan_release(
    manual: Manual,
    policy: Policy,
    requests: Mapping[str, ChangeRequest],
    records: Sequence[ReleaseRecord],
    *,
    published: dt.date,
    effective: dt.date,
    content_digest: str,
    context: ReleaseContext | None = None,
    returned: Collection[str] = (),
    revocations: Sequence[Any] = (),
) -> ReleasePlan:
    """Decide the next release, or raise with every reason it is refused. Pure.

    ``policy`` is the policy in force before this release (the last release's; for the first
    release, the root being set up): it decides the class, the roles, the signers, the notice
    period and the version step, whatever policy the release itself brings. Every check
    ``manual audit`` applies to a release is applied here first, so what release accepts, audit
    accepts.
    """
    from manualkit.base.clock import company_day, zone
    from manualkit.records.approval import approval_findings, missing_roles
    from manualkit.records.change_request import CONTROLLED, content_findings
    from manualkit.records.trust import trust_findings

    pending = open_requests(requests, records, returned)
    if not pending:
        raise fail(RELEASES_DIR, 0, 0, "MAN662", "没有待发布的修订申请单；请先用 manual propose 提出并完成签署")
    company_zone = zone(context.new_policy.time_zone if context and context.new_policy else policy.time_zone)
    controlled = context.after if context else None
    problems: list[Diagnostic] = []
    approvals: list[Any] = []
    signed_roles: dict[str, set[str]] = {}
    for cr in pending:
        problems += [d for d in content_findings(cr, manual, policy) if d.severity is Severity.ERROR]
        checks, findings = approval_findings(cr, manual, policy, revocations, controlled)
        problems += [d for d in findings if d.severity is Severity.ERROR]
        signed_roles[cr.id] = {c.approval.role for c in checks if c.valid}
        consulted = as_date(cr.data["staff_consultation"].get("date"))
        if cr.consultation_required and consulted is not None and consulted >= effective:
            line, _ = yamlfile.position(cr.data, "staff_consultation")
            problems.append(
                diagnostic(
                    cr.path, line, 1, "MAN643",
                    f"{cr.id} 涉及考核规则，职工协商日期 {consulted} 不早于实施日期 {effective}；须在实施日期前完成协商和公示（见 8.4），请推迟 --effective",
                )
            )  # fmt: skip
        lacking = missing_roles(cr, checks, policy)
        if lacking:
            problems.append(diagnostic(cr.path, 1, 1, "MAN660", f"{cr.id} 尚缺有效签署：{'、'.join(lacking)}；请用 manual approve 签署"))
        for c in checks:
            if not c.valid:
                continue
            approvals.append(c.approval)
            day = company_day(c.approval.signed_at, company_zone)
            if day is not None and day > published:
                problems.append(
                    diagnostic(
                        cr.path, c.approval.line, 1, "MAN713",
                        f"{cr.id} 的“{c.approval.role}”签署于 {day}（公司时区），晚于发布日期 {published}；发布日期不得早于最后一项签署",
                    )
                )  # fmt: skip
            if day is not None and day < cr.date:
                problems.append(
                    diagnostic(
                        cr.path, c.approval.line, 1, "MAN744",
                        f"{cr.id} 的“{c.approval.role}”签署于 {day}，早于申请日期 {cr.date}；签署不能早于申请",
                    )
                )  # fmt: skip
    classes = [policy.classes[cr.class_key] for cr in pending]
    change_class = min(classes, key=lambda c: c.rank)
    previous = records[-1] if records else None
    version = Version.first() if previous is None else previous.version.next(change_class.version_step, policy.revision_limit)
    earliest = published + dt.timedelta(days=change_class.notice_days)
    if effective < earliest:
        problems.append(
            diagnostic(
                RELEASES_DIR, 0, 0, "MAN663",
                f"{change_class.name}的最短公告期为 {change_class.notice_days} 日：发布日期 {published} 的版本最早于 {earliest} 实施，"
                f"不能定为 {effective}；请推迟 --effective",
            )
        )  # fmt: skip
    if context is not None and context.today is not None:
        if published > context.today:
            problems.append(diagnostic(RELEASES_DIR, 0, 0, "MAN746", f"发布日期 {published} 晚于今天 {context.today}（公司时区）；不能预填发布日期"))
        if published <= effective < context.today:  # (earlier than published is MAN663)
            problems.append(diagnostic(RELEASES_DIR, 0, 0, "MAN747", f"实施日期 {effective} 早于今天 {context.today}（公司时区）；新版本不能在发布之前就已生效"))
    if previous is not None and effective <= previous.effective:
        problems.append(
            diagnostic(
                RELEASES_DIR, 0, 0, "MAN664",
                f"实施日期 {effective} 不晚于上一版本 {previous.version} 的实施日期 {previous.effective}；新版本的实施日期须晚于上一版本（见 8.4）",
            )
        )  # fmt: skip
    if previous is not None and published < previous.published:
        problems.append(
            diagnostic(RELEASES_DIR, 0, 0, "MAN665", f"发布日期 {published} 早于上一版本的发布日期 {previous.published}；不能倒签发布日期")
        )
    if context is not None:
        problems += trust_findings(RELEASES_DIR, "", pending, context.before, context.after, policy, context.new_policy, signed_roles)
        if previous is not None:
            listed = {s for cr in pending for s in cr.sections}
            listed |= front_matter_covered(listed)
            for sid in sorted(context.changed - listed - set(CONTROLLED), key=section_sort_key):  # those: MAN740
                problems.append(
                    diagnostic(
                        MANUAL_DIR, 0, 0, "MAN710",
                        f"自 {previous.version} 版发布以来，{section_label(sid)}被修改，但待发布的修订申请单都没有列出它；请用 manual propose 补充申请单或撤销修改",
                    )
                )  # fmt: skip
    if problems:
        raise ManualError(problems)
    sections = sorted({s for cr in pending for s in cr.sections}, key=section_sort_key)
    record = ReleaseRecord(
        version=version,
        class_key=change_class.key,
        published=published,
        effective=effective,
        previous=previous.version if previous else None,
        change_requests=tuple(cr.id for cr in pending),
        sections=tuple(sections),
        summary="；".join(cr.title for cr in pending),
        content_digest=content_digest,
        approvals=tuple(
            SignedApproval(cr.id, a.role, a.signer, a.name, a.signed_at, a.digest)
            for cr in pending
            for a in sorted((c for c in cr.approvals if c in approvals), key=lambda a: ROLE_INDEX.get(a.role, 9))
        ),
        path=record_path(version),
        previous_release=context.previous_release if context and previous is not None else None,
    )
    round_trip(record)
    return ReleasePlan(record, tuple(pending))


def round_trip(record: ReleaseRecord) -> None:
    """Refuse a record that does not read back exactly as written (MAN745): what is released
    must be what every later reader (and ``manual audit``) sees."""
    text = record_text(record)
    parsed, diags = parse_record(record.path, text.encode("utf-8"))
    if parsed != record:
        where = "；".join(d.message for d in diags[:3]) or "读回的字段与写入的不同"
        raise fail(record.path, 0, 0, "MAN745", f"发布记录 {record.version} 无法原样写入并读回（{where}）；请检查修订申请单标题等字段中的特殊字符")


FRONT = ".front"  # a chapter's front matter, compared like a section: ``N.front``


def front_matter_covered(sections: Iterable[str]) -> set[str]:
    """The front matter a request may change: that of every chapter one of its sections is in
    (``manual.yml`` and the other controlled items are not chapters)."""
    return {f"{sid.split('.')[0]}{FRONT}" for sid in sections if sid.split(".")[0].isdigit()}


def section_sort_key(sid: str) -> tuple[int, ...]:
    """Sections in numeric order; ``policy`` and ``certs`` after them."""
    return tuple(int(p) if p.isdigit() else 10_000 for p in sid.split("."))


def section_label(sid: str) -> str:
    from manualkit.records.trust import CONTROLLED_LABEL

    if sid in CONTROLLED_LABEL:
        return CONTROLLED_LABEL[sid]
    if sid.endswith(".front"):
        return f"第{sid.split('.')[0]}章的前置元数据（章标题、负责部门或评审周期）"
    return f"第{sid.split('.')[0]}章章首文字" if sid.endswith(".0") else f"第 {sid} 节"


ROLE_INDEX = {"编制": 0, "审核": 1, "会签": 2, "批准": 3}


def _fault(point: str) -> None:
    """Fault injection for the atomicity tests: ``MANUAL_FAULT_INJECT=<point>`` kills us there."""
    if os.environ.get("MANUAL_FAULT_INJECT") == point:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _git_dir(root: Path) -> Path:
    found = git.facts(root)
    if found is None:
        raise git.GitError(f"{root} 不是 git 仓库")
    return found.git_dir


def commit_release(root: Path, plan: ReleasePlan, records: Sequence[ReleaseRecord], title: str, author_env: Mapping[str, str]) -> str:
    """Write the release as one commit + tag, atomically; then bring the working tree up to date."""
    old = git.head(root)
    if old is None:
        raise fail(".", 0, 0, "MAN661", "仓库还没有任何提交；请先提交手册")
    record = plan.record
    tag = tag_name(record.version)
    stale = git.run(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}", check=False).decode().strip()
    if stale:
        raise fail(
            ".", 0, 0, "MAN666",
            f"标签 {tag} 已存在（指向 {stale[:10]}），但本分支的发布记录中没有 {record.version}；请核对后删除该标签，或先合并包含该发布的分支",
        )  # fmt: skip
    files = {
        record.path: record_text(record),
        REVISION_HISTORY_PATH: revision_history_text([*records, record], title),
    }
    git_dir = _git_dir(root)
    index = git_dir / "manual-release.index"
    index.unlink(missing_ok=True)
    env = {**author_env, "GIT_INDEX_FILE": str(index)}
    try:
        git.run(root, "read-tree", old, env=env)
        for path, content in files.items():
            sha = git.run(root, "hash-object", "-w", "--stdin", input=content.encode("utf-8")).decode().strip()
            git.run(root, "update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", env=env)
        tree = git.text(root, "write-tree", env=env)
        message = f"release {record.version}: {record.summary}\n\n实施日期 {record.effective}，修订申请单 {'、'.join(record.change_requests)}\n"
        new = git.run(root, "commit-tree", tree, "-p", old, input=message.encode("utf-8"), env=author_env).decode().strip()
    finally:
        index.unlink(missing_ok=True)
    _fault("after-objects")
    branch = git.run(root, "symbolic-ref", "-q", "HEAD", check=False).decode().strip() or "HEAD"
    pending = git_dir / PENDING_FILE
    pending.write_text(json.dumps({"old": old, "new": new, "paths": sorted(files)}) + "\n")
    _fault("after-journal")
    transaction = f"start\nupdate {branch} {new} {old}\ncreate refs/tags/{tag} {new}\nprepare\ncommit\n"
    try:
        git.run(root, "update-ref", "--stdin", input=transaction.encode())
    except git.GitError as exc:  # the branch or the tag changed meanwhile: nothing was updated
        pending.unlink(missing_ok=True)
        said = next((line.strip() for line in str(exc).splitlines() if line.strip()), "git update-ref")  # git's advice runs on for lines
        raise fail(".", 0, 0, "MAN666", f"分支或标签 {tag} 在发布期间被改动（{said}）；仓库未作任何修改，请重新运行 manual release") from None
    _fault("after-ref")
    finish_pending_release(root)
    return new


def finish_pending_release(root: Path) -> None:
    """Complete (or discard) a release interrupted between its ref update and the checkout."""
    try:
        pending = _git_dir(root) / PENDING_FILE
    except git.GitError:
        return
    if not pending.is_file():
        return
    from manualkit.base.lock import lock_if_free

    with lock_if_free(root, "release") as held:
        if held:  # else a release is running: it finishes its own journal
            _finish(root, pending)


def _finish(root: Path, pending: Path) -> None:
    if not pending.is_file():  # finished meanwhile
        return
    try:
        journal = json.loads(pending.read_text())
        new, paths = str(journal["new"]), [str(p) for p in journal["paths"]]
    except (ValueError, KeyError, TypeError):
        pending.unlink(missing_ok=True)
        return
    if git.head(root) == new:
        # Only the release's own files differ from the working tree (they were clean before):
        # bring exactly those into the index and the working tree; nothing else is touched.
        git.run(root, "checkout", new, "--", *paths)
        _fault("during-checkout")
    pending.unlink(missing_ok=True)
