"""Round-trip YAML: parse with positions, write back with untouched bytes identical.

Every YAML file of the project goes through here, so that positions in diagnostics are the real
file lines and so that tool edits keep comments, key order and formatting (ruamel.yaml's
round-trip mode).
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor

from manualkit.diagnostics import Diagnostic, diagnostic

_yaml: YAML | None = None


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that keeps an impossible date (``2026-13-45``) as its text.

    ruamel raises a plain ``ValueError`` without a position for such a scalar; kept as a string,
    the schema reports it as MAN108 at the value's own line instead.
    """

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _loader() -> YAML:
    global _yaml
    if _yaml is None:
        y = YAML(typ="rt")
        y.Constructor = _Constructor
        y.preserve_quotes = True
        y.width = 4096
        y.indent(mapping=2, sequence=4, offset=2)
        _yaml = y
    return _yaml


def parse(text: str, path: str, first_line: int = 1) -> tuple[Any, list[Diagnostic]]:
    """Parse YAML ``text`` that starts at line ``first_line`` of ``path``.

    Returns the round-trip data (``CommentedMap`` etc.) or ``None`` with a MAN103/MAN111
    diagnostic at the real line of the problem.
    """
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError

    try:
        return _loader().load(text), []
    except DuplicateKeyError as exc:
        line, col = _mark(exc.problem_mark or exc.context_mark)
        return None, [
            diagnostic(path, first_line + line, col, "MAN111", f"重复的键：{_first_line(exc.problem)}；请删除重复项")
        ]
    except MarkedYAMLError as exc:
        line, col = _mark(exc.problem_mark or exc.context_mark)
        what = exc.problem or exc.context or "无法解析"
        return None, [diagnostic(path, first_line + line, col, "MAN103", f"YAML 语法错误：{what}；请修正该行")]
    except Exception as exc:  # ruamel raises plain errors for some bad scalars (e.g. 2026-13-01)
        return None, [diagnostic(path, first_line, 1, "MAN103", f"YAML 无法解析：{exc}；请修正")]


def _mark(mark: Any) -> tuple[int, int]:
    if mark is None:
        return 0, 1
    return int(mark.line), int(mark.column) + 1


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text else ""


def position(node: Any, key: str | int | None = None) -> tuple[int, int]:
    """0-based (line, col) of ``node[key]``'s value (or of ``node``) as recorded by ruamel."""
    try:
        if key is None:
            return int(node.lc.line), int(node.lc.col)
        if isinstance(node, CommentedMap):
            line, col = node.lc.value(key)
            return int(line), int(col)
        if isinstance(node, CommentedSeq):
            line, col = node.lc.item(key)
            return int(line), int(col)
    except (AttributeError, KeyError, TypeError, IndexError):
        pass
    return 0, 0


def key_position(node: Any, key: str) -> tuple[int, int]:
    try:
        line, col = node.lc.key(key)
        return int(line), int(col)
    except (AttributeError, KeyError, TypeError):
        return position(node)


def dump(data: Any) -> str:
    """Serialise round-trip data; untouched parts come out as they went in."""
    out = io.StringIO()
    _loader().dump(data, out)
    return out.getvalue()
