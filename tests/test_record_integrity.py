"""Nothing a reader trusts is unsigned (issue 26, points 1-4): every record under changelog/ is
immutable across history, every shown field is signed or derived, time cannot be chosen by the
signer, and manual.yml and chapter front matter are controlled.

Each finding of the second red team is shown, in a real git repository with generated keys,
refused by ``manual check`` before the release and by ``manual release`` (nothing written), and,
when the attacker bypasses the tool and commits the release record by hand, failed by ``manual
audit`` with a coded message. docs/threat-model.md names these tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from revision_repo import PROJECT_ROOT, RevisionRepo, _environment, shared_history
from test_chain_of_trust import assert_codes, audit_codes, forge_release, refused_and_unchanged

A1 = ("A/1", "minor", "2026-01-20", "2026-02-01")  # the release each attack tries to make


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")  # A/0; only copied, never changed


@pytest.fixture
def clone(released: RevisionRepo, tmp_path: Path) -> Callable[[], RevisionRepo]:
    counter = iter(range(100))
    return lambda: released.copy_to(tmp_path / f"copy-{next(counter)}")


def check_codes(repo: RevisionRepo, *codes: str) -> None:
    result = repo.manual("check", env={"MANUAL_TODAY": "2026-01-20"})
    assert_codes(result, *codes)


def refused_everywhere(repo: RevisionRepo, *codes: str) -> None:
    """``check`` and ``release`` refuse with ``codes`` (nothing written); the same release made by
    hand fails ``audit`` with them."""
    check_codes(repo, *codes)
    _, _, published, effective = A1
    refused_and_unchanged(repo, published, effective, *codes)
    forge_release(repo, *A1)
    found = audit_codes(repo)
    assert set(codes) <= found, found


def prepared_request(repo: RevisionRepo, day: str = "2026-01-12", section: str = "3.2") -> str:
    cr = repo.propose("minor", [section], today=day)
    repo.append_to_section(section, "报价单的有效期为 15 日；超过有效期的报价须重新审批。")
    return cr


def revoke(repo: RevisionRepo, signer: str, at: str, now: str) -> None:
    result = repo.run("revoke-key", signer, "--at", at, "--reason", "笔记本电脑遗失", "--key", str(repo.key("chen")), env={"MANUAL_NOW": now})
    assert result.code == 0, result.output


# --- point 2: all of changelog/ is immutable ---------------------------------------------------


def test_deleted_revocation_brings_no_key_back(clone: Callable[[], RevisionRepo]) -> None:
    """A signed revocation removed with git rm: the revoked key signs again, unless the deletion
    itself is refused (MAN851) wherever it is in history."""
    repo = clone()
    revoke(repo, "li.na", "2026-01-05T00:00:00+08:00", "2026-01-05T10:00:00+08:00")
    repo.commit("li.na's key revoked")
    [record] = (repo.root / "changelog" / "revocations").iterdir()
    repo.git("rm", "--quiet", str(record.relative_to(repo.root)))
    repo.commit("drop the revocation")
    cr = prepared_request(repo)
    repo.approve_all(cr, "2026-01-12")  # 审核 by li.na, with the revoked key
    repo.commit(f"{cr} approved")
    refused_everywhere(repo, "MAN851")


def test_deleted_return_is_refused(clone: Callable[[], RevisionRepo]) -> None:
    """A signed return (退回) removed: the returned request would be signed on and released."""
    repo = clone()
    cr = prepared_request(repo)
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    repo.commit(f"{cr} submitted")
    back = repo.run("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", "请补充依据", env={"MANUAL_NOW": "2026-01-13T10:00:00+08:00"})
    assert back.code == 0, back.output
    repo.commit(f"{cr} returned")
    repo.git("rm", "--quiet", f"changelog/returns/{cr}.yml")
    repo.commit("forget the return")
    for hour, role in enumerate(repo.roles_for("minor")[1:], start=10):
        repo.approve(cr, role, now=f"2026-01-14T{hour}:00:00+08:00")
    repo.commit(f"{cr} approved")
    refused_everywhere(repo, "MAN851")


@pytest.mark.parametrize("kind", ["training", "opinions", "answers", "a-kind-added-later"])
def test_every_kind_under_changelog_is_immutable_even_when_put_back(clone: Callable[[], RevisionRepo], kind: str) -> None:
    """Immutability is generic over changelog/, not a list of today's folders: an edit of any
    committed record is refused in the working tree, and in history even after it was undone."""
    repo = clone()
    path = repo.root / "changelog" / kind / "R-1.yml"
    path.parent.mkdir(parents=True)
    path.write_text("kind: note\ntext: 原文\n", encoding="utf-8")
    repo.commit(f"a {kind} record")
    path.write_text("kind: note\ntext: 改动后的文字\n", encoding="utf-8")
    check_codes(repo, "MAN851")  # before the commit
    repo.commit("edit it")
    path.write_text("kind: note\ntext: 原文\n", encoding="utf-8")
    repo.commit("and put it back")
    cr = prepared_request(repo)
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved")
    refused_everywhere(repo, "MAN851")


def test_the_derived_revision_history_is_not_frozen(clone: Callable[[], RevisionRepo]) -> None:
    """changelog/revision-history.md is derived (regenerated by each release): rewriting it is no
    MAN851, and a normal release after it audits clean."""
    repo = clone()
    (repo.root / "changelog" / "revision-history.md").write_text("# 修订记录\n", encoding="utf-8")
    repo.commit("rewrite the derived table")
    cr = prepared_request(repo)
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved")
    assert repo.release_cli("2026-01-20", "2026-02-01").code == 0
    assert "MAN851" not in audit_codes(repo)


# --- point 1: signed or derived --------------------------------------------------------------


def test_approval_meaning_is_derived_from_the_judge_policy(clone: Callable[[], RevisionRepo]) -> None:
    """签署含义 changed after signing to a refusal: the meaning is not in the signed message, so it
    must equal the judge policy's meaning of the role."""
    repo = clone()
    cr = prepared_request(repo)
    repo.approve_all(cr, "2026-01-12")
    path = repo.request_path(cr)
    text = path.read_text(encoding="utf-8")
    forged, count = re.subn(r"(- role: 批准\n(?:    .*\n)*?    meaning: ).*\n", r"\1批准人不同意本修订（驳回）\n", text)
    assert count == 1
    path.write_text(forged, encoding="utf-8")
    repo.commit(f"{cr} approved")
    refused_everywhere(repo, "MAN850")


