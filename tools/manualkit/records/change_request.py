"""Change requests (文件修订申请单) in ``changelog/requests/``: their schema, loading, creation.

A change request lists the sections it changes; its approvals (signed by ``manual approve``) are
appended to the same file. The digest that approvals sign covers the request itself (without
its approvals) and the proposed text of its sections (:func:`approval_digest`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manualkit.base import yamlfile
from manualkit.base.atomic import write_atomic
from manualkit.base.diagnostics import Diagnostic, diagnostic, fail
from manualkit.records import signed
from manualkit.records.policy import CLASS_ORDER, ROLE_ORDER, Policy
from manualkit.records.webauthn_signature import ASSERTION_FIELDS, BASE64URL, Assertion, assertion_from
from manualkit.text.manual import Manual
from manualkit.text.schema import Field, as_date, validate

REQUESTS_DIR = "changelog/requests"
#: Its schema depends on the manual's departments (:func:`_schema`): checked by parse_change_request.
KIND = signed.register(
    signed.RecordKind(
        "manual-change-request", REQUESTS_DIR, "修订申请单",
        fields=(
            "id", "document", "title", "class", "reason", "sections", "summary", "department", "applicant", "date",
            "training_required", "affected_documents", "staff_consultation", "approvals",
        ),
        optional=("replaces",),
        code="MAN104", codes=("MAN641", "MAN900"), generic=False, marked=False, max_bytes=256 * 1024,
    )
)  # fmt: skip
CONTROLLED = ("policy", "certs", "calendar", "manual.yml")  # not sections: the policy file, the trusted certificates, the working calendar and the manual's identity (records.trust)


def chapter_of(section_id: str) -> int | None:
    """The chapter number of a section id (``3.2`` → 3); None for ``policy`` / ``certs``."""
    head = section_id.split(".")[0]
    return int(head) if head.isdigit() else None
TEMPLATE_PATH = "templates/change-request.yml"
ID_RE = re.compile(r"^CR-([0-9]{4})-([0-9]{3})$")


@dataclass(frozen=True)
class Approval:
    role: str
    signer: str  # approver id in the registry
    name: str
    meaning: str
    signed_at: str  # ISO 8601 with offset
    digest: str  # sha256:<hex> of what was approved
    signature: str  # armored SSH signature of :func:`approval_message`
    line: int  # file line of this entry
    webauthn: Assertion | None = None  # signed in a browser instead (then ``signature`` is empty)


@dataclass(frozen=True)
class ChangeRequest:
    id: str
    path: str
    title: str
    class_key: str
    reason: str
    sections: tuple[str, ...]
    summary: str
    department: str
    applicant: str
    date: dt.date
    training_required: bool
    consultation_required: bool
    consultation_done: bool
    approvals: tuple[Approval, ...]
    data: Any  # the parsed YAML, for the digest
    raw: bytes  # the file as stored
    assigned: tuple[tuple[str, str], ...] = ()  # (role, signer id) named on the request

    def assignee(self, role: str) -> str | None:
        """The one signer the request names for ``role``, if any."""
        return next((who for r, who in self.assigned if r == role), None)

    def approval(self, role: str) -> Approval | None:
        return next((a for a in self.approvals if a.role == role), None)


def request_path(cr_id: str) -> str:
    return f"{REQUESTS_DIR}/{cr_id}.yml"


#: The roles a request may name one signer for (``assigned:``); 编制 is the editor's own step.
ASSIGNABLE_ROLES = ("审核", "会签", "批准")


def _schema(departments: Sequence[str]) -> Field:
    def depts() -> Sequence[str]:
        return departments

    return Field(
        "",
        dict,
        "文件修订申请单",
        fields=(
            Field("id", str, "申请单号 CR-年份-序号", pattern=ID_RE.pattern.strip("^$")),
            Field(
                "document",
                dict,
                "文件",
                fields=(
                    Field("title", str, "文件名称"),
                    Field("number", str, "文件编号"),
                    Field("current_version", str, "现版本", pattern=r"[A-Z]/[0-9]{1,3}|（首次发布）"),
                ),
            ),
            Field("title", str, "修订标题"),
            Field("class", str, "修订类别", choices=lambda: list(CLASS_ORDER)),
            Field("reason", str, "修订原因"),
            Field("sections", list, "修订章节", items=Field("", str, "节编号，或 policy / certs / calendar / manual.yml", pattern=r"[0-9]+\.[0-9]+|policy|certs|calendar|manual\.yml")),
            Field("summary", str, "修订前后内容摘要"),
            Field("department", str, "申请部门", choices=depts),
            Field("applicant", str, "申请人"),
            Field("date", dt.date, "申请日期"),
            Field("training_required", bool, "是否需要培训"),
            Field("replaces", str, "所替代的已退回申请单（重新提交时填写）", required=False, pattern=ID_RE.pattern.strip("^$")),
            Field("affected_documents", list, "受影响文件", items=Field("", str, "文件")),
            Field(
                "assigned",
                dict,
                "指定签署人（可选：该角色由名录中的这一人签署，提醒只发给他）",
                required=False,
                fields=tuple(Field(role, str, f"指定的{role}签署人标识", required=False, pattern=r"[a-z][a-z0-9.-]*") for role in ASSIGNABLE_ROLES),
            ),
            Field(
                "staff_consultation",
                dict,
                "职工协商记录（劳动合同法第四条）",
                fields=(
                    Field("required", bool, "是否涉及考核、薪酬规则"),
                    Field("done", bool, "是否已与职工代表协商并公示"),
                    Field("date", dt.date, "协商日期", required=False),
                    Field("record", str, "会议纪要或公示记录", required=False),
                ),
            ),
            Field(
                "approvals",
                list,
                "签署记录",
                items=Field(
                    "",
                    dict,
                    "签署",
                    fields=(
                        Field("role", str, "角色", choices=lambda: list(ROLE_ORDER)),
                        Field("signer", str, "签署人标识", pattern=r"[a-z][a-z0-9.-]*"),
                        Field("name", str, "姓名"),
                        Field("meaning", str, "签署含义"),
                        Field("signed_at", str, "签署时间"),
                        Field("digest", str, "所批准内容的摘要", pattern=r"sha256:[0-9a-f]{64}"),
                        Field("signature", str, "SSH 签名", required=False),
                        Field(
                            "webauthn",
                            dict,
                            "WebAuthn 签名（签署台）",
                            required=False,
                            fields=tuple(Field(k, str, k, pattern=BASE64URL) for k in ASSERTION_FIELDS),
                        ),
                    ),
                ),
            ),
        ),
    )


def parse_change_request(path: str, raw: bytes, departments: Sequence[str]) -> tuple[ChangeRequest | None, list[Diagnostic]]:
    text, diags = signed.decode_record(path, raw, KIND)
    if text is None:
        return None, diags
    data, more = signed.parse_text(path, text)
    diags += more
    if more:
        return None, diags
    if not isinstance(data, dict):
        return None, [*diags, diagnostic(path, 1, 1, "MAN104", "修订申请单应为键值映射")]
    diags += validate(data, _schema(departments), path, 1)
    if diags:
        return None, diags
    expected_id = Path(path).stem
    if data["id"] != expected_id:
        line, col = yamlfile.position(data, "id")
        return None, [diagnostic(path, line + 1, col + 1, "MAN641", f"申请单号 {data['id']} 与文件名 {expected_id} 不一致")]
    for i, a in enumerate(data["approvals"]):
        if ("signature" in a) == ("webauthn" in a):
            line, col = yamlfile.position(data["approvals"], i)
            return None, [diagnostic(path, line + 1, col + 1, "MAN900", "每项签署须且只能含 signature（SSH 签名）或 webauthn（签署台的 WebAuthn 签名）之一；请用 manual approve 或签署台重新签署")]
    approvals = tuple(
        Approval(
            role=str(a["role"]), signer=str(a["signer"]), name=str(a["name"]), meaning=str(a["meaning"]),
            signed_at=str(a["signed_at"]), digest=str(a["digest"]), signature=str(a.get("signature") or ""),
            line=yamlfile.position(data["approvals"], i)[0] + 1,
            webauthn=assertion_from(a["webauthn"]) if "webauthn" in a else None,
        )
        for i, a in enumerate(data["approvals"])
    )  # fmt: skip
    consult = data["staff_consultation"]
    date = as_date(data["date"])
    assert date is not None
    return (
        ChangeRequest(
            id=str(data["id"]),
            path=path,
            title=str(data["title"]),
            class_key=str(data["class"]),
            reason=str(data["reason"]),
            sections=tuple(str(s) for s in data["sections"]),
            summary=str(data["summary"]),
            department=str(data["department"]),
            applicant=str(data["applicant"]),
            date=date,
            training_required=bool(data["training_required"]),
            consultation_required=bool(consult["required"]),
            consultation_done=bool(consult["done"]) and bool(consult.get("record")) and as_date(consult.get("date")) is not None,
            approvals=approvals,
            data=data,
            raw=raw,
            assigned=tuple((str(r), str(who)) for r, who in (data.get("assigned") or {}).items()),
        ),
        [],
    )


def load_change_requests(contents: Mapping[str, bytes], departments: Sequence[str]) -> tuple[dict[str, ChangeRequest], list[Diagnostic]]:
    found, diags = signed.load(contents, KIND, lambda path, raw: parse_change_request(path, raw, departments))
    return {cr.id: cr for cr in found}, diags


def content_findings(cr: ChangeRequest, manual: Manual, policy: Policy) -> list[Diagnostic]:
    """Rules on a change request's own content (sections exist, consultation recorded)."""
    out = []
    known = {*manual.section_ids(), *CONTROLLED}
    for i, sid in enumerate(cr.sections):
        if sid not in known:
            line, col = yamlfile.position(cr.data["sections"], i)
            out.append(diagnostic(cr.path, line + 1, col + 1, "MAN642", f"修订申请单列出的第 {sid} 节不存在"))
    needs = any(chapter_of(s) in policy.consultation_chapters for s in cr.sections)
    if needs and not (cr.consultation_required and cr.consultation_done):
        line, _ = yamlfile.position(cr.data, "staff_consultation")
        chapters = "、".join(f"第{c}章" for c in policy.consultation_chapters)
        out.append(
            diagnostic(
                cr.path, line, 1, "MAN643",
                f"修订涉及{chapters}的考核规则：须依劳动合同法第四条与职工代表协商并公示，"
                "请在 staff_consultation 中填写 required: true、done: true、date 和 record",
            )
        )  # fmt: skip
    return out


