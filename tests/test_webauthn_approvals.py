"""WebAuthn approvals through the chain of trust (issue 21, point 3): a credential enrolled by a
``policy`` change request signed under the registry in force, then approvals made with it are
accepted by ``check``, ``release``, ``history``, ``audit`` and ``export-approval`` exactly as SSH
approvals are, and refused once tampered with. Real git repositories, a real P-256 key."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from revision_repo import Result, RevisionRepo, _environment, shared_history
from webauthn_authenticator import SoftAuthenticator

from manualkit.base.clock import CST
from manualkit.base.diagnostics import ManualError
from manualkit.base.run import Run
from manualkit.commands.sign import finish_approval, prepare_approval
from manualkit.records.webauthn_signature import b64url


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")


@pytest.fixture
def enrolled(released: RevisionRepo, tmp_path: Path) -> Iterator[tuple[RevisionRepo, dict[str, SoftAuthenticator]]]:
    """A/1 released: it enrolled a credential for 李娜 (审核) and 陈刚 (批准)."""
    repo = released.copy_to(tmp_path / "repo")
    auths = {"li.na": SoftAuthenticator(), "chen.gang": SoftAuthenticator()}
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
    yield repo, auths


def assert_ok(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.code == 0, result.output


def nonce() -> str:
    import os

    return b64url(os.urandom(32))


def desk_run(repo: RevisionRepo, at: str) -> Run:
    """The desk's run of one request at ``at`` (the company is in China)."""
    now = dt.datetime.fromisoformat(at)
    return Run(repo.root, CST, now.date(), now, repo.env())


def sign_in_browser(repo: RevisionRepo, cr: str, role: str, signer: str, auth: SoftAuthenticator, at: str) -> None:
    run = desk_run(repo, at)
    with _environment(repo.env()):
        pending = prepare_approval(run, cr, role, signer, nonce())
        finish_approval(run, pending, auth.sign(pending.message, pending.nonce))


def test_webauthn_approvals_are_accepted_by_every_reader(enrolled: tuple[RevisionRepo, dict[str, SoftAuthenticator]], tmp_path: Path) -> None:
    repo, auths = enrolled
    cr = repo.propose("minor", ["3.2"], today="2026-01-23")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-24T09:00:00+08:00")
    sign_in_browser(repo, cr, "审核", "li.na", auths["li.na"], "2026-01-24T10:00:00+08:00")
    sign_in_browser(repo, cr, "批准", "chen.gang", auths["chen.gang"], "2026-01-24T11:00:00+08:00")
    text = repo.request_path(cr).read_text(encoding="utf-8")
    assert text.count("webauthn:") == 2 and "client_data_json:" in text
    assert_ok(repo.manual("check"))
    repo.commit(f"{cr}: approved at the desk")
    assert_ok(repo.release("2026-01-25", "2026-02-01"))
    assert_ok(repo.manual("audit"))
    history = json.loads(repo.manual("history", "--json").stdout)
    last = history["releases"][-1]
    assert last["valid"], last["problems"]
    assert {(a["role"], a["signer"], a["valid"]) for a in last["approvals"]} >= {("审核", "li.na", True), ("批准", "chen.gang", True)}
    out = tmp_path / "export"
    out.mkdir()
    assert_ok(repo.manual("export-approval", cr, "--role", "批准", "--dir", str(out)))
    exported = json.loads((out / f"{cr}-chen.gang.webauthn.json").read_text(encoding="utf-8"))
    assert exported["assertion"]["client_data_json"] and exported["credential"]["rp_id"] == "localhost"


def test_a_tampered_webauthn_approval_is_refused(enrolled: tuple[RevisionRepo, dict[str, SoftAuthenticator]]) -> None:
    repo, auths = enrolled
    cr = repo.propose("minor", ["3.2"], today="2026-01-23")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-24T09:00:00+08:00")
    sign_in_browser(repo, cr, "审核", "li.na", auths["li.na"], "2026-01-24T10:00:00+08:00")
    assert_ok(repo.manual("check"))
    path = repo.request_path(cr)
    good = path.read_text(encoding="utf-8")
    # the time changed after signing
    path.write_text(good.replace("signed_at: '2026-01-24T10:00:00+08:00'", "signed_at: '2026-01-24T10:05:00+08:00'").replace(
        "signed_at: 2026-01-24T10:00:00+08:00", "signed_at: 2026-01-24T10:05:00+08:00"), encoding="utf-8")
    assert path.read_text(encoding="utf-8") != good
    result = repo.manual("check")
    assert result.code == 1 and "MAN650" in result.output, result.output
    # both a signature and an assertion: ambiguous, refused
    both = re.sub(r"(\n    webauthn:\n)", "\n    signature: x\\1", good, count=1)
    path.write_text(both, encoding="utf-8")
    result = repo.manual("check")
    assert result.code == 1 and "MAN900" in result.output, result.output


def test_refusals_write_nothing(enrolled: tuple[RevisionRepo, dict[str, SoftAuthenticator]]) -> None:
    repo, auths = enrolled
    cr = repo.propose("minor", ["3.2"], today="2026-01-23")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-24T09:00:00+08:00")
    other = repo.propose("minor", ["3.3"], today="2026-01-23")
    repo.append_to_section("3.3", "合同评审记录保存三年。")
    path = repo.request_path(cr)
    run = desk_run(repo, "2026-01-24T10:00:00+08:00")

    def refused(code: str, attempt: Callable[[], object]) -> None:
        before = path.read_bytes()
        with _environment(repo.env()), pytest.raises(ManualError) as e:
            attempt()
        assert [d.code for d in e.value.diagnostics] == [code], e.value.diagnostics
        assert all(re.search(r"[\u4e00-\u9fff]{4,}", d.message) for d in e.value.diagnostics)
        assert path.read_bytes() == before

    with _environment(repo.env()):
        pending = prepare_approval(run, cr, "审核", "li.na", nonce())
        elsewhere = prepare_approval(run, other, "审核", "li.na", nonce())
    li = auths["li.na"]
    # an assertion made for another request (its own nonce, the other request's text)
    refused("MAN904", lambda: finish_approval(run, pending, li.sign(elsewhere.message, pending.nonce)))
    # another challenge's nonce
    refused("MAN901", lambda: finish_approval(run, pending, li.sign(pending.message, elsewhere.nonce)))
    # a credential not in the registry in force
    refused("MAN903", lambda: finish_approval(run, pending, SoftAuthenticator().sign(pending.message, pending.nonce)))
    # another signer's credential
    refused("MAN903", lambda: finish_approval(run, pending, auths["chen.gang"].sign(pending.message, pending.nonce)))
    # a role the signer does not hold
    refused("MAN652", lambda: prepare_approval(run, cr, "批准", "li.na", nonce()))
    # stale: the request changed after the page was shown
    repo.append_to_section("3.2", "另行约定的除外。")
    refused("MAN902", lambda: finish_approval(run, pending, li.sign(pending.message, pending.nonce)))
