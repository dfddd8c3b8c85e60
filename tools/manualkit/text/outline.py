"""The manual's fixed outline: eight chapters of four sections, numbers and titles.

It is fixed by the product (readers cite sections by these numbers), so it lives in code rather
than in an editable file: an edit to a title in the manual is checked against this, not the
other way round.
"""

from __future__ import annotations

from typing import NamedTuple

CHINESE_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


class OutlineChapter(NamedTuple):
    number: int
    title: str
    sections: tuple[str, ...]  # section titles, 1-based by position

    @property
    def heading(self) -> str:
        return f"第{chinese_numeral(self.number)}章 {self.title}"

    def section_ids(self) -> list[str]:
        return [f"{self.number}.{i}" for i in range(1, len(self.sections) + 1)]


def chinese_numeral(n: int) -> str:
    """1..99 as 一, 十, 十一, 二十三 …"""
    if n <= 10:
        return CHINESE_NUMERALS[n - 1]
    tens, units = divmod(n, 10)
    head = "" if tens == 1 else CHINESE_NUMERALS[tens - 1]
    return head + "十" + (CHINESE_NUMERALS[units - 1] if units else "")


OUTLINE: tuple[OutlineChapter, ...] = (
    OutlineChapter(1, "业务流程概述", ("业务流程定义", "业务流程目标", "业务流程范围", "业务流程原则")),
    OutlineChapter(
        2, "业务流程启动与准备", ("业务流程启动流程", "业务流程准备内容", "业务流程资源准备", "业务流程风险评估")
    ),
    OutlineChapter(
        3, "业务流程执行与实施", ("业务流程执行流程", "业务流程实施步骤", "业务流程监控机制", "业务流程反馈与改进")
    ),
    OutlineChapter(
        4, "业务流程记录与文档管理", ("业务流程记录要求", "业务流程文档管理", "业务流程数据归档", "业务流程变更管理")
    ),
    OutlineChapter(
        5, "业务流程考核与评估", ("业务流程考核标准", "业务流程评估方法", "业务流程绩效考核", "业务流程持续改进")
    ),
    OutlineChapter(
        6, "业务流程合规与风险管理", ("业务流程合规要求", "业务流程风险控制", "业务流程合规检查", "业务流程合规培训")
    ),
    OutlineChapter(
        7, "业务流程支持与协作", ("业务流程支持体系", "业务流程协作机制", "业务流程沟通流程", "业务流程支持工具")
    ),
    OutlineChapter(8, "附则与修订说明", ("附则内容", "修订程序", "适用范围", "有效日期")),
)


def outline_chapter(number: int) -> OutlineChapter | None:
    if 1 <= number <= len(OUTLINE):
        return OUTLINE[number - 1]
    return None


def section_title(section_id: str) -> str | None:
    chapter, _, section = section_id.partition(".")
    if not (chapter.isdigit() and section.isdigit()):
        return None
    oc = outline_chapter(int(chapter))
    if oc is None or not 1 <= int(section) <= len(oc.sections):
        return None
    return oc.sections[int(section) - 1]


def anchor_for(section_id: str) -> str:
    """The stable anchor of a section: ``3.2`` → ``sec-3-2``."""
    return "sec-" + section_id.replace(".", "-")
