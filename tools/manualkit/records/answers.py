"""Answers (处理意见) to review opinions: ``changelog/answers/<CR>-<k>.yml``, one file per answer
(``accept`` or ``reject``, the reason, the editor), written once by ``manual answer``; and which
opinions of a request are still unanswered (``manual check`` warns, ``approve --role 批准`` refuses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records import signed
from manualkit.records.opinions import Opinion, OpinionRecord, of_request

ANSWERS_DIR = "changelog/answers"
KIND = "manual-answer/1"
DECISIONS = {"accept": "采纳", "reject": "不采纳"}

RECORD_KIND = signed.register(
    signed.RecordKind(
        KIND, ANSWERS_DIR, "处理意见记录",
        fields=("request", "opinion", "decision", "reason", "editor", "answered_at"),
        optional=("by", "signature"),
        types={"opinion": int},
        code="MAN934", codes=("MAN930", "MAN932", "MAN933", "MAN937"), generic=False,
    )
)  # fmt: skip
_NAME_RE = re.compile(r"(CR-\d{4}-\d{3})-(\d{1,6})\.yml")


@dataclass(frozen=True)
class Answer:
    path: str
    request: str
    number: int
    decision: str  # accept | reject
    reason: str
    editor: str
    answered_at: str
    by: str = ""  # the signer id when the answer is signed (manual answer --key)
    signature: str = ""  # SSH signature over message(), or "" for an unsigned answer

    def message(self, document_number: str) -> bytes:
        """What the editor signs: the ``manual-answer/1`` text of every field."""
        from manualkit.base.sshsig import signed_text

        return signed_text(KIND, [
            ("document", document_number), ("request", self.request), ("opinion", self.number), ("decision", self.decision),
            ("reason", self.reason), ("editor", self.editor), ("answered-at", self.answered_at), ("by", self.by),
        ])  # fmt: skip


def answer_path(request: str, number: int) -> str:
    return f"{ANSWERS_DIR}/{request}-{number}.yml"


def record_text(answer: Answer) -> str:
    q = yamlfile.quoted
    return (
        "# 处理意见: written by `manual answer`; never edit.\n"
        f"kind: {KIND}\nrequest: {answer.request}\nopinion: {answer.number}\ndecision: {answer.decision}\n"
        f"reason: {q(answer.reason)}\neditor: {q(answer.editor)}\nanswered_at: {q(answer.answered_at)}\n"
        + (f"by: {answer.by}\nsignature: |\n" + "".join(f"  {line}\n" for line in answer.signature.splitlines()) if answer.signature else "")
    )


def parse_answer(path: str, raw: bytes) -> tuple[Answer | None, list[Diagnostic]]:
    def bad(message: str) -> tuple[None, list[Diagnostic]]:
        return None, [diagnostic(path, 1, 1, "MAN934", f"处理意见记录无效：{message}；该记录由 manual answer 写入，不应手工修改")]

    m = _NAME_RE.fullmatch(Path(path).name)
    if m is None:
        return bad("文件名应为 <申请单号>-<意见序号>.yml")
    data, problems = signed.parse_record(raw, path, RECORD_KIND)
    if data is None:
        return (None, problems) if problems else bad(f"应为键值映射，kind 为 {KIND}")
    fields = ("request", "reason", "editor", "answered_at")
    if any(not isinstance(data.get(k), str) for k in fields) or data.get("decision") not in DECISIONS:
        return bad(f"缺少或写错了：{'、'.join(fields)}、decision")
    number = data.get("opinion")
    if not isinstance(number, int) or isinstance(number, bool) or (data["request"], str(number)) != m.groups():
        return bad("申请单号或意见序号与文件名不符")
    by, signature = data.get("by", ""), data.get("signature", "")
    if not isinstance(by, str) or not isinstance(signature, str) or bool(by) != bool(signature):
        return bad("签名的处理意见须同时有 by 和 signature")
    return Answer(path, data["request"], number, data["decision"], data["reason"], data["editor"], data["answered_at"], by, signature), []


def load_answers(contents: Mapping[str, bytes]) -> tuple[list[Answer], list[Diagnostic]]:
    return signed.load(contents, RECORD_KIND, parse_answer)


def unanswered(records: Sequence[OpinionRecord], answers: Sequence[Answer], request: str) -> list[Opinion]:
    """The opinions of ``request`` that no answer names (replies are answered with their thread)."""
    done = {a.number for a in answers if a.request == request}
    return [o for _, o in of_request(records, request) if o.number not in done and not o.reply_to]


def unanswered_findings(records: Sequence[OpinionRecord], answers: Sequence[Answer], open_requests: Sequence[str]) -> list[Diagnostic]:
    """MAN932 for every open request with an opinion not yet answered."""
    out = []
    for request in open_requests:
        left = unanswered(records, answers, request)
        if left:
            names = "、".join(o.label(request) for o in left)
            out.append(
                diagnostic(
                    f"changelog/requests/{request}.yml", 0, 0, "MAN932",
                    f"{request} 有 {len(left)} 条审核意见尚未处理：{names}；请用 manual answer {request} N --accept|--reject --reason 理由 逐条答复",
                )
            )  # fmt: skip
    return out


#: The role that may not sign while an opinion is unanswered (8.2 三 4: the approver decides on
#: a revision whose review opinions have all been dealt with); for a class that has no 批准
#: (编辑性修改: 编制, 审核), its last role.
FINAL_ROLE = "批准"


def review_state(changelog: Mapping[str, bytes]) -> tuple[list[OpinionRecord], list[Answer], list[Diagnostic]]:
    """The opinion and answer records under ``changelog/`` and the problems met reading them
    (an invalid record, an answer naming no opinion)."""
    from manualkit.records.opinions import load_opinions

    records, problems = load_opinions(changelog)
    answers, more = load_answers(changelog)
    problems += more
    known = {(r.request, o.number) for r in records for o in r.opinions}
    for a in answers:
        if (a.request, a.number) not in known:
            problems.append(diagnostic(a.path, 1, 1, "MAN930", f"处理意见答复的 {a.request}#{a.number} 不是任何已导入的审核意见"))
    return records, answers, problems


def refuse_unanswered(changelog: Mapping[str, bytes], request: str, role: str, path: str, roles: Sequence[str] = ()) -> None:
    """MAN933 when ``role`` is 批准 (or, for a class without 批准, the last of its ``roles``) and an
    opinion of ``request`` is still unanswered."""
    final = FINAL_ROLE if FINAL_ROLE in roles or not roles else roles[-1]
    if role != final:
        return
    from manualkit.base.diagnostics import fail

    records, answers, _ = review_state(changelog)
    left = unanswered(records, answers, request)
    if left:
        names = "、".join(o.label(request) for o in left)
        raise fail(
            path, 0, 0, "MAN933",
            f"{request} 还有 {len(left)} 条审核意见未处理：{names}；请先用 manual answer {request} N --accept|--reject --reason 理由 逐条答复，再以“{final}”签署",
        )  # fmt: skip


def signature_findings(answers: Sequence[Answer], policy: Any, document_number: str) -> list[Diagnostic]:
    """MAN937 for a signed answer whose signature does not verify with its signer's registered
    key, or whose ``editor`` is not that signer's name (``policy``: the policy that judges)."""
    from manualkit.base import sshsig

    out = []
    for a in answers:
        if not a.signature:
            continue
        approver = policy.approver(a.by)
        ok = approver is not None and approver.name == a.editor and sshsig.verify(a.message(document_number), a.signature, approver.public_key, policy.signing_namespace)
        if not ok:
            out.append(diagnostic(a.path, 1, 1, "MAN937", f"{a.request}#{a.number} 的处理意见签名无效（签署人 {a.by} 的登记密钥验证不通过，或答复人不是其本人）；该记录签署后被改动"))
    return out
