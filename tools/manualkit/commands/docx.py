"""``manual docx``: the signed DOCX of a release, built from the release's git tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from manualkit.commands.registry import release_file_command

if TYPE_CHECKING:
    from manualkit.commands.registry import ReleaseBuilder


def _builder() -> ReleaseBuilder:
    from manualkit.documents.release_document import build_release_docx

    return build_release_docx


COMMANDS = (release_file_command("docx", _builder, "DOCX", "docx"),)
