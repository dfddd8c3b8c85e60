"""Chapter 8's revision procedure, rule by rule, in real git repositories (8.2 and 8.4).

Each refusal is checked the same way: the exact diagnostic code, a Chinese message that says
what to do, exit status 1, no traceback, and nothing written (HEAD, refs, git status and every
file byte-identical). Repositories are built once per module (:class:`Templates`) and copied
for each test.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from revision_repo import PEOPLE, TODAY, RepoState, Result, RevisionRepo, plus_days, shared_history

# --- templates and assertions ------------------------------------------------------------------

READY_SECTIONS = {"major": ["3.3"], "minor": ["3.2"], "editorial": ["1.3"]}
READY_DAY = "2025-12-10"  # the ready change requests are approved before any later date we release on


class Templates:
    """Repositories built once per module; tests get copies."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self._released: RevisionRepo | None = None
        self._demo: RevisionRepo | None = None
        self._ready: dict[str, RevisionRepo] = {}

    @property
    def released(self) -> RevisionRepo:
        """A/0 released (2025-12-01, effective 2026-01-01)."""
        if self._released is None:
            self._released = shared_history(self.factory, "released")  # only copied, never changed
        return self._released

    @property
    def demo(self) -> RevisionRepo:
        """A/0, A/1, B/0 and B/1 (B/1 takes effect 2027-01-15, after TODAY)."""
        if self._demo is None:
            # A copy of the session's demo history: read-only tests run commands in this one.
            self._demo = shared_history(self.factory, "demo").copy_to(self.factory.mktemp("demo") / "t")
        return self._demo

    def ready(self, class_key: str) -> RevisionRepo:
        """A/0 plus one committed change request of ``class_key``, signed in every role it needs."""
        if class_key not in self._ready:
            repo = self.released.copy_to(self.factory.mktemp(f"ready-{class_key}") / "t")
            repo.prepared(class_key, READY_SECTIONS[class_key], day=READY_DAY)
            self._ready[class_key] = repo
        return self._ready[class_key]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory)


@pytest.fixture
def clone(templates: Templates, tmp_path: Path) -> Callable[[str], RevisionRepo]:
    """``clone("released" | "demo" | "major" | "minor" | "editorial")``: a fresh copy to modify."""
    counter = iter(range(100))

    def make(name: str) -> RevisionRepo:
        template = {"released": lambda: templates.released, "demo": lambda: templates.demo}.get(name, lambda: templates.ready(name))()
        return template.copy_to(tmp_path / f"copy-{next(counter)}")

    return make


def assert_clean_exit(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.code == 0, result.output


def assert_refused(result: Result, code: str, *words: str) -> list[str]:
    """Exit 1, ``code`` reported in a Chinese message containing ``words``; returns its lines."""
    assert "Traceback" not in result.output, result.output
    assert result.code == 1, f"exit {result.code}, expected 1:\n{result.output}"
    lines = [line for line in result.output.splitlines() if re.search(rf"\b{code}\b", line)]
    assert lines, f"{code} not reported:\n{result.output}"
    assert all(re.search(r"[\u4e00-\u9fff]{4,}", line) for line in lines), lines
    for word in words:
        assert any(word in line for line in lines), f"no {code} message mentions {word!r}:\n{result.output}"
    return lines


def assert_unchanged(repo: RevisionRepo, before: RepoState) -> None:
    after = repo.state()
    assert after.head == before.head
    assert after.refs == before.refs
    assert after.status == before.status
    changed = {p for p in before.files.keys() | after.files.keys() if before.files.get(p) != after.files.get(p)}
    assert not changed, f"files written on refusal: {sorted(changed)}"
    assert after == before


def heading_line(repo: RevisionRepo, section_id: str) -> int:
    lines = repo.chapter_path(section_id).read_text(encoding="utf-8").split("\n")
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(f"## {section_id} "))


