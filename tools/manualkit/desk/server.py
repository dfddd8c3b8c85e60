"""Running the desk: the local mode (127.0.0.1, a random token in the address) or the server
mode (any interface, behind the company's reverse proxy with TLS, over its own clone). One code
path: both serve :func:`manualkit.desk.app.create_app` with uvicorn."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from manualkit.base.diagnostics import fail
from manualkit.desk.app import DeskConfig, create_app

LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Desk:
    config: DeskConfig
    host: str
    port: int
    address: str  # what to open: the origin, with the token in local mode
    sock: socket.socket


def prepare(
    root: Path, *, host: str = LOCAL_HOST, port: int = 0, origin: str | None = None, remote: str | None = None, key: Path | None = None
) -> Desk:
    """Bind the desk's socket and make its configuration; the address to open is ``address``."""
    local = host in (LOCAL_HOST, "localhost")
    if not local and origin is None:
        raise fail("--origin", 0, 0, "MAN906", "服务器模式须用 --origin 指定签署人访问的地址（如 https://desk.example.com），它也是 WebAuthn 的依赖方")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOCAL_HOST if host == "localhost" else host, port))
    except OSError as e:
        sock.close()
        raise fail("--port", 0, 0, "MAN906", f"无法在 {host}:{port} 上监听（{e.strerror}）；请换一个端口") from e
    sock.listen(128)  # connections made as soon as the address is printed wait for uvicorn
    port = sock.getsockname()[1]
    public = origin or f"http://localhost:{port}"
    parts = urlsplit(public)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        sock.close()
        raise fail("--origin", 0, 0, "MAN906", "--origin 应为 https://域名[:端口]")
    hosts = {parts.netloc}
    if local:
        hosts |= {f"localhost:{port}", f"127.0.0.1:{port}"}
    sync = None
    if remote is not None:
        from manualkit.desk.remote import Remote

        sync = Remote(root, remote)
    token = secrets.token_urlsafe(24) if local else None
    config = DeskConfig(
        root=root, origin=f"{parts.scheme}://{parts.netloc}", rp_id=parts.hostname, allowed_hosts=tuple(sorted(hosts)), token=token,
        ssh_key=key if local else None, ssh_agent=local and key is None and bool(os.environ.get("SSH_AUTH_SOCK")), sync=sync,
    )  # fmt: skip
    address = f"{config.origin}/?token={token}" if token else config.origin + "/"
    return Desk(config, host, port, address, sock)


def serve(desk: Desk) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(desk.config), log_level="warning", proxy_headers=False, server_header=False))
    server.run(sockets=[desk.sock])
