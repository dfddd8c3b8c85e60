"""The signing desk over HTTP (issue 21): the real ``manual desk`` process on 127.0.0.1, a real
git repository whose released registry holds WebAuthn credentials, a software authenticator with a
real P-256 key, and a real ssh-agent. Every refusal is coded and writes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_support import Desk, assert_ok, enrol, free_port, open_request, running_desk
from revision_repo import RevisionRepo, shared_history
from webauthn_authenticator import SoftAuthenticator

from manualkit.records.webauthn_signature import b64url_decode

pytestmark = pytest.mark.xdist_group("desk")
NOW = {"MANUAL_NOW": "2026-01-24T10:00:00+08:00"}


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory) -> tuple[RevisionRepo, dict[str, SoftAuthenticator], int]:
    """A/1 enrolled 李娜's and 陈刚's passkeys for the desk at http://localhost:<port>."""
    released = shared_history(tmp_path_factory, "released")
    port = free_port()
    origin = f"http://localhost:{port}"
    repo = released.copy_to(tmp_path_factory.mktemp("desk") / "repo")
    auths = {"li.na": SoftAuthenticator(origin=origin), "chen.gang": SoftAuthenticator(origin=origin)}
    enrol(repo, auths)
    return repo, auths, port


@pytest.fixture
def desk_repo(enrolled: tuple[RevisionRepo, dict[str, SoftAuthenticator], int], tmp_path: Path) -> tuple[RevisionRepo, dict[str, SoftAuthenticator], int]:
    repo, auths, port = enrolled
    return repo.copy_to(tmp_path / "copy"), auths, port


def unchanged(repo: RevisionRepo) -> str:
    return repo.git("status", "--porcelain", "--untracked-files=all") + repo.head()


def coded(answer: dict[str, object], code: str) -> None:
    assert answer["ok"] is False, answer
    diagnostics = answer["diagnostics"]
    assert isinstance(diagnostics, list) and [d["code"] for d in diagnostics] == [code], answer
    assert all(re.search(r"[\u4e00-\u9fff]{4,}", d["message"]) for d in diagnostics), answer


def webauthn_sign(desk: Desk, auth: SoftAuthenticator, cr: str, role: str, signer: str, **kwargs: object) -> tuple[int, dict[str, object]]:
    status, challenge = desk.post("/api/challenge", {"change_request": cr, "role": role, "signer": signer, "method": "webauthn"})
    assert status == 200 and challenge["ok"], challenge
    assertion = auth.assert_raw(b64url_decode(str(challenge["challenge"])), str(challenge["nonce"]))
    return desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"], "credential_id": assertion.credential_id, "response": {
        "authenticator_data": assertion.authenticator_data, "client_data_json": assertion.client_data_json, "signature": assertion.signature}, **kwargs})


def test_pages_are_escaped_marked_draft_and_guarded_by_headers(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int]) -> None:
    repo, _, port = desk_repo
    hostile = "<img src=x onerror=alert(1)>报价&审批"
    cr = open_request(repo, title=hostile)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        status, headers, _ = desk.request("GET", f"/?token={desk.token}", token=False)
        assert status == 303 and "httponly" in headers["set-cookie"].lower() and "samesite=strict" in headers["set-cookie"].lower()
        status, headers, todo = desk.request("GET", "/")
        assert status == 200, todo
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
        assert "待办" in todo and cr in todo and "待审核" in todo and "草稿" in todo
        assert "<img src=x" not in todo and "&lt;img src=x onerror=alert(1)&gt;报价&amp;审批" in todo
        status, _, page = desk.request("GET", f"/cr/{cr}")
        assert status == 200, page
        for expected in ("文件修订申请单", "修订对照表（对照 A/1）", "修订标记", "修订后全文", "报价单的有效期为 15 日", "草稿", "用通行密钥签署", "张伟（zhang.wei）"):
            assert expected in page, expected
        assert "<ins" in page and "<img src=x" not in page
        assert not re.search(r"<script(?![^>]*src=\"/static/desk\.js\")", page), "inline script"
        assert not re.search(r"(src|href)=\"(https?:)?//", page), "a resource from another host"
        status, _, missing = desk.request("GET", "/cr/CR-2099-999")
        assert status == 404 and "MAN646" in missing