def approval_entry(text: str, role: str) -> tuple[int, int]:
    """Line range ``[start, end)`` of the approval entry of ``role`` in a change request's text."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line == f"  - role: {role}")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
    return start, end


def forge_signature(repo: RevisionRepo, cr: str, role: str) -> None:
    """Flip one bit inside the ed25519 signature value of ``role``'s approval (armour kept valid)."""
    path = repo.request_path(cr)
    lines = path.read_text(encoding="utf-8").split("\n")
    start, end = approval_entry("\n".join(lines), role)
    begin = next(i for i in range(start, end) if "BEGIN SSH SIGNATURE" in lines[i])
    stop = next(i for i in range(begin, end) if "END SSH SIGNATURE" in lines[i])
    indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
    blob = bytearray(base64.b64decode("".join(line.strip() for line in lines[begin + 1 : stop])))
    blob[-10] ^= 0x01  # the last 64 bytes are the signature value itself
    encoded = base64.b64encode(bytes(blob)).decode()
    lines[begin + 1 : stop] = [indent + encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    path.write_text("\n".join(lines), encoding="utf-8")


def release_args(published: str, effective: str) -> tuple[str, ...]:
    return ("release", "--published", published, "--effective", effective)


# --- the builder itself --------------------------------------------------------------------------


def test_first_release_is_a_valid_a0(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    assert repo.tags() == ["release/A-0"]
    assert repo.porcelain() == ""
    result = repo.manual("history", "--json")
    assert_clean_exit(result)
    (entry,) = json.loads(result.stdout)["releases"]
    assert (entry["version"], entry["class"], entry["published"], entry["effective_from"]) == ("A/0", "major", "2025-12-01", "2026-01-01")
    assert len(entry["sections"]) == 32 and entry["valid"] is True
    assert [a["role"] for a in entry["approvals"]] == ["编制", "审核", "会签", "批准"]
    policy = repo.read("manual/policy.yml")
    for person in PEOPLE:
        assert (repo.public_key(person.id) in policy) is person.registered
    assert_clean_exit(repo.manual("check"))


# --- 8.2: a pull request ------------------------------------------------------------------------


def test_pull_request_flow_with_the_real_cli(clone: Callable[[str], RevisionRepo]) -> None:
    """propose → edit → check --base → approve → commit → release, every step a subprocess."""
    repo = clone("released")
    repo.git("checkout", "--quiet", "-b", "quotation")
    proposed = repo.manual("propose", "--class", "minor", "--sections", "3.2", "--title", "缩短报价有效期", "--reason", "市场价格波动加快", check=True, env={"MANUAL_TODAY": "2026-02-10"})
    cr = re.search(r"CR-\d{4}-\d{3}", proposed.stdout)
    assert cr is not None, proposed.output
    repo.append_to_section("3.2", "报价单的有效期为 15 日；超过有效期的报价须重新审批。")
    assert_clean_exit(repo.manual("check", "--base", "main"))
    for role, who in (("编制", "zhang"), ("审核", "li"), ("批准", "chen")):
        signed = repo.manual("approve", cr.group(), "--role", role, "--key", str(repo.key(who)), env={"MANUAL_NOW": "2026-02-20T10:00:00+08:00"})
        assert_clean_exit(signed)
    repo.commit(f"{cr.group()}: approved")
    assert_clean_exit(repo.manual("check", "--base", "main"))
    repo.git("checkout", "--quiet", "main")
    repo.git("merge", "--quiet", "--ff-only", "quotation")
    released = repo.release_cli("2026-03-01", "2026-03-08")
    assert_clean_exit(released)
    assert "A/1" in released.stdout
    assert repo.git("rev-parse", "release/A-1^{commit}").strip() == repo.head()
    assert repo.porcelain() == ""
    assert "class: minor" in repo.read("changelog/releases/A-1.yml")


def test_section_changed_without_a_change_request_fails_the_pull_request(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    repo.git("checkout", "--quiet", "-b", "feature")
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.append_to_section("3.1", "未经修订申请而增加的段落。")
    repo.commit("edit 3.1 and 3.2; only 3.2 has a change request")
    before = repo.state()
    result = repo.manual("check", "--base", "main")
    lines = assert_refused(result, "MAN670", "第 3.1 节", "manual propose")
    assert lines == [f"manual/03-execution.md:{heading_line(repo, '3.1')}:1: MAN670 修改了第 3.1 节，但本次变更中没有列出该节的修订申请单；请运行 manual propose 提出修订申请"]
    assert cr not in result.output  # 3.2 is covered by its change request
    assert_unchanged(repo, before)


def test_chapter_text_outside_sections_is_refused(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.replace_in_manual("03-execution.md", "# 第三章 业务流程执行与实施\n", "# 第三章 业务流程执行与实施\n\n违反本章规定的，予以辞退。\n")
    repo.commit("a binding sentence before 3.1, without a change request")
    assert_refused(repo.manual("check", "--base", "main"), "MAN214", "不得有正文")


def test_front_matter_changes_need_a_change_request_or_a_review_record(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.replace_in_manual("03-execution.md", "owner: 销售管理部\n", "owner: 市场部\n")
    repo.replace_in_manual("03-execution.md", "  last_reviewed: 2026-01-01\n", "  last_reviewed: 2026-09-01\n")
    repo.commit("owner and review date changed by hand")
    lines = assert_refused(repo.manual("check", "--base", "main"), "MAN674", "负责部门", "manual review")
    assert len(lines) == 2
    repo.replace_in_manual("policy.yml", "review_cycle_months: 12", "review_cycle_months: 12  # reviewed")
    repo.commit("policy comment")
    result = repo.manual("check", "--base", "main")
    assert any("MAN675" in line and "警告" in line for line in result.output.splitlines())


def test_change_request_listing_an_unchanged_section_warns(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    repo.git("checkout", "--quiet", "-b", "feature")
    cr = repo.propose("minor", ["3.1", "3.2"], today="2026-02-10")
    repo.append_to_section("3.1", "新增的执行要求。")
    repo.commit(f"{cr}: only 3.1 edited")
    before = repo.state()
    result = repo.manual("check", "--base", "main")
    assert_clean_exit(result)
    warnings = [line for line in result.stdout.splitlines() if "MAN671" in line]
    assert warnings == [f"changelog/requests/{cr}.yml:1:1: MAN671 {cr} 列出了第 3.2 节，但本次变更没有修改该节（警告）"]
    strict = repo.manual("check", "--base", "main", "--strict")
    assert_refused(strict, "MAN671", "第 3.2 节")
    assert result.codes() == strict.codes() == {"MAN671"}
    assert_unchanged(repo, before)


@pytest.mark.parametrize(
    ("path", "edit", "code", "words"),
    [
        ("changelog/requests/CR-2025-001.yml", "modify", "MAN673", ("已发布的修订申请单 CR-2025-001 被修改",)),
        ("changelog/requests/CR-2025-001.yml", "delete", "MAN673", ("已发布的修订申请单 CR-2025-001 被删除",)),
        ("changelog/releases/A-0.yml", "modify", "MAN672", ("已发布的发布记录被修改",)),
        ("changelog/releases/A-0.yml", "delete", "MAN672", ("已发布的发布记录被删除",)),
    ],
)
def test_released_records_are_immutable(
    clone: Callable[[str], RevisionRepo], path: str, edit: str, code: str, words: tuple[str, ...]
) -> None:
    repo = clone("released")
    repo.git("checkout", "--quiet", "-b", "rewrite-history")
    target = repo.root / path
    if edit == "delete":
        target.unlink()
    elif path.startswith("changelog/requests/"):
        repo.replace_in_manual(path, "title: 首次发布", "title: 首次发布（补充说明）")
    else:
        repo.replace_in_manual(path, "effective: 2026-01-01", "effective: 2025-12-15")
    repo.commit(f"{edit} {path}")
    before = repo.state()
    result = repo.manual("check", "--base", "main")
    assert_refused(result, code, *words)
    assert result.codes() == {code, "MAN748"}  # and the commit that did it, from the history (records.immutability)
    assert_unchanged(repo, before)


def test_a_released_change_request_cannot_be_signed_again(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    before = repo.state()
    result = repo.manual("approve", "CR-2025-001", "--role", "批准", "--key", str(repo.key("chen")))
    assert_refused(result, "MAN673", "已发布")
    assert_unchanged(repo, before)


# --- 8.4: dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "effective", "code", "words"),
    [
        ("2025-12-15", "2026-01-01", "MAN664", ("不晚于上一版本 A/0 的实施日期 2026-01-01",)),  # equal
        ("2025-12-15", "2025-12-20", "MAN664", ("实施日期 2025-12-20",)),  # earlier
        ("2025-11-30", "2026-01-05", "MAN665", ("不能倒签",)),  # published before the previous version
    ],
)
# (A publication date before the approvals is also MAN713, as manual audit would find it.)
def test_backdated_dates_are_refused(
    clone: Callable[[str], RevisionRepo], published: str, effective: str, code: str, words: tuple[str, ...]
) -> None:
    repo = clone("editorial")
    before = repo.state()
    result = repo.release_cli(published, effective)
    assert_refused(result, code, *words)
    assert result.codes() == ({code, "MAN713"} if code == "MAN665" else {code})
    assert_unchanged(repo, before)


@pytest.mark.parametrize(
    ("class_key", "class_name", "notice", "version"),
    [("major", "重大修订", 30, "B/0"), ("minor", "一般修订", 7, "A/1"), ("editorial", "编辑性修改", 0, "A/1")],
)
def test_notice_period_of_each_class(
    clone: Callable[[str], RevisionRepo], class_key: str, class_name: str, notice: int, version: str
) -> None:
    repo = clone(class_key)
    published = "2026-02-02"
    before = repo.state()
    too_short = repo.release_cli(published, plus_days(published, notice - 1))
    assert_refused(too_short, "MAN663", f"{class_name}的最短公告期为 {notice} 日", f"最早于 {plus_days(published, notice)} 实施")
    assert too_short.codes() == {"MAN663"}
    assert_unchanged(repo, before)
    exactly = repo.release_cli(published, plus_days(published, notice))
    assert_clean_exit(exactly)
    slug = version.replace("/", "-")
    record = repo.read(f"changelog/releases/{slug}.yml")
    assert f"version: {version}\nclass: {class_key}\n" in record
    assert repo.tags() == ["release/A-0", f"release/{slug}"]
    assert repo.git("log", "-1", "--format=%s").startswith(f"release {version}: ")
    assert repo.git("rev-parse", "HEAD^").strip() == before.head
    assert repo.porcelain() == ""


def test_bundled_release_takes_the_highest_class(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    editorial = repo.prepared("editorial", ["1.3"], day="2026-01-20")
    minor = repo.prepared("minor", ["3.2"], day="2026-01-20")
    before = repo.state()
    published = "2026-02-02"
    refused = repo.release_cli(published, plus_days(published, 6))
    assert_refused(refused, "MAN663", "一般修订的最短公告期为 7 日")
    assert_unchanged(repo, before)
    assert_clean_exit(repo.release_cli(published, plus_days(published, 7)))
    record = repo.read("changelog/releases/A-1.yml")
    assert "class: minor\n" in record
    assert f"change_requests: [{editorial}, {minor}]" in record


def test_revision_limit_starts_a_new_edition(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    repo.replace_in_manual("policy.yml", "revision_limit: 10 ", "revision_limit: 2 ")
    mismatch = repo.manual("check")
    assert_refused(mismatch, "MAN512", "同一版次内修改次数上限", "应为“2 次”")
    # 8.4's table and 8.2's wording change with the policy, under a change request of their own.
    repo.replace_in_manual("08-supplementary.md", "| 同一版次内修改次数上限 | 10 次 |", "| 同一版次内修改次数上限 | 2 次 |")
    repo.replace_in_manual("08-supplementary.md", "同一版次内修改次数达到 10 次后", "同一版次内修改次数达到 2 次后")
    unlisted = repo.manual("check")  # released text and the policy changed: a change request must carry them
    assert_refused(unlisted, "MAN670", "8.2")
    assert_refused(unlisted, "MAN740", "policy")
    cr = repo.propose("minor", ["8.2", "8.4", "policy"], title="修改次数上限调整为 2 次", today="2026-01-10")
    assert_clean_exit(repo.manual("check"))
    repo.approve_all(cr, "2026-01-12")
    repo.commit(f"{cr} approved")
    repo.release("2026-01-15", "2026-01-22")
    repo.prepared("editorial", ["1.3"], day="2026-01-23")
    repo.release("2026-01-25", "2026-01-25")
    repo.prepared("editorial", ["1.4"], day="2026-01-26")
    last = repo.release_cli("2026-01-28", "2026-01-28")
    assert_clean_exit(last)
    assert "B/0" in last.stdout
    history = json.loads(repo.manual("history", "--json").stdout)["releases"]
    assert [(e["version"], e["class"]) for e in history] == [("A/0", "major"), ("A/1", "minor"), ("A/2", "editorial"), ("B/0", "editorial")]
    assert all(e["valid"] for e in history)


# --- 8.2: signatures -----------------------------------------------------------------------------


def test_release_with_a_missing_approval_is_refused(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    repo.approve(cr, "审核", now="2026-01-12T10:00:00+08:00")
    repo.commit(f"{cr}: 编制、审核 signed")
    status = repo.manual("status")
    assert_clean_exit(status)
    assert f"修订申请单 {cr}〔一般修订〕" in status.stdout and "尚缺签署：批准" in status.stdout
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN660", f"{cr} 尚缺有效签署：批准", "manual approve")
    assert result.codes() == {"MAN660"}
    assert_unchanged(repo, before)


def test_forged_signature_is_detected(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("minor")
    cr = "CR-2025-002"
    forge_signature(repo, cr, "批准")
    repo.commit("forged 批准")
    check = repo.manual("check")
    assert_refused(check, "MAN650", "批准签署（陈刚）的电子签名无效")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN650", "伪造")
    assert_refused(result, "MAN660", "批准")
    assert_unchanged(repo, before)


def test_signature_copied_from_another_change_request_is_detected(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    repo.approve(cr, "审核", now="2026-01-12T10:00:00+08:00")
    old = repo.read("changelog/requests/CR-2025-001.yml").split("\n")
    start, end = approval_entry("\n".join(old), "批准")
    path = repo.request_path(cr)
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(old[start:end]).rstrip("\n") + "\n", encoding="utf-8")
    repo.commit(f"{cr}: 批准 pasted from CR-2025-001")
    check = repo.manual("check")
    assert_refused(check, "MAN650", "复用")
    assert check.codes() == {"MAN650"}
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN650")
    assert_refused(result, "MAN660", "批准")
    assert_unchanged(repo, before)


def test_unregistered_signer_is_refused(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    before = repo.state()
    result = repo.manual("approve", cr, "--role", "编制", "--key", str(repo.key("outsider")))
    assert_refused(result, "MAN651", "不在 policy.yml 的签署人名录中")
    assert_unchanged(repo, before)


def test_approval_by_a_signer_missing_from_the_registry_is_refused(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("minor")
    repo.replace_in_manual("changelog/requests/CR-2025-002.yml", "    signer: chen.gang\n", "    signer: chen.gang2\n")
    repo.commit("批准 signer renamed")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN651", "签署人 chen.gang2 不在 policy.yml 的签署人名录中")
    assert_refused(result, "MAN660", "批准")
    assert_unchanged(repo, before)


@pytest.mark.parametrize(("who", "role"), [("li", "批准"), ("sun", "编制")])
def test_signer_without_the_role_is_refused(clone: Callable[[str], RevisionRepo], who: str, role: str) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    before = repo.state()
    result = repo.manual("approve", cr, "--role", role, "--key", str(repo.key(who)))
    person = repo.person(who)
    assert_refused(result, "MAN652", f"{person.name}（{person.id}）在签署人名录中无权签署“{role}”")
    assert_unchanged(repo, before)


def test_registry_edited_on_the_side_is_refused(clone: Callable[[str], RevisionRepo]) -> None:
    """A registry change not carried by a change request listing ``policy`` is refused: the
    release is judged by the registry in force (A/0's), and the edit itself is MAN740.
    (The legitimate withdrawal of a role is in tests/test_chain_of_trust.py.)"""
    repo = clone("minor")
    repo.replace_in_manual("policy.yml", "    roles: [批准]\n", "    roles: []\n")
    repo.commit("陈刚 no longer signs 批准")
    assert_refused(repo.manual("check"), "MAN740", "policy")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN740", "没有修订申请单列出 policy")
    assert result.codes() == {"MAN740"}
    assert_unchanged(repo, before)


def test_one_signer_may_not_sign_two_roles(clone: Callable[[str], RevisionRepo], tmp_path: Path) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", "zhao", now="2026-01-12T09:00:00+08:00")
    before = repo.state()
    refused = repo.manual("approve", cr, "--role", "审核", "--key", str(repo.key("zhao")))
    assert_refused(refused, "MAN654", "赵敏 已签署“编制”，同一人不得在同一申请单上签署两个角色")
    assert_unchanged(repo, before)

    # Made without our tool: a genuine second signature by the same person, in the other role.
    text = repo.request_path(cr).read_text(encoding="utf-8")
    digest = re.search(r"digest: (sha256:[0-9a-f]{64})", text)
    namespace = re.search(r"^signing_namespace: (\S+)", repo.read("manual/policy.yml"), re.MULTILINE)
    assert digest is not None and namespace is not None
    signed_at = "2026-01-12T10:00:00+08:00"
    message = tmp_path / "message"
    message.write_bytes(
        f"manual-approval/1\ndocument: XS-QM-01\nchange-request: {cr}\nrole: 审核\nsigner: zhao.min\n"
        f"signed-at: {signed_at}\ndigest: {digest.group(1)}\n".encode()
    )
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(repo.key("zhao")), "-n", namespace.group(1), str(message)], check=True, env=repo.env(), capture_output=True)
    signature = (tmp_path / "message.sig").read_text().strip().splitlines()
    entry = [
        "  - role: 审核", "    signer: zhao.min", "    name: 赵敏", "    meaning: 审核人确认修订内容符合公司制度和业务实际",
        f"    signed_at: '{signed_at}'", f"    digest: {digest.group(1)}", "    signature: |", *("      " + s for s in signature),
    ]  # fmt: skip
    repo.request_path(cr).write_text(text.rstrip("\n") + "\n" + "\n".join(entry) + "\n", encoding="utf-8")
    repo.approve(cr, "批准", now="2026-01-12T11:00:00+08:00")
    repo.commit(f"{cr}: 赵敏 signed twice")
    check = repo.manual("check")
    assert_refused(check, "MAN654", "同一人不得在同一申请单上签署两个角色")
    assert check.codes() == {"MAN654"}  # the signature itself is genuine
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN654", "赵敏")
    assert_unchanged(repo, before)


@pytest.mark.parametrize("what", ["section", "request"])
def test_text_changed_after_approval_voids_it(clone: Callable[[str], RevisionRepo], what: str) -> None:
    repo = clone("minor")
    if what == "section":
        repo.append_to_section("3.2", "签署之后又加入的一段文字。")
    else:
        repo.replace_in_manual("changelog/requests/CR-2025-002.yml", "reason: 业务实践变化，条款需相应调整", "reason: 业务实践变化，条款需相应调整（签署后补充）")
    repo.commit(f"{what} edited after approval")
    check = repo.manual("check")
    lines = assert_refused(check, "MAN655", "内容已被修改，该签署作废；请重新签署")
    assert len(lines) == 3  # 编制, 审核, 批准
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN655")
    assert_refused(result, "MAN660", "编制、审核、批准")
    assert_unchanged(repo, before)


def test_signer_name_altered_after_signing_is_detected(clone: Callable[[str], RevisionRepo]) -> None:
    """The name is printed in the 修订记录 and on sign-off pages, but is not in the signed message."""
    repo = clone("minor")
    repo.replace_in_manual("changelog/requests/CR-2025-002.yml", "    name: 陈刚\n", "    name: 王五\n")
    repo.commit("批准 name altered")
    assert_refused(repo.manual("check"), "MAN650", "批准签署（王五）的电子签名无效")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN650", "签署记录被改动")
    assert_refused(result, "MAN660", "批准")
    assert_unchanged(repo, before)


def test_role_not_needed_by_the_class_cannot_be_signed(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("editorial", ["1.3"], today="2026-01-10")
    repo.append_to_section("1.3", "更正：本节所称“销售业务”包括线上渠道。")
    before = repo.state()
    result = repo.manual("approve", cr, "--role", "批准", "--key", str(repo.key("chen")))
    assert_refused(result, "MAN653", "编制、审核", "不能签署“批准”")
    assert_unchanged(repo, before)


def test_a_role_is_signed_once(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    before = repo.state()
    result = repo.manual("approve", cr, "--role", "编制", "--key", str(repo.key("zhao")))
    assert_refused(result, "MAN656", "“编制”已由 张伟 有效签署")
    assert_unchanged(repo, before)


def test_voided_approvals_are_replaced_by_new_ones(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("minor")
    repo.append_to_section("3.2", "签署之后又加入的一段文字。")
    repo.commit("3.2 edited after approval")
    repo.approve_all("CR-2025-002", "2026-01-20")
    text = repo.read("changelog/requests/CR-2025-002.yml")
    assert [line for line in text.split("\n") if line.startswith("  - role: ")] == ["  - role: 编制", "  - role: 审核", "  - role: 批准"]
    assert "2026-01-20T" in text and f"{READY_DAY}T" not in text
    assert_clean_exit(repo.manual("check"))
    repo.commit("CR-2025-002 signed again")
    assert_clean_exit(repo.release_cli("2026-02-01", "2026-02-08"))


def test_chapter_5_change_needs_the_staff_consultation_record(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["5.2"], today="2026-01-10")
    repo.append_to_section("5.2", "考核结果的申诉应在结果公布后 5 个工作日内提出。")
    check = repo.manual("check")
    assert_refused(check, "MAN643", "劳动合同法第四条", "staff_consultation")
    before = repo.state()
    refused = repo.manual("approve", cr, "--role", "编制", "--key", str(repo.key("zhang")))
    assert_refused(refused, "MAN643", "职工代表")
    assert_unchanged(repo, before)
    repo.fill_consultation(cr, "2026-01-11")
    assert_clean_exit(repo.manual("check"))
    assert_clean_exit(repo.manual("approve", cr, "--role", "编制", "--key", str(repo.key("zhang"))))


def test_chapter_5_change_takes_effect_only_after_the_consultation(clone: Callable[[str], RevisionRepo]) -> None:
    """8.4: a change of chapter 5's assessment rules takes effect only after consultation and notice."""
    repo = clone("released")
    cr = repo.prepared("minor", ["5.2"], day="2026-01-10", consultation="2026-02-20")
    before = repo.state()
    early = repo.release_cli("2026-02-01", "2026-02-20")
    assert_refused(early, "MAN643", "职工协商日期 2026-02-20 不早于实施日期 2026-02-20")
    assert early.codes() == {"MAN643"}
    assert_unchanged(repo, before)
    assert_clean_exit(repo.release_cli("2026-02-01", "2026-02-21"))
    assert f"change_requests: [{cr}]" in repo.read("changelog/releases/A-1.yml")


# --- 8.2: releasing ------------------------------------------------------------------------------


@pytest.mark.parametrize("dirt", ["modified", "staged", "untracked"])
def test_dirty_working_tree_is_refused(clone: Callable[[str], RevisionRepo], dirt: str) -> None:
    repo = clone("minor")
    if dirt == "untracked":
        (repo.root / "changelog" / "requests" / "draft.yml").write_text("# 草稿\n", encoding="utf-8")
    else:
        repo.append_to_section("3.4", "尚未提交的修改。")
        if dirt == "staged":
            repo.git("add", "manual")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN661", "未提交的修改", "请先提交或撤销")
    assert_unchanged(repo, before)


def test_files_outside_the_controlled_paths_do_not_block_a_release(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("minor")
    (repo.root / "notes.txt").write_text("与手册无关的笔记\n", encoding="utf-8")
    assert_clean_exit(repo.release_cli("2026-02-01", "2026-02-08"))
    assert repo.porcelain() == "?? notes.txt\n"
    assert (repo.root / "notes.txt").read_text(encoding="utf-8") == "与手册无关的笔记\n"


def test_nothing_to_release(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN662", "没有待发布的修订申请单")
    assert_unchanged(repo, before)


def test_existing_tag_of_the_next_version_is_refused(clone: Callable[[str], RevisionRepo]) -> None:
    """A stale release/A-1 (say, from a release whose branch was reset) must not be overwritten."""
    repo = clone("minor")
    repo.git("tag", "release/A-1", "HEAD~1")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN666", "标签 release/A-1 已存在")
    assert_unchanged(repo, before)


def test_ref_update_rejected_midway_changes_nothing(clone: Callable[[str], RevisionRepo]) -> None:
    """The branch and tag move in one transaction; if git refuses it (a concurrent update), nothing moves.
    Another git process holding the tag's lock is what a concurrent update looks like to git (hooks
    cannot stand in for it: manual runs git with core.hooksPath emptied)."""
    repo = clone("minor")
    lock = repo.root / ".git" / "refs" / "tags" / "release" / "A-1.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")
    before = repo.state()
    result = repo.release_cli("2026-02-01", "2026-02-08")
    assert_refused(result, "MAN666", "在发布期间被改动", "重新运行 manual release")
    assert_unchanged(repo, before)
    lock.unlink()
    assert_clean_exit(repo.release_cli("2026-02-01", "2026-02-08"))


FAULT_OUTCOME = {"after-objects": "unchanged", "after-journal": "unchanged", "after-ref": "released", "during-checkout": "released"}


@pytest.mark.parametrize("point", list(FAULT_OUTCOME))
def test_release_killed_midway_leaves_all_or_nothing(clone: Callable[[str], RevisionRepo], point: str) -> None:
    repo = clone("minor")
    before = repo.state()
    killed = repo.release_cli("2026-02-01", "2026-02-08", env={"MANUAL_FAULT_INJECT": point})
    assert killed.code == -signal.SIGKILL, killed.output
    assert_clean_exit(repo.manual("status"))
    after = repo.state()
    released = "release/A-1" in repo.tags()
    if not released:
        assert after == before
        assert FAULT_OUTCOME[point] == "unchanged"
        assert_clean_exit(repo.release_cli("2026-02-01", "2026-02-08"))  # nothing in the way of a retry
    else:
        assert FAULT_OUTCOME[point] == "released"
        assert repo.git("rev-parse", "release/A-1^{commit}").strip() == repo.head()
        assert repo.git("rev-parse", "HEAD^").strip() == before.head
        assert repo.git("log", "-1", "--format=%s").startswith("release A/1: ")
        assert not after.pending_journal
    assert (repo.root / "changelog" / "releases" / "A-1.yml").is_file()
    assert repo.porcelain("changelog", "manual") == ""
    assert repo.porcelain() == ""
    history = repo.manual("history", "--json")
    assert_clean_exit(history)
    assert [e["version"] for e in json.loads(history.stdout)["releases"]] == ["A/0", "A/1"]
    assert_refused(repo.release_cli("2026-02-01", "2026-02-08"), "MAN662")


# --- history, status, verification outside our code ---------------------------------------------


def test_history_json(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("demo")
    result = repo.manual("history", "--json")
    assert_clean_exit(result)
    data = json.loads(result.stdout)
    assert data["returned_requests"] == []
    entries = data["releases"]
    for entry in entries:
        assert {"version", "class", "published", "effective_from", "effective_to", "change_requests", "approvals", "digest", "valid"} <= entry.keys()
        for approval in entry["approvals"]:
            assert {"role", "signer", "signed_at", "valid"} <= approval.keys()
            assert approval["valid"] is True
        assert entry["valid"] is True
        tag = "release/" + entry["version"].replace("/", "-")
        assert entry["digest"] == repo.git("rev-parse", f"{tag}:manual").strip()
    assert [(e["version"], e["class"], e["published"], e["effective_from"], e["effective_to"]) for e in entries] == [
        ("A/0", "major", "2025-12-01", "2026-01-01", "2026-03-16"),
        ("A/1", "minor", "2026-03-01", "2026-03-16", "2026-07-01"),
        ("B/0", "major", "2026-06-01", "2026-07-01", "2027-01-15"),
        ("B/1", "minor", "2026-11-27", "2027-01-15", None),
    ]
    assert [e["change_requests"] for e in entries] == [["CR-2025-001"], ["CR-2026-001", "CR-2026-002"], ["CR-2026-003"], ["CR-2026-004"]]
    assert [(a["change_request"], a["role"], a["signer"]) for a in entries[1]["approvals"]] == [
        ("CR-2026-001", "编制", "zhang.wei"), ("CR-2026-001", "审核", "li.na"), ("CR-2026-001", "批准", "chen.gang"),
        ("CR-2026-002", "编制", "zhang.wei"), ("CR-2026-002", "审核", "li.na"),
    ]  # fmt: skip
    assert entries[0]["approvals"][3]["signed_at"] == "2025-11-25T12:00:00+08:00"
    assert "staff_consultation:\n  required: true\n  done: true\n" in repo.read("changelog/requests/CR-2026-003.yml")


@pytest.mark.parametrize(
    ("today", "in_force", "upcoming"),
    [
        ("2025-12-15", None, ["A/0", "A/1", "B/0", "B/1"]),
        ("2026-01-01", "A/0", ["A/1", "B/0", "B/1"]),
        ("2026-03-15", "A/0", ["A/1", "B/0", "B/1"]),
        ("2026-03-16", "A/1", ["B/0", "B/1"]),
        (TODAY, "B/0", ["B/1"]),
        ("2027-01-14", "B/0", ["B/1"]),
        ("2027-01-15", "B/1", []),
    ],
)
def test_status_shows_the_version_in_force(templates: Templates, today: str, in_force: str | None, upcoming: list[str]) -> None:
    repo = templates.demo  # read only
    before = repo.state()
    result = repo.manual("status", env={"MANUAL_TODAY": today})
    assert_clean_exit(result)
    assert f"今天：{today}\n" in result.stdout
    current = re.search(r"^现行有效版本：(\S+?)，", result.stdout, re.MULTILINE)
    assert (current.group(1) if current else None) == in_force, result.stdout
    if in_force is None:
        assert "现行有效版本：无" in result.stdout
    assert re.findall(r"^待实施版本：(\S+) 已批准", result.stdout, re.MULTILINE) == upcoming
    if upcoming[-1:] == ["B/1"]:
        assert "待实施版本：B/1 已批准，将于 2027-01-15 生效（CR-2026-004）" in result.stdout
    assert_unchanged(repo, before)


def test_approval_verifies_with_ssh_keygen_alone(clone: Callable[[str], RevisionRepo], tmp_path: Path) -> None:
    repo = clone("demo")
    out = tmp_path / "audit"
    result = repo.manual("export-approval", "CR-2026-004", "--role", "批准", "--dir", str(out))
    assert_clean_exit(result)
    message, signature = out / "CR-2026-004-chen.gang.txt", out / "CR-2026-004-chen.gang.txt.sig"
    allowed = out / "allowed_signers"
    namespace = "manual-approval@xs-qm-01"
    command = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "chen.gang", "-n", namespace, "-s", str(signature)]
    assert f"ssh-keygen -Y verify -f {allowed} -I chen.gang -n {namespace} -s {signature} < {message}" in result.stdout

    def verify(data: bytes, identity: str = "chen.gang") -> subprocess.CompletedProcess[bytes]:
        argv = [*command]
        argv[argv.index("-I") + 1] = identity
        return subprocess.run(argv, input=data, capture_output=True, env=repo.env(), check=False)

    good = verify(message.read_bytes())
    assert good.returncode == 0, good.stderr
    assert b"Good" in good.stdout + good.stderr
    assert b"role: \xe6\x89\xb9\xe5\x87\x86" in message.read_bytes()  # role: 批准
    tampered = message.read_bytes().replace("role: 批准".encode(), "role: 审核".encode())
    assert verify(tampered).returncode != 0
    assert verify(message.read_bytes(), "li.na").returncode != 0


# --- round-trip YAML -----------------------------------------------------------------------------


def test_approve_keeps_the_change_request_bytes(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("released")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    # An editor completes the request by hand: comments, quoting and layout of their own.
    repo.replace_in_manual(f"changelog/requests/{cr}.yml", "reason: 业务实践变化，条款需相应调整\n", "reason: \"原材料价格波动：报价有效期过长\"   # 销售管理部补充\n# 审核时请关注 3.2 的时限\n")
    repo.replace_in_manual(f"changelog/requests/{cr}.yml", "affected_documents: []", "affected_documents: ['XS-WI-03 报价作业指导书']")
    original = repo.request_path(cr).read_bytes()
    prefix = original[: original.index(b"\napprovals:") + 1]
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    first = repo.request_path(cr).read_bytes()
    assert first.startswith(prefix)
    assert first[len(prefix) :].startswith("approvals:                   # 审核意见、批准意见：signed by `manual approve`\n  - role: 编制\n".encode())
    repo.approve(cr, "审核", now="2026-01-12T10:00:00+08:00")
    second = repo.request_path(cr).read_bytes()
    assert second.startswith(first)  # the earlier approval is untouched too
    assert second[len(first) :].startswith("  - role: 审核\n".encode())
    assert_clean_exit(repo.manual("check"))


def test_review_changes_exactly_one_line(clone: Callable[[str], RevisionRepo]) -> None:
    repo = clone("demo")
    chapter = repo.chapter_path("3.1")
    old = chapter.read_text(encoding="utf-8").split("\n")
    head, history = repo.head(), repo.manual("history", "--json").stdout
    refused_before = repo.state()
    refused = repo.manual("review", "3", "--key", str(repo.key("chen")))
    assert_refused(refused, "MAN652", "审核")
    assert_unchanged(repo, refused_before)
    result = repo.manual("review", "3", "--key", str(repo.key("li")))
    assert_clean_exit(result)
    new = chapter.read_text(encoding="utf-8").split("\n")
    assert len(new) == len(old)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1] == f"  last_reviewed: {TODAY}", changed
    assert changed[0][0].startswith("  last_reviewed: ")
    assert repo.porcelain() == f" M {chapter.relative_to(repo.root).as_posix()}\n?? changelog/reviews/{TODAY}-ch3.yml\n"
    record = repo.read(f"changelog/reviews/{TODAY}-ch3.yml")
    assert "reviewer: li.na\n" in record and "BEGIN SSH SIGNATURE" in record
    assert repo.head() == head
    repo.commit("periodic review of chapter 3")
    assert repo.manual("history", "--json").stdout == history  # a review changes no version
