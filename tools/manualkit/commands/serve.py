"""``manual serve``: preview the working tree for editors, every page marked 草稿（未生效）.

The chapters under ``manual/`` are rendered as they are now (not as released), with the same
template, banners and search as the staff site, plus the redline of the draft against the latest
released version; the preview rebuilds whenever a file under ``manual/`` changes.

Everything the preview writes — the draft docs folder, and the folder MkDocs builds into — lives in
one temporary folder, removed when the preview stops, by Ctrl+C or by ``kill`` (SIGTERM, SIGHUP).
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # MkDocs' server stops on it, and every finally: below runs


def serve(root: Path, dev_addr: str, *, open_browser: bool = False) -> None:
    """Serve the draft preview on ``dev_addr`` (``127.0.0.1:8000``) until interrupted."""
    import shutil
    import tempfile

    from mkdocs.commands.serve import serve as mkdocs_serve

    from manualkit.site.draft import draft_site

    work = Path(tempfile.mkdtemp(prefix="manual-serve-"))
    saved_tempdir = tempfile.tempdir
    saved_handlers = {s: signal.getsignal(s) for s in _STOP_SIGNALS}
    try:
        for s in _STOP_SIGNALS:
            signal.signal(s, _stop)
        tempfile.tempdir = str(work)  # MkDocs makes its own site folder with tempfile: inside ours
        config = draft_site(root.resolve(), work)
        mkdocs_serve(config_file=str(config), livereload=True, dev_addr=dev_addr, open_in_browser=open_browser)
    finally:
        tempfile.tempdir = saved_tempdir
        for s, handler in saved_handlers.items():
            signal.signal(s, handler)
        shutil.rmtree(work, ignore_errors=True)


# --- the command line ---------------------------------------------------------------------------


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dev-addr", default="127.0.0.1:8000", help="监听地址（默认 127.0.0.1:8000）")
    p.add_argument("--open", action="store_true", help="启动后在浏览器中打开")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    root = context.root

    def serving() -> None:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(message)s")
        serve(root, args.dev_addr, open_browser=args.open)

    outcome = Outcome(then=serving)
    outcome.say(f"草稿预览：http://{args.dev_addr}/（修改 manual/ 中的文件后自动刷新；按 Ctrl+C 停止）")
    return outcome


COMMANDS = (Command("serve", _arguments, _run),)
