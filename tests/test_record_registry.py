"""Issue 27 point 1: one home per record type, the record-kind registry (records/signed.py).

Each kind declares itself once, in its own module; the registry reads every record file bounded
(MAN860) and only where its kind lives (MAN861), writes each record once, atomically, under the
repository lock, and reads it back before writing (MAN862); one function answers which signer
owns a key. Records written by the real commands read back byte for byte, and the project's own
history (changelog/) reads with no problem.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from revision_repo import RevisionRepo, shared_history

from manualkit.base.diagnostics import ManualError
from manualkit.records import signed

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script> & "引号" \'单引号\' : # - [链接](javascript:1) {{x}} ${HOME} \\ 反斜杠'


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")  # A/0; only copied, never changed


@pytest.fixture
def clone(released: RevisionRepo, tmp_path: Path) -> Callable[[], RevisionRepo]:
    counter = iter(range(100))
    return lambda: released.copy_to(tmp_path / f"copy-{next(counter)}")


# --- the declarations ------------------------------------------------------------------------------


def test_every_kind_is_declared_once_in_its_own_module_with_known_codes() -> None:
    from manualkit.base.codes import CODES

    known = set(CODES)
    declared: dict[str, str] = {}
    for name in signed.KIND_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, signed.RecordKind):
                assert declared.setdefault(value.kind, name) == name, f"{value.kind} declared in {declared[value.kind]} and {name}"
    kinds = signed.kinds()
    assert sorted(declared) == sorted(k.kind for k in kinds)
    assert {k.folder for k in kinds} >= {
        "changelog/requests", "changelog/releases", "changelog/reviews", "changelog/returns", "changelog/revocations",
        "changelog/training", "changelog/copies", "changelog/opinions", "changelog/answers",
    }  # fmt: skip
    for k in kinds:
        assert k.title and k.fields, k
        assert {k.code, *k.codes} <= known, k
        assert not set(k.fields) & set(k.optional), k


def test_each_file_belongs_to_one_kind_and_derived_files_to_none() -> None:
    assert signed.kind_at("changelog/copies/A-1-001.yml").kind == "manual-controlled-copy/1"  # type: ignore[union-attr]
    assert signed.kind_at("changelog/copies/A-1-001-recall.yml").kind == "manual-copy-recall/1"  # type: ignore[union-attr]
    assert signed.kind_at("changelog/returns/CR-2026-001.yml").kind == "manual-return/1"  # type: ignore[union-attr]
    assert signed.kind_at("changelog/revision-history.md") is None
    assert signed.kind_at("changelog/returns/old/CR-2026-001.yml") is None
    assert signed.kind_at("changelog/returns/CR-2026-001.yaml") is None


def test_a_kind_that_could_not_be_told_from_another_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be told apart"):
        signed.register(signed.RecordKind("manual-copy-note/1", "changelog/copies", "副本备注", fields=("number",)))
    with pytest.raises(ValueError, match="declared twice"):
        signed.register(signed.RecordKind("manual-return/1", "changelog/other", "退回记录", fields=("x",)))
    with pytest.raises(ValueError, match="not under changelog"):
        signed.register(signed.RecordKind("manual-x/1", "manual/x", "X", fields=("x",)))
    assert "manual-copy-note/1" not in {k.kind for k in signed.kinds()}


def test_one_function_answers_which_signer_owns_a_key() -> None:
    """``public_key_of`` (the key of a private key file) is looked up in the registry in one place."""
    users = [
        p.relative_to(PROJECT_ROOT).as_posix()
        for p in sorted((PROJECT_ROOT / "tools" / "manualkit").rglob("*.py"))
        if "public_key_of(" in p.read_text(encoding="utf-8") and p.name != "sshsig.py"
    ]
    assert users == ["tools/manualkit/records/signed.py"]
    from manualkit.records import procedure

    assert procedure.approver_for_key is signed.approver_for_key


# --- reading ------------------------------------------------------------------------------------


def test_the_projects_own_history_reads_through_the_registry_without_a_problem() -> None:
    """Every record of this repository's changelog/ (the demo history that clones depend on) is a
    file of a declared kind and reads with no diagnostic: its bytes did not change."""
    from manualkit.records.change_request import parse_change_request
    from manualkit.records.release import parse_record
    from manualkit.records.review import parse_review
    from manualkit.text.metadata import parse_metadata

    metadata, _ = parse_metadata((PROJECT_ROOT / "manual" / "manual.yml").read_text(encoding="utf-8"))
    assert metadata is not None
    contents, problems = signed.read_folder(PROJECT_ROOT)
    assert problems == [] and contents
    parsers = {
        "manual-change-request": lambda p, r: parse_change_request(p, r, metadata.departments),
        "manual-release": parse_record,
        "manual-review/1": parse_review,
    }
    for path, raw in sorted(contents.items()):
        kind = signed.kind_at(path)
        assert kind is not None, path
        record, found = parsers[kind.kind](path, raw)
        assert record is not None and [d for d in found if d.code != "MAN002"] == [], (path, found)


def test_records_written_by_the_commands_read_back_byte_for_byte(clone: Callable[[], RevisionRepo]) -> None:
    """A return, a key revocation and a training record, each written by its command with hostile
    text in its free fields, parse through the registry and are written again byte for byte."""
    repo = clone()
    cr = repo.propose("minor", ["3.2"], today="2026-01-12")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve(cr, "编制", now="2026-01-12T09:00:00+08:00")
    steps = [
        ("return", cr, "--role", "审核", "--key", str(repo.key("li")), "--reason", HOSTILE),
        ("training", "A/0", "--date", "2026-01-13", "--departments", "销售管理部", "--attendees", "12", "--record", HOSTILE, "--key", str(repo.key("li"))),
        ("revoke-key", "zhao.min", "--at", "2026-01-13T12:00:00+08:00", "--reason", HOSTILE, "--key", str(repo.key("chen"))),
    ]  # fmt: skip
    for step in steps:
        result = repo.run(*step, env={"MANUAL_NOW": "2026-01-13T12:00:00+08:00", "MANUAL_TODAY": "2026-01-13"})
        assert result.code == 0, result.output
    written = {}
    for kind in signed.generic_kinds():
        for path in sorted((repo.root / kind.folder).glob("*.yml")) if (repo.root / kind.folder).is_dir() else []:
            written[path.relative_to(repo.root).as_posix()] = (kind, path.read_bytes())
    assert sorted(k.kind for k, _ in written.values()) == ["manual-key-revocation/1", "manual-return/1", "manual-training/1"]
    for rel, (kind, raw) in written.items():
        record, problems = signed.parse_signed(rel, raw, kind.kind)
        assert record is not None and problems == [], (rel, problems)
        assert signed.record_text(record).encode("utf-8") == raw
        assert HOSTILE in record.fields.values()
    checked = repo.manual("check", env={"MANUAL_TODAY": "2026-01-13"}).output
    assert not {"MAN001", "MAN802", "MAN811", "MAN816", "MAN860", "MAN861", "MAN862"} & set(re.findall(r"MAN\d{3}", checked)), checked


def _check(repo: RevisionRepo) -> tuple[int, str]:
    result = repo.manual("check", env={"MANUAL_TODAY": "2026-01-20"})
    return result.code, result.output


def test_an_oversized_record_is_not_parsed(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    folder = repo.root / "changelog" / "returns"
    folder.mkdir(parents=True)
    body = 'kind: manual-return/1\nreason: "' + "长" * 30_000 + '"\n'  # 90 KB of valid YAML: within the 1 MiB file bound
    (folder / "CR-2026-009.yml").write_text(body, encoding="utf-8")
    code, output = _check(repo)
    assert code == 1, output
    assert "changelog/returns/CR-2026-009.yml" in output and "MAN860" in output and "上限 65536 字节" in output
    assert "Traceback" not in output


def test_a_record_nested_in_a_subfolder_is_not_read(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    folder = repo.root / "changelog" / "training" / "old"
    folder.mkdir(parents=True)
    (folder / "A-0-2026-01-05.yml").write_text("kind: manual-training/1\n", encoding="utf-8")
    code, output = _check(repo)
    assert code == 1 and "MAN861" in output and "changelog/training/old/A-0-2026-01-05.yml" in output, output
    assert "MAN816" not in output  # not read as a (broken) training record


def test_bad_utf8_in_any_kind_is_one_message(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    for folder, name in (("returns", "CR-2026-009.yml"), ("opinions", "CR-2026-009-li.na-1.yml"), ("answers", "CR-2026-009-1.yml")):
        (repo.root / "changelog" / folder).mkdir(parents=True, exist_ok=True)
        (repo.root / "changelog" / folder / name).write_bytes(b"kind: x\nreason: \xff\xfe\n")
    code, output = _check(repo)
    lines = [line for line in output.splitlines() if "MAN001" in line]
    assert code == 1 and len(lines) == 3, output
    assert all("文件不是有效的 UTF-8 编码" in line for line in lines)


# --- writing ------------------------------------------------------------------------------------


def _record(repo: RevisionRepo, reason: str) -> signed.SignedRecord:
    fields = {"change_request": "CR-2026-009", "role": "审核", "by": "li.na", "returned_at": "2026-01-13T10:00:00+08:00", "reason": reason, "digest": "sha256:" + "0" * 64}
    return signed.SignedRecord("changelog/returns/CR-2026-009.yml", "manual-return/1", fields, "李娜", "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----")


def test_a_record_is_written_once_and_never_over_another(clone: Callable[[], RevisionRepo]) -> None:
    repo = clone()
    record = _record(repo, HOSTILE)
    signed.write_record(repo.root, record)
    path = repo.root / record.path
    first = path.read_bytes()
    with pytest.raises(ManualError) as refused:
        signed.write_record(repo.root, record._replace(fields={**record.fields, "reason": "改过的理由"}))
    assert refused.value.diagnostics[0].code == "MAN645"
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("bad", ["理由\u202e反向", "理由\u200b零宽", "理由\x07响铃"])
def test_a_record_that_would_not_read_back_is_never_written(clone: Callable[[], RevisionRepo], bad: str) -> None:
    repo = clone()
    record = _record(repo, bad)
    with pytest.raises(ManualError) as refused:
        signed.write_record(repo.root, record)
    assert refused.value.diagnostics[0].code in {"MAN009", "MAN762", "MAN763", "MAN862"}, refused.value.diagnostics
    assert (not (repo.root / record.path).exists() and not (repo.root / "changelog" / "returns").exists()) or not any(
        (repo.root / "changelog" / "returns").iterdir()
    )


def test_a_record_waits_for_the_repository_lock_held_by_another_process(clone: Callable[[], RevisionRepo], monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer (a real second process) holds the lock: the write is refused with MAN760
    once the wait is over, and nothing is written."""
    repo = clone()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from manualkit.base.lock import repository_lock
            with repository_lock(Path({str(repo.root)!r}), "release"):
                print("held", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "tools")},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("MANUAL_LOCK_WAIT", "0.2")
        record = _record(repo, "请补充依据")
        with pytest.raises(ManualError) as refused:
            signed.write_record(repo.root, record)
        assert refused.value.diagnostics[0].code == "MAN760"
        assert not (repo.root / record.path).exists()
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    signed.write_record(repo.root, _record(repo, "请补充依据"))  # free again: written
    assert (repo.root / "changelog" / "returns" / "CR-2026-009.yml").is_file()


def test_a_signer_not_in_the_registry_is_told_how_to_be_added(clone: Callable[[], RevisionRepo], tmp_path: Path) -> None:
    repo = clone()
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "stranger", "-f", str(key)], check=True)
    from manualkit.records.repository import worktree_snapshot

    _, policy = worktree_snapshot(repo.root).require()
    with pytest.raises(ManualError) as refused:
        signed.approver_for_key(policy, key)
    [d] = refused.value.diagnostics
    assert d.code == "MAN651" and "（现行名录，即上一次发布时的名录）" in d.message and "manual propose" in d.message
    assert signed.approver_for_key(policy, repo.key("li")).id == "li.na"
    result = repo.run("review", "3", "--key", str(key), "--conclusion", "无需修订", check=False, env={"MANUAL_TODAY": "2026-01-13"})
    assert result.code == 1 and "MAN651" in result.output and "Traceback" not in result.output
