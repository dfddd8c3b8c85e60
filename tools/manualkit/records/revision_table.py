"""The 修订记录 (revision record) table: its columns and how a cell names the signers.

One definition shared by the release DOCX, the edition and ``changelog/revision-history.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

#: The columns of the 修订记录 table, in the DOCX, on the site and in changelog/revision-history.md
#: alike; 会签 is — for a change no department co-signed.
REVISION_COLUMNS = ("序号", "版本", "修订章节", "修订内容摘要", "修订申请单号", "编制", "审核", "会签", "批准", "发布日期", "实施日期")


#: How the 修订章节 column names what is not a section of the text: the controlled files a change
#: request may list (records.change_request.CONTROLLED), as a reader of the 修订记录 knows them.
CONTROLLED_NAMES = {"policy": "修订政策（policy.yml）", "certs": "受信证书（certs/）", "calendar": "工作日历（calendar.yml）", "manual.yml": "手册标识（manual.yml）"}


def section_name(sid: str) -> str:
    """One entry of the 修订章节 cell: a section number as it is, a controlled file by name."""
    return CONTROLLED_NAMES.get(sid, sid)


def section_names(sections: Iterable[str]) -> str:
    """The 修订章节 cell on one line, joined by 、 ("" for none; callers show 全文 or —)."""
    return "、".join(map(section_name, sections))


class _Signed(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def name(self) -> str: ...


#: The signing roles a 修订记录 row names, one column each, in the order of REVISION_COLUMNS.
SIGNING_COLUMNS = ("编制", "审核", "会签", "批准")


def signer_names(approvals: Iterable[_Signed], role: str) -> str:
    """Who signed in ``role`` (each name once, in signing order), or ``—``: a 修订记录 cell."""
    return "、".join(dict.fromkeys(a.name for a in approvals if a.role == role)) or "—"
