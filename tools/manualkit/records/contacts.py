"""Who is reached how (``manual/contacts.yml``): the contacts ``manual remind`` sends to.

One file beside the registry, keyed by the registry's signer ids (and by the departments of
``manual.yml`` for the notices of a version taking effect), so that a pull request that adds a
signer to ``policy.yml`` shows in the same diff whether that person can be reminded, and a reviewer
sees every address and mobile number the robots will use. It is not a controlled part of the manual
(it decides no rule, deadline or signer; like ``obligations.yml`` it is reviewed as configuration
in the pull request), and it holds no secret: SMTP credentials and webhook addresses come only from
the environment (base/notify.py)::

    people:
      li.na:
        email: li.na@example.com
        mobile: "13800000002"        # 企业微信 and 钉钉 robots mention by mobile
        wecom_userid: LiNa           # 企业微信: mention by userid instead
        dingtalk_userid: manager4711 # 钉钉: mention by userid instead
        feishu_open_id: ou_0123456789abcdef  # 飞书: a mention needs the open_id
    departments:
      销售管理部:
        email: sales@example.com

``manual check`` reports a signer with no contact (MAN941), a contact for nobody (MAN942) and a
contact value that would reach more than its person (MAN943: ``@all``, ``all``), once the file exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.base.encoding import decode_utf8

CONTACTS_PATH = "manual/contacts.yml"
MAX_CONTACTS_BYTES = 256 * 1024

PATTERNS = {
    "email": re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+"),
    "mobile": re.compile(r"\+?[0-9]{6,15}"),
    "wecom_userid": re.compile(r"[A-Za-z0-9._-]{1,64}"),
    "dingtalk_userid": re.compile(r"[A-Za-z0-9._-]{1,64}"),
    "feishu_open_id": re.compile(r"ou_[A-Za-z0-9]{1,64}"),
}
PERSON_KEYS = tuple(PATTERNS)
DEPARTMENT_KEYS = ("email",)
# What a robot reads as "everyone" instead of a person: never accepted as anyone's id.
EVERYONE = {"all", "@all", "everyone", "所有人", "@所有人"}


class Contact(NamedTuple):
    email: str = ""
    mobile: str = ""
    wecom_userid: str = ""
    dingtalk_userid: str = ""
    feishu_open_id: str = ""


class Contacts(NamedTuple):
    people: Mapping[str, Contact]
    departments: Mapping[str, Contact]
    lines: Mapping[str, int]  # "people/<id>" or "departments/<name>" → line in the file


def read_contacts(root: Path) -> tuple[Contacts | None, list[Diagnostic]]:
    """The contacts file of the working tree; None (and no finding) when there is none."""
    from manualkit.text.worktree import read_bounded

    if not (root / CONTACTS_PATH).exists():
        return None, []
    raw, problem = read_bounded(root / CONTACTS_PATH, CONTACTS_PATH, MAX_CONTACTS_BYTES)
    if raw is None:
        return None, [problem] if problem else []
    text, bad = decode_utf8(CONTACTS_PATH, raw)
    if text is None:
        return None, bad
    return parse_contacts(text)


def parse_contacts(text: str) -> tuple[Contacts | None, list[Diagnostic]]:
    data, problems = yamlfile.parse(text, CONTACTS_PATH)
    if problems:
        return None, problems
    if data is None:
        data = {}
    if not isinstance(data, Mapping) or set(data) - {"people", "departments"}:
        return None, [diagnostic(CONTACTS_PATH, 1, 1, "MAN940", "contacts.yml 应为键值映射，只含 people（按签署人标识）和 departments（按部门名称）")]
    out: list[Diagnostic] = []
    people, p_lines = _section(data, "people", PERSON_KEYS, out)
    departments, d_lines = _section(data, "departments", DEPARTMENT_KEYS, out)
    if out:
        return None, out
    return Contacts(people, departments, {**p_lines, **d_lines}), []


def _section(data: Mapping[str, Any], name: str, keys: Sequence[str], out: list[Diagnostic]) -> tuple[dict[str, Contact], dict[str, int]]:
    found: dict[str, Contact] = {}
    lines: dict[str, int] = {}
    section = data.get(name) or {}
    if not isinstance(section, Mapping):
        line, _ = yamlfile.key_position(data, name)
        out.append(diagnostic(CONTACTS_PATH, line + 1, 1, "MAN940", f"{name} 应为键值映射"))
        return found, lines
    for who, entry in section.items():
        line, _ = yamlfile.key_position(section, who)
        lines[f"{name}/{who}"] = line + 1
        if not isinstance(entry, Mapping) or not entry:
            out.append(diagnostic(CONTACTS_PATH, line + 1, 1, "MAN940", f"{str(who)[:40]} 的联系方式应为键值映射（{'、'.join(keys)}）"))
            continue
        values: dict[str, str] = {}
        for key, value in entry.items():
            at, _ = yamlfile.key_position(entry, key)
            if key not in keys:
                out.append(diagnostic(CONTACTS_PATH, at + 1, 1, "MAN940", f"未知的联系方式 {str(key)[:30]}；可用：{'、'.join(keys)}"))
                continue
            text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
            if text.lower() in EVERYONE:
                out.append(diagnostic(CONTACTS_PATH, at + 1, 1, "MAN943", f"{who} 的 {key} 为 {text!r}：机器人会因此提及群内所有人；请填写此人自己的标识"))
            elif not PATTERNS[key].fullmatch(text):
                out.append(diagnostic(CONTACTS_PATH, at + 1, 1, "MAN940", f"{who} 的 {key} 格式无效（{text[:40]!r}）"))
            else:
                values[key] = text
        found[str(who)] = Contact(**values)
    return found, lines


def contact_findings(contacts: Contacts, signers: Sequence[str], departments: Sequence[str]) -> list[Diagnostic]:
    """MAN941 for each signer of the registry with no contact; MAN942 for each contact of nobody."""
    out = [
        diagnostic(CONTACTS_PATH, 1, 1, "MAN941", f"签署人 {s} 在 {CONTACTS_PATH} 中没有联系方式，manual remind 无法提醒此人；请在 people 下登记")
        for s in signers
        if s not in contacts.people
    ]
    out += [
        diagnostic(CONTACTS_PATH, contacts.lines.get(f"people/{p}", 1), 1, "MAN942", f"{p} 不是签署人名录中的签署人，其联系方式不会被使用；请删除或改正标识")
        for p in contacts.people
        if p not in signers
    ]
    out += [
        diagnostic(CONTACTS_PATH, contacts.lines.get(f"departments/{d}", 1), 1, "MAN942", f"{d} 不是 manual.yml 所列的部门，其联系方式不会被使用")
        for d in contacts.departments
        if d not in departments
    ]
    return out
