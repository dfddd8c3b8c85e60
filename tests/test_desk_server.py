"""The desk in server mode (issue 21, point 1): two desks, each over its own clone of one bare
repository standing for the company's remote, fetch before every page and push each signature to
the change request's branch. Two signers (审核 at one desk, 会签 at the other) signing one request
at the same moment both land: the second push finds the first, and its approval is written again
on the new tip (the signature covers the request without its approvals, so it is unchanged)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from desk_support import Desk, assert_ok, enrol, free_port, running_desk
from revision_repo import RevisionRepo, shared_history
from test_desk import NOW
from webauthn_authenticator import SoftAuthenticator

from manualkit.records.webauthn_signature import b64url_decode

pytestmark = pytest.mark.xdist_group("desk")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def challenge_for(desk: Desk, cr: str, role: str, signer: str) -> dict[str, object]:
    _, answer = desk.post("/api/challenge", {"change_request": cr, "role": role, "signer": signer, "method": "webauthn"})
    assert answer["ok"], answer
    return answer


def signed_body(auth: SoftAuthenticator, cr: str, challenge: dict[str, object]) -> dict[str, object]:
    a = auth.assert_raw(b64url_decode(str(challenge["challenge"])), str(challenge["nonce"]))
    return {"change_request": cr, "nonce": challenge["nonce"], "credential_id": a.credential_id, "response": {
        "authenticator_data": a.authenticator_data, "client_data_json": a.client_data_json, "signature": a.signature}}  # fmt: skip


def test_two_signers_at_two_desks_at_once_both_land(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("desk-server")
    repo = shared_history(tmp_path_factory, "released").copy_to(base / "editor")
    port_a, port_b = free_port(), free_port()
    li, wang = SoftAuthenticator(origin=f"http://localhost:{port_a}"), SoftAuthenticator(origin=f"http://localhost:{port_b}")
    enrol(repo, {"li.na": li, "wang.fang": wang})
    cr = repo.propose("major", ["3.2"], today="2026-01-23")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-24T09:00:00+08:00")
    repo.commit(f"{cr}: submitted")
    branch = repo.git("symbolic-ref", "--short", "HEAD").strip()
    bare = base / "company.git"
    git("clone", "--quiet", "--bare", str(repo.root), str(bare))
    clones: list[RevisionRepo] = []
    for name in ("desk-a", "desk-b"):
        clone = repo.copy_to(base / name)
        clone.git("remote", "add", "company", str(bare))
        clones.append(clone)
    with running_desk(clones[0], "--port", str(port_a), "--remote", "company", env=NOW) as a, running_desk(
        clones[1], "--port", str(port_b), "--remote", "company", env=NOW
    ) as b:
        bodies = [(a, signed_body(li, cr, challenge_for(a, cr, "审核", "li.na"))), (b, signed_body(wang, cr, challenge_for(b, cr, "会签", "wang.fang")))]
        answers: list[tuple[int, dict[str, object]]] = []
        start = threading.Barrier(2)

        def sign(desk: Desk, body: dict[str, object]) -> None:
            start.wait()
            answers.append(desk.post("/api/sign", body))

        threads = [threading.Thread(target=sign, args=pair) for pair in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(answers) == 2 and all(status == 200 and answer["ok"] for status, answer in answers), answers
        # each desk fetches before a page: both show both signatures
        for desk in (a, b):
            _, _, page = desk.request("GET", f"/cr/{cr}")
            assert page.count("✓ 有效") == 3 and "李娜" in page and "王芳" in page
    pushed = git("--git-dir", str(bare), "show", f"{branch}:changelog/requests/{cr}.yml")
    assert pushed.count("webauthn:") == 2 and "signer: li.na" in pushed and "signer: wang.fang" in pushed
    # the editor pulls the branch: the request is valid and waits for 批准
    repo.git("pull", "--quiet", "--ff-only", str(bare), branch)
    assert_ok(repo.manual("check"))
    status = repo.manual("status", "--json")
    assert '"waiting_for": "批准"' in status.stdout, status.stdout


def test_server_mode_reads_the_remote_before_every_page(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path / "editor")
    branch = repo.git("symbolic-ref", "--short", "HEAD").strip()
    bare = tmp_path / "company.git"
    git("clone", "--quiet", "--bare", str(repo.root), str(bare))
    server = repo.copy_to(tmp_path / "server")
    server.git("remote", "add", "company", str(bare))
    port = free_port()
    with running_desk(server, "--port", str(port), "--remote", "company", env=NOW) as desk:
        _, _, before = desk.request("GET", "/")
        cr = repo.propose("minor", ["3.2"], today="2026-01-23", title="服务器模式取得的新申请")
        repo.append_to_section("3.2", "报价单的有效期为 15 日。")
        repo.approve(cr, "编制", now="2026-01-24T09:00:00+08:00")
        repo.commit(f"{cr}: submitted")
        repo.git("push", "--quiet", str(bare), f"HEAD:refs/heads/{branch}")
        _, _, after = desk.request("GET", "/")
    assert cr not in before and cr in after and "服务器模式取得的新申请" in after


def test_two_signatures_at_once_at_one_local_desk_both_land(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Two signers at one desk in the same instant: the repository lock serializes the two worker
    threads, the second reads the first's approval and appends its own."""
    from desk_support import open_request

    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("desk-local") / "repo")
    port = free_port()
    li, chen = SoftAuthenticator(origin=f"http://localhost:{port}"), SoftAuthenticator(origin=f"http://localhost:{port}")
    enrol(repo, {"li.na": li, "chen.gang": chen})
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        bodies = [signed_body(li, cr, challenge_for(desk, cr, "审核", "li.na")), signed_body(chen, cr, challenge_for(desk, cr, "批准", "chen.gang"))]
        answers: list[tuple[int, dict[str, object]]] = []
        start = threading.Barrier(2)

        def sign(body: dict[str, object]) -> None:
            start.wait()
            answers.append(desk.post("/api/sign", body))

        threads = [threading.Thread(target=sign, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert len(answers) == 2 and all(answer["ok"] for _, answer in answers), answers
    text = repo.request_path(cr).read_text(encoding="utf-8")
    assert text.count("webauthn:") == 2 and "signer: li.na" in text and "signer: chen.gang" in text
    assert_ok(repo.manual("check"))
