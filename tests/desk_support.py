"""The signing desk in tests: a repository whose released registry holds WebAuthn credentials,
and the real ``manual desk`` console script serving it on 127.0.0.1 (stopped at the end, and by
itself after a timeout)."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from revision_repo import Result, RevisionRepo, manual_command
from webauthn_authenticator import SoftAuthenticator

DESK_SECONDS = 300  # a desk left behind stops by itself


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_ok(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.code == 0, result.output


def enrol(repo: RevisionRepo, auths: Mapping[str, SoftAuthenticator]) -> None:
    """Release A/1: a policy change request, signed under A/0's registry, enrolling ``auths``."""
    policy = repo.root / "manual" / "policy.yml"
    text = policy.read_text(encoding="utf-8")
    for signer, auth in auths.items():
        key = repo.public_key(signer)
        text = text.replace(f"    key: {key}\n", f"    key: {key}\n{auth.registry_entry()}", 1)
    policy.write_text(text, encoding="utf-8")
    cr = repo.propose("minor", ["policy"], title="登记签署台凭据", today="2026-01-10")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr}: WebAuthn credentials enrolled")
    assert_ok(repo.release("2026-01-15", "2026-01-22"))


def open_request(repo: RevisionRepo, section: str = "3.2", title: str | None = None) -> str:
    """A minor request changing ``section``, signed 编制 (so it waits for 审核)."""
    cr = repo.propose("minor", [section], today="2026-01-23", title=title) if title else repo.propose("minor", [section], today="2026-01-23")
    repo.append_to_section(section, "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-24T09:00:00+08:00")
    return cr


@dataclass
class Desk:
    process: subprocess.Popen[bytes]
    address: str
    port: int

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def token(self) -> str:
        m = re.search(r"token=([A-Za-z0-9_-]+)", self.address)
        return m.group(1) if m else ""

    def request(
        self, method: str, path: str, body: object = None, *, host: str | None = None, token: bool = True, origin: str | None = "self",
        cookies: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Host": host or f"localhost:{self.port}"}
        jar = dict(cookies or {})
        if token and self.token:
            jar["manual_desk_token"] = self.token
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        if origin is not None:
            headers["Origin"] = self.origin if origin == "self" else origin
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def post(self, path: str, body: object, **kwargs: object) -> tuple[int, dict[str, object]]:
        status, _, text = self.request("POST", path, body, **kwargs)  # type: ignore[arg-type]
        return status, json.loads(text)


@contextlib.contextmanager
def running_desk(
    repo: RevisionRepo, *args: str, env: Mapping[str, str] | None = None, launcher: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
) -> Iterator[Desk]:
    """``manual desk`` as a process that stops by itself; ``launcher`` goes before the command
    (``faketime <moment>``), ``environment`` replaces the repository's own (``env`` adds to it)."""
    proc = subprocess.Popen(
        ["timeout", str(DESK_SECONDS), *launcher, *manual_command(), "desk", "--no-browser", *args],
        cwd=repo.root, env=dict(environment) if environment is not None else repo.env(env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode("utf-8")
        m = re.search(r"(http://\S+?)（", line)
        if not m:
            proc.kill()
            raise AssertionError(f"the desk did not start: {line}{proc.stderr.read().decode() if proc.stderr else ''}")
        address = m.group(1)
        port = int(re.search(r":(\d+)/", address).group(1))  # type: ignore[union-attr]
        yield Desk(proc, address, port)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)  # also closes the pipes
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
