"""The chain of trust: the rules, the signers and the certificates are controlled by what was in
force before them.

The policy and approver registry of the first release (A/0) are the root. Every later change to
``manual/policy.yml`` or to ``certs/`` must be carried by a change request listing ``policy`` or
``certs`` among its sections; that request, like every other, is judged (class, required roles,
signers and their keys) by the policy of the last release before it, never by the policy it
introduces. A change to the rules or the signers is at least a 一般修订 and always needs 批准.

The working calendar ``manual/calendar.yml`` (``calendar``: the company's rest days and the
statutory schedule of years the chinese-calendar package does not cover) is controlled the same
way: it moves every five-working-day deadline of chapter 8, so changing it changes the rules. What
is controlled is the calendar it defines, not its comments: an empty calendar is the same as none
(so a manual that predates the file, or adopts it empty, needs no request), and an edit of the
comments needs none either.

``manual/obligations.yml`` is deliberately NOT controlled here: it is the tool's configuration, a
map from chapter 8's sentences to the check, command or person that carries them out. It decides
nothing (no deadline, class, role, signer or certificate is read from it); ``manual check`` proves
it against the text in force on every run (MAN830/MAN831, every code it names exists: MAN832), and
the sentences it maps are themselves released text. Changing it is reviewed like a change of the
tool's code, in the pull request.

The controlled files are summarised as digests (:func:`controlled_digests`): what an approval of a
``policy``, ``certs`` or ``calendar`` request signs, and what a release compares with its
predecessor.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from manualkit.base import git
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records.change_request import CONTROLLED
from manualkit.records.policy import CLASS_ORDER, POLICY_PATH, Policy, load_policy
from manualkit.records.workdays import CALENDAR_PATH, load_calendar
from manualkit.text.metadata import METADATA_PATH
from manualkit.text.worktree import MAX_FILE_BYTES

if TYPE_CHECKING:
    from manualkit.records.change_request import ChangeRequest

# This module sits below records.release, records.history and records.repository (release plans
# use it), so it imports none of them: a release record is anything with a ``path`` inside
# changelog/releases/, and a reader of git objects anything with ``blob`` and ``files``.


class _Record(Protocol):
    @property
    def path(self) -> str: ...


class _Objects(Protocol):
    """What the controlled digests are read through (records.repository.ObjectReader)."""

    def blob(self, commit: str, path: str, limit: int = ...) -> bytes | None: ...

    def files(self, commits: Iterable[str], prefix: str) -> dict[str, list[Any]]: ...

    def resolve(self, names: Iterable[str]) -> Mapping[str, Any]: ...

    def read(self, shas: Iterable[str]) -> Mapping[str, bytes]: ...


CERTS_DIR = "certs"
APPROVING_ROLE = "批准"
MAX_CERT_BYTES = 256 * 1024
CONTROLLED_LABEL = {
    "policy": "修订政策与签署人名录（manual/policy.yml）",
    "certs": "受信任的发布证书（certs/）",
    "calendar": "工作日历（manual/calendar.yml）",
    "manual.yml": "手册标识（manual/manual.yml：公司、文件名称、发布部门等）",
}
#: Where a finding about each controlled item points.
CONTROLLED_PATH = {"policy": POLICY_PATH, "certs": CERTS_DIR, "calendar": CALENDAR_PATH, "manual.yml": METADATA_PATH}


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@functools.lru_cache(maxsize=64)
def calendar_digest(raw: bytes | None) -> str:
    """sha256 of the calendar ``manual/calendar.yml`` defines (its years and company rest days,
    sorted), "" when it defines nothing (absent or empty); of the bytes when it does not load.
    Kept for the process: a long history's releases mostly share one calendar."""
    if raw is None:
        return ""
    calendar, problems = load_calendar({CALENDAR_PATH: raw})
    if problems:
        return hashlib.sha256(raw).hexdigest()
    if not calendar.years and not calendar.rest_days:
        return ""
    years = {str(y): [sorted(map(str, h)), sorted(map(str, w))] for y, (h, w) in sorted(calendar.years.items())}
    canonical = json.dumps({"years": years, "company_rest_days": sorted(map(str, calendar.rest_days))}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def controlled_digests(
    policy_raw: bytes | None, certs: Iterable[tuple[str, str]], calendar_raw: bytes | None = None, metadata_raw: bytes | None = None
) -> dict[str, str]:
    """``{"policy": sha256 of policy.yml, "certs": sha256 of the sorted (path, blob id) list,
    "calendar": see calendar_digest, "manual.yml": sha256 of manual.yml}``. The manual's
    identity (company, title, issuing department: printed on every page) is controlled like the
    rules: a change is listed by a request as ``manual.yml`` and judged by the policy in force."""
    listing = "".join(f"{path} {blob}\n" for path, blob in sorted(certs))
    return {
        "policy": hashlib.sha256(policy_raw).hexdigest() if policy_raw is not None else "",
        "certs": hashlib.sha256(listing.encode("utf-8")).hexdigest(),
        "calendar": calendar_digest(calendar_raw),
        "manual.yml": hashlib.sha256(metadata_raw).hexdigest() if metadata_raw is not None else "",
    }


def _read(root: Path, rel: str) -> bytes | None:
    """The file's bytes (bounded), None when it does not exist; a file too large or unreadable is
    a marker that differs from every content, so its change is never mistaken for none (the
    snapshot reports the file itself, MAN004)."""
    from manualkit.text.worktree import read_bounded

    if not (root / rel).exists():
        return None
    data, problem = read_bounded(root / rel, rel)
    return data if data is not None else b"\0unreadable\0" + (problem.message if problem else "").encode("utf-8")


def controlled_in_worktree(root: Path) -> dict[str, str]:
    """The controlled digests of the working tree."""
    from manualkit.text.worktree import read_dir_files

    certs, _ = read_dir_files(root, CERTS_DIR, (".pem",))
    blobs = ((path, _blob_id(data)) for path, data in certs.items())
    return controlled_digests(_read(root, POLICY_PATH), blobs, _read(root, CALENDAR_PATH), _read(root, METADATA_PATH))


def controlled_at(objects: _Objects, commit: str) -> dict[str, str]:
    """The controlled digests recorded in ``commit``."""
    prefetch_controlled(objects, [commit])  # nothing more to read when an audit prefetched them all
    policy_raw = objects.blob(commit, POLICY_PATH)
    items = objects.files([commit], CERTS_DIR)[commit]
    blobs = ((i.path, i.sha) for i in items if i.path.endswith(".pem"))
    return controlled_digests(policy_raw, blobs, objects.blob(commit, CALENDAR_PATH), objects.blob(commit, METADATA_PATH))


def prefetch_controlled(objects: _Objects, commits: Sequence[str]) -> None:
    """Read what :func:`controlled_at` reads, for every one of ``commits`` at once: two git
    processes in all (more only for folders inside certs/) instead of about six for each commit;
    an audit compares each release and each later commit. Files too large for
    :func:`controlled_at` are left for it to refuse."""
    found = objects.resolve(f"{c}:{path}" for c in commits for path in (POLICY_PATH, CALENDAR_PATH, METADATA_PATH, CERTS_DIR))
    objects.read(i.sha for i in found.values() if i is not None and (i.kind == "tree" or (i.kind == "blob" and i.size <= MAX_FILE_BYTES)))
    objects.files(commits, CERTS_DIR)


def trusted_certificates_at(root: Path, commit: str) -> list[bytes]:
    """The PEM files under ``certs/`` in ``commit`` (the certificates in force), bounded in size."""
    contents, _ = git.read_tree_files(root, commit, CERTS_DIR + "/", limit=MAX_CERT_BYTES)
    return [data for path, data in sorted(contents.items()) if path.endswith(".pem")]


def release_commit(root: Path, record: _Record) -> str | None:
    """The commit that added ``record`` (first-parent history of HEAD)."""
    return git.commits_adding(root, record.path.rsplit("/", 1)[0] + "/").get(record.path)


def policy_at(root: Path, commit: str) -> Policy | None:
    raw = git.show(root, commit, POLICY_PATH)
    return load_policy({POLICY_PATH: raw})[0] if raw is not None else None


def policy_in_force(root: Path, records: Sequence[_Record], current: Policy | None) -> Policy | None:
    """The policy that judges what comes next: the last release's, or, before the first release,
    the policy being set up (the root)."""
    if not records:
        return current
    commit = release_commit(root, records[-1])
    return policy_at(root, commit) if commit else None


def judging(root: Path, records: Sequence[_Record], current: Policy) -> Policy:
    """The policy in force (see :func:`policy_in_force`), or an error when it cannot be loaded."""
    from manualkit.base.diagnostics import fail

    judge = policy_in_force(root, records, current)
    if judge is None:
        raise fail(POLICY_PATH, 0, 0, "MAN683", "上一次发布时的修订政策无法加载；请运行 manual audit")
    return judge


def trust_findings(
    path: str,
    label: str,
    requests: Sequence[ChangeRequest],
    before: Mapping[str, str] | None,
    after: Mapping[str, str],
    judge: Policy,
    new_policy: Policy | None,
    signed_roles: Mapping[str, Collection[str]],
) -> list[Diagnostic]:
    """What the chain of trust requires of a release (or of the open change requests):

    * a change of ``policy``, ``certs`` or ``calendar`` since ``before`` (the last release; None for the root)
      is listed by one of ``requests`` (MAN740);
    * such a request is at least a 一般修订 and validly signed in 批准 (MAN741), by ``judge``;
    * no id of ``new_policy`` holds a key ``judge`` registered to another id (MAN743).
    """
    out: list[Diagnostic] = []
    minor = CLASS_ORDER.index("minor")
    for key in CONTROLLED:
        if before is not None and before.get(key) != after.get(key) and not any(key in cr.sections for cr in requests):
            out.append(
                diagnostic(
                    path, 0, 0, "MAN740",
                    f"{label}{CONTROLLED_LABEL[key]}与上一次发布不同，但没有修订申请单列出 {key}；"
                    f"请运行 manual propose --sections {key}，由现行名录中的签署人签署",
                )
            )  # fmt: skip
    for cr in requests:
        listed = [k for k in CONTROLLED if k in cr.sections]
        if not listed:
            continue
        what = "、".join(CONTROLLED_LABEL[k] for k in listed)
        if cr.class_key not in CLASS_ORDER or CLASS_ORDER.index(cr.class_key) > minor:
            out.append(diagnostic(cr.path, 1, 1, "MAN741", f"{label}{cr.id} 修改{what}，须至少为一般修订（--class minor 或 major）"))
        if APPROVING_ROLE not in signed_roles.get(cr.id, ()):
            out.append(diagnostic(cr.path, 1, 1, "MAN741", f"{label}{cr.id} 修改{what}，须由现行名录中有权批准的人有效签署“{APPROVING_ROLE}”"))
    if new_policy is not None:
        for a in new_policy.approvers:
            holder = judge.approver_with_key(a.public_key)
            if holder is not None and holder.id != a.id:
                out.append(
                    diagnostic(
                        POLICY_PATH, 0, 0, "MAN743",
                        f"{label}签署人 {a.id} 登记的公钥在现行名录中属于 {holder.id}（{holder.name}）；一人一钥，不得把他人的钥匙登记到另一标识下",
                    )
                )  # fmt: skip
    return out
