"""The desk as a Starlette application: pages (Jinja2, autoescaped), the signing endpoints, and
the guards every request passes — the Host check (DNS rebinding), the access token of the local
mode, the same-origin check of every POST, and the security headers (CSP without inline script,
frame-ancestors 'none').

Every write is a signature over a challenge the desk issued for one request, role and signer,
bound to the request's content digest when the challenge was issued; a challenge is used once
(it is taken out of the pending table before anything is checked) and expires.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from manualkit.base import clock
from manualkit.base.diagnostics import Diagnostic, ManualError, diagnostic
from manualkit.base.run import Run
from manualkit.commands.sign import (
    PendingApproval,
    PendingReturn,
    finish_approval,
    finish_return,
    finish_ssh_approval,
    finish_ssh_return,
    prepare_approval,
    prepare_return,
    reappend_approval,
)
from manualkit.desk import views
from manualkit.records.change_request import request_path
from manualkit.records.procedure import return_path, write_record
from manualkit.records.webauthn_signature import BASE64URL_RE, NONCE_BYTES, Assertion, b64url, b64url_decode

HERE = Path(__file__).resolve().parent
CHALLENGE_SECONDS = 300
MAX_BODY = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
TOKEN_COOKIE = "manual_desk_token"
SIGNER_COOKIE = "manual_desk_signer"  # who the visitor says they are: a preference, never an authentication


@dataclass
class DeskConfig:
    root: Path
    origin: str  # the address signers open, e.g. http://localhost:8440 (WebAuthn origin)
    rp_id: str  # the WebAuthn relying-party id: the origin's host name
    allowed_hosts: tuple[str, ...]  # accepted Host headers (host:port)
    token: str | None = None  # local mode: required in the address (then kept in a cookie)
    ssh_key: Path | None = None  # local mode: sign SSH with this key file instead of ssh-agent
    ssh_agent: bool = True  # local mode: SSH signing through ssh-agent (never in server mode)
    sync: Any = None  # server mode: fetch before a page, push after a write (desk.remote.Remote)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


T = TypeVar("T")


class Pending(Generic[T]):
    """The challenges issued and not yet used, by nonce (single use, expiring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, T, str]] = {}

    def add(self, nonce: str, item: T, method: str, now: float) -> None:
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[nonce] = (now + CHALLENGE_SECONDS, item, method)

    def take(self, nonce: str, now: float) -> tuple[T, str] | None:
        with self._lock:
            found = self._items.pop(nonce, None)
        if found is None or found[0] <= now:
            return None
        return found[1], found[2]


def refusal(code: str, message: str, where: str = "desk") -> ManualError:
    return ManualError([diagnostic(where, 0, 0, code, message)])


