"""``manual audit --witness FILE...``: history rewritten is caught against what others kept.

A witness is something made earlier and kept outside the repository: a signed DOCX release
(its custom properties name the version, dates, content digest and signers, under the package
signature) or the output of an earlier ``manual history --json``. Every release the witness saw
is compared with the record in git now; a release missing, or any field that differs (dates,
change requests, content digest, the release commit itself, signers), is MAN749 naming the
witness, the version and both values. A history rewritten with new, internally consistent
records passes every check from the inside; it cannot agree with a witness made before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manualkit.base.diagnostics import Diagnostic
    from manualkit.records.history import ReleaseEntry

MAX_WITNESS_BYTES = 64 * 1024 * 1024
_HISTORY_FIELDS = {
    "published": "发布日期", "effective_from": "实施日期", "change_requests": "修订申请单", "sections": "修订章节",
    "digest": "内容摘要", "commit": "发布提交", "approvals": "签署",
}  # fmt: skip


def witness_findings(root: Path, paths: Sequence[Path], entries: Sequence[ReleaseEntry]) -> list[Diagnostic]:
    """Every difference between the witnesses and the release records in git (MAN749)."""
    from manualkit.base.diagnostics import diagnostic

    out: list[Diagnostic] = []
    for path in paths:
        name = str(path)
        try:
            if path.stat().st_size > MAX_WITNESS_BYTES or not path.is_file():
                out.append(diagnostic(name, 0, 0, "MAN749", f"见证文件不是普通文件或超过 {MAX_WITNESS_BYTES // 1024 // 1024} MiB，未读取"))
                continue
            data = path.read_bytes()
        except OSError as exc:
            out.append(diagnostic(name, 0, 0, "MAN749", f"无法读取见证文件：{exc.strerror}"))
            continue
        if data.startswith(b"PK"):
            out += _docx_witness(root, name, data, entries)
        else:
            out += _history_witness(name, data, entries)
    return out


def _history_witness(name: str, data: bytes, entries: Sequence[ReleaseEntry]) -> list[Diagnostic]:
    from manualkit.base.diagnostics import diagnostic

    try:
        seen = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return [diagnostic(name, 0, 0, "MAN749", "见证文件既不是 DOCX，也不是 manual history --json 的输出")]
    if isinstance(seen, dict) and "releases" in seen:  # {"releases", "returned_requests"}; a list before
        seen = seen["releases"]
    if not isinstance(seen, list) or not all(isinstance(e, dict) and isinstance(e.get("version"), str) for e in seen):
        return [diagnostic(name, 0, 0, "MAN749", "见证文件不是 manual history --json 的输出（应为含 version 的对象列表）")]
    now = {str(e.record.version): e.as_dict() for e in entries}
    out = []
    for witnessed in seen:
        version = witnessed["version"]
        current = now.get(version)
        if current is None:
            out.append(diagnostic(name, 0, 0, "MAN749", f"见证中有 {version} 版，但 git 中已没有该版本的发布记录"))
            continue
        for key, label in _HISTORY_FIELDS.items():
            if key not in witnessed:
                continue
            have, want = _comparable(key, witnessed[key]), _comparable(key, current.get(key))
            if have != want:
                out.append(diagnostic(name, 0, 0, "MAN749", f"{version} 版的{label}与见证不一致：见证为“{_shown(have)}”，git 中为“{_shown(want)}”"))
    return out


def _comparable(key: str, value: Any) -> Any:
    if key == "approvals" and isinstance(value, list):
        return sorted(
            (str(a.get("change_request")), str(a.get("role")), str(a.get("signer")), str(a.get("signed_at"))) for a in value if isinstance(a, Mapping)
        )
    return value


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(" ".join(v) if isinstance(v, tuple) else str(v) for v in value) or "（无）"
    return str(value) if value is not None else "（无）"


def _docx_witness(root: Path, name: str, data: bytes, entries: Sequence[ReleaseEntry]) -> list[Diagnostic]:
    from manualkit.base.diagnostics import ManualError, diagnostic
    from manualkit.commands.verify import custom_properties, identity_differences, identity_of
    from manualkit.documents.ooxml_package import read_package
    from manualkit.documents.package_signature import verify_package
    from manualkit.documents.release_document import render_release
    from manualkit.records.edition import Status

    try:
        report = verify_package(data)
        signed = custom_properties(data) if report.status == "valid" else {}
    except ManualError as exc:
        return [diagnostic(name, 0, 0, "MAN749", f"见证 DOCX 已损坏：{exc.diagnostics[0].message}")]
    if report.status != "valid":
        return [diagnostic(name, 0, 0, "MAN749", f"见证 DOCX 的数字签名无效（{report.status}），不能作为见证")]
    version = signed.get("version", "")
    index = next((i for i, e in enumerate(entries) if str(e.record.version) == version), None)
    if index is None:
        return [diagnostic(name, 0, 0, "MAN749", f"见证 DOCX 是 {version or '（无版本）'} 版，但 git 中已没有该版本的发布记录")]
    try:
        status = Status(signed.get("status", ""))
    except ValueError:
        status = Status.IN_FORCE
    try:
        # Only the identity properties are compared: the contents' page numbers are taken from the
        # witness itself, so no layout engine is needed.
        from manualkit.documents.toc import toc_page_numbers

        expected = read_package(render_release(root, entries, index, status, False, env={}, pages=toc_page_numbers(data)))
    except ManualError as exc:
        return [diagnostic(name, 0, 0, "MAN749", f"{version} 版无法从 git 重新生成以与见证比对：{exc.diagnostics[0].message}")]
    return [diagnostic(name, 0, 0, "MAN749", f"{version} 版与见证 DOCX 不一致：{line}") for line in identity_differences(signed, identity_of(expected))]
