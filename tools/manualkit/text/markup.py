"""The Markdown subset of the manual, parsed with markdown-it-py.

One parser configuration is shared by ``manual check``, the DOCX writer and the site hooks, so
that what the check accepts is exactly what the renderers handle (docs/authoring.md lists the
subset). :func:`scan` walks the tokens once and returns headings, links, images and section
references together with the subset violations.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote

from manualkit.base.characters import ascii_digits, has_fullwidth_digits
from manualkit.base.diagnostics import Diagnostic, diagnostic

if TYPE_CHECKING:  # markdown-it is imported when text is first parsed: commands that only
    # read parsed chapters from the cache (manual diff, show, history) never load it.
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_parser: MarkdownIt | None = None

ANCHOR_RE = re.compile(r"\s*\{#([A-Za-z][A-Za-z0-9_-]*)\}\s*$")
SECTION_REF_RE = re.compile(
    r"(?:(?:参|详)?见\s*(?:第\s*)?([0-9]+)\.([0-9]+)|第\s*([0-9]+)\.([0-9]+)\s*节)(?![.0-9])"
)
# The same reference written with fullwidth digits (见 ３.９): refused with the ASCII form (MAN764).
FULLWIDTH_REF_RE = re.compile(
    r"(?:(?:参|详)?见\s*(?:第\s*)?|第\s*)([0-9０-９]+[.．][0-9０-９]+)"
)
# Python-Markdown's attribute list (``{: onfocus="…" }``, ``{ .class }``, ``{#id}``), as its
# ``attr_list`` extension finds one: the site does not enable that extension, and the one form it
# renders instead is a heading's trailing ``{#id}`` (ANCHOR_RE, by site/heading_ids.py); any other
# text of this shape is refused (MAN870), so that nothing reads as attributes to one renderer and
# as text to another.
ATTRIBUTE_LIST_RE = re.compile(r"\{:?[ ]*[^}\n ][^\n]*?\}")
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")

BLOCK_TYPES = frozenset(
    {
        "heading_open", "heading_close", "paragraph_open", "paragraph_close", "inline",
        "bullet_list_open", "bullet_list_close", "ordered_list_open", "ordered_list_close",
        "list_item_open", "list_item_close", "blockquote_open", "blockquote_close",
        "table_open", "table_close", "thead_open", "thead_close", "tbody_open", "tbody_close",
        "tr_open", "tr_close", "th_open", "th_close", "td_open", "td_close",
    }
)  # fmt: skip
INLINE_TYPES = frozenset(
    {
        "text", "softbreak", "hardbreak", "strong_open", "strong_close", "em_open", "em_close",
        "code_inline", "link_open", "link_close", "image",
    }
)  # fmt: skip
SPACED_BLOCKS = frozenset({"bullet_list_open", "ordered_list_open", "table_open", "blockquote_open"})


def parser() -> MarkdownIt:
    """The shared markdown-it configuration: CommonMark + GFM tables, raw HTML tokenised."""
    global _parser
    if _parser is None:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": True}).enable("table")
        # Keep every link as a token so the check can reject bad schemes itself, with a position,
        # instead of markdown-it silently turning them into text.
        md.validateLink = _accept_link  # type: ignore[method-assign]
        _parser = md
    return _parser


def _accept_link(url: str) -> bool:
    return True


def parse(text: str) -> list[Token]:
    return parser().parse(text)


def split_anchor(heading_text: str) -> tuple[str, str | None]:
    """``"3.2 业务流程实施步骤 {#sec-3-2}"`` → ``("3.2 业务流程实施步骤", "sec-3-2")``."""
    m = ANCHOR_RE.search(heading_text)
    if not m:
        return heading_text.strip(), None
    return heading_text[: m.start()].strip(), m.group(1)


class Heading(NamedTuple):
    level: int
    text: str  # without the anchor
    anchor: str | None
    line: int  # file line
    col: int
    setext: bool


class LinkRef(NamedTuple):
    line: int
    col: int
    target: str  # file part, '' for the same chapter
    anchor: str | None


class SectionRef(NamedTuple):
    line: int
    col: int
    section_id: str
    text: str


@dataclass
class Scan:
    headings: list[Heading] = field(default_factory=list)
    links: list[LinkRef] = field(default_factory=list)
    section_refs: list[SectionRef] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def copy(self) -> Scan:
        """The same findings in lists of its own (the items themselves are immutable)."""
        return Scan(list(self.headings), list(self.links), list(self.section_refs), list(self.diagnostics))


@dataclass
class _Walk:
    path: str
    lines: Sequence[str]
    offset: int  # file line of body line 0
    manual_dir: str
    files: Container[str]
    scan: Scan = field(default_factory=Scan)

    def add(self, line: int, col: int, code: str, message: str) -> None:
        self.scan.diagnostics.append(diagnostic(self.path, line, col, code, message))

    def block_line(self, token: Token) -> int:
        return self.offset + (token.map[0] if token.map else 0)

    def find(self, block: Token | None, needle: str) -> tuple[int, int]:
        """File (line, col) of ``needle`` within ``block``'s source lines (first line if absent)."""
        if block is None or not block.map:
            return self.offset, 1
        start, end = block.map
        for i in range(start, min(end, len(self.lines))):
            col = self.lines[i].find(needle) if needle else -1
            if col >= 0:
                return self.offset + i, col + 1
        return self.offset + start, 1