def create_app(config: DeskConfig) -> Any:
    """The ASGI application of the desk over the checkout at ``config.root``."""
    import jinja2
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    pending: Pending[PendingApproval | PendingReturn] = Pending()
    enrolments: Pending[tuple[str, bytes]] = Pending()  # nonce -> (signer, registration challenge)
    from manualkit.records.policy import declared_time_zone

    zone = declared_time_zone(config.root)

    def this_run() -> Run:
        """The request being served, as one run: the clock read once, the company's date."""
        return Run.at(config.root, config.env, zone)

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(token=config.token or "", **context), status_code=status)

    def error_page(error: ManualError, status: int) -> HTMLResponse:
        return page("error.html", status, diagnostics=error.diagnostics)

    def error_json(error: ManualError, status: int) -> JSONResponse:
        return JSONResponse({"ok": False, "diagnostics": [diag_json(d) for d in error.diagnostics]}, status_code=status)

    async def todo(request: Request) -> Response:
        try:
            if config.sync is not None:
                await run_in_threadpool(config.sync.fetch)
            run = this_run()
            items = await run_in_threadpool(views.todo, run)
            signers = await run_in_threadpool(views.in_force_signers, config.root)
        except ManualError as e:
            return error_page(e, 500)
        me = next((s for s in signers if s.id == request.cookies.get(SIGNER_COOKIE)), None)
        role = request.query_params.get("role", "")
        mine = request.query_params.get("all") != "1" and me is not None and not role
        shown = [i for i in items if (not role or i.waiting_for == role) and (not mine or (me is not None and i.waiting_for in me.roles))]
        return page("todo.html", items=shown, role=role, today=run.today.isoformat(), me=me, mine=mine, signers=signers)

    async def choose_signer(request: Request) -> Response:
        """Remember who the visitor says they are (the 待办 filter and the forms' default signer)."""
        try:
            data = await read_json(request)
            signer = data.get("signer")
            known = {s.id for s in await run_in_threadpool(views.in_force_signers, config.root)}
            if signer != "" and signer not in known:
                raise refusal("MAN907", "所选签署人不在现行签署人名录中")
        except ManualError as e:
            return error_json(e, 409)
        response = JSONResponse({"ok": True, "signer": signer})
        if signer:
            response.set_cookie(SIGNER_COOKIE, str(signer), httponly=True, samesite="strict", max_age=180 * 86400)
        else:
            response.delete_cookie(SIGNER_COOKIE)
        return response

    async def change_request(request: Request) -> Response:
        cr_id = request.path_params["cr"]
        try:
            if config.sync is not None:
                await run_in_threadpool(config.sync.fetch)
            view = await run_in_threadpool(views.request_view, this_run(), cr_id)
        except ManualError as e:
            return error_page(e, 404 if any(d.code == "MAN646" for d in e.diagnostics) else 500)
        me = request.cookies.get(SIGNER_COOKIE, "")
        return page("request.html", cr=view, ssh=config.ssh_agent or config.ssh_key is not None, rp_id=config.rp_id, me=me)

    async def read_json(request: Request) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise refusal("MAN907", "请求过大；签署台只接受签名数据")
        import json

        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise refusal("MAN907", "请求缺少签名数据（应为 JSON 对象）；未写入任何记录")
        return data

    def text_field(data: Mapping[str, Any], key: str, limit: int = 200) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value or len(value) > limit:
            raise refusal("MAN907", f"请求缺少字段 {key} 或其格式无效；未写入任何记录")
        return value

    async def challenge(request: Request) -> Response:
        """Issue a single-use challenge for one approval or return (method webauthn or ssh)."""
        try:
            data = await read_json(request)
            cr_id, role, signer = text_field(data, "change_request"), text_field(data, "role"), text_field(data, "signer")
            method = data.get("method", "webauthn")
            action = data.get("action", "approve")
            if method not in ("webauthn", "ssh") or (method == "ssh" and not (config.ssh_agent or config.ssh_key)):
                raise refusal("MAN907", "签名方式应为 webauthn 或（本机模式下的）ssh")
            if action not in ("approve", "return"):
                raise refusal("MAN907", "操作应为 approve（签署）或 return（退回）")
            reason = data.get("reason") if action == "return" else None
            if action == "return" and (not isinstance(reason, str) or not reason.strip()):
                raise refusal("MAN907", "退回须填写退回理由；未写入任何记录", "reason")
            if config.sync is not None:
                await run_in_threadpool(config.sync.fetch)
            nonce = b64url(os.urandom(NONCE_BYTES))
            item: PendingApproval | PendingReturn
            if isinstance(reason, str):
                item = await run_in_threadpool(prepare_return, this_run(), cr_id, role, signer, reason, nonce, method=method)
            else:
                item = await run_in_threadpool(prepare_approval, this_run(), cr_id, role, signer, nonce, method=method)
            if "digest" in data and data["digest"] != item.digest:
                raise refusal("MAN902", f"页面显示之后 {cr_id} 的内容已被修改；请刷新页面，阅读修改后的内容再签署", cr_id)
            pending.add(item.nonce, item, method, clock_seconds())
        except ManualError as e:
            return error_json(e, 409)
        credentials = await run_in_threadpool(views.signer_credentials, config.root, item.signer)
        return JSONResponse(
            {
                "ok": True, "nonce": nonce, "challenge": b64url(item.challenge), "rp_id": config.rp_id,
                "credentials": list(credentials), "message": item.message.decode("utf-8"), "timeout": CHALLENGE_SECONDS * 1000,
            }
        )  # fmt: skip

    async def sign(request: Request) -> Response:
        """Finish a signature: a WebAuthn assertion for the nonce, or (local mode) the SSH signing."""
        try:
            data = await read_json(request)
            nonce = text_field(data, "nonce")
            taken = pending.take(nonce, clock_seconds())
            if taken is None:
                raise refusal("MAN901", "该挑战不存在、已使用或已过期（重放的签名不被接受）；请刷新页面后重新签署")
            item, method = taken
            if data.get("change_request") != item.change_request:
                raise refusal("MAN901", f"该签名的挑战属于 {item.change_request}，不是本申请单；未写入任何记录")
            assertion = assertion_of(data) if method == "webauthn" else None
            name, reapply = await run_in_threadpool(write_signature, this_run(), item, assertion)
            if config.sync is not None:
                done = "returned" if isinstance(item, PendingReturn) else "signed"
                paths = [return_path(item.change_request)] if isinstance(item, PendingReturn) else [request_path(item.change_request)]
                message = f"{item.change_request}: {item.role} {done} at the desk by {item.signer}"
                await run_in_threadpool(config.sync.publish, paths, message, reapply)
        except ManualError as e:
            return error_json(e, 409)
        action = "return" if isinstance(item, PendingReturn) else "approve"
        return JSONResponse({"ok": True, "action": action, "role": item.role, "signer": item.signer, "name": name, "signed_at": item.signed_at})

    def write_signature(
        run: Run, item: PendingApproval | PendingReturn, assertion: Assertion | None
    ) -> tuple[str, Callable[[], None]]:
        """Write the approval or return ``item`` (signed by ``assertion``, or by SSH) in ``run``; the
        signer's name, and how to write the same record again on a newer tip of the branch (server mode)."""
        if isinstance(item, PendingReturn):
            if assertion is not None:
                record = finish_return(run, item, assertion)
            else:
                record = finish_ssh_return(run, item, config.ssh_key)

            def again() -> None:
                write_record(config.root, record)

            return record.name, again
        if assertion is not None:
            approval = finish_approval(run, item, assertion)
        else:
            approval = finish_ssh_approval(run, item, config.ssh_key)
        return approval.name, lambda: reappend_approval(config.root, item, approval)

    async def enrol_page(request: Request) -> Response:
        try:
            signers = await run_in_threadpool(views.registry_signers, config.root)
        except ManualError as e:
            return error_page(e, 500)
        return page("enrol.html", signers=signers, rp_id=config.rp_id, origin=config.origin, writes=config.sync is None)

    async def enrol_options(request: Request) -> Response:
        """Issue the registration options (a single-use challenge) for ``signer``'s new credential."""
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        try:
            data = await read_json(request)
            signer = text_field(data, "signer")
            known = {s.id: s for s in await run_in_threadpool(views.registry_signers, config.root)}
            if signer not in known:
                raise refusal("MAN911", f"签署人 {signer[:40]!r} 不在 policy.yml 的签署人名录中", "manual/policy.yml")
        except ManualError as e:
            return error_json(e, 409)
        nonce = b64url(os.urandom(NONCE_BYTES))
        options = generate_registration_options(
            rp_id=config.rp_id, rp_name="销售业务流程规范手册 签署台", user_name=signer, user_id=signer.encode("utf-8"),
            user_display_name=known[signer].name, challenge=os.urandom(32), timeout=CHALLENGE_SECONDS * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(c)) for c in known[signer].credentials],
        )  # fmt: skip
        enrolments.add(nonce, (signer, options.challenge), "webauthn", clock_seconds())
        import json

        return JSONResponse({"ok": True, "nonce": nonce, "options": json.loads(options_to_json(options))})

    async def enrol_finish(request: Request) -> Response:
        """Verify the new credential and write (local mode) or show the registry change."""
        from manualkit.commands.enrol import enrol, verify_enrolment

        try:
            data = await read_json(request)
            taken = enrolments.take(text_field(data, "nonce"), clock_seconds())
            if taken is None:
                raise refusal("MAN901", "该登记挑战不存在、已使用或已过期；请刷新页面后重新登记")
            (signer, challenge_bytes), _ = taken
            credential_json = data.get("credential")
            if not isinstance(credential_json, dict):
                raise refusal("MAN907", "请求缺少新凭据（credential）；未写入任何内容")
            credential = verify_enrolment(credential_json, challenge_bytes, config.rp_id, config.origin, this_run().today)
            done = await run_in_threadpool(lambda: enrol(config.root, signer, credential, write=config.sync is None))
        except ManualError as e:
            return error_json(e, 409)
        return JSONResponse(
            {"ok": True, "signer": done.signer, "name": done.name, "credential_id": done.credential.credential_id, "patch": done.patch,
             "written": config.sync is None}
        )  # fmt: skip

    def assertion_of(data: Mapping[str, Any]) -> Assertion:
        response = data.get("response")
        if not isinstance(response, dict):
            raise refusal("MAN907", "请求缺少 WebAuthn 签名；未写入任何记录")
        parts = [data.get("credential_id"), data.get("nonce")] + [response.get(k) for k in ("authenticator_data", "client_data_json", "signature")]
        if not all(isinstance(p, str) and 0 < len(p) <= 8192 and BASE64URL_RE.fullmatch(p) for p in parts):
            raise refusal("MAN907", "WebAuthn 签名的字段缺失或不是 base64url；未写入任何记录")
        return Assertion(*(str(p) for p in parts))

    def clock_seconds() -> float:
        return clock.seconds_since_epoch()  # challenges expire in real time, whatever MANUAL_NOW says

    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = request.headers.get("host", "")
        api = request.url.path.startswith("/api/")
        try:
            if host not in config.allowed_hosts:
                raise refusal("MAN906", f"主机名 {host[:80]!r} 不是签署台的地址；拒绝（防 DNS 重绑定）")
            if config.token is not None and not request.url.path.startswith("/static/"):
                given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
                if not hmac.compare_digest(given.encode(), config.token.encode()):
                    raise refusal("MAN906", "缺少或错误的访问令牌；请使用 manual desk 启动时打印的地址")
            if request.method not in ("GET", "HEAD") and request.headers.get("origin") != config.origin:
                raise refusal("MAN906", "请求的来源不是签署台本身；拒绝（防跨站请求）")
        except ManualError as e:
            response: Response = error_json(e, 403) if api else error_page(e, 403)
        else:
            if config.token is not None and request.query_params.get("token") and request.method == "GET":
                response = RedirectResponse(request.url.path, status_code=303)
                response.set_cookie(TOKEN_COOKIE, config.token, httponly=True, samesite="strict")
            else:
                response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers[k] = v
        return response

    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware

    return Starlette(
        routes=[
            Route("/", todo),
            Route("/cr/{cr}", change_request),
            Route("/api/challenge", challenge, methods=["POST"]),
            Route("/api/sign", sign, methods=["POST"]),
            Route("/api/me", choose_signer, methods=["POST"]),
            Route("/enrol", enrol_page),
            Route("/api/enrol/options", enrol_options, methods=["POST"]),
            Route("/api/enrol", enrol_finish, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
    )


def diag_json(d: Diagnostic) -> dict[str, object]:
    return {"path": d.path, "line": d.line, "code": d.code, "message": d.message}
