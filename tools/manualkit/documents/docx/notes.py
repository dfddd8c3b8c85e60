"""Notes in the text: the red 本版修订 note under a heading changed in this version, and the end
mark after the last chapter (以下空白), which shows that nothing was cut off or added after it."""

from __future__ import annotations

from manualkit.documents.docx.paragraphs import Paragraphs
from manualkit.documents.docx.xml import run

END_MARK = "（以下空白）"


class Notes(Paragraphs):
    """Mixin: notes and marks that are not the manual's text."""

    def revision_note(self, version: str) -> None:
        self.para("RevisionNote", run(f"本版修订：本节内容在 {version} 版中修订。"))

    def end_mark(self) -> None:
        self.para("EndMark", run(END_MARK), bar=None)