# --- the approved content --------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Round-trip YAML → plain JSON-able data (dates as ISO text)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    return str(value)


def approval_digest(cr: ChangeRequest, manual: Manual, controlled: Mapping[str, str] | None = None) -> str:
    """sha256 over the request (without approvals) and the proposed text of its sections; for
    ``policy`` and ``certs``, the digest of the proposed files (``controlled``, see records.trust)."""
    request = {k: v for k, v in plain(cr.data).items() if k != "approvals"}
    sections: list[dict[str, str | None]] = []
    for sid in cr.sections:
        found = manual.section(sid)
        if sid in CONTROLLED:
            sections.append({"id": sid, "title": None, "body": (controlled or {}).get(sid)})
        elif found is None:
            sections.append({"id": sid, "title": None, "body": None})
        else:
            chapter, index = found
            s = chapter.sections[index]
            sections.append({"id": sid, "title": s.title, "body": s.body})
    payload = json.dumps({"change_request": request, "sections": sections}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def approval_message(document_number: str, cr_id: str, role: str, signer: str, signed_at: str, digest: str) -> bytes:
    """The exact bytes an approver signs."""
    from manualkit.base.sshsig import signed_text

    return signed_text(
        "manual-approval/1",
        [("document", document_number), ("change-request", cr_id), ("role", role), ("signer", signer), ("signed-at", signed_at), ("digest", digest)],
    )


# --- creation ---------------------------------------------------------------------------------


def next_id(existing: Sequence[str], year: int) -> str:
    numbers = [int(m.group(2)) for m in (ID_RE.match(i) for i in existing) if m and int(m.group(1)) == year]
    return f"CR-{year}-{max(numbers, default=0) + 1:03d}"


def new_request_text(
    template: str,
    *,
    cr_id: str,
    manual: Manual,
    current_version: str,
    class_key: str,
    title: str,
    reason: str,
    sections: Sequence[str],
    summary: str,
    department: str,
    applicant: str,
    date: dt.date,
    training_required: bool,
    consultation_required: bool,
    replaces: str | None = None,
) -> str:
    """Fill the template; comments and layout of the template are kept (round-trip)."""
    data, diags = signed.parse_for_edit(TEMPLATE_PATH, template)  # the template is a request to be
    if diags or not isinstance(data, dict):
        raise fail(TEMPLATE_PATH, 1, 1, "MAN644", "修订申请单模板无法解析；请修复 templates/change-request.yml")
    from ruamel.yaml.comments import CommentedSeq

    data["id"] = cr_id
    data["document"]["title"] = manual.metadata.title
    data["document"]["number"] = manual.metadata.document_number
    data["document"]["current_version"] = current_version
    data["title"] = title
    data["class"] = class_key
    data["reason"] = reason
    seq = CommentedSeq(list(sections))
    seq.fa.set_flow_style()
    data["sections"] = seq
    data["summary"] = summary
    data["department"] = department
    data["applicant"] = applicant
    data["date"] = date
    data["training_required"] = training_required
    data["staff_consultation"]["required"] = consultation_required
    if replaces:
        from ruamel.yaml.comments import CommentedMap

        assert isinstance(data, CommentedMap)
        data.insert(list(data).index("training_required") + 1, "replaces", replaces)
    return yamlfile.dump(data)


def write_request(root: Path, cr_id: str, text: str) -> Path:
    path = root / request_path(cr_id)
    if path.exists():
        raise fail(request_path(cr_id), 0, 0, "MAN645", "该修订申请单已存在；不会覆盖")
    write_atomic(path, text)
    return path