# --- point 3: time the signer cannot choose ----------------------------------------------------


def test_revoked_key_cannot_sign_in_a_later_commit_whatever_time_it_claims(clone: Callable[[], RevisionRepo]) -> None:
    """The revocation is committed; the revoked key then signs with MANUAL_NOW set before the
    revocation time, in a later commit: the signature is void (MAN852)."""
    repo = clone()
    cr = prepared_request(repo, day="2026-01-05")
    repo.commit(f"{cr} proposed")
    revoke(repo, "li.na", "2026-01-08T00:00:00+08:00", "2026-01-08T10:00:00+08:00")
    repo.commit("li.na's key revoked")
    for hour, role in enumerate(repo.roles_for("minor"), start=9):
        repo.approve(cr, role, now=f"2026-01-06T{hour:02d}:00:00+08:00")  # 审核: li.na, back-dated
    repo.commit(f"{cr} approved")
    refused_everywhere(repo, "MAN852")


def test_signature_committed_before_the_revocation_stays_valid(clone: Callable[[], RevisionRepo]) -> None:
    """The other side of MAN852: a signature made and committed before the key was revoked keeps
    its validity (8.2 四), so a stolen key's past signatures stay valid until the revocation."""
    repo = clone()
    cr = prepared_request(repo, day="2026-01-05")
    repo.approve_all(cr, "2026-01-06")
    repo.commit(f"{cr} approved")
    revoke(repo, "li.na", "2026-01-08T00:00:00+08:00", "2026-01-08T10:00:00+08:00")
    repo.commit("li.na's key revoked")
    assert repo.release_cli("2026-01-20", "2026-02-01").code == 0
    assert not {"MAN812", "MAN852"} & audit_codes(repo)


