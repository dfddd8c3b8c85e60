"""The revision policy (``manual/policy.yml``): change classes, signing roles, notice periods,
version steps, review cycle, retention, and the approver registry.

Chapter 8 states the same rules in prose; :func:`rule_table_findings` checks its rule tables
cell by cell against this file so the two cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.records.policy_zone import POLICY_PATH as POLICY_PATH
from manualkit.records.policy_zone import declared_time_zone as declared_time_zone  # where it lived before
from manualkit.text.manual import Manual, decode
from manualkit.text.markup import parse
from manualkit.text.schema import Field, validate

if TYPE_CHECKING:  # imported where a policy is parsed: one read back from the cache of parsed
    # files (records.history.policy_from_json) needs neither module when it holds neither part.
    from manualkit.records.reminders import Ladder
    from manualkit.records.webauthn_signature import Credential

DEFAULT_ZONE = "Asia/Shanghai"
CLASS_ORDER = ("major", "minor", "editorial")  # highest first
ROLE_ORDER = ("编制", "审核", "会签", "批准")
STEP_TEXT = {"edition": "版次字母进一位，修改次数归零", "revision": "修改次数加 1"}


@dataclass(frozen=True)
class ChangeClass:
    key: str  # major | minor | editorial
    name: str  # 重大修订 …
    roles: tuple[str, ...]
    notice_days: int
    version_step: str  # edition | revision

    @property
    def rank(self) -> int:
        """0 for the highest class."""
        return CLASS_ORDER.index(self.key)


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    meaning: str


@dataclass(frozen=True)
class Approver:
    id: str
    name: str
    department: str
    roles: tuple[str, ...]
    public_key: str  # OpenSSH public key line
    webauthn: tuple[Credential, ...] = ()  # passkeys / security keys for the desk (records.webauthn_signature)


@dataclass(frozen=True)
class Policy:
    classes: Mapping[str, ChangeClass]
    revision_limit: int
    review_cycle_months: int
    retention_years: int
    consultation_chapters: tuple[int, ...]
    roles: Mapping[str, Role]
    signing_namespace: str
    approvers: tuple[Approver, ...]
    time_zone: str = "Asia/Shanghai"  # the company's time zone (IANA name)
    reminders: Ladder | None = None  # the reminder ladder (``reminders:``); None: records.reminders.DEFAULT_LADDER

    def change_class(self, key_or_name: str) -> ChangeClass | None:
        """The class by its key (``major``) or its name (重大修订); 修订 and 修改 at the end of a
        name are one word here (chapter 8 says 编辑性修订 where the policy names 编辑性修改)."""
        return self.classes.get(key_or_name) or next(
            (c for c in self.classes.values() if _class_word(c.name) == _class_word(key_or_name)), None
        )

    def approver(self, approver_id: str) -> Approver | None:
        return next((a for a in self.approvers if a.id == approver_id), None)

    def approver_with_key(self, public_key: str) -> Approver | None:
        """The approver registered with this key (compared as type and base64, not comment)."""
        wanted = key_identity(public_key)
        return next((a for a in self.approvers if key_identity(a.public_key) == wanted), None)

    def allowed_signers(self) -> str:
        """The OpenSSH allowed-signers file derived from the registry (for ``ssh-keygen -Y verify``)."""
        return "".join(
            f'{a.id} namespaces="{self.signing_namespace}" {a.public_key}\n' for a in self.approvers
        )


def key_identity(public_key: str) -> str:
    """An OpenSSH public key line without its comment: what identifies a signer."""
    return " ".join(public_key.split()[:2])


def _schema() -> Field:
    from manualkit.records.webauthn_signature import BASE64URL

    roles = list(ROLE_ORDER)

    def role_keys() -> list[str]:
        return roles

    def cls(key: str, help_text: str) -> Field:
        return Field(
            key,
            dict,
            help_text,
            fields=(
                Field("name", str, "修订类别名称"),
                Field("roles", list, "必需签署角色", items=Field("", str, "角色", choices=role_keys)),
                Field("notice_days", int, "最短公告期（日）", minimum=0, maximum=365),
                Field("version_step", str, "版本变化：edition 或 revision", choices=lambda: ["edition", "revision"]),
            ),
        )

    role = Field(
        "",
        dict,
        "角色",
        fields=(Field("title", str, "表格中显示的角色名称"), Field("meaning", str, "签署该角色的含义")),
    )
    return Field(
        "",
        dict,
        "修订政策",
        fields=(
            Field(
                "change_classes",
                dict,
                "修订类别",
                fields=(cls("major", "重大修订"), cls("minor", "一般修订"), cls("editorial", "编辑性修改")),
            ),
            Field("revision_limit", int, "同一版次内修改次数上限", minimum=1, maximum=99),
            Field("review_cycle_months", int, "定期评审周期（月）", minimum=1, maximum=36),
            Field("retention_years", int, "作废版本保存期限（年）", minimum=1, maximum=30),
            Field("consultation_chapters", list, "涉及考核、薪酬规则的章", items=Field("", int, "章编号", minimum=1, maximum=99)),
            Field("roles", dict, "签署角色", fields=tuple(Field(r, dict, r, fields=role.fields) for r in ROLE_ORDER)),
            Field("signing_namespace", str, "SSH 签名命名空间"),
            Field("time_zone", str, "公司时区（IANA 名称，默认 Asia/Shanghai）", required=False),
            Field(
                "reminders",
                dict,
                "提醒阶梯（manual remind；缺省时用默认阶梯）",
                required=False,
                fields=(
                    Field("before", list, "到期前第几个工作日提醒", items=Field("", int, "工作日数", minimum=1, maximum=30)),
                    Field("on_due", bool, "到期当日是否提醒"),
                    Field("overdue_every", int, "逾期后每几个工作日提醒一次（0：不再提醒）", minimum=0, maximum=30),
                    Field("escalate_after", int, "逾期超过几个工作日后同时提醒批准人（0：不上报）", minimum=0, maximum=60),
                ),
            ),
            Field(
                "approvers",
                list,
                "签署人名录",
                items=Field(
                    "",
                    dict,
                    "签署人",
                    fields=(
                        Field("id", str, "签署人标识（字母、数字、点、横线）", pattern=r"[a-z][a-z0-9.-]*"),
                        Field("name", str, "姓名"),
                        Field("department", str, "部门"),
                        Field("roles", list, "可签署的角色", items=Field("", str, "角色", choices=role_keys)),
                        Field("key", str, "OpenSSH 公钥", pattern=r"(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+( .*)?"),
                        Field(
                            "webauthn",
                            list,
                            "WebAuthn 凭据（通行密钥或安全密钥，供签署台使用）",
                            required=False,
                            items=Field(
                                "",
                                dict,
                                "WebAuthn 凭据",
                                fields=(
                                    Field("credential_id", str, "凭据标识（base64url）", pattern=BASE64URL),
                                    Field("public_key", str, "COSE 公钥（base64url）", pattern=BASE64URL),
                                    Field("rp_id", str, "依赖方标识（签署台的域名）", pattern=r"[A-Za-z0-9.-]+"),
                                    Field("origin", str, "签署台的来源（https://域名[:端口]）", pattern=r"https?://[A-Za-z0-9.-]+(:[0-9]+)?"),
                                    Field("enrolled", dt.date, "登记日期"),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    )


def parse_policy(text: str) -> tuple[Policy | None, list[Diagnostic]]:
    from manualkit.records.webauthn_signature import credential_from

    data, diags = yamlfile.parse(text, POLICY_PATH)
    if diags:
        return None, diags
    if not isinstance(data, dict):
        return None, [diagnostic(POLICY_PATH, 1, 1, "MAN104", "policy.yml 应为键值映射")]
    diags = validate(data, _schema(), POLICY_PATH, 1)
    diags += _registry_findings(data)
    if diags:
        return None, diags
    classes = {
        key: ChangeClass(key, str(c["name"]), tuple(str(r) for r in c["roles"]), int(c["notice_days"]), str(c["version_step"]))
        for key, c in ((k, data["change_classes"][k]) for k in CLASS_ORDER)
    }
    roles = {k: Role(k, str(v["title"]), str(v["meaning"])) for k, v in data["roles"].items()}
    approvers = tuple(
        Approver(
            str(a["id"]), str(a["name"]), str(a["department"]), tuple(str(r) for r in a["roles"]), str(a["key"]).strip(),
            tuple(credential_from(c) for c in a.get("webauthn") or ()),
        )
        for a in data["approvers"]
    )
    return (
        Policy(
            classes=classes,
            revision_limit=int(data["revision_limit"]),
            review_cycle_months=int(data["review_cycle_months"]),
            retention_years=int(data["retention_years"]),
            consultation_chapters=tuple(int(c) for c in data["consultation_chapters"]),
            roles=roles,
            signing_namespace=str(data["signing_namespace"]),
            approvers=approvers,
            time_zone=str(data.get("time_zone") or DEFAULT_ZONE),
            reminders=_ladder(data.get("reminders")),
        ),
        [],
    )


def _ladder(data: Any) -> Ladder | None:
    from manualkit.records.reminders import Ladder

    if not isinstance(data, Mapping):
        return None
    before = tuple(sorted({int(n) for n in data["before"]}, reverse=True))
    return Ladder(before, bool(data["on_due"]), int(data["overdue_every"]), int(data["escalate_after"]))


def _registry_findings(data: Mapping[str, Any]) -> list[Diagnostic]:
    out = []
    seen: set[str] = set()
    holders: dict[str, str] = {}  # key → the id it is registered under
    for i, a in enumerate(data.get("approvers") or []):
        if isinstance(a, Mapping) and isinstance(a.get("id"), str):
            line, col = yamlfile.position(data["approvers"], i)
            if a["id"] in seen:
                out.append(diagnostic(POLICY_PATH, line + 1, col + 1, "MAN111", f"签署人标识 {a['id']} 重复"))
            seen.add(a["id"])
            if isinstance(a.get("key"), str):
                key = key_identity(a["key"])
                holder = holders.setdefault(key, a["id"])
                if holder != a["id"]:
                    out.append(
                        diagnostic(
                            POLICY_PATH, line + 1, col + 1, "MAN742",
                            f"签署人 {a['id']} 的公钥已登记在 {holder} 名下；一人一钥，一把钥匙只能属于一个签署人",
                        )
                    )  # fmt: skip
    zone_name = data.get("time_zone")
    if isinstance(zone_name, str):
        from manualkit.base.clock import zone

        try:
            zone(zone_name)
        except ValueError:
            line, col = yamlfile.position(data, "time_zone")
            out.append(diagnostic(POLICY_PATH, line + 1, col + 1, "MAN750", f"公司时区名称无效（{zone_name!r}）；请写 IANA 时区名称，如 Asia/Shanghai"))
    return out


def load_policy(contents: Mapping[str, bytes]) -> tuple[Policy | None, list[Diagnostic]]:
    raw = contents.get(POLICY_PATH)
    if raw is None:
        return None, [diagnostic(POLICY_PATH, 0, 0, "MAN501", "缺少 manual/policy.yml；修订政策必须以机器可读形式声明")]
    text, diags = decode(POLICY_PATH, raw)
    if text is None:
        return None, diags
    policy, more = parse_policy(text)
    return policy, diags + more


# --- chapter 8 against the policy -------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (file line, cells)


def _tables(body: str, first_line: int) -> list[_Table]:
    tables: list[_Table] = []
    current: _Table | None = None
    row: list[str] | None = None
    row_line = 0
    in_head = False
    for token in parse(body):
        if token.type == "table_open":
            current = _Table([], [])
        elif token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row, row_line = [], first_line + (token.map[0] if token.map else 0)
        elif token.type == "inline" and row is not None:
            row.append(token.content.strip())
        elif token.type == "tr_close" and current is not None and row is not None:
            if in_head:
                current.header.extend(row)
            else:
                current.rows.append((row_line, row))
            row = None
        elif token.type == "table_close" and current is not None:
            tables.append(current)
            current = None
    return tables


def expected_rule_tables(policy: Policy) -> dict[str, tuple[str, list[str], dict[str, dict[str, str]]]]:
    """For each rule table: (section, key columns, {row key: {column: expected cell}})."""
    classes = [policy.classes[k] for k in CLASS_ORDER]
    return {
        "signing": (
            "8.2",
            ["修订类别", "必需签署角色", "版本变化"],
            {
                c.name: {
                    "必需签署角色": "、".join(policy.roles[r].title for r in c.roles),
                    "版本变化": STEP_TEXT[c.version_step],
                }
                for c in classes
            },
        ),
        "notice": (
            "8.4",
            ["修订类别", "最短公告期（日）"],
            {c.name: {"最短公告期（日）": str(c.notice_days)} for c in classes},
        ),
        "parameters": (
            "8.4",
            ["控制参数", "规定值"],
            {
                "定期评审周期": {"规定值": f"{policy.review_cycle_months} 个月"},
                "作废版本保存期限": {"规定值": f"{policy.retention_years} 年"},
                "同一版次内修改次数上限": {"规定值": f"{policy.revision_limit} 次"},
            },
        ),
    }


def rule_table_findings(manual: Manual, policy: Policy) -> list[Diagnostic]:
    """8.2 and 8.4 must state exactly the rules of the policy (MAN510–MAN512)."""
    out: list[Diagnostic] = []
    for section_id, columns, rows in expected_rule_tables(policy).values():
        found = manual.section(section_id)
        if found is None:
            continue  # a missing section is reported by the structure check
        chapter, index = found
        section = chapter.sections[index]
        table = next((t for t in _tables(section.body, section.body_line) if all(c in t.header for c in columns)), None)
        if table is None:
            out.append(
                diagnostic(
                    chapter.path, section.line, 1, "MAN510",
                    f"{section_id} 缺少规则表（表头须含 {'、'.join(columns)}），该表必须与 manual/policy.yml 一致",
                )
            )  # fmt: skip
            continue
        key_col = table.header.index(columns[0])
        seen: set[str] = set()
        for line, cells in table.rows:
            key = cells[key_col] if key_col < len(cells) else ""
            if key not in rows:
                out.append(diagnostic(chapter.path, line, 1, "MAN511", f"{section_id} 规则表中的“{key}”不在 policy.yml 中；请删除该行或修改政策"))
                continue
            seen.add(key)
            for column, want in rows[key].items():
                i = table.header.index(column)
                have = cells[i] if i < len(cells) else ""
                if have != want:
                    out.append(
                        diagnostic(
                            chapter.path, line, 1, "MAN512",
                            f"{section_id} 规则表“{key}”的“{column}”为“{have}”，与 policy.yml 不一致（应为“{want}”）；正文与政策须同时修改",
                        )
                    )  # fmt: skip
        for key in rows:
            if key not in seen:
                out.append(diagnostic(chapter.path, section.line, 1, "MAN511", f"{section_id} 规则表缺少“{key}”一行（policy.yml 中有）"))
    return out


def _class_word(name: str) -> str:
    return name[: -len("修改")] + "修订" if name.endswith("修改") else name


def registration_hint(policy: Policy) -> str:
    """What MAN651 tells a person who is not in the registry: how one is added (a ``policy``
    change request, at least a 一般修订 signed with 批准 under the registry in force, MAN741) and
    who can do it: anyone proposes; the signers in force sign; it counts once released."""
    minor = policy.change_class("minor")
    name, roles = (minor.name, minor.roles) if minor is not None else ("一般修订", ("编制", "审核", "批准"))
    return (
        f"登记签署人的办法：任何编辑者可用 manual propose --class {name} --sections policy 提出修订申请，"
        "在 manual/policy.yml 的 approvers 中加入其 id、姓名、部门、角色和 SSH 公钥（key）；"
        f"该申请由现行名录中的签署人按{name}签署（{'、'.join(roles)}）并经 manual release 发布后，新登记的人方可签署"
    )
