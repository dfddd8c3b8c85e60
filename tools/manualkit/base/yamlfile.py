"""Round-trip YAML: parse with positions, write back with untouched bytes identical.

Every YAML file of the project goes through here, so that positions in diagnostics are the real
file lines and so that tool edits keep comments, key order and formatting (ruamel.yaml's
round-trip mode).
"""

from __future__ import annotations

import io
from typing import Any

from manualkit.base.diagnostics import Diagnostic, diagnostic, fail

_yaml: Any = None


def _loader() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import RoundTripConstructor

    class _Constructor(RoundTripConstructor):
        """Keeps an impossible date (``2026-13-45``) as its text, so the schema reports it as
        MAN108 at the value's own line instead of a position-less ``ValueError``."""

        def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
            try:
                return super().construct_yaml_timestamp(node, values)
            except ValueError:
                return self.construct_scalar(node)

    _Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)

    global _yaml
    if _yaml is None:
        y = YAML(typ="rt")
        y.Constructor = _Constructor
        y.preserve_quotes = True
        y.width = 4096
        y.indent(mapping=2, sequence=4, offset=2)
        _yaml = y
    return _yaml


class Map(dict[Any, Any]):
    """A mapping read by :func:`parse`, remembering where each key and value stand."""

    line = 0
    col = 0
    key_pos: dict[Any, tuple[int, int]]
    value_pos: dict[Any, tuple[int, int]]


class Seq(list[Any]):
    """A sequence read by :func:`parse`, remembering where each item stands."""

    line = 0
    col = 0
    item_pos: list[tuple[int, int]]


MAX_NODES = 100_000  # aliases can make a small text expand enormously ("billion laughs")


_STR_TAG = "tag:yaml.org,2002:str"


class _TooComplex(Exception):
    pass


class _BadCharacter(Exception):
    """A string value holding a character no controlled text may hold (base/characters)."""

    def __init__(self, found: Any, line: int, col: int) -> None:
        super().__init__(found)
        self.found, self.line, self.col = found, line, col


def parse(text: str, path: str, first_line: int = 1) -> tuple[Any, list[Diagnostic]]:
    """Parse YAML ``text`` that starts at line ``first_line`` of ``path`` (read-only, fast).

    Uses libyaml through PyYAML; returns plain data (:class:`Map`, :class:`Seq`, scalars) that
    remembers positions, or ``None`` with a MAN103/MAN111 diagnostic at the real line. Edits go
    through :func:`parse_roundtrip` instead.
    """
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, []
            budget = [MAX_NODES]
            return _build(loader, node, budget), []
        finally:
            loader.dispose()
    except _Duplicate as exc:
        return None, [diagnostic(path, first_line + exc.line, exc.col + 1, "MAN111", f"重复的键：{exc.key!r}；请删除重复项")]
    except _TooComplex:
        return None, [diagnostic(path, first_line, 1, "MAN103", "YAML 内容过于复杂（别名展开过多）；请简化")]
    except _BadCharacter as exc:
        from manualkit.base.characters import describe

        where = f"值的第 {exc.found.at + 1} 个字符"
        message = f"{where}是不允许的字符 {describe(exc.found)}（可能以转义写成）；请删除"
        return None, [diagnostic(path, first_line + exc.line, exc.col + 1, exc.found.code, message)]
    except yaml.MarkedYAMLError as exc:
        line, col, hint = _error_position(text, exc, loader_cls)
        what = exc.problem or exc.context or "无法解析"
        return None, [diagnostic(path, first_line + line, col, "MAN103", f"YAML 语法错误：{what}{hint}；请修正该行")]
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. a date like 2026-13-01 matches the timestamp pattern but is no date
        return None, [diagnostic(path, first_line, 1, "MAN103", f"YAML 无法解析：{exc}；请修正")]


def _error_position(text: str, exc: Any, loader_cls: Any) -> tuple[int, int, str]:
    """0-based line, 1-based column and a hint for a syntax error.

    An unclosed quote or bracket is reported where it opens, not where the parser gave up: at
    the end of the text, or at a later quote that happened to close the string.
    """
    problem = exc.problem_mark
    if problem is not None:
        quoted = _last_quoted_scalar(text, problem.index, loader_cls)
        if quoted is not None and quoted.start_mark.line < quoted.end_mark.line == problem.line:
            return (*_mark(quoted.start_mark), "（此处的引号可能没有闭合）")
        if exc.context_mark is not None and problem.index >= len(text.rstrip()):
            return (*_mark(exc.context_mark), "（此处的引号或括号没有闭合）")
    return (*_mark(problem or exc.context_mark), "")


def _last_quoted_scalar(text: str, before: int, loader_cls: Any) -> Any:
    """The last quoted scalar token starting before index ``before`` (scanning stops at the error)."""
    import yaml

    last = None
    loader = loader_cls(text)
    try:
        while loader.check_token():
            token = loader.get_token()
            if token.start_mark.index >= before:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ("'", '"'):
                last = token
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return last


