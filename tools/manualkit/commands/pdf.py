"""``manual pdf``: the signed PDF/A of a release, laid out by LibreOffice from the release DOCX.

The DOCX is the one ``manual docx`` makes (rendered from the release's git tree, its table of
contents numbered by the same layout engine); LibreOffice exports it as PDF/A-2b with the Noto
CJK fonts embedded, and the release key signs it (PAdES, pyHanko). See ``docs/documents.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manualkit.commands.registry import release_file_command

if TYPE_CHECKING:
    from manualkit.commands.registry import ReleaseBuilder


def _builder() -> ReleaseBuilder:
    from manualkit.documents.release_document import build_release_pdf

    return build_release_pdf


COMMANDS = (release_file_command("pdf", _builder, "PDF/A", "pdf"),)
