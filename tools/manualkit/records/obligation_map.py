"""The obligations of chapter 8 and how each is enforced (``manual obligations``).

Every sentence of chapter 8 that states an obligation (应, 须, 不得, 必须, 均应), and the
sentences of 5.1 and 6.4 that chapter 8 points to, must have an entry in
``manual/obligations.yml``, keyed by its section and a fingerprint of the sentence (the first 12
hex digits of the SHA-256 of the sentence without Markdown markup and spaces). Each entry says how
the obligation is enforced: ``check`` (diagnostic codes), ``command`` (the command and the record
it writes) or ``people`` (with the reason no tool can). Editing chapter 8 to add or reword an
obligation makes ``manual check`` report it (MAN830) until it is mapped, so that prose and tool do
not drift apart; an entry whose sentence is gone is a warning (MAN831).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import NamedTuple

from manualkit.base import yamlfile
from manualkit.base.diagnostics import Diagnostic, diagnostic
from manualkit.base.encoding import decode_utf8
from manualkit.text.clause import ChapterLines, line_clause
from manualkit.text.manual import Manual

OBLIGATIONS_PATH = "manual/obligations.yml"
# Chapter 8 itself, and what it points to: 5.1's staff consultation and 6.4's training.
REFERENCED: dict[str, tuple[str, ...]] = {"5.1": ("职工代表",), "6.4": ("修订",)}
# 应 as a modal verb; not 相应, 对应, 响应, 适应, 供应, 应用, 应收, 应付 and the like.
MARKER = re.compile(r"必须|均应|不得|须|(?<![相对响适供反])应(?![用收付])")
KINDS = ("check", "command", "people")


class Obligation(NamedTuple):
    section: str
    fingerprint: str
    text: str
    line: int  # file line of the chapter (for ``manual check``'s path:line)
    clause: str = ""  # where a reader finds it in the manual: 8.3 第 2 项 (text.clause)

    @property
    def where(self) -> str:
        return self.clause or self.section


class Enforcement(NamedTuple):
    section: str
    fingerprint: str
    kind: str  # check | command | people
    how: str
    codes: tuple[str, ...]
    command: str
    record: str
    line: int


class ObligationReport(NamedTuple):
    obligations: list[tuple[Obligation, Enforcement | None]]
    stale: list[Enforcement]
    problems: list[Diagnostic]

    @property
    def unmapped(self) -> list[Obligation]:
        return [o for o, m in self.obligations if m is None]


def plain_text(sentence: str) -> str:
    """The sentence as a reader sees it: no HTML tags, links reduced to their text, no emphasis."""
    text = re.sub(r"<[^>]*>", "", sentence)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.replace("**", "").replace("`", "").strip()


def fingerprint(sentence: str) -> str:
    plain = re.sub(r"[\s*`|]", "", plain_text(sentence))
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()[:12]


def _sentences(body: str, first_line: int) -> list[tuple[str, int]]:
    out = []
    for offset, raw in enumerate(body.split("\n")):
        line = raw.strip()
        if not line or line.startswith("#") or re.fullmatch(r"\|?[-:| ]+\|?", line):
            continue
        line = re.sub(r"^(?:[-*]|\d+\.)\s+", "", line)
        for part in re.findall(r"[^。；]+[。；]?", line):
            text = part.strip().strip("|").strip()
            if text:
                out.append((text, first_line + offset))
    return out


def find_obligations(manual: Manual) -> list[Obligation]:
    found = []
    for chapter in manual.chapters:
        lines = ChapterLines(chapter.number, [(s.id, s.line, s.body, s.body_line) for s in chapter.sections], chapter.preamble)
        for section in chapter.sections:
            keywords = REFERENCED.get(section.id)
            if chapter.number != 8 and keywords is None:
                continue
            for text, line in _sentences(section.body, section.body_line):
                plain = plain_text(text)
                if not MARKER.search(plain):
                    continue
                if keywords is not None and not any(k in plain for k in keywords):
                    continue
                found.append(Obligation(section.id, fingerprint(text), plain, line, line_clause(lines, line)))
    return found


def load_mapping(contents: Mapping[str, bytes]) -> tuple[list[Enforcement], list[Diagnostic]]:
    raw = contents.get(OBLIGATIONS_PATH)
    if raw is None:
        return [], []
    path = OBLIGATIONS_PATH
    text, bad = decode_utf8(path, raw)
    if text is None:
        return [], bad
    data, problems = yamlfile.parse(text, path)
    if problems:
        return [], problems
    items = data.get("obligations") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return [], [diagnostic(path, 1, 1, "MAN832", "义务登记表应有 obligations: 列表")]
    out, problems = [], []
    for i, item in enumerate(items):
        line = yamlfile.position(items, i)[0] + 1
        ok = isinstance(item, Mapping) and all(isinstance(item.get(k), str) for k in ("section", "fingerprint", "enforced_by", "how"))
        if not ok or item["enforced_by"] not in KINDS:
            problems.append(diagnostic(path, line, 1, "MAN832", f"条目应有 section、fingerprint、enforced_by（{'、'.join(KINDS)}）和 how"))
            continue
        codes = item.get("codes") or []
        if not isinstance(codes, list) or (item["enforced_by"] == "check" and not codes):
            problems.append(diagnostic(path, line, 1, "MAN832", "enforced_by: check 的条目应列出 codes"))
            continue
        if item["enforced_by"] == "command" and not (isinstance(item.get("command"), str) and isinstance(item.get("record"), str)):
            problems.append(diagnostic(path, line, 1, "MAN832", "enforced_by: command 的条目应写明 command 和 record"))
            continue
        out.append(
            Enforcement(
                str(item["section"]), str(item["fingerprint"]), str(item["enforced_by"]), str(item["how"]),
                tuple(str(c) for c in codes), str(item.get("command") or ""), str(item.get("record") or ""), line,
            )
        )  # fmt: skip
    return out, problems


def obligation_report(manual: Manual, contents: Mapping[str, bytes]) -> ObligationReport:
    from manualkit.base.codes import CODES

    mapping, problems = load_mapping(contents)
    by_key = {(m.section, m.fingerprint): m for m in mapping}
    for m in mapping:
        for code in m.codes:
            if code not in CODES:
                problems.append(diagnostic(OBLIGATIONS_PATH, m.line, 1, "MAN832", f"诊断代码 {code[:10]} 不存在"))
    obligations = find_obligations(manual)
    pairs = [(o, by_key.get((o.section, o.fingerprint))) for o in obligations]
    present = {(o.section, o.fingerprint) for o in obligations}
    stale = [m for m in mapping if (m.section, m.fingerprint) not in present]
    return ObligationReport(pairs, stale, problems)


def obligation_findings(manual: Manual, contents: Mapping[str, bytes]) -> list[Diagnostic]:
    """For ``manual check``: unmapped obligations (MAN830), stale entries (MAN831), a bad file."""
    report = obligation_report(manual, contents)
    paths = {c.number: c.path for c in manual.chapters}
    out = list(report.problems)
    for o in report.unmapped:
        out.append(
            diagnostic(
                paths.get(int(o.section.split(".")[0]), "manual"), o.line, 1, "MAN830",
                f"{o.where} 的义务“{o.text[:40]}…”在 {OBLIGATIONS_PATH} 中没有执行方式的登记（fingerprint {o.fingerprint}）；请登记其检查、命令或由人执行的理由",
            )
        )  # fmt: skip
    for m in report.stale:
        out.append(diagnostic(OBLIGATIONS_PATH, m.line, 1, "MAN831", f"第 {m.section} 节中已找不到 fingerprint 为 {m.fingerprint} 的义务语句；请更新或删除该条目"))
    return out
