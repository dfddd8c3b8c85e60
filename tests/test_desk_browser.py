"""The signing desk in a real browser (issue 21, "Done when"): headless Chromium driven by
Playwright, with Chrome's virtual authenticator (the DevTools WebAuthn domain; one per signer, attached
while that signer is at the keyboard) standing for the
signers' passkeys. 李娜 and 陈刚 enrol a credential through the desk's page, the registry change
goes through a policy change request signed by the signers in force (SSH keys), then 李娜 signs a
request as 审核 and 陈刚 as 批准 through the page's buttons, and 李娜 returns another; the
release built on them passes ``manual audit`` and ``manual history --json`` names the signers.
Screenshots of 待办 and a request page at 1366 and 390 px go to a temporary folder, or with
``MANUAL_UPDATE_SCREENSHOT=1`` to docs/screens/."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_support import Desk, assert_ok, free_port, open_request, running_desk
from revision_repo import PROJECT_ROOT, shared_history
from test_site_browser import CHROMIUM, _require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("desk")]
ENROL_NOW = {"MANUAL_NOW": "2026-01-08T10:00:00+08:00"}
SIGN_NOW = {"MANUAL_NOW": "2026-01-24T10:00:00+08:00"}
SCREENS = PROJECT_ROOT / "docs" / "screens"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",  # no request leaves this machine
]  # fmt: skip
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True, "isUserVerified": True}


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, Any]]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        context.set_default_timeout(30_000)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        devices = Devices(cdp)
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not re.match(r"http://localhost:\d+/", r.url) else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page, (devices, outside, errors)
        context.close()
        chromium.close()


class Devices:
    """Each signer's own passkey device: one virtual authenticator at a time is attached (the one
    of the signer at the keyboard), holding only that signer's credentials."""

    def __init__(self, cdp: Any) -> None:
        self.cdp = cdp
        self.held: dict[str, list[dict[str, Any]]] = {}
        self.current: tuple[str, str] | None = None

    def use(self, signer: str) -> None:
        if self.current is not None:
            who, authenticator = self.current
            self.held[who] = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
            self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
        authenticator = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})["authenticatorId"]
        for credential in self.held.get(signer, []):
            self.cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credential})
        self.current = (signer, authenticator)

    def credentials(self) -> dict[str, int]:
        self.use(self.current[0] if self.current else "")
        return {who: len(c) for who, c in self.held.items() if c}


def open_desk(page: Any, desk: Desk) -> None:
    page.goto(desk.address)  # the token, then kept in the cookie
    page.wait_for_url(re.compile(r"http://localhost:\d+/$"))


def enrol_in_browser(page: Any, devices: Devices, desk: Desk, signer: str) -> None:
    from playwright.sync_api import expect

    devices.use(signer)
    page.goto(f"{desk.origin}/enrol")
    form = page.locator("#desk-enrol")
    form.locator("select[name=signer]").select_option(signer)
    form.locator("button[data-enrol]").click()
    expect(form.locator(".desk-result")).to_have_attribute("data-state", "ok")
    expect(form.locator(".desk-result")).to_contain_text("已登记")
    expect(page.locator("#desk-patch")).to_contain_text("+      - credential_id:")


def sign_in_browser(page: Any, devices: Devices, desk: Desk, cr: str, signer: str, role: str) -> None:
    from playwright.sync_api import expect

    devices.use(signer)
    page.goto(f"{desk.origin}/cr/{cr}")
    form = page.locator("#desk-sign")
    form.locator("select[name=signer]").select_option(signer)
    form.locator("select[name=role]").select_option(role)
    form.locator("button[data-method=webauthn]").click()
    expect(form.locator(".desk-result")).to_contain_text("已签署", timeout=30_000)
    expect(page.locator(f"table.desk-signatures tr[data-role='{role}'][data-valid='yes']")).to_have_count(1)


def return_in_browser(page: Any, devices: Devices, desk: Desk, cr: str, signer: str, reason: str) -> None:
    from playwright.sync_api import expect

    devices.use(signer)
    page.goto(f"{desk.origin}/cr/{cr}")
    form = page.locator("#desk-return")
    form.locator("select[name=signer]").select_option(signer)
    form.locator("button[data-method=webauthn]").click()
    expect(form.locator(".desk-result")).to_contain_text("退回理由")  # refused without a reason
    form.locator("textarea[name=reason]").fill(reason)
    form.locator("button[data-method=webauthn]").click()
    expect(form.locator(".desk-result")).to_contain_text("已退回")
    page.reload()
    expect(page.locator(".desk-returned")).to_contain_text(reason)


