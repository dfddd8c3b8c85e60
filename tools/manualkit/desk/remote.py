"""The server mode's clone: fetched before every page, and each new signature record committed
and pushed to the branch the desk serves (the change request's pull-request branch). Pushes are
made under the repository lock; a push refused because another desk pushed first is retried on
top of the remote's new tip, so two signers signing at once both land."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from manualkit.base import git
from manualkit.base.diagnostics import fail
from manualkit.base.lock import repository_lock

PUSH_ATTEMPTS = 5


@dataclass(frozen=True)
class Remote:
    root: Path
    name: str

    def branch(self) -> str:
        name = git.text(self.root, "symbolic-ref", "--quiet", "--short", "HEAD")
        if not name:
            raise fail(".git/HEAD", 0, 0, "MAN908", "签署台的克隆不在任何分支上；请检出修订申请单所在的分支")
        return name

    def fetch(self) -> None:
        """Bring the served branch up to the remote's (fast-forward only; nothing local is lost)."""
        with repository_lock(self.root, "desk-fetch"):
            self._update()

    def _update(self) -> None:
        branch = self.branch()
        try:
            git.run(self.root, "fetch", "--quiet", self.name, branch)
            git.run(self.root, "merge", "--quiet", "--ff-only", "FETCH_HEAD")
        except git.GitError as e:
            raise fail(self.name, 0, 0, "MAN908", f"无法从 {self.name} 取得分支 {branch} 的最新内容：{str(e)[:200]}") from e

    def publish(self, paths: Sequence[str], message: str, reapply: Callable[[], None] | None = None) -> str:
        """Commit the record files ``paths`` (the request's, or a new return) and push them;
        returns the commit pushed. When another desk pushed first, the commit is rebased on the
        remote's tip; if both changed the same file (two signatures on one request), the clone
        is moved to the remote's tip and ``reapply`` writes the signed record again there (the
        signature covers the request without its approvals, so it stays what it is)."""
        with repository_lock(self.root, "desk-push"):
            self._commit(paths, message)
            branch = self.branch()
            for _ in range(PUSH_ATTEMPTS):
                if git.run(self.root, "push", "--quiet", self.name, f"HEAD:refs/heads/{branch}", check=False) == b"" and self._pushed(branch):
                    return git.text(self.root, "rev-parse", "HEAD")
                git.run(self.root, "fetch", "--quiet", self.name, branch)
                try:
                    git.run(self.root, "rebase", "--quiet", "FETCH_HEAD")
                except git.GitError as e:
                    git.run(self.root, "rebase", "--abort", check=False)
                    if reapply is None:
                        raise fail(paths[0], 0, 0, "MAN908", f"签名已写入本地，但与 {self.name} 上的修改冲突，未能推送：{str(e)[:200]}") from e
                    git.run(self.root, "reset", "--quiet", "--keep", "FETCH_HEAD")
                    reapply()
                    self._commit(paths, message)
            raise fail(paths[0], 0, 0, "MAN908", f"签名已写入本地，但多次推送到 {self.name} 均被拒绝；请稍后重试")

    def _commit(self, paths: Sequence[str], message: str) -> None:
        git.run(self.root, "add", "--", *paths)
        git.run(self.root, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths)

    def _pushed(self, branch: str) -> bool:
        here = git.text(self.root, "rev-parse", "HEAD")
        there = git.run(self.root, "ls-remote", self.name, f"refs/heads/{branch}", check=False).decode().split()
        return bool(there) and there[0] == here