def test_webauthn_signing_through_the_desk_is_read_by_audit(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int]) -> None:
    repo, auths, port = desk_repo
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        status, answer = webauthn_sign(desk, auths["li.na"], cr, "审核", "li.na")
        assert status == 200 and answer["ok"] and answer["name"] == "李娜", answer
        status, answer = webauthn_sign(desk, auths["chen.gang"], cr, "批准", "chen.gang")
        assert status == 200 and answer["ok"], answer
        _, _, page = desk.request("GET", f"/cr/{cr}")
        assert page.count("WebAuthn") >= 2 and "✓ 有效" in page
    assert_ok(repo.manual("check"))
    repo.commit(f"{cr}: approved at the desk")
    assert_ok(repo.release("2026-01-25", "2026-02-01"))
    assert_ok(repo.manual("audit"))
    history = repo.manual("history")
    assert "李娜" in history.output and "陈刚" in history.output


def test_refusals_are_coded_and_write_nothing(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int]) -> None:
    repo, auths, port = desk_repo
    cr = open_request(repo)
    other = open_request(repo, "3.3")
    repo.commit("two open requests")
    before = unchanged(repo)
    li = auths["li.na"]
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        # missing token, wrong Host (DNS rebinding), a POST from another origin
        status, _, text = desk.request("GET", "/", token=False)
        assert status == 403 and "MAN906" in text
        status, _, text = desk.request("GET", "/", host=f"evil.example:{port}")
        assert status == 403 and "MAN906" in text
        status, answer = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na"}, origin="http://evil.example")
        assert status == 403
        coded(answer, "MAN906")
        status, answer = desk.post("/api/sign", {"change_request": cr}, token=False)
        coded(answer, "MAN906")
        # a POST without a signature, with no body, with an unknown nonce
        status, answer = desk.post("/api/sign", b"")
        coded(answer, "MAN907")
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "webauthn"})
        status, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"]})
        coded(answer, "MAN907")
        status, answer = desk.post("/api/sign", {"change_request": cr, "nonce": "AAAA", "credential_id": "AAAA", "response": {}})
        coded(answer, "MAN901")
        # a role the signer does not hold
        _, answer = desk.post("/api/challenge", {"change_request": cr, "role": "批准", "signer": "li.na", "method": "webauthn"})
        coded(answer, "MAN652")
        # an assertion for another request's challenge, posted for this one
        _, challenge = desk.post("/api/challenge", {"change_request": other, "role": "审核", "signer": "li.na", "method": "webauthn"})
        a = li.assert_raw(b64url_decode(str(challenge["challenge"])), str(challenge["nonce"]))
        _, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"], "credential_id": a.credential_id, "response": {
            "authenticator_data": a.authenticator_data, "client_data_json": a.client_data_json, "signature": a.signature}})
        coded(answer, "MAN901")
        # a credential not in the registry in force
        stranger = SoftAuthenticator(origin=li.origin)
        _, answer = webauthn_sign(desk, stranger, cr, "审核", "li.na")
        coded(answer, "MAN903")
        assert unchanged(repo) == before
        # stale: the request changed after the challenge was issued
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "webauthn"})
        repo.append_to_section("3.2", "另行约定的除外。")
        changed = unchanged(repo)
        a = li.assert_raw(b64url_decode(str(challenge["challenge"])), str(challenge["nonce"]))
        body = {"change_request": cr, "nonce": challenge["nonce"], "credential_id": a.credential_id, "response": {
            "authenticator_data": a.authenticator_data, "client_data_json": a.client_data_json, "signature": a.signature}}
        _, answer = desk.post("/api/sign", body)
        coded(answer, "MAN902")
        # the same assertion replayed
        _, answer = desk.post("/api/sign", body)
        coded(answer, "MAN901")
        assert unchanged(repo) == changed


