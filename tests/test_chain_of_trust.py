"""The chain of trust (issue 9), attack by attack, in real git repositories with generated keys.

Each attack is shown refused by ``manual release`` or ``manual check`` (nothing written), and, when
the attacker bypasses our tool and commits a release record by hand, failed by ``manual audit``
with the same code: whatever release refuses, audit rejects; whatever release accepts, audit
accepts. The legitimate path, a registry change approved by the signers in force, is released
and audited clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from revision_repo import Result, RevisionRepo, _environment, shared_history

# --- repositories and helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    """A/0 released (2025-12-01, effective 2026-01-01), signed once per worker and shared."""
    return shared_history(tmp_path_factory, "released")  # only copied, never changed


@pytest.fixture
def clone(released: RevisionRepo, tmp_path: Path) -> Callable[[], RevisionRepo]:
    counter = iter(range(100))
    return lambda: released.copy_to(tmp_path / f"copy-{next(counter)}")


def assert_ok(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.code == 0, result.output


def assert_codes(result: Result, *codes: str) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.code == 1, f"exit {result.code}:\n{result.output}"
    for code in codes:
        lines = [line for line in result.output.splitlines() if re.search(rf"\b{code}\b", line)]
        assert lines, f"{code} not reported:\n{result.output}"
        assert all(re.search(r"[\u4e00-\u9fff]{4,}", line) for line in lines), lines


def audit_codes(repo: RevisionRepo) -> set[str]:
    result = repo.manual("audit", "--json")
    assert "Traceback" not in result.output, result.output
    report = json.loads(result.stdout)
    found = {f["code"] for c in report["checks"] for f in c["findings"] if f["severity"] == "error"}
    assert (result.code == 0) == (not found), result.output
    return found


def assert_audit_clean(repo: RevisionRepo) -> None:
    result = repo.manual("audit")
    assert result.code == 0, result.output


def edit_policy(repo: RevisionRepo, old: str, new: str) -> None:
    repo.replace_in_manual("policy.yml", old, new)


def registry_entry(repo: RevisionRepo, who: str) -> str:
    """The registry block of ``who`` as _write_registry wrote it."""
    p = repo.person(who)
    return (
        f"  - id: {p.id}\n    name: {p.name}\n    department: {p.department}\n"
        f"    roles: [{', '.join(p.roles)}]\n    key: {repo.public_key(who)}\n"
    )


def sign_by_hand(repo: RevisionRepo, cr: str, role: str, signer_id: str, name: str, key: Path, when: str) -> None:
    """An approval made without ``manual approve`` (as an attacker would): a real SSH signature
    over the approval message of the current text, appended to the change request."""
    from manualkit.base import sshsig
    from manualkit.records.change_request import approval_digest, approval_message
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.trust import controlled_in_worktree

    with _environment(repo.env()):
        snap = worktree_snapshot(repo.root)
        manual, policy = snap.require()
        request = snap.requests[cr]
        digest = approval_digest(request, manual, controlled_in_worktree(repo.root))
        message = approval_message(manual.metadata.document_number, cr, role, signer_id, when, digest)
        signature = sshsig.sign(message, key, policy.signing_namespace)
        meaning = policy.roles[role].meaning if role in policy.roles else "签署"  # derived: the policy's meaning
    path = repo.request_path(cr)
    text = re.sub(r"^approvals: \[\].*$", "approvals:", path.read_text(encoding="utf-8"), count=1, flags=re.M)
    indented = "\n".join("      " + line for line in signature.strip().split("\n"))
    text = text.rstrip("\n") + (
        f"\n  - role: {role}\n    signer: {signer_id}\n    name: {name}\n    meaning: {meaning}\n"
        f"    signed_at: '{when}'\n    digest: {digest}\n    signature: |\n{indented}\n"
    )
    path.write_text(text, encoding="utf-8")


def forge_release(repo: RevisionRepo, version: str, class_key: str, published: str, effective: str) -> None:
    """A release record written and committed by hand, bypassing every check of ``manual release``
    (what an attacker with write access to the repository can do)."""
    import datetime as dt

    from manualkit.records.release import ReleaseRecord, SignedApproval, record_text
    from manualkit.records.repository import worktree_snapshot
    from manualkit.records.version import Version

    with _environment(repo.env()):
        snap = worktree_snapshot(repo.root)
        pending = [cr for cr_id, cr in sorted(snap.requests.items()) if all(cr_id not in r.change_requests for r in snap.records)]
        previous = snap.records[-1]
    record = ReleaseRecord(
        version=Version.parse(version), class_key=class_key, published=dt.date.fromisoformat(published),
        effective=dt.date.fromisoformat(effective), previous=previous.version,
        change_requests=tuple(cr.id for cr in pending), sections=tuple(s for cr in pending for s in cr.sections),
        summary="；".join(cr.title for cr in pending), content_digest=repo.git("rev-parse", "HEAD:manual").strip(),
        approvals=tuple(SignedApproval(cr.id, a.role, a.signer, a.name, a.signed_at, a.digest) for cr in pending for a in cr.approvals),
        path=f"changelog/releases/{version.replace('/', '-')}.yml",
    )  # fmt: skip
    (repo.root / record.path).write_text(record_text(record), encoding="utf-8")
    repo.commit(f"release {version} (made by hand)")
    repo.git("tag", f"release/{version.replace('/', '-')}")


def refused_and_unchanged(repo: RevisionRepo, published: str, effective: str, *codes: str) -> Result:
    before = repo.state()
    result = repo.release_cli(published, effective)
    assert_codes(result, *codes)
    assert repo.state() == before
    return result


def refused_and_failed_by_audit(repo: RevisionRepo, version: str, class_key: str, published: str, effective: str, *codes: str) -> Result:
    """Release refuses with ``codes`` (nothing written); the same release made by hand fails audit
    with the same codes."""
    result = refused_and_unchanged(repo, published, effective, *codes)
    forge_release(repo, version, class_key, published, effective)
    assert set(codes) <= audit_codes(repo)
    return result


# --- 1. the root and the chain ------------------------------------------------------------------


def test_editor_registering_own_key_under_a_signers_name_is_refused_and_fails_audit(clone: Callable[[], RevisionRepo]) -> None:
    """Attack: an editor adds their own key to the registry under 陈刚's name (a new id) with every
    role, signs all roles with it and releases."""
    repo = clone()
    attacker = repo.key("outsider")
    edit_policy(repo, "\napprovers:\n", f"\napprovers:\n  - id: chen.g\n    name: 陈刚\n    department: 总经理办公室\n    roles: [编制, 审核, 批准]\n    key: {repo.public_key('outsider')}\n")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    # manual approve already refuses: the key is not in the registry in force (A/0's).
    before = repo.state()
    assert_codes(repo.manual("approve", cr, "--role", "批准", "--key", str(attacker), env={"MANUAL_NOW": "2026-01-12T09:00:00+08:00"}), "MAN651")
    assert repo.state() == before
    for hour, role in enumerate(("编制", "审核", "批准"), start=9):
        sign_by_hand(repo, cr, role, "chen.g", "陈刚", attacker, f"2026-01-12T{hour:02d}:00:00+08:00")
    assert_codes(repo.manual("check"), "MAN651", "MAN740")
    repo.commit("new approver and a signed change request")
    refused_and_failed_by_audit(repo, "A/1", "minor", "2026-01-15", "2026-01-22", "MAN651", "MAN660", "MAN740")


def test_major_revision_that_relaxes_its_own_rules_is_judged_by_the_rules_in_force(clone: Callable[[], RevisionRepo]) -> None:
    """Attack: a major change request also edits policy.yml so that a major revision needs only
    编制 and no notice period, and is released on 编制's signature alone."""
    repo = clone()
    edit_policy(repo, "    roles: [编制, 审核, 会签, 批准]\n    notice_days: 30", "    roles: [编制]\n    notice_days: 0")
    cr = repo.propose("major", ["3.3", "policy"], today="2026-01-10")
    repo.append_to_section("3.3", "重大修订：订单评审改为事后抽查。")
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    repo.commit(f"{cr}: signed by 编制")
    result = refused_and_failed_by_audit(repo, "B/0", "major", "2026-01-15", "2026-01-15", "MAN660", "MAN663", "MAN741")
    assert "审核" in result.output and "批准" in result.output


