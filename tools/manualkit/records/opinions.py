"""Review opinions (审核意见): what one reviewer wrote in one returned review copy.

``changelog/opinions/<CR>-<reviewer>-<n>.yml``, written once by ``manual import-review`` and never
edited (docs/release-model.md, "Record formats agreed …"). Each opinion has a number ``<CR>#<k>``,
``k`` counting on from the request's opinion files before it, so an answer
(``changelog/answers/<CR>-<k>.yml``) names one opinion for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manualkit.base import yamlfile
from manualkit.base.characters import first_disallowed
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records import signed

OPINIONS_DIR = "changelog/opinions"
KIND = "manual-opinions/1"
REVIEWER_RE = re.compile(r"[a-z][a-z0-9.-]{0,39}")
_NAME_RE = re.compile(r"(CR-\d{4}-\d{3})-([a-z][a-z0-9.-]{0,39})-(\d{1,4})\.yml")
OPINION_KINDS = ("comment", "insertion", "deletion", "replacement", "unmapped")
_FIELDS = ("kind", "section", "paragraph", "author", "date", "marked", "text", "old", "new", "reply_to", "where", "reason")
KIND_TITLES = {"comment": "批注", "insertion": "插入", "deletion": "删除", "replacement": "替换", "unmapped": "未能对应正文的修订"}

RECORD_KIND = signed.register(
    signed.RecordKind(
        KIND, OPINIONS_DIR, "审核意见记录",
        fields=("request", "reviewer", "sequence", "base_version", "copy_digest", "source_digest", "imported_at", "opinions"),
        optional=("by", "signature"),
        types={"sequence": int, "opinions": list},
        code="MAN929", codes=("MAN938",), generic=False,
        max_bytes=1024 * 1024,  # one reviewer's copy may carry hundreds of comments (as text/worktree bounds every file)
    )
)  # fmt: skip


@dataclass(frozen=True)
class Opinion:
    """One comment, reply or tracked change of a reviewer, as Word (or WPS, LibreOffice) stored it."""

    number: int  # k of <CR>#<k>
    kind: str  # one of OPINION_KINDS
    section: str  # "3.2", "ch3", or "" (not in the body)
    paragraph: int  # paragraph index after the heading (0: the heading itself, or not in the body)
    author: str
    date: str  # as stored (ISO 8601), or ""
    marked: str = ""  # the text a comment marks
    text: str = ""  # a comment's text
    old: str = ""  # a change's deleted text
    new: str = ""  # a change's inserted text
    reply_to: int = 0  # the opinion a comment replies to (0: none)
    where: str = ""  # for an unmapped change: the part it is in (word/header1.xml)
    reason: str = ""  # for an unmapped change: why it cannot be applied

    def label(self, request: str) -> str:
        return f"{request}#{self.number}"


@dataclass(frozen=True)
class OpinionRecord:
    path: str
    request: str
    reviewer: str
    sequence: int
    base_version: str
    copy_digest: str
    source_digest: str  # sha256 of the returned DOCX
    imported_at: str
    opinions: tuple[Opinion, ...]
    by: str = ""  # the signer id when the import is signed (manual import-review --key)
    signature: str = ""

    def message(self, document_number: str) -> bytes:
        """What the importer signs: the record's fields and the SHA-256 of its opinions as written."""
        import hashlib

        from manualkit.base.sshsig import signed_text

        digest = hashlib.sha256("\n".join(_opinion_lines(self.opinions)).encode()).hexdigest()
        return signed_text(KIND, [
            ("document", document_number), ("request", self.request), ("reviewer", self.reviewer), ("sequence", self.sequence),
            ("base-version", self.base_version), ("copy-digest", self.copy_digest), ("source-digest", self.source_digest),
            ("imported-at", self.imported_at), ("opinions", f"sha256:{digest}"), ("by", self.by),
        ])  # fmt: skip


def opinion_path(request: str, reviewer: str, sequence: int) -> str:
    return f"{OPINIONS_DIR}/{request}-{reviewer}-{sequence}.yml"


def visible(text: str) -> str:
    """``text`` with every character a record may not hold (control, bidi, zero-width) written as
    ``⟨U+XXXX⟩``: what a reviewer wrote is kept, and nothing in it is hidden from the editor."""
    out = []
    for char in text.replace("\r\n", "\n").replace("\r", "\n"):
        if char == "\n" or first_disallowed(char) is None:
            out.append(char)
        else:
            out.append(f"⟨U+{ord(char):04X}⟩")
    return "".join(out)


