"""Declared schemas for the project's YAML: each key once, with its type and help text.

Validation yields diagnostics (never raises), with the real file line of each value, and a
"did you mean" hint for unknown keys.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from manualkit.base.clock import RANGE_TEXT, supported
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.base.yamlfile import key_position, position

TYPE_NAMES = {
    int: "整数",
    str: "字符串",
    dt.date: "日期（YYYY-MM-DD）",
    list: "列表",
    dict: "映射",
    bool: "布尔值",
}


class Field(NamedTuple):
    """One key of a schema."""

    name: str
    kind: type
    help: str
    required: bool = True
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    choices: Callable[[], Sequence[str]] | None = None
    fields: tuple[Field, ...] = ()  # for kind=dict
    items: Field | None = None  # for kind=list
    extra_keys: bool = False  # for kind=dict: free-form keys allowed

    def child(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


class _Ctx(NamedTuple):
    path: str
    first_line: int
    out: list[Diagnostic]

    def add(self, pos: tuple[int, int], code: str, message: str) -> None:
        self.out.append(diagnostic(self.path, self.first_line + pos[0], pos[1] + 1, code, message))


def validate(data: Any, schema: Field, path: str, first_line: int) -> list[Diagnostic]:
    """Check round-trip ``data`` (parsed from a YAML text starting at ``first_line``)."""
    ctx = _Ctx(path, first_line, [])
    _check(data, schema, ctx, (0, 0), schema.name)
    return ctx.out


def as_date(value: Any) -> dt.date | None:
    """A YAML date, or an ISO date string, as a date; anything else is ``None``."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value if supported(value) else None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        return day if supported(day) else None
    return None


def _type_ok(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is dict:
        return isinstance(value, Mapping)
    if kind is list:
        return isinstance(value, list)
    if kind is str:
        return isinstance(value, str)
    return isinstance(value, kind)


def _check(value: Any, spec: Field, ctx: _Ctx, pos: tuple[int, int], label: str) -> None:
    if spec.kind is dt.date:
        if as_date(value) is None:
            ctx.add(pos, "MAN108", f"{label} 应为有效日期（YYYY-MM-DD，{RANGE_TEXT}），实际为 {value!r}")
        return
    if not _type_ok(value, spec.kind):
        ctx.add(
            pos,
            "MAN107",
            f"{label} 应为{TYPE_NAMES.get(spec.kind, spec.kind.__name__)}，实际为 {_describe(value)}",
        )
        return
    if spec.kind is int:
        if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
            ctx.add(pos, "MAN110", f"{label} 应在 {spec.minimum} 到 {spec.maximum} 之间，实际为 {value}")
    elif spec.kind is str:
        if not value.strip():
            ctx.add(pos, "MAN107", f"{label} 不能为空字符串")
        elif spec.pattern and not re.fullmatch(spec.pattern, value):
            ctx.add(pos, "MAN109", f"{label} 的格式不正确：{value!r}")
        elif spec.choices is not None:
            allowed = list(spec.choices())
            if value not in allowed:
                ctx.add(pos, "MAN109", f"{label} 的值 {value!r} 不在允许范围内：{'、'.join(allowed)}{_hint(value, allowed)}")
    elif spec.kind is list and spec.items is not None:
        for i, item in enumerate(value):
            _check(item, spec.items, ctx, position(value, i), f"{label}[{i + 1}]")
    elif spec.kind is dict:
        _check_mapping(value, spec, ctx, pos, label)


def _check_mapping(value: Mapping[Any, Any], spec: Field, ctx: _Ctx, pos: tuple[int, int], label: str) -> None:
    known = [f.name for f in spec.fields]
    for key in value:
        child = spec.child(str(key))
        if child is None:
            if not spec.extra_keys:
                ctx.add(key_position(value, key), "MAN106", f"未知的键 {key!r}{_hint(str(key), known)}")
            continue
        _check(value[key], child, ctx, position(value, key), f"{_join(label, str(key))}")
    for f in spec.fields:
        if f.required and f.name not in value:
            ctx.add(pos, "MAN105", f"缺少必填键 {_join(label, f.name)!r}（{f.help}）")


def _join(label: str, key: str) -> str:
    return key if not label else f"{label}.{key}"


def _hint(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"；是否应为 {close[0]!r}？" if close else ""


def _describe(value: Any) -> str:
    if value is None:
        return "空值"
    for kind, name in TYPE_NAMES.items():
        if _type_ok(value, kind):
            return f"{name} {value!r}" if kind in (int, str, bool) else name
    return type(value).__name__