def scan(body: str, path: str, offset: int, files: Container[str], manual_dir: str = "manual") -> Scan:
    """Parse ``body`` (starting at file line ``offset``) and check it against the subset.

    ``files`` are the repository-relative paths that exist (for links and images); the scan asks
    it only whether a path it resolved is there.
    """
    w = _Walk(path, body.split("\n"), offset, manual_dir, files)
    tokens = parse(body)
    list_depth = 0
    quote_depth = 0
    for position, token in enumerate(tokens):
        t = token.type
        if t == "inline":
            _inline(w, token, heading=position > 0 and tokens[position - 1].type == "heading_open")
            continue
        if t not in BLOCK_TYPES:
            _unsupported_block(w, token)
            continue
        if t in SPACED_BLOCKS and token.level == 0 and token.map and token.map[0] > 0:
            if w.lines[token.map[0] - 1].strip():
                w.add(w.block_line(token), 1, "MAN308", "列表、表格或引用前须留一个空行，否则网站与 DOCX 的显示会不一致")
        if t in ("bullet_list_open", "ordered_list_open"):
            # Also at depth 0: a list indented by 1–3 spaces is a nested list that missed its parent.
            if quote_depth == 0 and token.map:
                indent = len(w.lines[token.map[0]]) - len(w.lines[token.map[0]].lstrip(" "))
                if indent != 4 * list_depth:
                    message = (
                        f"第 {list_depth + 1} 级列表应缩进 {4 * list_depth} 个空格，实际为 {indent} 个"
                        if list_depth
                        else f"列表缩进了 {indent} 个空格，未能嵌套在上一列表项下；嵌套列表须缩进 4 个空格，顶层列表不缩进"
                    )
                    w.add(w.block_line(token), indent + 1, "MAN309", message)
            list_depth += 1
        elif t in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif t == "blockquote_open":
            quote_depth += 1
        elif t == "blockquote_close":
            quote_depth -= 1
        elif t == "heading_open":
            _heading(w, token, tokens[position + 1] if position + 1 < len(tokens) else None)
    return w.scan


# --- headings without the parser ----------------------------------------------------------------

# The lines that can matter to headings: one starting with ``#``, a fence or ``<`` after any
# indentation, list markers or block-quote markers, and a possible setext underline. A ``#`` behind
# such a prefix, a fence, an HTML block or an underline could make markdown-it see headings that a
# line-by-line reading does not.
_CANDIDATE_RE = re.compile(r"\n(?:([ \t>*+\-0-9.)]*)(#|```|~~~|<)|[ \t>]*(?:=+|-+)[ \t]*(?=\n|\Z))")
_ATX_RE = re.compile(r"(#{1,6})(?:[ \t]|$)")


def plain_headings(body: str, offset: int) -> list[Heading] | None:
    """The headings :func:`scan` finds in ``body``, read line by line without markdown-it, or
    ``None`` when the body holds anything that could make the two readings differ.

    Verifying a thousand releases needs only each released chapter's sections, that is its
    headings; markdown-it costs about ten milliseconds a chapter, this a few hundredths of one.
    Only ATX headings at the very start of a line are read; a fence, an HTML block, a possible
    setext underline or a ``#`` after indentation, a list marker or ``>`` sends the body to the
    parser (:func:`scan`). A test compares both readings on generated bodies.
    """
    if "\r" in body or "\0" in body:
        return None
    headings: list[Heading] = []
    text = "\n" + body  # every line, the first included, follows a line feed
    line_no = -1
    last = 0
    for m in _CANDIDATE_RE.finditer(text):
        if m.group(2) != "#" or m.group(1):
            return None
        start = m.start() + 1
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        atx = _ATX_RE.match(line)
        if atx is None:
            continue  # "#######" or "#text": a paragraph
        line_no += text.count("\n", last, start)
        last = start
        level = len(atx.group(1))
        content = line[level:].rstrip(" \t")
        closing = content.rstrip("#")
        if len(closing) < len(content) and closing[-1:] in (" ", "\t"):
            content = closing
        content = content.strip(" \t")
        if content and (content[0].isspace() or content[-1].isspace() or "\ufeff" in (content[0], content[-1])):
            return None  # markdown-it trims a wider set of spaces than this reading
        title, anchor = split_anchor(content)
        headings.append(Heading(level, title, anchor, offset + line_no, 1, False))
    return headings