def test_policy_change_must_be_at_least_minor_and_approved(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    assert_codes(repo.run("propose", "--class", "editorial", "--sections", "policy", "--title", "调整", "--reason", "x", check=False), "MAN741")
    edit_policy(repo, "retention_years: 3", "retention_years: 5")
    repo.replace_in_manual("08-supplementary.md", "| 作废版本保存期限 | 3 年 |", "| 作废版本保存期限 | 5 年 |")
    cr = repo.propose("editorial", ["8.4"], today="2026-01-10")
    # An editorial request cannot carry policy: the file says editorial, the sections say policy.
    text = re.sub(r"^sections: \[(.*)\]", r"sections: [\1, policy]", repo.request_path(cr).read_text(encoding="utf-8"), count=1, flags=re.M)
    assert "policy]" in text
    repo.request_path(cr).write_text(text, encoding="utf-8")
    assert_codes(repo.manual("check"), "MAN741")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr}: editorial request carrying a policy change")
    refused_and_failed_by_audit(repo, "A/1", "editorial", "2026-01-15", "2026-01-15", "MAN741")


def test_legitimate_registry_change_released_and_audited_clean(clone: Callable[[], RevisionRepo]) -> None:
    """The legitimate path: 孙丽 is given the 批准 role and 陈刚's is withdrawn by a minor change
    request listing policy, signed by the signers in force (A/0's registry); after its release the
    new registry judges the next request, so 孙丽 may sign 批准 and 陈刚 may not."""
    repo = clone()
    edit_policy(repo, "    roles: []\n", "    roles: [批准]\n")  # sun.li, the only one with no role
    edit_policy(repo, "    roles: [批准]\n    key: " + repo.public_key("chen"), "    roles: []\n    key: " + repo.public_key("chen"))
    cr = repo.propose("minor", ["policy"], title="调整批准人", today="2026-01-10")
    assert_ok(repo.manual("check"))
    # 孙丽 is not yet a 批准 signer: the registry in force decides.
    assert_codes(repo.approve(cr, "批准", "sun", now="2026-01-12T09:00:00+08:00", check=False), "MAN652")
    repo.approve_all(cr, "2026-01-12")  # 编制 张伟, 审核 李娜, 批准 陈刚: the signers in force
    repo.commit(f"{cr}: registry change approved")
    assert_ok(repo.release_cli("2026-01-15", "2026-01-22"))
    assert_audit_clean(repo)
    # Now the released registry is in force.
    nxt = repo.propose("minor", ["3.2"], today="2026-01-23")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(nxt, "编制", now="2026-01-24T09:00:00+08:00")
    repo.approve(nxt, "审核", now="2026-01-24T10:00:00+08:00")
    assert_codes(repo.approve(nxt, "批准", "chen", now="2026-01-24T11:00:00+08:00", check=False), "MAN652")
    repo.approve(nxt, "批准", "sun", now="2026-01-24T11:00:00+08:00")
    repo.commit(f"{nxt} approved by the new 批准 signer")
    assert_ok(repo.release_cli("2026-01-25", "2026-02-01"))
    assert_audit_clean(repo)