def screenshots(page: Any, desk: Desk, cr: str, tmp: Path) -> None:
    """The desk at both widths, into a temporary folder, or docs/screens/ with MANUAL_UPDATE_SCREENSHOT=1."""
    out = SCREENS if os.environ.get("MANUAL_UPDATE_SCREENSHOT") == "1" else tmp
    out.mkdir(parents=True, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (("todo", "/"), ("request", f"/cr/{cr}")):
            page.goto(desk.origin + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"
            page.screenshot(path=str(out / f"desk-{name}-{width}.png"), full_page=name == "todo")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_enrol_sign_and_return_in_chromium_with_a_virtual_authenticator(browser_page: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    page, (devices, outside, errors) = browser_page
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("desk-browser") / "repo")
    port = free_port()
    # 1. enrolment: each signer creates a passkey on the desk's page; policy.yml changes in the working tree
    with running_desk(repo, "--port", str(port), env=ENROL_NOW) as desk:
        open_desk(page, desk)
        enrol_in_browser(page, devices, desk, "li.na")
        enrol_in_browser(page, devices, desk, "chen.gang")
    assert devices.credentials() == {"li.na": 1, "chen.gang": 1}
    policy = (repo.root / "manual" / "policy.yml").read_text(encoding="utf-8")
    assert policy.count("credential_id:") == 2 and f"origin: http://localhost:{port}" in policy and "rp_id: localhost" in policy
    # a credential is nothing until the registry change is released: the desk refuses it now
    early = open_request(repo)
    from playwright.sync_api import expect

    with running_desk(repo, "--port", str(port), env=SIGN_NOW) as desk:
        open_desk(page, desk)
        devices.use("li.na")
        page.goto(f"{desk.origin}/cr/{early}")
        page.locator("#desk-sign select[name=signer]").select_option("li.na")
        page.locator("#desk-sign button[data-method=webauthn]").click()
        expect(page.locator("#desk-sign .desk-result")).to_contain_text("MAN651")
    repo.git("checkout", "--", str(repo.chapter_path("3.2").relative_to(repo.root)))
    repo.git("clean", "-fdq", "changelog/")
    # 2. the registry change through a policy change request, signed by the signers in force (SSH)
    cr = repo.propose("minor", ["policy"], title="登记签署台凭据", today="2026-01-10")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr}: WebAuthn credentials enrolled at the desk")
    assert_ok(repo.release("2026-01-15", "2026-01-22"))
    # 3. sign one request as 审核 and 批准, return another, through the page's buttons
    signed = open_request(repo)
    chapter = repo.chapter_path("3.3")
    before_return = chapter.read_bytes()
    returned = open_request(repo, "3.3")
    with running_desk(repo, "--port", str(port), env=SIGN_NOW) as desk:
        open_desk(page, desk)
        screenshots(page, desk, signed, tmp_path_factory.mktemp("desk-screens"))  # both requests waiting for 审核
        sign_in_browser(page, devices, desk, signed, "li.na", "审核")
        sign_in_browser(page, devices, desk, signed, "chen.gang", "批准")
        return_in_browser(page, devices, desk, returned, "li.na", "第 3.3 节与现行合同模板冲突，请修改后重新提交")
    assert not outside, outside
    assert not [e for e in errors if "MAN651" not in e and "409" not in e], errors
    text = repo.request_path(signed).read_text(encoding="utf-8")
    assert text.count("webauthn:") == 2
    # 4. the returned request's change is taken back; the signed one is released and audited
    chapter.write_bytes(before_return)
    assert_ok(repo.manual("check"))
    repo.commit(f"{signed}: approved, {returned}: returned at the desk")
    assert_ok(repo.release("2026-01-25", "2026-02-01"))
    assert_ok(repo.manual("audit"))
    history = json.loads(repo.manual("history", "--json").stdout)
    release = history["releases"][-1]
    dumped = json.dumps(release, ensure_ascii=False)
    assert signed in dumped and "李娜" in dumped and "陈刚" in dumped, dumped[:2000]
    [back] = [r for r in history["returned_requests"] if r["id"] == returned]
    assert back["verified"] is True and back["name"] == "李娜"