def test_training_dated_before_the_version_was_published_trains_nothing(clone: Callable[[], RevisionRepo]) -> None:
    """A/0 was published 2025-12-01: a training record dated 2025-11-20 is refused by the command
    and, written by hand with a valid signature, is MAN854 in check and audit."""
    repo = clone()
    args = ("training", "A/0", "--date", "2025-11-20", "--departments", "销售管理部", "--attendees", "5", "--record", "签到表 1 号", "--key", str(repo.key("li")))
    before = repo.state()
    refused = repo.run(*args, check=False, env={"MANUAL_NOW": "2026-01-10T10:00:00+08:00"})
    assert refused.code == 1 and "MAN854" in refused.codes() and repo.state() == before
    from manualkit.records.procedure import TRAINING_DIR, write_signed
    from manualkit.records.repository import worktree_snapshot

    with _environment(repo.env()):
        manual, policy = worktree_snapshot(repo.root).require()
        fields = {"version": "A/0", "date": "2025-11-20", "departments": "销售管理部", "attendees": "5", "record": "签到表 1 号", "by": "li.na", "signed_at": "2025-11-20T10:00:00+08:00"}
        write_signed(repo.root, f"{TRAINING_DIR}/A-0-2025-11-20.yml", "manual-training/1", fields, "李娜", repo.key("li"), policy, manual.metadata.document_number)
    repo.commit("training recorded by hand")
    check_codes(repo, "MAN854")
    assert "MAN854" in audit_codes(repo)


# --- point 4: manual.yml and front matter ------------------------------------------------------


def test_manual_yml_change_needs_a_request_listing_it(clone: Callable[[], RevisionRepo]) -> None:
    """The company printed on every page changed under a request for 3.2 only: MAN740."""
    repo = clone()
    repo.replace_in_manual("manual.yml", "company:", "company: 伪造公司 #")
    cr = prepared_request(repo)
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved, with a new company name")
    check_codes(repo, "MAN740")
    _, _, published, effective = A1
    refused_and_unchanged(repo, published, effective, "MAN740")
    forge_release(repo, *A1)
    assert {"MAN740", "MAN710"} & audit_codes(repo)


