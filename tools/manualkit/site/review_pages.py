"""The 审核意见 and 处理意见 of a change request, side by side, for its page on the staff site
(``requests/<CR>.html``): each opinion (a comment with its replies, or a tracked change) with where
it is, who wrote it and when, and the editor's answer and reason. Everything a reviewer or an
editor wrote is escaped; a pure function of the records.
"""

from __future__ import annotations

from collections.abc import Sequence

from manualkit.records.answers import DECISIONS, Answer
from manualkit.records.opinions import KIND_TITLES, Opinion
from manualkit.site.pages import esc, table


def _where(o: Opinion) -> str:
    if o.section.startswith("ch"):
        return f"第 {o.section[2:]} 章引言 第 {o.paragraph} 段"
    if o.section:
        return f"{o.section} 第 {o.paragraph} 段" if o.paragraph else f"{o.section} 标题"
    return "正文之外" + (f"（{o.where}）" if o.where else "")


def _content(o: Opinion, replies: Sequence[Opinion]) -> str:
    if o.kind == "comment":
        text = (f"<q>{esc(o.marked)}</q>：" if o.marked else "") + esc(o.text)
        for r in replies:
            text += f"<br>↳ {esc(r.author)}：{esc(r.text)}"
        return text
    change = []
    if o.old:
        change.append(f"<del>{esc(o.old)}</del>")
    if o.new:
        change.append(f"<ins>{esc(o.new)}</ins>")
    reason = f"（{esc(o.reason)}）" if o.reason else ""
    return f"{esc(KIND_TITLES.get(o.kind, o.kind))}：{' → '.join(change)}{reason}"


def opinions_markdown(request: str, opinions: Sequence[Opinion], answers: Sequence[Answer]) -> str:
    """The section of the request page; "" when the request has no opinion."""
    if not opinions:
        return ""
    answered = {a.number: a for a in answers if a.request == request}
    rows = []
    for o in opinions:
        if o.reply_to:
            continue
        replies = [r for r in opinions if r.reply_to == o.number]
        a = answered.get(o.number)
        decision = (
            f'<span class="mk-answer mk-answer--{esc(a.decision)}">{esc(DECISIONS[a.decision])}</span>' if a is not None
            else '<span class="mk-answer mk-answer--open">尚未处理</span>'
        )  # fmt: skip
        reason = f"{esc(a.reason)}（{esc(a.editor)}，{esc(a.answered_at[:10])}）" if a is not None else ""
        rows.append((f'<code class="mk-id">{esc(request)}#{o.number}</code>', esc(_where(o)), f"{esc(o.author)}<br>{esc(o.date[:10])}", _content(o, replies), decision, reason))
    parts = [
        "## 审核意见与处理意见 {#opinions}",
        "<p>审阅人在征求意见稿中的批注和修订（由 manual import-review 导入），及编制人对每条意见的处理（manual answer）。</p>",
        table(("序号", "位置", "审阅人", "审核意见", "处理", "处理理由"), rows, "mk-opinions"),
    ]
    return "\n\n".join(parts) + "\n"