@pytest.fixture
def ssh_agent(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not shutil.which("ssh-agent"):
        pytest.skip("ssh-agent is not installed")
    sock = str(tmp_path / "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        yield {"SSH_AUTH_SOCK": sock}
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_ssh_signing_through_the_agent(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int], ssh_agent: dict[str, str]) -> None:
    repo, _, port = desk_repo
    cr = open_request(repo)
    key = repo.key("li.na")
    subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, **ssh_agent}, check=True, capture_output=True)
    # The desk never sees the private key: its environment names only the agent.
    with running_desk(repo, "--port", str(port), env={**NOW, **ssh_agent}) as desk:
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "ssh"})
        assert challenge["ok"], challenge
        status, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"]})
        assert status == 200 and answer["ok"], answer
        # 陈刚's key is not in the agent: ssh-keygen finds no key, nothing is written
        before = repo.request_path(cr).read_bytes()
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "批准", "signer": "chen.gang", "method": "ssh"})
        _, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"]})
        assert answer["ok"] is False and answer["diagnostics"][0]["code"] == "MAN620", answer  # type: ignore[index]
        assert repo.request_path(cr).read_bytes() == before
    text = repo.request_path(cr).read_text(encoding="utf-8")
    assert "BEGIN SSH SIGNATURE" in text and "signer: li.na" in text
    assert_ok(repo.manual("check"))
    approvals = json.loads(repo.manual("status", "--json").stdout)["requests"]
    assert next(r for r in approvals if r["id"] == cr)["waiting_for"] == "批准"


def test_a_key_file_that_is_not_the_signers_is_refused(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int]) -> None:
    repo, _, port = desk_repo
    cr = open_request(repo)
    before = repo.request_path(cr).read_bytes()
    # The desk was started with 赵敏's key; 李娜 is the one asked to sign: the signature made does
    # not verify with her registered key, so nothing is written.
    with running_desk(repo, "--port", str(port), "--key", str(repo.key("zhao.min")), env=NOW) as desk:
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "ssh"})
        assert challenge["ok"], challenge
        _, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"]})
        coded(answer, "MAN905")
    assert repo.request_path(cr).read_bytes() == before


def test_server_mode_pushes_each_signature_to_the_request_branch(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int], tmp_path: Path) -> None:
    repo, auths, port = desk_repo
    cr = open_request(repo)
    repo.commit(f"{cr}: submitted")
    branch = repo.git("symbolic-ref", "--short", "HEAD").strip()
    bare = tmp_path / "company.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo.root), str(bare)], check=True, capture_output=True)
    repo.git("remote", "add", "company", str(bare))
    with running_desk(repo, "--port", str(port), "--remote", "company", env=NOW) as desk:
        status, answer = webauthn_sign(desk, auths["li.na"], cr, "审核", "li.na")
        assert status == 200 and answer["ok"], answer
    pushed = subprocess.run(["git", "--git-dir", str(bare), "show", f"{branch}:changelog/requests/{cr}.yml"], check=True, capture_output=True, text=True).stdout
    assert "signer: li.na" in pushed and "webauthn:" in pushed
    assert subprocess.run(["git", "--git-dir", str(bare), "rev-parse", branch], check=True, capture_output=True, text=True).stdout.strip() == repo.head()


def test_server_mode_without_its_remote_says_so(desk_repo: tuple[RevisionRepo, dict[str, SoftAuthenticator], int]) -> None:
    repo, _, port = desk_repo
    before = unchanged(repo)
    with running_desk(repo, "--port", str(port), "--remote", "nowhere", env=NOW) as desk:
        status, _, text = desk.request("GET", "/")
    assert status == 500 and "MAN908" in text and "nowhere" in text
    assert unchanged(repo) == before
