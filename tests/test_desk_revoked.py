"""A revoked passkey (issue 21, refusals): ``manual revoke-key --credential`` stops one WebAuthn
credential of a signer; the desk then refuses to sign or return with it (MAN812) and writes
nothing, while the signer's other means (the SSH key) stay usable."""

from __future__ import annotations

import pytest
from desk_support import assert_ok, open_request, running_desk
from revision_repo import RevisionRepo
from test_desk import NOW, coded, desk_repo, enrolled, unchanged, webauthn_sign
from test_desk_return import webauthn_return
from webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.xdist_group("desk")
__all__ = ["desk_repo", "enrolled"]
DeskRepo = tuple[RevisionRepo, dict[str, SoftAuthenticator], int]


def test_a_revoked_credential_signs_nothing_at_the_desk(desk_repo: DeskRepo) -> None:
    repo, auths, port = desk_repo
    li = auths["li.na"]
    revoked = repo.run(
        "revoke-key", "li.na", "--credential", li.credential_b64, "--at", "2026-01-23T12:00:00+08:00", "--reason", "手机遗失",
        "--key", str(repo.key("li.na")), env={"MANUAL_NOW": "2026-01-23T12:30:00+08:00"},
    )  # fmt: skip
    assert_ok(revoked)
    text = next((repo.root / "changelog" / "revocations").glob("li.na-*.yml")).read_text(encoding="utf-8")
    assert f'key: "{li.credential_b64}"' in text or f"key: {li.credential_b64}" in text
    cr = open_request(repo)
    before = unchanged(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        _, answer = webauthn_sign(desk, li, cr, "审核", "li.na")
        coded(answer, "MAN812")
        _, answer = webauthn_return(desk, li, cr, "li.na", "不同意")
        coded(answer, "MAN812")
    assert unchanged(repo) == before
    # a credential the signer does not hold cannot be revoked
    wrong = repo.run(
        "revoke-key", "li.na", "--credential", auths["chen.gang"].credential_b64, "--at", "2026-01-23T12:00:00+08:00", "--reason", "误登记",
        "--key", str(repo.key("li.na")), check=False, env={"MANUAL_NOW": "2026-01-23T12:30:00+08:00"},
    )  # fmt: skip
    assert wrong.code == 1 and "MAN903" in wrong.output and "Traceback" not in wrong.output
    # her SSH key is not revoked: `manual approve` still signs
    assert_ok(repo.approve(cr, "审核", now="2026-01-24T10:00:00+08:00"))
    assert_ok(repo.manual("check"))


def test_a_credential_revocation_is_bounded_by_the_released_signatures_it_would_void(desk_repo: DeskRepo) -> None:
    """李娜 signs a request with her passkey at 10:00 on 2026-01-24 and it is released; revoking
    that credential from before then would void a released signature: refused (MAN856) unless 陈刚
    (批准) declares --void-released."""
    repo, auths, port = desk_repo
    li = auths["li.na"]
    cr = open_request(repo)
    with running_desk(repo, "--port", str(port), env=NOW) as desk:
        assert webauthn_sign(desk, li, cr, "审核", "li.na")[1]["ok"]
        assert webauthn_sign(desk, auths["chen.gang"], cr, "批准", "chen.gang")[1]["ok"]
    repo.commit(f"{cr}: approved at the desk")
    assert_ok(repo.release("2026-01-25", "2026-02-01"))
    args = ("revoke-key", "li.na", "--credential", li.credential_b64, "--at", "2026-01-20T00:00:00+08:00", "--reason", "手机遗失")
    later = {"MANUAL_NOW": "2026-01-26T09:00:00+08:00"}
    refused = repo.run(*args, "--key", str(repo.key("li.na")), env=later, check=False)
    assert refused.code == 1 and "MAN856" in refused.codes() and cr in refused.output, refused.output
    assert not (repo.root / "changelog" / "revocations").exists()
    assert_ok(repo.run(*args, "--key", str(repo.key("chen.gang")), "--void-released", env=later))
