"""退回 at the signing desk (issue 21, point 5): the signer the request waits for returns it with a
required reason, signed with a passkey (WebAuthn) or through ssh-agent; the record is the
``manual return`` record, read by ``check``, ``history`` and ``audit``; a tampered one is refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from desk_support import Desk, assert_ok, open_request, running_desk
from revision_repo import RevisionRepo
from test_desk import NOW, coded, desk_repo, enrolled, ssh_agent, unchanged
from webauthn_authenticator import SoftAuthenticator

from manualkit.records.webauthn_signature import b64url_decode

pytestmark = pytest.mark.xdist_group("desk")
__all__ = ["desk_repo", "enrolled", "ssh_agent"]  # fixtures used here
HOSTILE = "<script>alert(1)</script>价格条款&“不清”"
DeskRepo = tuple[RevisionRepo, dict[str, SoftAuthenticator], int]


def webauthn_return(desk: Desk, auth: SoftAuthenticator, cr: str, signer: str, reason: object, role: str = "审核") -> tuple[int, dict[str, object]]:
    status, challenge = desk.post(
        "/api/challenge", {"change_request": cr, "role": role, "signer": signer, "method": "webauthn", "action": "return", "reason": reason}
    )
    if not challenge["ok"]:
        return status, challenge
    a = auth.assert_raw(b64url_decode(str(challenge["challenge"])), str(challenge["nonce"]))
    return desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"], "credential_id": a.credential_id, "response": {
        "authenticator_data": a.authenticator_data, "client_data_json": a.client_data_json, "signature": a.signature}})  # fmt: skip


def history_returns(repo: RevisionRepo) -> list[dict[str, object]]:
    result = repo.manual("history", "--json")
    assert_ok(result)
    returned = json.loads(result.stdout)["returned_requests"]
    assert isinstance(returned, list)
    return returned


def test_a_passkey_return_is_the_record_manual_return_writes(desk_repo: DeskRepo) -> None:
    repo, auths, port = desk_repo
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        status, answer = webauthn_return(desk, auths["li.na"], cr, "li.na", HOSTILE)
        assert status == 200 and answer["ok"] and answer["action"] == "return" and answer["name"] == "李娜", answer
        _, _, page = desk.request("GET", f"/cr/{cr}")
        assert "已退回" in page and "WebAuthn 签名" in page and "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
        assert 'id="desk-sign"' not in page and 'id="desk-return"' not in page  # nothing more to sign
        # returned once: a second return is refused
        _, answer = webauthn_return(desk, auths["li.na"], cr, "li.na", "再次退回")
        coded(answer, "MAN801")
    text = (repo.root / "changelog" / "returns" / f"{cr}.yml").read_text(encoding="utf-8")
    assert "kind: manual-return/1" in text and "\nwebauthn:\n" in text and "\nsignature:" not in text and "\nby: \"li.na\"" in text
    [entry] = [r for r in history_returns(repo) if r["id"] == cr]
    assert entry["verified"] is True and entry["signer"] == "li.na" and entry["reason"] == HOSTILE and entry["role"] == "审核"
    # the returned request no longer covers its change: the editor takes the change back
    assert "MAN670" in repo.manual("check", check=False).output
    repo.git("checkout", "--", "manual/")
    assert_ok(repo.manual("check"))
    repo.commit(f"{cr}: returned at the desk")
    assert_ok(repo.manual("audit"))


def test_a_tampered_passkey_return_is_refused_by_every_reader(desk_repo: DeskRepo) -> None:
    repo, auths, port = desk_repo
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        _, answer = webauthn_return(desk, auths["li.na"], cr, "li.na", "价格条款不清")
        assert answer["ok"], answer
    path = repo.root / "changelog" / "returns" / f"{cr}.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("价格条款不清", "同意发布"), encoding="utf-8")
    check = repo.manual("check", check=False)
    assert check.code == 1 and "MAN802" in check.output and "Traceback" not in check.output
    [entry] = [r for r in history_returns(repo) if r["id"] == cr]
    assert entry["verified"] is False


def test_a_return_needs_a_reason_and_the_role_waited_for(desk_repo: DeskRepo) -> None:
    repo, auths, port = desk_repo
    cr = open_request(repo)
    repo.commit("an open request")
    before = unchanged(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        for reason in ("", "   ", None, 5):
            _, answer = webauthn_return(desk, auths["li.na"], cr, "li.na", reason)
            coded(answer, "MAN907")
        # 陈刚 holds 批准, but the request waits for 审核
        _, answer = webauthn_return(desk, auths["chen.gang"], cr, "chen.gang", "不同意", role="批准")
        coded(answer, "MAN801")
        # a credential not in the registry, for 李娜
        _, answer = webauthn_return(desk, SoftAuthenticator(origin=auths["li.na"].origin), cr, "li.na", "不同意")
        coded(answer, "MAN903")
        # a bidi override in the reason
        _, answer = webauthn_return(desk, auths["li.na"], cr, "li.na", "不同意\u202e条款")
        coded(answer, "MAN762")
    assert unchanged(repo) == before


def test_a_return_through_ssh_agent(desk_repo: DeskRepo, ssh_agent: dict[str, str]) -> None:
    repo, _, port = desk_repo
    cr = open_request(repo)
    subprocess.run(["ssh-add", "-q", str(repo.key("li.na"))], env={**os.environ, **ssh_agent}, check=True, capture_output=True)
    with running_desk(repo, "--port", str(port), env={**NOW, **ssh_agent}) as desk:
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "ssh", "action": "return", "reason": "客户条款需法务会签"})
        assert challenge["ok"], challenge
        status, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"]})
        assert status == 200 and answer["ok"], answer
    text = (repo.root / "changelog" / "returns" / f"{cr}.yml").read_text(encoding="utf-8")
    assert "BEGIN SSH SIGNATURE" in text and "webauthn" not in text
    repo.git("checkout", "--", "manual/")
    assert_ok(repo.manual("check"))
    [entry] = [r for r in history_returns(repo) if r["id"] == cr]
    assert entry["verified"] is True and entry["reason"] == "客户条款需法务会签"


def test_the_return_form_is_on_the_request_page(desk_repo: DeskRepo, tmp_path: Path) -> None:
    repo, _, port = desk_repo
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        _, _, page = desk.request("GET", f"/cr/{cr}")
    assert 'id="desk-return"' in page and 'data-action="return"' in page and "退回理由" in page and 'name="reason"' in page


def test_a_return_with_the_key_file_the_desk_was_started_with(desk_repo: DeskRepo) -> None:
    repo, _, port = desk_repo
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), "--key", str(repo.key("li.na")), env=NOW) as desk:
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "ssh", "action": "return", "reason": "条款需重写"})
        _, answer = desk.post("/api/sign", {"change_request": cr, "nonce": challenge["nonce"]})
        assert answer["ok"], answer
    [entry] = [r for r in history_returns(repo) if r["id"] == cr]
    assert entry["verified"] is True and entry["reason"] == "条款需重写"


def test_two_returns_at_once_write_one_record(desk_repo: DeskRepo) -> None:
    import threading

    repo, auths, port = desk_repo
    cr = open_request(repo)
    li = auths["li.na"]
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        bodies = []
        for reason in ("理由甲", "理由乙"):
            _, c = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "webauthn", "action": "return", "reason": reason})
            a = li.assert_raw(b64url_decode(str(c["challenge"])), str(c["nonce"]))
            bodies.append({"change_request": cr, "nonce": c["nonce"], "credential_id": a.credential_id, "response": {
                "authenticator_data": a.authenticator_data, "client_data_json": a.client_data_json, "signature": a.signature}})  # fmt: skip
        answers: list[dict[str, object]] = []
        start = threading.Barrier(2)

        def send(body: dict[str, object]) -> None:
            start.wait()
            answers.append(desk.post("/api/sign", body)[1])

        threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(bool(a["ok"]) for a in answers) == [False, True], answers
    refused = next(a for a in answers if not a["ok"])
    assert refused["diagnostics"][0]["code"] in ("MAN801", "MAN645"), refused  # type: ignore[index]
    [entry] = [r for r in history_returns(repo) if r["id"] == cr]
    assert entry["verified"] is True and entry["reason"] in ("理由甲", "理由乙")
