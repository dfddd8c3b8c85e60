"""``manual desk``: the signing desk's command, declared by the desk itself (a second face beside
the CLI). Light to import: the server is loaded only when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from manualkit.commands.registry import Command, Outcome

if TYPE_CHECKING:
    from manualkit.commands.context import RunContext


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，本机模式；服务器模式用 0.0.0.0）")
    p.add_argument("--port", type=int, default=0, help="端口（默认随机空闲端口）")
    p.add_argument("--origin", help="签署人访问的地址（服务器模式必填，如 https://desk.example.com；也是 WebAuthn 依赖方）")
    p.add_argument("--remote", help="服务器模式：每页前从该远程仓库取得最新内容，每项新签署推送到其分支")
    p.add_argument("--key", help="本机模式：用此 SSH 私钥文件签署（默认经 ssh-agent）")
    p.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")


def _run(args: argparse.Namespace, context: RunContext) -> Outcome:
    from manualkit.desk.server import prepare, serve

    desk = prepare(
        context.root, host=args.host, port=args.port, origin=args.origin, remote=args.remote,
        key=Path(args.key) if args.key else None,
    )  # fmt: skip

    def serving() -> None:
        if not args.no_browser:
            import webbrowser

            webbrowser.open(desk.address)
        serve(desk)

    outcome = Outcome(then=serving)
    outcome.say(f"签署台：{desk.address}（按 Ctrl+C 停止）")
    return outcome


COMMANDS = (Command("desk", _arguments, _run),)
