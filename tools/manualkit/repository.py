"""The controlled document as it stands at one point: the working tree or a commit.

A :class:`Snapshot` bundles what every command needs — the manual, the policy, the change
requests and the release records — loaded by the same pure functions from either source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from manualkit import git
from manualkit.change_request import REQUESTS_DIR, ChangeRequest, load_change_requests
from manualkit.diagnostics import Diagnostic, ManualError, Severity, diagnostic, fail
from manualkit.manual import MANUAL_DIR, Manual, ManualFiles, load_manual
from manualkit.policy import Policy, load_policy
from manualkit.release import RELEASES_DIR, ReleaseRecord, finish_pending_release, load_records
from manualkit.review import REVIEWS_DIR
from manualkit.worktree import read_dir_files, read_manual_files

CHANGELOG_DIR = "changelog"


@dataclass
class Snapshot:
    manual: Manual | None
    policy: Policy | None
    requests: dict[str, ChangeRequest]
    records: list[ReleaseRecord]
    files: ManualFiles
    records_raw: dict[str, bytes]
    reviews_raw: dict[str, bytes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def require(self) -> tuple[Manual, Policy]:
        """The manual and policy, or an error listing why they cannot be loaded."""
        if self.manual is None or self.policy is None or any(d.severity is Severity.ERROR for d in self.diagnostics):
            errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
            raise ManualError(errors or [diagnostic(MANUAL_DIR, 0, 0, "MAN008", "手册无法加载；请先运行 manual check 修复")])
        return self.manual, self.policy


def _snapshot(files: ManualFiles, changelog: dict[str, bytes], extra: list[Diagnostic]) -> Snapshot:
    result = load_manual(files)
    diags = list(result.diagnostics) + extra
    policy, more = load_policy(files.contents)
    diags += more
    departments = result.manual.metadata.departments if result.manual else ()
    requests, more = load_change_requests({k: v for k, v in changelog.items() if k.startswith(REQUESTS_DIR + "/")}, departments)
    diags += more
    records_raw = {k: v for k, v in changelog.items() if k.startswith(RELEASES_DIR + "/")}
    records, more = load_records(records_raw)
    diags += more
    reviews_raw = {k: v for k, v in changelog.items() if k.startswith(REVIEWS_DIR + "/")}
    return Snapshot(result.manual, policy, requests, records, files, records_raw, reviews_raw, diags)


def worktree_snapshot(root: Path) -> Snapshot:
    if (root / ".git").exists():
        finish_pending_release(root)
    files = read_manual_files(root)
    changelog, problems = read_dir_files(root, CHANGELOG_DIR)
    return _snapshot(files, changelog, problems)


def commit_snapshot(root: Path, commit: str) -> Snapshot:
    """The state recorded in ``commit``, read from git objects (never the working tree)."""
    contents, refused = git.read_tree_files(root, commit, MANUAL_DIR + "/")
    problems = [diagnostic(e.path, 0, 0, "MAN004", f"{commit[:10]} 中的该文件过大或为符号链接，未读取") for e in refused]
    names = frozenset([*contents, *(e.path for e in refused)])
    files = ManualFiles({k: v for k, v in contents.items() if k.endswith((".md", ".yml", ".yaml"))}, names, tuple(problems))
    changelog, refused = git.read_tree_files(root, commit, CHANGELOG_DIR + "/")
    return _snapshot(files, {k: v for k, v in changelog.items() if k.endswith(".yml")}, [])


def require_full_history(root: Path) -> None:
    if not git.is_repository(root):
        raise fail(str(root), 0, 0, "MAN602", "这里不是 git 仓库；手册的发布与审计依赖完整的 git 历史")
    if git.is_shallow(root):
        raise fail(
            str(root), 0, 0, "MAN603",
            "这是浅克隆（shallow clone），缺少早期提交，无法提供可证明的历史；请运行 git fetch --unshallow 获取完整历史",
        )  # fmt: skip
