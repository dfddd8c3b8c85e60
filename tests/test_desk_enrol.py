"""Enrolling a passkey at the desk (issue 21, point 3): the attestation is verified (py_webauthn)
against the desk's single-use challenge, its origin and RP id, and the registry change is written
to the working tree's policy.yml (local mode; shown as a patch in server mode), refusing a
credential already registered. Nothing is in force until a policy change request releases it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from desk_support import assert_ok, free_port, open_request, running_desk
from revision_repo import RevisionRepo, shared_history
from test_desk import NOW, coded, unchanged
from test_desk_return import webauthn_return
from webauthn_authenticator import SoftAuthenticator

from manualkit.records.policy import parse_policy
from manualkit.records.webauthn_signature import b64url_decode

pytestmark = pytest.mark.xdist_group("desk")


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("desk-enrol") / "repo")


def policy_text(repo: RevisionRepo) -> str:
    return (repo.root / "manual" / "policy.yml").read_text(encoding="utf-8")


def test_an_enrolment_writes_the_registry_change_for_a_policy_request(repo: RevisionRepo) -> None:
    port = free_port()
    auth = SoftAuthenticator(origin=f"http://localhost:{port}")
    before = policy_text(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        status, _, page = desk.request("GET", "/enrol")
        assert status == 200 and "登记通行密钥" in page and "policy 修订申请" in page and "草稿" in page
        _, started = desk.post("/api/enrol/options", {"signer": "li.na"})
        assert started["ok"], started
        options = started["options"]
        assert isinstance(options, dict) and options["rp"]["id"] == "localhost" and options["user"]["name"] == "li.na"
        challenge = b64url_decode(str(options["challenge"]))
        status, done = desk.post("/api/enrol", {"nonce": started["nonce"], "credential": auth.attest(challenge)})
        assert status == 200 and done["ok"] and done["written"] is True and done["credential_id"] == auth.credential_b64, done
        assert "+    webauthn:" in str(done["patch"]) and "+        rp_id: localhost" in str(done["patch"])
        # the same credential again: refused, policy.yml unchanged
        written = policy_text(repo)
        _, again = desk.post("/api/enrol/options", {"signer": "li.na"})
        assert [c["id"] for c in again["options"]["excludeCredentials"]] == [auth.credential_b64]  # type: ignore[index]
        _, answer = desk.post("/api/enrol", {"nonce": again["nonce"], "credential": auth.attest(b64url_decode(str(again["options"]["challenge"])))})  # type: ignore[index]
        coded(answer, "MAN909")
        assert policy_text(repo) == written
        # written, not in force: the desk refuses to sign or return with it until it is released
        cr = open_request(repo)
        before_signing = unchanged(repo)
        _, answer = desk.post("/api/challenge", {"change_request": cr, "role": "审核", "signer": "li.na", "method": "webauthn"})
        coded(answer, "MAN651")
        _, answer = webauthn_return(desk, auth, cr, "li.na", "不同意")
        coded(answer, "MAN651")
        assert unchanged(repo) == before_signing
    # only 李娜's entry changed, comments and layout kept
    assert written.replace(auth.registry_entry("2026-01-24").replace("  webauthn:\n", "  webauthn:\n", 1), "") == before
    policy, problems = parse_policy(written)
    assert policy is not None and not problems
    li = policy.approver("li.na")
    assert li is not None and [c.credential_id for c in li.webauthn] == [auth.credential_b64]
    # the registry change goes through a policy change request signed under the registry in force
    cr = repo.propose("minor", ["policy"], title="登记签署台凭据", today="2026-01-24")
    repo.approve_all(cr, "2026-01-24")
    assert_ok(repo.manual("check"))


def test_enrolment_refusals_are_coded_and_write_nothing(repo: RevisionRepo) -> None:
    port = free_port()
    auth = SoftAuthenticator(origin=f"http://localhost:{port}")
    before = policy_text(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        _, answer = desk.post("/api/enrol/options", {"signer": "nobody"})
        coded(answer, "MAN911")
        _, started = desk.post("/api/enrol/options", {"signer": "li.na"})
        challenge = b64url_decode(str(started["options"]["challenge"]))  # type: ignore[index]
        # another origin, another RP id, another challenge: the attestation does not answer this desk
        for bad in (auth.attest(challenge, origin="http://evil.example"), auth.attest(challenge, rp_id="evil.example"), auth.attest(b"x" * 32)):
            _, again = desk.post("/api/enrol/options", {"signer": "li.na"})
            _, answer = desk.post("/api/enrol", {"nonce": again["nonce"], "credential": bad})
            coded(answer, "MAN910")
        # no credential, then a replayed nonce
        _, answer = desk.post("/api/enrol", {"nonce": started["nonce"]})
        coded(answer, "MAN907")
        _, answer = desk.post("/api/enrol", {"nonce": started["nonce"], "credential": auth.attest(challenge)})
        coded(answer, "MAN901")
        # a POST from another origin
        status, answer = desk.post("/api/enrol/options", {"signer": "li.na"}, origin="http://evil.example")
        assert status == 403
        coded(answer, "MAN906")
    assert policy_text(repo) == before


def test_server_mode_shows_the_patch_and_leaves_its_clone_alone(repo: RevisionRepo, tmp_path: Path) -> None:
    port = free_port()
    auth = SoftAuthenticator(origin=f"http://localhost:{port}")
    bare = tmp_path / "company.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo.root), str(bare)], check=True, capture_output=True)
    repo.git("remote", "add", "company", str(bare))
    before = policy_text(repo)
    with running_desk(repo, "--port", str(port), "--remote", "company", env=NOW) as desk:
        _, started = desk.post("/api/enrol/options", {"signer": "chen.gang"})
        challenge = b64url_decode(str(started["options"]["challenge"]))  # type: ignore[index]
        _, done = desk.post("/api/enrol", {"nonce": started["nonce"], "credential": auth.attest(challenge)})
        assert done["ok"] and done["written"] is False and re.search(r"\+      - credential_id: " + re.escape(auth.credential_b64), str(done["patch"])), done
    assert policy_text(repo) == before