def _heading(w: _Walk, token: Token, inline: Token | None) -> None:
    level = int(token.tag[1])
    line = w.block_line(token)
    setext = token.markup in ("=", "-")
    if setext:
        w.add(line, 1, "MAN307", "不允许使用下划线式标题；请改用 # 开头的标题")
    if level > 4:
        w.add(line, 1, "MAN306", f"标题层级为 {level} 级，最多允许 4 级（####）")
    raw = inline.content if inline is not None else ""
    text, anchor = split_anchor(raw)
    w.scan.headings.append(Heading(level, text, anchor, line, 1, setext))


def _unsupported_block(w: _Walk, token: Token) -> None:
    line = w.block_line(token)
    if token.type == "html_block":
        if re.search(r"<\s*script", token.content, re.IGNORECASE):
            w.add(line, 1, "MAN302", "正文中不允许使用 <script>；请删除")
        else:
            w.add(line, 1, "MAN301", "正文中不允许使用原始 HTML；请改用 Markdown 写法（见 docs/authoring.md）")
    elif token.type in ("fence", "code_block"):
        w.add(line, 1, "MAN305", "正文中不允许使用代码块；缩进 4 个空格的段落也会被当作代码块，请删除缩进")
    elif token.type == "hr":
        w.add(line, 1, "MAN310", "不允许使用分隔线；请删除")
    else:
        w.add(line, 1, "MAN310", f"不受支持的写法（{token.type}）；请参照 docs/authoring.md")


def _inline(w: _Walk, block: Token, *, heading: bool = False) -> None:
    # ``block`` is the inline token; its map is that of its paragraph/heading/cell.
    children = block.children or []
    _attribute_lists(w, block, "".join(_as_text(child) for child in children), anchor_allowed=heading)
    for child in children:
        t = child.type
        if t == "text":
            _section_refs(w, block, child.content)
            if "**" in child.content:
                _unrendered_strong(w, block, child.content)
        elif t == "html_inline":
            line, col = w.find(block, child.content)
            if re.search(r"<\s*/?\s*script", child.content, re.IGNORECASE):
                w.add(line, col, "MAN302", "正文中不允许使用 <script>；请删除")
            else:
                w.add(line, col, "MAN301", f"正文中不允许使用原始 HTML（{child.content}）；请改用 Markdown 写法")
        elif t == "link_open":
            _link(w, block, str(child.attrs.get("href", "")))
        elif t == "image":
            _image(w, block, str(child.attrs.get("src", "")))
        elif t not in INLINE_TYPES:
            line, col = w.find(block, child.markup or child.content)
            w.add(line, col, "MAN310", f"不受支持的行内写法（{t}）；请参照 docs/authoring.md")


def _as_text(child: Token) -> str:
    """What Python-Markdown's attribute lists would see of an inline child: its text (an entity
    or an escape splits text tokens, not the attribute list), a line break as one, a code span as
    nothing it could read."""
    if child.type in ("softbreak", "hardbreak"):
        return "\n"
    if child.type == "code_inline":
        return "\0"
    return child.content if child.type == "text" else ""


def _attribute_lists(w: _Walk, block: Token, text: str, *, anchor_allowed: bool) -> None:
    """``{: …}`` / ``{ … }``: attributes to a renderer with Python-Markdown's ``attr_list`` (an
    event handler, a ``javascript:`` href, a style that hides signed text), refused in every
    place; a heading's own trailing ``{#id}`` is its anchor (:func:`split_anchor`)."""
    if anchor_allowed:
        anchor = ANCHOR_RE.search(text)
        if anchor is not None:
            text = text[: anchor.start()]
    m = ATTRIBUTE_LIST_RE.search(text)
    if m is not None:
        line, col = w.find(block, m.group(0))
        shown = m.group(0) if len(m.group(0)) <= 40 else m.group(0)[:40] + "…"
        w.add(
            line, col, "MAN870",
            f"不允许使用属性列表 {shown}：网站会把它当作 HTML 属性（可执行脚本或隐藏文字）；"
            "只有标题末尾的锚点 {#sec-N-M} 可用，文字中的花括号请改用全角“｛｝”",
        )  # fmt: skip


