"""The channels a reminder goes out by: mail over SMTP with STARTTLS, and the group robots of
企业微信 (WeCom), 钉钉 (DingTalk) and 飞书 (Feishu/Lark), with their documented webhook JSON.

Everything a channel needs comes from the environment, never from the repository:

=========================  ==========================================================
``MANUAL_SMTP_HOST``       the mail server (``MANUAL_SMTP_PORT``, default 587)
``MANUAL_SMTP_FROM``       the sender address
``MANUAL_SMTP_USER``       login name, with ``MANUAL_SMTP_PASSWORD`` (optional)
``MANUAL_SMTP_CAFILE``     a CA bundle for a company CA (optional; else the system's)
``MANUAL_WECOM_WEBHOOK``   企业微信 group robot: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``
``MANUAL_DINGTALK_WEBHOOK`` 钉钉 custom robot, with ``MANUAL_DINGTALK_SECRET`` when 加签 is on
``MANUAL_FEISHU_WEBHOOK``  飞书 custom bot, with ``MANUAL_FEISHU_SECRET`` when 签名校验 is on
``MANUAL_NOTIFY_TIMEOUT``  seconds to wait for a server or robot (default 10)
=========================  ==========================================================

Mail is sent only after STARTTLS (a server that does not offer it is refused, so credentials and
names never cross the network in clear); a webhook must be ``https://`` unless it is on the loopback
interface. Each send either succeeds or raises one ``ManualError`` (MAN944 mail, MAN945 robot) that
says what failed; nothing here retries or records: the caller's ledger does.

A robot message mentions exactly the one person it is for, by the id the contacts file gives, and
never everyone (``isAtAll`` is false; no ``@all`` list entry; no ``<at user_id="all">``); the text it
carries has been made inert by the caller (records/reminders.inert_line).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, NamedTuple

from manualkit.base.diagnostics import Diagnostic, ManualError, diagnostic, fail

ROBOTS = ("wecom", "dingtalk", "feishu")
ROBOT_NAMES = {"wecom": "企业微信", "dingtalk": "钉钉", "feishu": "飞书", "mail": "邮件"}
DEFAULT_TIMEOUT = 10.0
MAX_RESPONSE = 64 * 1024
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class SmtpConfig(NamedTuple):
    host: str
    port: int
    sender: str
    user: str
    password: str
    cafile: str
    timeout: float


class RobotConfig(NamedTuple):
    kind: str  # wecom | dingtalk | feishu
    url: str
    secret: str
    timeout: float


class Channels(NamedTuple):
    mail: SmtpConfig | None
    robots: tuple[RobotConfig, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (("mail",) if self.mail else ()) + tuple(r.kind for r in self.robots)


def channels_from_env(env: Mapping[str, str]) -> tuple[Channels, list[Diagnostic]]:
    """The channels the environment configures, and MAN946 for each configuration that is wrong."""
    problems: list[Diagnostic] = []
    try:
        timeout = float(env.get("MANUAL_NOTIFY_TIMEOUT") or DEFAULT_TIMEOUT)
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 300:
        problems.append(diagnostic("MANUAL_NOTIFY_TIMEOUT", 0, 0, "MAN946", "MANUAL_NOTIFY_TIMEOUT 应为 0 到 300 之间的秒数"))
        timeout = DEFAULT_TIMEOUT
    mail = None
    host = env.get("MANUAL_SMTP_HOST", "").strip()
    if host:
        port_text = env.get("MANUAL_SMTP_PORT", "587").strip() or "587"
        sender = env.get("MANUAL_SMTP_FROM", "").strip()
        user, password = env.get("MANUAL_SMTP_USER", ""), env.get("MANUAL_SMTP_PASSWORD", "")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            problems.append(diagnostic("MANUAL_SMTP_PORT", 0, 0, "MAN946", f"MANUAL_SMTP_PORT 不是有效的端口号（{port_text[:10]!r}）"))
        elif "@" not in sender or any(c in sender for c in "\r\n<>, "):
            problems.append(diagnostic("MANUAL_SMTP_FROM", 0, 0, "MAN946", "设置了 MANUAL_SMTP_HOST 时须以 MANUAL_SMTP_FROM 给出发件地址"))
        elif bool(user) != bool(password):
            problems.append(diagnostic("MANUAL_SMTP_USER", 0, 0, "MAN946", "MANUAL_SMTP_USER 与 MANUAL_SMTP_PASSWORD 须同时设置"))
        else:
            mail = SmtpConfig(host, int(port_text), sender, user, password, env.get("MANUAL_SMTP_CAFILE", ""), timeout)
    robots = []
    for kind in ROBOTS:
        url = env.get(f"MANUAL_{kind.upper()}_WEBHOOK", "").strip()
        if not url:
            continue
        problem = webhook_problem(url)
        if problem:
            problems.append(diagnostic(f"MANUAL_{kind.upper()}_WEBHOOK", 0, 0, "MAN946", problem))
            continue
        robots.append(RobotConfig(kind, url, env.get(f"MANUAL_{kind.upper()}_SECRET", ""), timeout))
    return Channels(mail, tuple(robots)), problems


def webhook_problem(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None  # a relay on this machine (and the tests' stand-in robots)
    return "机器人地址须为 https:// 地址（仅本机 127.0.0.1 可用 http://）"


# --- mail ----------------------------------------------------------------------------------------


class Mailer:
    """One SMTP session for a run, opened at the first mail (STARTTLS, then login if configured)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: Any = None

    @property
    def where(self) -> str:
        return f"smtp://{self.config.host}:{self.config.port}"

    def _fail(self, why: str) -> ManualError:
        self.close()
        return fail(self.where, 0, 0, "MAN944", f"提醒邮件未发出（{why}）；未记为已发送，下次运行时重发")

    def _open(self) -> Any:
        import smtplib
        import ssl

        if self._smtp is not None:
            return self._smtp
        c = self.config
        try:
            context = ssl.create_default_context(cafile=c.cafile or None)
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            self._smtp = smtp
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise self._fail("服务器不支持 STARTTLS；不会以明文发送")
            smtp.starttls(context=context)
            smtp.ehlo()
            if c.user:
                smtp.login(c.user, c.password)
        except ManualError:
            raise
        except (OSError, smtplib.SMTPException, ssl.SSLError, ValueError) as exc:
            raise self._fail(_reason(exc)) from None
        return smtp

    def send(self, to_address: str, to_name: str, subject: str, body: str, when: Any, sender_name: str) -> None:
        import smtplib
        from email.message import EmailMessage
        from email.policy import SMTP
        from email.utils import format_datetime, formataddr, make_msgid

        message = EmailMessage(policy=SMTP)
        message["From"] = formataddr((sender_name, self.config.sender))
        message["To"] = formataddr((to_name, to_address))
        message["Subject"] = subject
        message["Date"] = format_datetime(when)
        message["Message-ID"] = make_msgid(domain=self.config.sender.rsplit("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        smtp = self._open()
        try:
            refused = smtp.send_message(message, from_addr=self.config.sender, to_addrs=[to_address])
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            raise self._fail(_reason(exc)) from None
        if refused:
            raise self._fail(f"收件人被拒绝：{to_address}")

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:  # closing a broken session must not hide why it broke
                smtp.close()


def _reason(exc: BaseException) -> str:
    import smtplib
    import socket

    if isinstance(exc, socket.timeout | TimeoutError):
        return "等待超时"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"服务器答复 {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "服务器断开了连接"
    return type(exc).__name__


# --- robots --------------------------------------------------------------------------------------


class Mention(NamedTuple):
    """Whom a robot message mentions: the one person, by what the contacts file gives."""

    name: str  # shown in 飞书's <at> tag (already inert)
    mobile: str = ""
    wecom_userid: str = ""
    dingtalk_userid: str = ""
    feishu_open_id: str = ""


def can_mention(kind: str, m: Mention) -> bool:
    """A robot message goes to a person only if the robot can mention that person: a message
    that mentions nobody reaches the whole group, which is what reminders must not do."""
    if kind == "wecom":
        return bool(m.wecom_userid or m.mobile)
    if kind == "dingtalk":
        return bool(m.dingtalk_userid or m.mobile)
    return bool(m.feishu_open_id)


def robot_payload(kind: str, text: str, m: Mention, secret: str = "", timestamp: int = 0) -> dict[str, Any]:
    """The documented JSON body of each robot for a text message mentioning ``m`` only."""
    if kind == "wecom":  # 企业微信群机器人: msgtype text, mentioned_list / mentioned_mobile_list
        content: dict[str, Any] = {"content": text}
        if m.wecom_userid:
            content["mentioned_list"] = [m.wecom_userid]
        elif m.mobile:
            content["mentioned_mobile_list"] = [m.mobile]
        return {"msgtype": "text", "text": content}
    if kind == "dingtalk":  # 钉钉自定义机器人: the @ must also appear in the text
        at: dict[str, Any] = {"isAtAll": False}
        if m.dingtalk_userid:
            at["atUserIds"] = [m.dingtalk_userid]
            tag = m.dingtalk_userid
        else:
            at["atMobiles"] = [m.mobile]
            tag = m.mobile
        return {"msgtype": "text", "text": {"content": f"@{tag} {text}"}, "at": at}
    body: dict[str, Any] = {"msg_type": "text", "content": {"text": f'<at user_id="{m.feishu_open_id}">{m.name}</at> {text}'}}
    if secret:  # 飞书签名校验: HMAC-SHA256 keyed by "timestamp\nsecret" over nothing, in the body
        key = f"{timestamp}\n{secret}".encode()
        body = {"timestamp": str(timestamp), "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode(), **body}
    return body


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """钉钉加签: HMAC-SHA256 keyed by the secret over "timestamp\\nsecret", in the query."""
    if not secret:
        return url
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def post_robot(config: RobotConfig, text: str, mention: Mention, epoch_seconds: float) -> None:
    """POST the message; return when the robot accepted it, else raise MAN945."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """Never follow a redirect with the message (a webhook that moves is a misconfiguration)."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    name = ROBOT_NAMES[config.kind]
    where = urllib.parse.urlsplit(config.url)
    shown = f"{where.scheme}://{where.hostname}{':' + str(where.port) if where.port else ''}{where.path}"  # never the key

    def failed(why: str) -> ManualError:
        return fail(shown, 0, 0, "MAN945", f"{name}机器人未收下提醒（{why}）；未记为已发送，下次运行时重发")

    url = config.url
    payload = robot_payload(config.kind, text, mention, config.secret if config.kind == "feishu" else "", int(epoch_seconds))
    if config.kind == "dingtalk":
        url = dingtalk_url(url, config.secret, int(epoch_seconds * 1000))
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(request, timeout=config.timeout) as response:
            status, raw = response.status, response.read(MAX_RESPONSE)
    except urllib.error.HTTPError as exc:
        exc.close()  # the refused answer's connection: else it lives on in the error's context
        raise failed(f"HTTP {exc.code}") from None
    except (TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise failed("等待超时") from None
        if isinstance(reason, ConnectionRefusedError):
            raise failed("连接被拒绝") from None
        raise failed(type(reason).__name__) from None
    if status != 200:
        raise failed(f"HTTP {status}")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise failed("答复不是 JSON") from None
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode"))) if isinstance(answer, dict) else None
    if code != 0:
        raise failed(f"错误码 {str(code)[:20]}")
