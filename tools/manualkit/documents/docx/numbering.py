"""The numbering part: bullet and decimal lists, nine levels, one ``w:num`` per list."""

from __future__ import annotations

from collections.abc import Sequence

from manualkit.documents.docx.xml import LATIN_SANS, LIST_HANG, LIST_STEP, SONG, W_DECL, esc, fonts

_BULLETS = ("•", "◦", "▪")
_ORDERED = (("decimal", "%{n}."), ("decimal", "（%{n}）"), ("lowerLetter", "%{n})"))
LIST_LEVELS = 9


def numbering_xml(lists: Sequence[tuple[bool, int, int]]) -> str:
    """Two abstract definitions (bullets, decimal; nine levels each, three formats repeated) and
    one ``w:num`` per list of the manual, restarting at its own level."""
    abstract = []
    for abstract_id, ordered in ((1, False), (2, True)):
        levels = []
        for level in range(LIST_LEVELS):
            left = LIST_STEP * (level + 1) + LIST_HANG
            ind = f'<w:ind w:left="{left}" w:hanging="{LIST_HANG}"/>'
            tab = f'<w:tabs><w:tab w:val="num" w:pos="{left}"/></w:tabs>'
            if ordered:
                fmt, text = _ORDERED[level % 3]
                lvl_text = text.format(n=level + 1)
                rpr = f"<w:rPr>{fonts(SONG)}</w:rPr>"
            else:
                fmt, lvl_text = "bullet", _BULLETS[level % 3]
                rpr = f"<w:rPr>{fonts(SONG, LATIN_SANS)}</w:rPr>"
            levels.append(
                f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f'<w:lvlText w:val="{esc(lvl_text)}"/><w:lvlJc w:val="left"/><w:pPr>{tab}{ind}</w:pPr>{rpr}</w:lvl>'
            )
        abstract.append(
            f'<w:abstractNum w:abstractNumId="{abstract_id}"><w:multiLevelType w:val="multilevel"/>'
            f"{''.join(levels)}</w:abstractNum>"
        )
    nums = []
    for num_id, (ordered, level, start) in enumerate(lists, start=1):
        nums.append(
            f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{2 if ordered else 1}"/>'
            f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride></w:num>'
        )
    return f"<w:numbering {W_DECL}>{''.join(abstract)}{''.join(nums)}</w:numbering>"
