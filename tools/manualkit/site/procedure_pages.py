"""The staff site's pages for chapter 8's obligations (issue #11): the obligations and their
evidence (``obligations.html``) and each returned change request (``requests/<CR>.html``, marked
已退回 with its reason and the returner's signature). Everything from records is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from manualkit.records.change_request import ChangeRequest
from manualkit.records.obligation_map import ObligationReport
from manualkit.records.procedure import SignedRecord
from manualkit.records.revision_table import section_names
from manualkit.site.model import request_page
from manualkit.site.pages import day_html, esc, link, md_escape, table

OBLIGATIONS = "obligations.html"
KIND_LABEL = {"check": "自动检查", "command": "命令与记录", "people": "由人执行"}


def obligations_markdown(report: ObligationReport, returned: Sequence[ChangeRequest] = ()) -> str:
    rows = []
    for o, m in report.obligations:
        if m is None:
            how, evidence = '<span class="mk-sig mk-sig--invalid">未登记</span>', ""
        else:
            how = f"{esc(KIND_LABEL[m.kind])}：{esc(m.how)}"
            evidence = "、".join(f"<code>{esc(c)}</code>" for c in m.codes)
            if m.command:
                evidence = f"<code>{esc(m.command)}</code> → <code>{esc(m.record)}</code>" + (f"；{evidence}" if evidence else "")
        rows.append((esc(o.where), esc(o.text), how, evidence))
    return "\n\n".join(
        [
            "# 第八章的义务与证据",
            "<p>第八章（及其引用的 5.1、6.4）中每一项“应、须、不得、必须”的执行方式：由本工具自动检查（诊断代码），"
            "由命令签署并留存记录，或由人执行（写明理由）。登记表为 <code>manual/obligations.yml</code>，"
            "<code>manual check</code> 报告任何未登记的义务。</p>",
            table(("条款", "义务", "执行方式", "证据"), rows, "mk-obligations"),
            "## 已退回的修订申请单 {#returned}",
            table(("申请单", "标题"), [(link(OBLIGATIONS, request_page(cr.id), cr.id), esc(cr.title)) for cr in returned], "mk-requests")
            if returned
            else "<p>无。</p>",
        ]
    ) + "\n"


def returned_request_markdown(cr: ChangeRequest, record: SignedRecord, valid: bool, class_names: Mapping[str, str], replaced_by: Sequence[str]) -> str:
    f = record.fields
    state = '<span class="mk-sig mk-sig--valid">✓ 有效（签名已验证）</span>' if valid else '<span class="mk-sig mk-sig--invalid">✗ 无效</span>'
    rows = [
        ("申请单号", esc(cr.id)),
        ("状态", "<strong>已退回</strong>（不得再签署或发布）"),
        ("修订标题", esc(cr.title)),
        ("修订类别", esc(class_names.get(cr.class_key, cr.class_key))),
        ("修订章节", esc(section_names(cr.sections))),
        ("申请部门", esc(cr.department)),
        ("申请日期", day_html(cr.date)),
        ("退回角色", esc(f["role"])),
        ("退回人", f"{esc(record.name)}（<code>{esc(f['by'])}</code>）"),
        ("退回时间", esc(f["returned_at"])),
        ("退回理由", esc(f["reason"])),
        ("退回签名", state),
        ("重新提交", esc("、".join(replaced_by) or "尚未重新提交")),
    ]
    return f"# {md_escape(cr.id)} {md_escape(cr.title)}（已退回）\n\n" + table(("项目", "内容"), rows, "mk-cover") + "\n"
