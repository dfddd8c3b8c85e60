"""Real parts for the tests of ``manual remind``: an SMTP server (aiosmtpd, STARTTLS with a
certificate made here, AUTH) and a web server standing for the three chat robots, both on
127.0.0.1 and stopped when the test ends; and the repository of the scenario, where the ladder is
set in policy by a released policy change request and a request waits for 审核 over the 2026
National Day holidays."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from revision_repo import PEOPLE, Result, RevisionRepo

SMTP_USER, SMTP_PASSWORD = "manual-bot", "s3cret-not-in-the-repo"
# The ladder of the scenario's policy: escalated after 2 working days overdue (the default says 3),
# so the tests show that the policy in force is what decides.
LADDER_YAML = "reminders:\n  before: [2]\n  on_due: true\n  overdue_every: 1\n  escalate_after: 2\n"
SUBMITTED = "2026-09-29"  # Tuesday before the National Day holidays (1-7 October 2026)
DUE = "2026-10-12"  # 5 working days later: 9-30, 10-8, 10-9, 10-10 (make-up Saturday), 10-12


def email_of(person_id: str) -> str:
    return f"{person_id}@example.com"


def mobile_of(person_id: str) -> str:
    return f"1380000{[p.id for p in PEOPLE].index(person_id):04d}"


def write_contacts(repo: RevisionRepo, *, skip: tuple[str, ...] = (), extra: str = "") -> None:
    lines = ["# 提醒的联系方式（manual remind），按签署人标识", "people:"]
    for p in PEOPLE:
        if p.registered and p.id not in skip:
            lines += [
                f"  {p.id}:",
                f"    email: {email_of(p.id)}",
                f'    mobile: "{mobile_of(p.id)}"',
                f"    wecom_userid: wx-{p.id}",
                f"    feishu_open_id: ou_{p.id.replace('.', '')}",
            ]
    (repo.root / "manual" / "contacts.yml").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")


def scenario(repo: RevisionRepo, *, title: str = "缩短报价有效期") -> str:
    """In a copy of the released history A/0: the ladder enters the policy by a policy change
    request (signed under A/0's policy, released as A/1 on 2026-09-01, in force from 09-08); then a
    request is proposed and signed 编制 by 赵敏 on 2026-09-29 and waits for 审核. Returns its id."""
    policy = repo.root / "manual" / "policy.yml"
    policy.write_text(policy.read_text(encoding="utf-8") + LADDER_YAML, encoding="utf-8")
    cr = repo.propose("minor", ["policy"], title="规定提醒阶梯", today="2026-08-20")
    repo.approve_all(cr, "2026-08-25")
    repo.commit(f"{cr}: reminder ladder in policy, approved")
    repo.release("2026-09-01", "2026-09-08")
    waiting = repo.propose("minor", ["3.2"], title=title, today=SUBMITTED)
    repo.append_to_section("3.2", "报价单的有效期为 15 日；超过有效期的报价须重新审批。")
    repo.approve(waiting, "编制", "zhao", now=f"{SUBMITTED}T10:00:00+08:00")
    write_contacts(repo)
    repo.commit(f"{waiting}: proposed and prepared; contacts for reminders")
    return waiting


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a certificate for 127.0.0.1 ---------------------------------------------------------------------


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid from 2020 (runs under faketime go back in
    time) to 2030; returns (certificate, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


# --- SMTP ------------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: Message
    login: str


@dataclass
class SmtpServer:
    port: int
    cafile: Path
    mails: list[Received] = field(default_factory=list)
    starttls_seen: list[bool] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "MANUAL_SMTP_HOST": "127.0.0.1", "MANUAL_SMTP_PORT": str(self.port), "MANUAL_SMTP_FROM": "manual@example.com",
            "MANUAL_SMTP_USER": SMTP_USER, "MANUAL_SMTP_PASSWORD": SMTP_PASSWORD, "MANUAL_SMTP_CAFILE": str(self.cafile),
        }  # fmt: skip

    def take(self) -> list[Received]:
        out, self.mails[:] = list(self.mails), []
        return out


@contextmanager
def smtp_server(folder: Path, port: int | None = None) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS and AUTH; stopped when the block ends."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = (folder / "smtp-cert.pem", folder / "smtp-key.pem")
    if not cert.exists():
        cert, key = make_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer(port or free_port(), cert)
    logins: dict[int, str] = {}

    def authenticator(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
        if ok:
            logins[id(session)] = data.login.decode()
        return AuthResult(success=ok)

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.starttls_seen.append(bool(smtp._tls_protocol))
            server.mails.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default), logins.get(id(session), ""))
            )
            return "250 OK"

    controller = Controller(
        Handler(), hostname="127.0.0.1", port=server.port, tls_context=context, require_starttls=True,
        auth_required=True, auth_require_tls=True, authenticator=authenticator,
    )  # fmt: skip
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- the robots --------------------------------------------------------------------------------------


@dataclass
class RobotCall:
    robot: str
    query: dict[str, list[str]]
    body: dict[str, Any]


@dataclass
class Robots:
    port: int
    calls: list[RobotCall] = field(default_factory=list)
    behaviour: dict[str, str] = field(default_factory=dict)  # robot → ok | 500 | slow | errcode

    def env(self, *, refused: tuple[str, ...] = ()) -> dict[str, str]:
        """Webhook addresses for the three robots; those in ``refused`` point at a closed port."""
        closed = free_port()
        env = {"MANUAL_NOTIFY_TIMEOUT": "1", "MANUAL_DINGTALK_SECRET": "SECdingtalk", "MANUAL_FEISHU_SECRET": "feishu-secret"}
        for robot, path in (("wecom", "/cgi-bin/webhook/send?key=k1"), ("dingtalk", "/robot/send?access_token=t1"), ("feishu", "/open-apis/bot/v2/hook/h1")):
            env[f"MANUAL_{robot.upper()}_WEBHOOK"] = f"http://127.0.0.1:{closed if robot in refused else self.port}{path}"
        return env

    def take(self) -> list[RobotCall]:
        out, self.calls[:] = list(self.calls), []
        return out


ROBOT_OF_PATH = {"/cgi-bin/webhook/send": "wecom", "/robot/send": "dingtalk", "/open-apis/bot/v2/hook/h1": "feishu"}


@contextmanager
def robot_server() -> Iterator[Robots]:
    """One HTTP server on 127.0.0.1 answering as 企业微信, 钉钉 and 飞书 do (their JSON answers),
    or failing as told; shut down when the block ends."""
    robots = Robots(0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            robot = ROBOT_OF_PATH.get(parts.path, "?")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8"))
            behaviour = robots.behaviour.get(robot, "ok")
            if behaviour == "slow":
                time.sleep(2.5)  # longer than MANUAL_NOTIFY_TIMEOUT=1
            robots.calls.append(RobotCall(robot, parse_qs(parts.query), body))
            if behaviour == "500":
                self.send_response(500)
                self.end_headers()
                return
            answer = {"feishu": {"code": 0, "msg": "success", "data": {}}}.get(robot, {"errcode": 0, "errmsg": "ok"})
            if behaviour == "errcode":
                answer = {"errcode": 310000, "errmsg": "keywords not in content"}
            data = json.dumps(answer).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (the timeout case)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    robots.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield robots
    finally:
        server.shutdown()
        server.server_close()


def remind(repo: RevisionRepo, day: str, env: dict[str, str], *args: str) -> Result:
    """``manual remind`` on ``day`` (MANUAL_TODAY) with the channels' environment ``env``."""
    return repo.manual("remind", *args, env={"MANUAL_TODAY": day, **env})


def ledger(repo: RevisionRepo) -> list[dict[str, str]]:
    """The lines of the repository's reminder ledger (empty before the first send)."""
    path = repo.root / ".git" / "manualkit" / "reminders.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
