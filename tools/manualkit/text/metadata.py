"""The manual's identity (文件名称, 文件编号, 公司, 发布部门, 解释部门) from ``manual/manual.yml``."""

from __future__ import annotations

from typing import Any, NamedTuple

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.text.schema import Field, validate

METADATA_PATH = "manual/manual.yml"


class ManualMetadata(NamedTuple):
    title: str
    document_number: str
    company: str
    issuing_department: str
    interpreting_department: str
    departments: tuple[str, ...]
    chapter_files: tuple[str, ...]  # relative to manual/


def _schema(departments: list[str]) -> Field:
    def depts() -> list[str]:
        return departments

    return Field(
        "",
        dict,
        "手册标识",
        fields=(
            Field("title", str, "文件名称"),
            Field("document_number", str, "文件编号，如 XS-QM-01", pattern=r"[A-Z]{2,6}(-[A-Z0-9]{1,6}){1,3}"),
            Field("company", str, "公司名称"),
            Field("issuing_department", str, "发布部门", choices=depts),
            Field("interpreting_department", str, "解释部门", choices=depts),
            Field("departments", list, "部门名录", items=Field("", str, "部门名称")),
            Field(
                "chapters",
                list,
                "章节文件，按章的顺序",
                items=Field("", str, "章节文件名", pattern=r"[0-9A-Za-z][0-9A-Za-z_-]*\.md"),
            ),
        ),
    )


def parse_metadata(text: str) -> tuple[ManualMetadata | None, list[Diagnostic]]:
    """Parse and validate ``manual/manual.yml``."""
    data, diags = yamlfile.parse(text, METADATA_PATH)
    if diags:
        return None, diags
    if not isinstance(data, dict):
        return None, [diagnostic(METADATA_PATH, 1, 1, "MAN008", "manual.yml 应为键值映射；请参照 docs/authoring.md")]
    departments = [d for d in data.get("departments") or [] if isinstance(d, str)]
    diags = validate(data, _schema(departments), METADATA_PATH, 1)
    if diags:
        return None, diags
    chapters: Any = data["chapters"]
    return (
        ManualMetadata(
            title=str(data["title"]),
            document_number=str(data["document_number"]),
            company=str(data["company"]),
            issuing_department=str(data["issuing_department"]),
            interpreting_department=str(data["interpreting_department"]),
            departments=tuple(departments),
            chapter_files=tuple(str(c) for c in chapters),
        ),
        [],
    )