def test_registry_change_without_a_request_is_caught_by_check_release_and_audit(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    edit_policy(repo, "    roles: [审核]\n", "    roles: [审核, 批准]\n")  # li.na quietly gains 批准
    assert_codes(repo.manual("check"), "MAN740")
    repo.commit("li.na may approve")
    assert_codes(repo.manual("check"), "MAN740")  # committed: HEAD is compared with the release too
    assert "MAN710" in audit_codes(repo)  # the commit changed the controlled policy outside a release


# --- 2. one person, one key ------------------------------------------------------------------------


def test_one_key_under_two_ids_is_an_error(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    edit_policy(repo, "\napprovers:\n", f"\napprovers:\n  - id: zw\n    name: 张伟\n    department: 销售管理部\n    roles: [审核]\n    key: {repo.public_key('zhang')}\n")
    assert_codes(repo.manual("check"), "MAN742")


def test_an_id_given_anothers_key_is_refused_and_fails_audit(clone: Callable[[], RevisionRepo]) -> None:
    """Attack: 陈刚's entry is renamed so his key now stands under the id ``approver``, carried by
    a properly signed policy request: the new registry hands a key to another id (MAN743)."""
    repo = clone()
    edit_policy(repo, "  - id: chen.gang\n", "  - id: approver\n")
    cr = repo.propose("minor", ["policy"], title="批准人改用岗位标识", today="2026-01-10")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved")
    refused_and_failed_by_audit(repo, "A/1", "minor", "2026-01-15", "2026-01-22", "MAN743")


def test_signers_are_compared_by_key_not_by_id(clone: Callable[[], RevisionRepo]) -> None:
    """Approvals are told apart by key: two ids holding one key sign as one person (MAN654)."""
    import dataclasses

    from manualkit.records.approval import approval_findings
    from manualkit.records.repository import worktree_snapshot

    repo = clone()
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", "zhao", now="2026-01-12T09:00:00+08:00")
    repo.approve(cr, "审核", "li", now="2026-01-12T10:00:00+08:00")
    with _environment(repo.env()):
        snap = worktree_snapshot(repo.root)
        manual, policy = snap.require()
        # The same registry in which li.na's entry carries 赵敏's key (two ids, one person).
        zhao = policy.approver("zhao.min")
        assert zhao is not None
        twin = dataclasses.replace(
            policy, approvers=tuple(dataclasses.replace(a, public_key=zhao.public_key) if a.id == "li.na" else a for a in policy.approvers)
        )
        codes = {d.code for d in approval_findings(snap.requests[cr], manual, twin)[1]}
    assert "MAN654" in codes


# --- 3. release checks what audit checks ---------------------------------------------------------------


def test_approval_after_the_publication_date_is_refused(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-20")
    refused_and_failed_by_audit(repo, "A/1", "minor", "2026-01-15", "2026-01-22", "MAN713")


def test_approval_before_the_request_date_is_refused(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    cr = repo.propose("minor", ["3.2"], today="2026-01-20")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved before it was requested")
    refused_and_failed_by_audit(repo, "A/1", "minor", "2026-01-25", "2026-02-01", "MAN744")


def test_section_changed_that_no_request_lists_is_refused(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    repo.append_to_section("6.2", "未经申请加入的一段。")
    repo.commit("6.2 changed on the side")
    assert_codes(repo.manual("check"), "MAN670")
    refused_and_failed_by_audit(repo, "A/1", "minor", "2026-01-15", "2026-01-22", "MAN710")


def test_notice_period_refusal_is_an_audit_finding(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    refused_and_failed_by_audit(repo, "A/1", "minor", "2026-01-15", "2026-01-18", "MAN663")


def test_dates_against_today(clone: Callable[[], RevisionRepo]) -> None:
    """No publication date in the future, no effective date in the past (release-only: audit
    cannot know the day a record was made, so release is where they are enforced)."""
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    before = repo.state()
    future = repo.manual("release", "--published", "2026-01-20", "--effective", "2026-01-27", env={"MANUAL_TODAY": "2026-01-15"})
    assert_codes(future, "MAN746")
    past = repo.manual("release", "--published", "2026-01-13", "--effective", "2026-01-20", env={"MANUAL_TODAY": "2026-01-25"})
    assert_codes(past, "MAN747")
    assert repo.state() == before
    assert_ok(repo.manual("release", "--published", "2026-01-13", "--effective", "2026-01-25", env={"MANUAL_TODAY": "2026-01-25"}))
    assert_audit_clean(repo)


def test_a_record_that_does_not_survive_a_round_trip_is_refused(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    cr = repo.propose("minor", ["3.2"], title="缩短报价有效期", today="2026-01-10")
    path = repo.request_path(cr)
    # A title YAML reads back differently: a line separator inside a double-quoted scalar folds.
    path.write_text(path.read_text(encoding="utf-8").replace("title: 缩短报价有效期", 'title: "缩短\\u2028报价有效期"'), encoding="utf-8")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    # The first gate: no record field may hold such a character (base/characters), escaped or not.
    before = repo.state()
    signed = repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00", check=False)
    assert signed.code == 1 and "MAN009" in signed.codes() and "U+2028" in signed.output, signed.output
    assert repo.state() == before
    # The second gate, for whatever a character rule did not foresee: the release record must read
    # back exactly as written (MAN745), or nothing is released.
    from manualkit.base.diagnostics import ManualError
    from manualkit.records.release import parse_record, round_trip

    released, _ = parse_record("changelog/releases/A-0.yml", (repo.root / "changelog" / "releases" / "A-0.yml").read_bytes())
    assert released is not None
    round_trip(released)  # a record as released reads back as itself
    with pytest.raises(ManualError) as refused:
        round_trip(released._replace(summary="缩短\u2028报价有效期"))
    assert refused.value.diagnostics[0].code == "MAN745"


def test_whatever_release_accepts_audit_accepts(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    for day, sections in (("2026-01-12", ["3.2"]), ("2026-02-12", ["1.3", "7.1"])):
        repo.prepared("minor", sections, day=day)
        assert_ok(repo.release_cli(day, f"{day[:8]}28"))
        assert_audit_clean(repo)


# --- 4. dates in the company's time zone -------------------------------------------------------------------


def require_faketime() -> None:
    if shutil.which("faketime") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is required when CI=true (.ci/run installs it)")
        pytest.skip("faketime is not installed")


def test_release_in_the_evening_utc_passes_its_own_audit(clone: Callable[[], RevisionRepo]) -> None:
    """2026-03-02 20:00 UTC is already 2026-03-03 in China: signatures made that evening are dated
    03-03 in the company's zone, the release (published today) must be 03-03 too, and audit passes."""
    require_faketime()
    repo = clone()
    cr = repo.propose("minor", ["3.2"], today="2026-03-01")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.commit(f"{cr} proposed")
    clock = {"MANUAL_TODAY": "", "TZ": "UTC"}

    def at(moment: str, *args: str) -> Result:
        proc = subprocess.run(
            ["faketime", moment, *__import__("revision_repo").manual_command(), *args],
            cwd=repo.root, env=repo.env(clock), capture_output=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    for role, who in (("编制", "zhang"), ("审核", "li"), ("批准", "chen")):
        assert_ok(at("2026-03-02 20:00:00", "approve", cr, "--role", role, "--key", str(repo.key(who))))
    assert "2026-03-03T04:00" in repo.request_path(cr).read_text(encoding="utf-8")
    repo.commit(f"{cr} approved")
    released = at("2026-03-02 20:30:00", "release", "--effective", "2026-03-10")
    assert_ok(released)
    assert "published: 2026-03-03" in repo.read("changelog/releases/A-1.yml")
    assert_ok(at("2026-03-02 21:00:00", "audit"))


def test_policy_names_the_company_time_zone(clone: Callable[[], RevisionRepo]) -> None:
    from manualkit.base.clock import CST, today

    repo = clone()
    edit_policy(repo, "signing_namespace:", "time_zone: Mars/Olympus\nsigning_namespace:")
    assert_codes(repo.manual("check"), "MAN750")
    edit_policy(repo, "time_zone: Mars/Olympus", "time_zone: America/New_York")
    from manualkit.records.policy import declared_time_zone

    zone = declared_time_zone(repo.root)
    assert today({"MANUAL_NOW": "2026-03-03T03:00:00+08:00"}, zone).isoformat() == "2026-03-02"
    assert today({"MANUAL_NOW": "2026-03-03T03:00:00+08:00"}, CST).isoformat() == "2026-03-03"


# --- 5. certificates --------------------------------------------------------------------------------------


def self_signed_pem() -> tuple[bytes, bytes]:
    """A private key and its self-signed certificate, both PEM (an attacker's own 'release' key)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged release certificate")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650)).sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def test_a_committed_certificate_is_not_trusted_until_released(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    """Attack: a certificate committed to certs/ would make manual verify call a DOCX signed with
    the attacker's key 真实有效. Only the certificates of the latest release commit are trusted; the
    commit is MAN740 to check and to release; a certs request releases it properly."""
    repo = clone()
    key_pem, cert_pem = self_signed_pem()
    signing_key = tmp_path / "forger.pem"
    signing_key.write_bytes(key_pem + cert_pem)
    (repo.root / "certs").mkdir()
    (repo.root / "certs" / "release.pem").write_bytes(cert_pem)
    assert_codes(repo.manual("check"), "MAN740")
    repo.commit("a certificate")
    docx = tmp_path / "A-0.docx"
    assert_ok(repo.manual("docx", "--version", "A/0", "-o", str(docx), env={"MANUAL_SIGNING_KEY": str(signing_key)}))
    forged = repo.manual("verify", str(docx))
    assert forged.code == 4, forged.output  # signed, but by a certificate nobody released
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    refused_and_unchanged(repo, "2026-01-15", "2026-01-22", "MAN740")
    cr = repo.propose("minor", ["certs"], title="启用发布证书", today="2026-01-13")
    repo.approve_all(cr, "2026-01-13")
    repo.commit(f"{cr} approved")
    assert_ok(repo.release_cli("2026-01-15", "2026-01-22"))
    assert_audit_clean(repo)
    released = repo.manual("verify", str(docx))
    assert released.code == 0 and "真实有效" in released.output, released.output


# --- 6. check guards released text without --base ------------------------------------------------------------


def test_plain_check_catches_released_text_edited_without_a_request(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    assert_ok(repo.manual("check"))
    repo.append_to_section("4.1", "悄悄加入的规定。")
    assert_codes(repo.manual("check"), "MAN670")
    repo.commit("4.1 edited")
    assert_codes(repo.manual("check"), "MAN670")
    repo.propose("minor", ["4.1"], today="2026-01-10")
    assert_ok(repo.manual("check"))


# --- 5. released records are immutable in history; witnesses -------------------------------------------


def released_a1(repo: RevisionRepo, published: str = "2026-01-15", effective: str = "2026-01-22") -> None:
    assert_ok(repo.release_cli(published, effective))


def test_record_deleted_and_released_again_is_a_finding(clone: Callable[[], RevisionRepo]) -> None:
    """Attack: a release record deleted in an ordinary commit, then released again with other dates."""
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    released_a1(repo)
    repo.git("rm", "--quiet", "changelog/releases/A-1.yml")
    repo.commit("remove A/1")
    repo.git("tag", "-d", "release/A-1")
    # release itself now refuses after a deleted record (records.immutability); made by hand:
    refused_and_unchanged(repo, "2026-01-16", "2026-01-23", "MAN748")
    forge_release(repo, "A/1", "minor", "2026-01-16", "2026-01-23")
    result = repo.manual("audit")
    assert_codes(result, "MAN748")
    assert "删除" in result.output and "重新添加" in result.output


def test_released_request_edited_later_is_a_finding_even_if_restored(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    path = repo.request_path("CR-2025-001")
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("首次发布", "首次发布（改）"), encoding="utf-8")
    repo.commit("edit a released request")
    path.write_text(original, encoding="utf-8")
    repo.commit("and put it back")
    assert "MAN748" in audit_codes(repo)


def rewrite_a1(repo: RevisionRepo) -> None:
    """History rewritten: the A/1 release commit dropped and made again with other dates."""
    repo.git("reset", "--quiet", "--hard", "HEAD~1")
    repo.git("tag", "-d", "release/A-1")
    released_a1(repo, "2026-01-16", "2026-01-23")


def test_rewritten_history_is_caught_against_a_history_witness(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    released_a1(repo)
    witness = tmp_path / "history.json"
    witness.write_text(repo.manual("history", "--json").stdout, encoding="utf-8")
    assert_ok(repo.manual("audit", "--witness", str(witness)))
    rewrite_a1(repo)
    assert_audit_clean(repo)  # consistent from the inside
    result = repo.manual("audit", "--witness", str(witness))
    assert_codes(result, "MAN749")
    assert "A/1 版的发布日期与见证不一致：见证为“2026-01-15”，git 中为“2026-01-16”" in result.output
    assert "发布提交" in result.output


def test_rewritten_history_is_caught_against_a_signed_docx(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    released_a1(repo)
    docx = tmp_path / "A-1.docx"
    assert_ok(repo.manual("docx", "--version", "A/1", "-o", str(docx)))
    assert_ok(repo.manual("verify", str(docx)))
    assert_ok(repo.manual("audit", "--witness", str(docx)))
    rewrite_a1(repo)
    verified = repo.manual("verify", str(docx))
    assert verified.code == 7, verified.output
    assert "发布日期不一致：文件中为“2026-01-15”，git 中的发布记录为“2026-01-16”" in verified.output
    assert "实施日期不一致" in verified.output
    result = repo.manual("audit", "--witness", str(docx))
    assert_codes(result, "MAN749")
    assert "A/1 版与见证 DOCX 不一致：发布日期不一致" in result.output


def test_a_witness_that_is_neither_docx_nor_history_is_reported(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    repo = clone()
    junk = tmp_path / "notes.txt"
    junk.write_text("not a witness", encoding="utf-8")
    assert_codes(repo.manual("audit", "--witness", str(junk)), "MAN749")


# --- 7. adoption: a company's own home and root ------------------------------------------------------------------


def test_a_company_adopts_the_tool_with_its_own_signers(tmp_path: Path) -> None:
    """manual init from this project, own signers and keys, A/0 released and audited clean."""
    from revision_repo import ALL_SECTIONS, PROJECT_ROOT

    repo = RevisionRepo(tmp_path / "adopt", _build=False)
    for d in (repo.root, repo.home, repo.keys):
        d.mkdir(parents=True)
    people = [("wu.lei", "吴磊", "销售管理部", "编制"), ("he.jing", "何静", "质量管理部", "审核"),
              ("ma.li", "马丽", "法务合规部", "会签"), ("zhou.tao", "周涛", "总经理办公室", "批准")]  # fmt: skip
    for pid, *_ in people:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", pid, "-f", str(repo.keys / pid)], check=True, capture_output=True)
    specs = [f"{pid},{name},{dept},{role},{repo.keys / (pid + '.pub')}" for pid, name, dept, role in people]
    init_args = ["init", "--from", str(PROJECT_ROOT), "--company", "远航贸易有限公司", "--document-number", "YH-QM-01"]
    # Refusals write nothing: a private key offered as a public one, an unknown role.
    bad = repo.manual(*init_args, "--approver", f"wu.lei,吴磊,销售管理部,编制,{repo.keys / 'wu.lei'}")
    assert_codes(bad, "MAN752")
    assert_codes(repo.manual(*init_args, "--approver", specs[0].replace(",编制,", ",总监,")), "MAN752")
    assert not any(repo.root.iterdir())
    made = repo.manual(*init_args, *(a for s in specs for a in ("--approver", s)))
    assert_ok(made)
    assert "manual release" in made.stdout
    assert "company: 远航贸易有限公司" in repo.read("manual/manual.yml")
    policy = repo.read("manual/policy.yml")
    assert "zhou.tao" in policy and "chen.gang" not in policy
    assert_codes(repo.manual(*init_args, "--approver", specs[0]), "MAN751")  # never over an existing home
    for key, value in (("user.name", "吴磊"), ("user.email", "wu@example.com"), ("commit.gpgsign", "false")):
        repo.git("config", "--local", key, value)
    repo.commit("手册初稿、修订政策与签署人名录")
    assert_ok(repo.manual("check"))
    proposed = repo.manual("propose", "--class", "major", "--title", "首次发布", "--reason", "建立受控文件",
                           "--sections", ",".join(ALL_SECTIONS), env={"MANUAL_TODAY": "2026-03-01"})  # fmt: skip
    assert_ok(proposed)
    cr = re.search(r"CR-\d{4}-\d{3}", proposed.stdout)
    assert cr is not None
    repo.fill_consultation(cr.group(), "2026-03-05")
    # Someone outside the registry is nobody here.
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True, capture_output=True)
    assert_codes(repo.manual("approve", cr.group(), "--role", "批准", "--key", str(stranger), env={"MANUAL_NOW": "2026-03-06T09:00:00+08:00"}), "MAN651")
    for hour, (pid, _, _, role) in enumerate(people, start=9):
        assert_ok(repo.manual("approve", cr.group(), "--role", role, "--key", str(repo.keys / pid), env={"MANUAL_NOW": f"2026-03-06T{hour:02d}:00:00+08:00"}))
    repo.commit(f"{cr.group()} approved")
    assert_ok(repo.release_cli("2026-03-10", "2026-04-10"))
    assert "version: A/0" in repo.read("changelog/releases/A-0.yml")
    assert_audit_clean(repo)
    # The release's files are named by the company's own document number, not this project's.
    assert_ok(repo.manual("docx"))
    assert [p.name for p in (repo.root / "dist").iterdir()] == ["YH-QM-01_A-0.docx"]


# --- the working calendar is controlled like the policy -------------------------------------------------

REST_DAY = "company_rest_days: []\n"


def test_calendar_change_needs_a_calendar_request_judged_by_the_policy_in_force(clone: Callable[[], RevisionRepo]) -> None:
    """A company rest day moves chapter 8's deadlines: without a request listing calendar, check
    refuses it (before and after the commit) and a release made by hand fails audit; a comment is
    not the calendar and needs nothing; the legitimate path is released, audited clean and shown
    in the 修订记录 by name."""
    repo = clone()
    repo.replace_in_manual("calendar.yml", "# 公司工作日历", "# 公司工作日历（注释的修改不是日历的修改）")
    assert_ok(repo.manual("check"))
    repo.replace_in_manual("calendar.yml", REST_DAY, "company_rest_days: [2026-01-30]\n")
    assert_codes(repo.manual("check"), "MAN740")
    assert_codes(repo.manual("propose", "--class", "editorial", "--sections", "calendar", "--title", "公司休息日",
                             "--reason", "年会", "--applicant", "张伟", env={"MANUAL_TODAY": "2026-01-10"}), "MAN741")  # fmt: skip
    hidden = repo.copy_to(repo.base.parent / (repo.base.name + "-by-hand"))
    hidden.commit("a company rest day, quietly")
    assert_codes(hidden.manual("check"), "MAN740")
    hidden.prepared("minor", ["3.2"], day="2026-01-12")
    refused_and_failed_by_audit(hidden, "A/1", "minor", "2026-01-15", "2026-01-22", "MAN740")

    cr = repo.propose("minor", ["calendar"], title="登记公司休息日", today="2026-01-10")
    assert_ok(repo.manual("check"))
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr}: company rest day approved")
    assert_ok(repo.release_cli("2026-01-15", "2026-01-22"))
    assert_audit_clean(repo)
    history = repo.read("changelog/revision-history.md")
    assert "| 工作日历（calendar.yml） |" in history and "| calendar |" not in history


def test_revision_record_names_the_controlled_files() -> None:
    from manualkit.records.change_request import CONTROLLED
    from manualkit.records.revision_table import CONTROLLED_NAMES, section_name, section_names

    assert set(CONTROLLED_NAMES) == set(CONTROLLED)
    assert section_names(["3.2", "policy", "certs"]) == "3.2、修订政策（policy.yml）、受信证书（certs/）"
    assert section_names([]) == ""
    assert section_name("calendar") == "工作日历（calendar.yml）" and section_name("8.2") == "8.2"


# --- the hash chain of releases ------------------------------------------------------------------------------


def commit_of(repo: RevisionRepo, ref: str) -> str:
    return repo.git("rev-parse", f"{ref}^{{commit}}").strip()


def test_each_release_names_the_previous_release_commit_and_audit_follows_the_chain(clone: Callable[[], RevisionRepo]) -> None:
    """A/0 predates the field (the first release names none); A/1 and A/2 name their predecessor's
    commit. Amending the A/1 release commit (and replaying A/2 on it, tags moved along) is
    consistent from the inside, but A/2's record still names the old A/1 commit: MAN753."""
    repo = clone()
    assert "previous_release" not in repo.read("changelog/releases/A-0.yml")
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    released_a1(repo)
    assert f"previous_release: {commit_of(repo, 'release/A-0')}\n" in repo.read("changelog/releases/A-1.yml")
    repo.prepared("minor", ["4.1"], day="2026-01-23")
    assert_ok(repo.release_cli("2026-01-25", "2026-02-01"))
    a1, a2 = commit_of(repo, "release/A-1"), commit_of(repo, "release/A-2")
    assert f"previous_release: {a1}\n" in repo.read("changelog/releases/A-2.yml")
    clean = repo.manual("audit")
    assert_ok(clean)
    assert "发布哈希链自 A/1 起" in clean.stdout

    branch = repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    repo.git("checkout", "--quiet", "--detach", a1)
    repo.git("commit", "--quiet", "--amend", "--allow-empty", "-m", "release A/1 (amended)")
    repo.git("cherry-pick", "--allow-empty", a2)
    repo.git("checkout", "--quiet", "-B", branch)
    repo.git("tag", "-f", "release/A-1", commit_of(repo, "HEAD~1"))
    repo.git("tag", "-f", "release/A-2", commit_of(repo, "HEAD"))
    result = repo.manual("audit")
    assert_codes(result, "MAN753")
    assert f"A/2 记录的上一次发布（A/1）提交是 {a1[:10]}，该提交已不在本分支的历史中" in result.output
    assert {"MAN715", "MAN748"}.isdisjoint(audit_codes(repo))  # only the chain sees it


def test_a_record_without_the_link_after_the_chain_started_fails_audit(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    repo.prepared("minor", ["3.2"], day="2026-01-12")
    released_a1(repo)
    repo.prepared("minor", ["4.1"], day="2026-01-23")
    forge_release(repo, "A/2", "minor", "2026-01-25", "2026-02-01")  # written by hand: no previous_release
    assert audit_codes(repo) == {"MAN754"}
