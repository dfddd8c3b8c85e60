"""``manual serve``: preview the working tree for editors, every page marked 草稿（未生效）.

The chapters under ``manual/`` are rendered as they are now (not as released), with the same
template, banners and search as the staff site, plus the redline of the draft against the latest
released version; the preview rebuilds whenever a file under ``manual/`` changes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from manualkit.site.draft import draft_site


def serve(root: Path, dev_addr: str, *, open_browser: bool = False) -> None:
    """Serve the draft preview on ``dev_addr`` (``127.0.0.1:8000``) until interrupted."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    work = Path(tempfile.mkdtemp(prefix="manual-serve-"))
    try:
        config = draft_site(root.resolve(), work)
        mkdocs_serve(config_file=str(config), livereload=True, dev_addr=dev_addr, open_in_browser=open_browser)
    finally:
        shutil.rmtree(work, ignore_errors=True)