def record_text(record: OpinionRecord) -> str:
    q = yamlfile.quoted
    lines = [
        "# 审核意见: written by `manual import-review`; never edit.",
        f"kind: {KIND}",
        f"request: {record.request}",
        f"reviewer: {record.reviewer}",
        f"sequence: {record.sequence}",
        f"base_version: {q(record.base_version)}",
        f"copy_digest: {q(record.copy_digest)}",
        f"source_digest: {q(record.source_digest)}",
        f"imported_at: {q(record.imported_at)}",
        "opinions:" + (" []" if not record.opinions else ""),
        *_opinion_lines(record.opinions),
    ]
    if record.signature:
        lines += [f"by: {record.by}", "signature: |", *("  " + line for line in record.signature.splitlines())]
    return "\n".join(lines) + "\n"


def _opinion_lines(opinions: Sequence[Opinion]) -> list[str]:
    q = yamlfile.quoted
    lines = []
    for o in opinions:
        lines.append(f"  - number: {o.number}")
        for name in _FIELDS:
            value = getattr(o, name)
            if value in ("", 0) and name not in ("kind", "section", "paragraph", "author"):
                continue
            lines.append(f"    {name}: {value if isinstance(value, int) else q(visible(value))}")
    return lines


def parse_opinions(path: str, raw: bytes) -> tuple[OpinionRecord | None, list[Diagnostic]]:
    def bad(message: str) -> tuple[None, list[Diagnostic]]:
        return None, [diagnostic(path, 1, 1, "MAN929", f"审核意见记录无效：{message}；该记录由 manual import-review 写入，不应手工修改")]

    m = _NAME_RE.fullmatch(Path(path).name)
    if m is None:
        return bad("文件名应为 <申请单号>-<审阅人>-<序号>.yml")
    data, problems = signed.parse_record(raw, path, RECORD_KIND)
    if data is None:
        return (None, problems) if problems else bad(f"应为键值映射，kind 为 {KIND}")
    head = ("request", "reviewer", "base_version", "copy_digest", "source_digest", "imported_at")
    if any(not isinstance(data.get(k), str) for k in head) or not _int(data.get("sequence")):
        return bad(f"缺少或写错了：{'、'.join(head)}、sequence")
    if (data["request"], data["reviewer"], str(data["sequence"])) != m.groups():
        return bad("申请单号、审阅人或序号与文件名不符")
    items = data.get("opinions")
    if not isinstance(items, list):
        return bad("opinions 应为列表")
    opinions = []
    for i, item in enumerate(items, start=1):
        opinion = _opinion(item)
        if opinion is None:
            return bad(f"第 {i} 条意见的字段缺少或写错")
        opinions.append(opinion)
    by, signature = data.get("by", ""), data.get("signature", "")
    if not isinstance(by, str) or not isinstance(signature, str) or bool(by) != bool(signature):
        return bad("签名的审核意见记录须同时有 by 和 signature")
    record = OpinionRecord(
        path, data["request"], data["reviewer"], int(data["sequence"]), data["base_version"], data["copy_digest"],
        data["source_digest"], data["imported_at"], tuple(opinions), by, signature,
    )  # fmt: skip
    return record, []


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _opinion(item: Any) -> Opinion | None:
    if not isinstance(item, Mapping) or not _int(item.get("number")) or item.get("kind") not in OPINION_KINDS:
        return None
    values: dict[str, Any] = {"number": item["number"]}
    for name in _FIELDS:
        value = item.get(name, 0 if name in ("paragraph", "reply_to") else "")
        if name in ("paragraph", "reply_to"):
            if not _int(value):
                return None
        elif not isinstance(value, str):
            return None
        values[name] = value
    return Opinion(**values)


def load_opinions(contents: Mapping[str, bytes]) -> tuple[list[OpinionRecord], list[Diagnostic]]:
    """Every opinion record under ``changelog/opinions/``, in name order."""
    return signed.load(contents, RECORD_KIND, parse_opinions)


def of_request(records: Iterable[OpinionRecord], request: str) -> list[tuple[OpinionRecord, Opinion]]:
    return [(r, o) for r in records if r.request == request for o in r.opinions]


def next_numbers(records: Sequence[OpinionRecord], request: str, reviewer: str) -> tuple[int, int]:
    """The next file sequence of ``reviewer`` for ``request`` and the request's next opinion number."""
    mine = [r.sequence for r in records if r.request == request and r.reviewer == reviewer]
    numbers = [o.number for _, o in of_request(records, request)]
    return max(mine, default=0) + 1, max(numbers, default=0) + 1


def signature_findings(records: Sequence[OpinionRecord], policy: Any, document_number: str) -> list[Diagnostic]:
    """MAN938 for a signed opinion record whose signature does not verify with its signer's
    registered key (``policy``: the policy that judges)."""
    from manualkit.base import sshsig

    out = []
    for r in records:
        if not r.signature:
            continue
        approver = policy.approver(r.by)
        if approver is None or not sshsig.verify(r.message(document_number), r.signature, approver.public_key, policy.signing_namespace):
            out.append(diagnostic(r.path, 1, 1, "MAN938", f"审核意见记录的签名无效（签署人 {r.by} 的登记密钥验证不通过）；该记录签署后被改动"))
    return out