def _unrendered_strong(w: _Walk, block: Token, text: str) -> None:
    """``**`` left as text: CommonMark opens or closes bold only where the marker is "flanking",
    so ``**“合同评审”**的`` (a quotation mark inside, a Chinese character outside) stays literal,
    on the site and in the DOCX alike. Stars written escaped (``\\*\\*``) are meant literally."""
    index = text.find("**")
    while index >= 0:
        needle = text[index : index + 8]
        at = block.content.find(needle)
        if at >= 0 and (at == 0 or block.content[at - 1] != "\\"):
            line, col = w.find(block, needle)
            w.add(
                line, col, "MAN312",
                "加粗标记 ** 未生效，将原样显示为星号：标点紧贴在 ** 内侧、而外侧紧接汉字时，Markdown 不认作加粗；"
                "请把标点移到 ** 之外（如 “**合同评审**”），或删去加粗",
            )  # fmt: skip
            return
        index = text.find("**", index + 2)


def _section_refs(w: _Walk, block: Token, text: str) -> None:
    for m in SECTION_REF_RE.finditer(text):
        chapter = m.group(1) or m.group(3)
        section = m.group(2) or m.group(4)
        line, col = w.find(block, m.group(0))
        w.scan.section_refs.append(SectionRef(line, col, f"{int(chapter)}.{int(section)}", m.group(0)))
    for m in FULLWIDTH_REF_RE.finditer(text):
        if has_fullwidth_digits(m.group(1)):
            line, col = w.find(block, m.group(0))
            w.add(line, col, "MAN764", f"引用“{m.group(0)}”使用了全角数字，不会被检查；请改为半角“{ascii_digits(m.group(0))}”")


def _scheme(url: str) -> str | None:
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f")
    m = _SCHEME_RE.match(cleaned)
    return m.group(1).lower() if m else None


def _link(w: _Walk, block: Token, href: str) -> None:
    scheme = _scheme(href)
    if scheme is not None:
        line, col = w.find(block, href)
        if scheme not in SAFE_SCHEMES:
            w.add(line, col, "MAN303", f"不允许的链接协议 {scheme}:；只允许 http、https、mailto 和 tel 链接")
        return
    # markdown-it percent-encodes the destination; a file is named by its decoded path.
    href = unquote(href)
    line, col = w.find(block, href)
    target, _, anchor = href.partition("#")
    if target:
        resolved = posixpath.normpath(posixpath.join(w.manual_dir, target))
        if resolved not in w.files or not resolved.startswith(w.manual_dir + "/"):
            w.add(line, col, "MAN403", f"链接指向的文件 {target} 不存在；请链接到 manual/ 中的章节文件")
            return
    w.scan.links.append(LinkRef(line, col, target, anchor or None))


def _image(w: _Walk, block: Token, src: str) -> None:
    scheme = _scheme(src)
    if scheme is None:
        src = unquote(src)  # as for links: images/%E6%B5%81.png is the file images/流.png
    line, col = w.find(block, src)
    if scheme is not None or src.startswith("/") or src.startswith("//"):
        w.add(line, col, "MAN304", f"图片 {src} 不在仓库中；请把图片放入 manual/images/ 并使用相对路径")
        return
    resolved = posixpath.normpath(posixpath.join(w.manual_dir, src))
    if not resolved.startswith(w.manual_dir + "/"):
        w.add(line, col, "MAN304", f"图片 {src} 位于 manual/ 之外；请把图片放入 manual/images/")
    elif resolved not in w.files:
        w.add(line, col, "MAN311", f"图片文件 {src} 不存在")


# What could run script in a reader's browser or hide text from a reader: raw HTML, a script, a
# bad link scheme, an outside image, an attribute list. Refused by check before a release; the
# site does not render, and the audit reports, a released version holding any.
UNSAFE_CODES = frozenset({"MAN301", "MAN302", "MAN303", "MAN304", "MAN870"})
# Text without these cannot hold raw HTML, an entity-encoded scheme, a link scheme, an image or an
# attribute list (a brace other than a heading's trailing {#anchor}).
_MAYBE_UNSAFE = re.compile(r"[<&]|!\[|[A-Za-z][A-Za-z0-9+.-]*:|\{(?!#[A-Za-z][A-Za-z0-9_-]*\}[ \t]*$)", re.MULTILINE)


def unsafe_findings(body: str, path: str, offset: int, files: Container[str] = frozenset()) -> list[Diagnostic]:
    """The findings of :data:`UNSAFE_CODES` in ``body`` (parsed only when it could hold one)."""
    if not _MAYBE_UNSAFE.search(body):
        return []
    return [d for d in scan(body, path, offset, files).diagnostics if d.code in UNSAFE_CODES]