class _Duplicate(Exception):
    def __init__(self, key: Any, line: int, col: int) -> None:
        super().__init__(key)
        self.key, self.line, self.col = key, line, col


def _build(loader: Any, node: Any, budget: list[int]) -> Any:
    import yaml

    budget[0] -= 1
    if budget[0] < 0:
        raise _TooComplex
    if isinstance(node, yaml.MappingNode):
        m = Map()
        m.line, m.col = node.start_mark.line, node.start_mark.column
        m.key_pos, m.value_pos = {}, {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, budget)
            try:
                hash(key)
            except TypeError:
                key = str(key)
            if key in m:
                raise _Duplicate(key, key_node.start_mark.line, key_node.start_mark.column)
            m[key] = _build(loader, value_node, budget)
            m.key_pos[key] = (key_node.start_mark.line, key_node.start_mark.column)
            m.value_pos[key] = (value_node.start_mark.line, value_node.start_mark.column)
        return m
    if isinstance(node, yaml.SequenceNode):
        seq = Seq(_build(loader, item, budget) for item in node.value)
        seq.line, seq.col = node.start_mark.line, node.start_mark.column
        seq.item_pos = [(item.start_mark.line, item.start_mark.column) for item in node.value]
        return seq
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        value = node.value  # what the constructor gives a string, without its bookkeeping
    else:
        try:
            value = loader.construct_object(node, deep=True)
        except ValueError:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # an impossible date: the schema reports it (MAN108) at its line
            raise
    if isinstance(value, str) and not value.isascii():
        # an escape ("\uFFFE", "\x07") gets past the check of the file's text: check the value
        from manualkit.base.characters import first_disallowed

        found = first_disallowed(value)
        if found is not None:
            raise _BadCharacter(found, node.start_mark.line, node.start_mark.column)
    return value


def parse_roundtrip(text: str, path: str, first_line: int = 1) -> tuple[Any, list[Diagnostic]]:
    """Parse with ruamel.yaml's round-trip loader, for edits that must keep untouched bytes."""
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError

    try:
        return _loader().load(text), []
    except DuplicateKeyError as exc:
        line, col = _mark(exc.problem_mark or exc.context_mark)
        return None, [diagnostic(path, first_line + line, col, "MAN111", "重复的键；请删除重复项")]
    except MarkedYAMLError as exc:
        line, col = _mark(exc.problem_mark or exc.context_mark)
        return None, [diagnostic(path, first_line + line, col, "MAN103", f"YAML 语法错误：{exc.problem or exc.context}")]


def _mark(mark: Any) -> tuple[int, int]:
    if mark is None:
        return 0, 1
    return int(mark.line), int(mark.column) + 1


def position(node: Any, key: str | int | None = None) -> tuple[int, int]:
    """0-based (line, col) of ``node[key]``'s value (or of ``node``) as recorded by ruamel."""
    if isinstance(node, Map):
        if key is None:
            return node.line, node.col
        return node.value_pos.get(key, (node.line, node.col))
    if isinstance(node, Seq):
        if key is None:
            return node.line, node.col
        return node.item_pos[key] if isinstance(key, int) and 0 <= key < len(node.item_pos) else (node.line, node.col)
    try:
        if key is None:
            return int(node.lc.line), int(node.lc.col)
        if isinstance(key, int):
            line, col = node.lc.item(key)
        else:
            line, col = node.lc.value(key)
        return int(line), int(col)
    except (AttributeError, KeyError, TypeError, IndexError):
        pass
    return 0, 0


def key_position(node: Any, key: str) -> tuple[int, int]:
    if isinstance(node, Map):
        return node.key_pos.get(key, (node.line, node.col))
    try:
        line, col = node.lc.key(key)
        return int(line), int(col)
    except (AttributeError, KeyError, TypeError):
        return position(node)


def quoted(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (JSON's string syntax is valid YAML): how records
    written line by line (releases, signed records, copies, reviews) write free text."""
    import json

    return json.dumps(value, ensure_ascii=False)


def dump(data: Any) -> str:
    """Serialise round-trip data; untouched parts come out as they went in.

    A string holding a character no record may hold (base/characters) is refused before anything
    is written: a record that cannot be read back must never be written."""
    _refuse_bad_strings(data)
    out = io.StringIO()
    _loader().dump(data, out)
    return out.getvalue()


def _refuse_bad_strings(data: Any, where: str = "") -> None:
    from manualkit.base.characters import describe, first_disallowed

    if isinstance(data, str):
        found = first_disallowed(data)
        if found is not None:
            raise fail(where or "YAML", 0, 0, found.code, f"要写入记录的值 {where} 含有不允许的字符 {describe(found)}；未写入任何文件")
    elif isinstance(data, dict):
        for key, value in data.items():
            _refuse_bad_strings(key, where)
            _refuse_bad_strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _refuse_bad_strings(item, f"{where}[{i}]")
