"""Paragraphs: the one place a ``w:p`` is written, with its style, numbering, change bar and
(in a redline) its tracked paragraph mark."""

from __future__ import annotations

from manualkit.documents.docx.model import Paragraph
from manualkit.documents.docx.xml import ppr


class Inherit:
    """Marker type: take the change bar of the enclosing section."""


INHERIT = Inherit()


class Paragraphs:
    """Mixin: writes paragraphs to ``out``."""

    out: list[str]
    bar: int | None

    def para(
        self,
        style: str,
        content: str,
        *,
        bar: int | Inherit | None = INHERIT,
        num: tuple[int, int] | None = None,
        tabs: str = "",
        spacing: str = "",
        ind: str = "",
        jc: str = "",
        mark: str = "",
    ) -> None:
        """One paragraph; ``bar`` defaults to the change bar of the section being rendered."""
        spacing_pt = self.bar if isinstance(bar, Inherit) else bar
        properties = ppr(style, num=num, bar=spacing_pt, tabs=tabs, spacing=spacing, ind=ind, jc=jc, mark=mark)
        self.out.append(f"<w:p>{properties}{content}</w:p>")

    def paragraph(self, unit: Paragraph, content: str, bar: int | None, mark: str = "") -> None:
        """A paragraph of the manual's text (``content``: its runs) as its unit says."""
        ind = f'<w:ind w:left="{unit.left}"/>' if unit.style == "ListParagraph" and unit.num is None else ""
        self.para(unit.style, content, bar=bar, num=unit.num, ind=ind, mark=mark)