def test_manual_yml_change_listed_by_an_approved_request_is_released_and_audits_clean(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    text = (repo.root / "manual" / "manual.yml").read_text(encoding="utf-8")
    m = re.search(r"^company: (.*)$", text, re.M)
    assert m is not None
    repo.replace_in_manual("manual.yml", f"company: {m.group(1)}", f"company: {m.group(1).rstrip()}（更名）")
    cr = repo.propose("minor", ["manual.yml"], today="2026-01-12")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved")
    result = repo.release_cli("2026-01-20", "2026-02-01")
    assert result.code == 0, result.output
    assert audit_codes(repo) == set()


def test_front_matter_change_needs_a_request_for_that_chapter(clone: Callable[[], RevisionRepo]) -> None:
    """负责部门 of chapter 3 (printed on every page) changed under a request for chapter 4 only."""
    repo = clone()
    chapter = repo.chapter_path("3.1")
    text = chapter.read_text(encoding="utf-8")
    m = re.search(r"^owner: (.*)$", text, re.M)
    assert m is not None and m.group(1) != "人力资源部"
    chapter.write_text(text.replace(m.group(0), "owner: 人力资源部", 1), encoding="utf-8")
    cr = prepared_request(repo, section="4.1")
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved, chapter 3 handed to another department")
    check_codes(repo, "MAN674")
    _, _, published, effective = A1
    refused_and_unchanged(repo, published, effective, "MAN710")
    forge_release(repo, *A1)
    assert "MAN710" in audit_codes(repo)


# --- controlled copies: signed, recall a separate record -----------------------------------------


def test_copy_records_are_signed_and_a_forged_holder_is_never_named(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    repo = clone()
    env = {"MANUAL_HOME": str(tmp_path / "mh"), "MANUAL_TODAY": "2026-01-10", "MANUAL_NOW": "2026-01-10T10:00:00+08:00"}
    out = tmp_path / "copies"
    issued = repo.run("distribute", "A/0", "--holder", "王五", "--department", "销售管理部", "-o", str(out), "--key", str(repo.key("zhao")), env=env)
    assert issued.code == 0, issued.output
    repo.commit("copy A-0-001 issued")
    record = repo.root / "changelog" / "copies" / "A-0-001.yml"
    assert "signature:" in record.read_text(encoding="utf-8")
    [docx] = out.iterdir()
    assert "王五" in repo.manual("verify", str(docx), env=env).output
    record.write_text(record.read_text(encoding="utf-8").replace("王五", "赵六"), encoding="utf-8")
    check_codes(repo, "MAN855", "MAN851")
    verify = repo.manual("verify", str(docx), env=env)
    assert "赵六" not in verify.output and "王五" not in verify.output, verify.output
    repo.commit("holder edited by hand")
    assert {"MAN855", "MAN851"} <= audit_codes(repo)


def test_recall_is_a_separate_signed_record_and_the_copy_record_is_never_edited(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    repo = clone()
    env = {"MANUAL_HOME": str(tmp_path / "mh"), "MANUAL_TODAY": "2026-01-10", "MANUAL_NOW": "2026-01-10T10:00:00+08:00"}
    assert repo.run("distribute", "A/0", "--holder", "王五", "--department", "销售管理部", "-o", str(tmp_path / "c"), "--key", str(repo.key("zhao")), env=env).code == 0
    repo.commit("copy issued")
    copy = (repo.root / "changelog/copies/A-0-001.yml").read_bytes()
    assert repo.run("recall", "A-0-001", "--date", "2026-01-10", "--retained", "--key", str(repo.key("zhao")), env=env).code == 0
    assert (repo.root / "changelog/copies/A-0-001.yml").read_bytes() == copy
    recall = repo.root / "changelog/copies/A-0-001-recall.yml"
    assert "retained: 'true'" in recall.read_text(encoding="utf-8") or "retained: \"true\"" in recall.read_text(encoding="utf-8")
    repo.commit("copy recalled")
    assert audit_codes(repo) == set()
    recall.write_text(recall.read_text(encoding="utf-8").replace("2026-01-10", "2026-01-09", 1), encoding="utf-8")
    check_codes(repo, "MAN855", "MAN851")


# --- the table of point 1 ------------------------------------------------------------------------


def _table() -> list[list[str]]:
    text = (PROJECT_ROOT / "docs" / "release-model.md").read_text(encoding="utf-8")
    start = text.index("## Signed or derived: every field a reader is shown")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("## "):
            break
        if line.startswith("| ") and not line.startswith("| record |") and not set(line) <= {"|", "-", " "}:
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_the_signed_or_derived_table_covers_every_signed_field_and_names_real_tests() -> None:
    """Walk the table of docs/release-model.md: every row says signed or derived and names a test
    that exists; every signed field of every record kind and every approval field is listed."""
    from manualkit.records.procedure import KINDS

    rows = _table()
    assert rows, "the table is missing"
    names = set(re.findall(r"^def (test_\w+)", "\n".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "tests").glob("test_*.py")), re.M))
    listed: set[tuple[str, str]] = set()
    for record, fields, how, proof in rows:
        assert how.split()[0].rstrip(":;") in ("signed", "derived", "immutable"), (record, how)
        for test in re.findall(r"test_\w+", proof):
            assert test in names, f"{test} named in the table does not exist"
        for f in re.findall(r"`([^`]+)`", fields):
            listed.add((record, f))
    for kind, signed in KINDS.items():
        for f in signed:
            assert (kind, f) in listed, f"{kind} {f} is not in the table"
    for f in ("role", "signer", "signed_at", "digest", "name", "meaning"):
        assert ("approval", f) in listed, f



# --- point 3: a revocation's time is bounded by the released signatures it would void ----------


def _handmade_revocation(repo: RevisionRepo, at: str, **extra: str) -> Path:
    """A revocation written and signed without `manual revoke-key` (as ssh-keygen would), by 李娜
    herself: the command's refusal (MAN856) is bypassed, the reading must still bound it."""
    from manualkit.records.procedure import write_signed
    from manualkit.records.repository import worktree_snapshot

    manual, policy = worktree_snapshot(repo.root).require()
    owner = policy.approver("li.na")
    assert owner is not None
    fields = {"signer": "li.na", "key": " ".join(owner.public_key.split()[:2]), "revoked_at": at, "reason": "笔记本电脑遗失",
              "by": "li.na", "signed_at": "2026-01-08T10:00:00+08:00", **extra}  # fmt: skip
    record = write_signed(repo.root, "changelog/revocations/li.na-20250101T000000Z.yml", "manual-key-revocation/1", fields, owner.name,
                          repo.key("li.na"), policy, manual.metadata.document_number)  # fmt: skip
    return repo.root / record.path


def released_signers(repo: RevisionRepo) -> dict[str, bool]:
    history = json.loads(repo.manual("history", "--json").stdout)["releases"]
    return {f"{e['version']}:{a['signer']}": a["valid"] for e in history for a in e["approvals"]}


def test_back_dated_revocation_voids_no_released_signature_unless_said_by_the_approver(clone: Callable[[], RevisionRepo]) -> None:
    """A/0 is released with 李娜's signature; a revocation back-dated before it, not declaring that
    it voids released signatures, is read as starting just after her last released signature
    (MAN853, a warning): A/0 stays valid, and her key signs nothing from then on."""
    repo = clone()
    before = released_signers(repo)
    assert before["A/0:li.na"] is True
    refused = repo.run("revoke-key", "li.na", "--at", "2025-01-01T00:00:00+08:00", "--reason", "遗失", "--key", str(repo.key("li.na")),
                       env={"MANUAL_NOW": "2026-01-08T10:00:00+08:00"}, check=False)  # fmt: skip
    assert refused.code == 1 and "MAN856" in refused.codes(), refused.output
    _handmade_revocation(repo, "2025-01-01T00:00:00+08:00")
    repo.commit("li.na's key revoked, back-dated by hand")
    assert released_signers(repo) == before
    check = repo.manual("check", env={"MANUAL_TODAY": "2026-01-20"})
    assert check.code == 0 and "MAN853" in check.codes() and "MAN812" not in check.codes(), check.output
    audit = repo.manual("audit", "--json")
    findings = {f["code"]: f["severity"] for c in json.loads(audit.stdout)["checks"] for f in c["findings"]}
    assert audit.code == 0 and findings.get("MAN853") == "warning" and not {"MAN812", "MAN852"} & set(findings), audit.output
    # bounded, not ignored: her key signs nothing after the revocation
    cr = prepared_request(repo)
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    late = repo.approve(cr, "审核", now="2026-01-12T10:00:00+08:00", check=False)
    assert late.code == 1 and "MAN812" in late.codes(), late.output


def test_the_void_released_statement_is_signed(clone: Callable[[], RevisionRepo]) -> None:
    """Adding ``voids_released: "true"`` to a signed revocation afterwards breaks its signature."""
    repo = clone()
    path = _handmade_revocation(repo, "2025-01-01T00:00:00+08:00")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('name: "', 'voids_released: "true"\nname: "', 1), encoding="utf-8")
    check = repo.manual("check", env={"MANUAL_TODAY": "2026-01-20"})
    assert check.code == 1 and "MAN811" in check.codes(), check.output
