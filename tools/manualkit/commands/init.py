"""``manual init``: a new home for a company's own manual, and the root of its chain of trust.

The chapters, the manual's identity and the revision policy are copied from an existing home
(``--from``, e.g. a clone of this project), with the company's own name and document number and
its own approver registry (each signer's id, name, department, roles and SSH public key). Nothing
is written until everything has been checked (the registry parses, one key per person). The
policy and registry become the root of trust when A/0 is released; :func:`next_steps` says how.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


MAX_KEY_BYTES = 16 * 1024


class ApproverSpec(NamedTuple):
    id: str
    name: str
    department: str
    roles: tuple[str, ...]
    key_file: Path


def parse_approver(value: str) -> ApproverSpec:
    """``id,姓名,部门,角色+角色,公钥文件`` (roles joined by ``+`` or ``、``; none for a reviewer-only id)."""
    from manualkit.base.diagnostics import fail
    from manualkit.records.policy import ROLE_ORDER

    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 5 or not all(parts[i] for i in (0, 1, 2, 4)):
        raise fail("--approver", 0, 0, "MAN752", f"签署人应写成“标识,姓名,部门,角色+角色,公钥文件”，实际为 {value!r}")
    roles = tuple(r for r in parts[3].replace("、", "+").split("+") if r)
    unknown = [r for r in roles if r not in ROLE_ORDER]
    if unknown:
        raise fail("--approver", 0, 0, "MAN752", f"签署人 {parts[0]} 登记的角色无效（{'、'.join(unknown)}）；可选角色：{'、'.join(ROLE_ORDER)}")
    return ApproverSpec(parts[0], parts[1], parts[2], roles, Path(parts[4]).expanduser())


def _public_key(spec: ApproverSpec) -> str:
    from manualkit.base.diagnostics import fail

    try:
        if spec.key_file.stat().st_size > MAX_KEY_BYTES:
            raise fail(str(spec.key_file), 0, 0, "MAN752", "公钥文件过大；请给出 ssh-keygen 生成的 .pub 文件")
        line = spec.key_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise fail(str(spec.key_file), 0, 0, "MAN752", f"无法读取签署人 {spec.id} 的公钥文件；请给出 ssh-keygen 生成的 .pub 文件（不是私钥）") from None
    if "PRIVATE KEY" in line:
        raise fail(str(spec.key_file), 0, 0, "MAN752", f"{spec.key_file} 是私钥；只能登记公钥（.pub），私钥由本人保管")
    return " ".join(line.split()[:2])


def init(
    root: Path, *, source: Path, company: str, document_number: str, title: str | None, approvers: Sequence[ApproverSpec], time_zone: str | None
) -> list[str]:
    """Create the new home under ``root``; returns the files written (relative paths)."""
    import shutil

    from manualkit.base import git, yamlfile
    from manualkit.base.atomic import write_atomic
    from manualkit.base.diagnostics import ManualError, fail
    from manualkit.records.change_request import TEMPLATE_PATH
    from manualkit.records.policy import POLICY_PATH, parse_policy
    from manualkit.text.manual import MANUAL_DIR
    from manualkit.text.metadata import METADATA_PATH

    if (root / MANUAL_DIR).exists():
        raise fail(str(root / MANUAL_DIR), 0, 0, "MAN751", "这里已经有 manual/；manual init 只在新的目录中建立手册，不会覆盖")
    for needed in (METADATA_PATH, POLICY_PATH, TEMPLATE_PATH):
        if not (source / needed).is_file():
            raise fail(str(source / needed), 0, 0, "MAN751", f"--from 指定的目录中缺少 {needed}；请指向一个已有的手册仓库（例如本项目的克隆）")
    if not approvers:
        raise fail("--approver", 0, 0, "MAN752", "请至少登记一名签署人（--approver），每个必需角色都要有人可签")
    metadata, problems = yamlfile.parse_roundtrip((source / METADATA_PATH).read_text(encoding="utf-8"), METADATA_PATH)
    policy, more = yamlfile.parse_roundtrip((source / POLICY_PATH).read_text(encoding="utf-8"), POLICY_PATH)
    if problems or more:
        raise ManualError(problems + more)
    if not isinstance(metadata, dict) or not isinstance(policy, dict):
        raise fail(str(source), 0, 0, "MAN751", "--from 中的 manual.yml 或 policy.yml 不是键值映射")
    metadata["company"] = company
    metadata["document_number"] = document_number
    if title:
        metadata["title"] = title
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    registry = CommentedSeq()
    for spec in approvers:
        entry = CommentedMap()
        entry["id"], entry["name"], entry["department"] = spec.id, spec.name, spec.department
        roles = CommentedSeq(list(spec.roles))
        roles.fa.set_flow_style()
        entry["roles"], entry["key"] = roles, _public_key(spec)
        registry.append(entry)
    policy["approvers"] = registry
    policy["signing_namespace"] = f"manual-approval@{document_number.lower()}"
    if time_zone:
        policy["time_zone"] = time_zone
    policy_text, metadata_text = yamlfile.dump(policy), yamlfile.dump(metadata)
    parsed, problems = parse_policy(policy_text)
    if parsed is None:
        raise ManualError(problems)
    missing = [r for c in parsed.classes.values() for r in c.roles if not any(r in a.roles for a in parsed.approvers)]
    if missing:
        raise fail("--approver", 0, 0, "MAN752", f"没有签署人可签署以下必需角色：{'、'.join(dict.fromkeys(missing))}")
    # Everything checked: now write (the chapters first, then the identity and the policy).
    written = []
    shutil.copytree(source / MANUAL_DIR, root / MANUAL_DIR, ignore=shutil.ignore_patterns(".*"))
    written += sorted(str(p.relative_to(root)) for p in (root / MANUAL_DIR).rglob("*") if p.is_file())
    write_atomic(root / METADATA_PATH, metadata_text)
    write_atomic(root / POLICY_PATH, policy_text)
    write_atomic(root / TEMPLATE_PATH, (source / TEMPLATE_PATH).read_bytes())
    written.append(TEMPLATE_PATH)
    (root / "changelog" / "requests").mkdir(parents=True, exist_ok=True)
    if git.facts(root) is None:
        git.run(root, "init", "--quiet")
    return sorted(set(written))


def next_steps(root: Path) -> list[str]:
    """The documented sequence that makes A/0, the root of the chain of trust."""
    from manualkit.records.repository import worktree_snapshot

    manual = worktree_snapshot(root).manual
    sections = ",".join(manual.section_ids()) if manual else "1.1,1.2,…"
    return [
        "git add -A && git commit -m '手册初稿、修订政策与签署人名录'",
        "manual check",
        f"manual propose --class major --title 首次发布 --reason 建立受控文件 --sections {sections}",
        "# 涉及考核、薪酬规则的章（policy.yml consultation_chapters）：在申请单 staff_consultation 中填写职工协商记录",
        "manual approve CR-YYYY-001 --role 编制 --key <编制人私钥>   # 审核、会签、批准 各由本人签署",
        "git add -A && git commit -m 'CR-YYYY-001 approved'",
        "manual release --effective <实施日期>   # 发布 A/0：其修订政策与签署人名录即信任根",
        "manual audit",
    ]


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", required=True, metavar="DIR", help="作为起点的已有手册仓库（章节、修订政策、申请单模板）")
    p.add_argument("--company", required=True, help="公司名称")
    p.add_argument("--document-number", required=True, help="文件编号，如 XS-QM-01")
    p.add_argument("--title", help="文件名称（默认沿用起点）")
    p.add_argument(
        "--approver", action="append", required=True, metavar="ID,姓名,部门,角色+角色,公钥文件",
        help="登记一名签署人（可重复）；公钥为 ssh-keygen 生成的 .pub 文件",
    )  # fmt: skip
    p.add_argument("--time-zone", help="公司时区（IANA 名称，默认 Asia/Shanghai）")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    root = context.root
    written = init(
        root, source=Path(args.source), company=args.company, document_number=args.document_number, title=args.title,
        approvers=[parse_approver(a) for a in args.approver], time_zone=args.time_zone,
    )  # fmt: skip
    outcome = Outcome()
    outcome.say(f"已在 {root} 建立手册（{len(written)} 个文件）与签署人名录。发布首版 A/0（信任根）的步骤：")
    for step in next_steps(root):
        outcome.say(f"  {step}")
    return outcome


COMMANDS = (Command("init", _arguments, _run),)
