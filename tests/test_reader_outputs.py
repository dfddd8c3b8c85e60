"""What readers see in the terminal and on the 修订记录 (issue 24, point 6): ``manual history``
within 120 columns with a 状态 column, the signers below each row (``--wide``: in a column);
``manual show`` without the ``{#sec-x-y}`` anchors unless ``--source``; a 会签 column in every
修订记录 (the release's ``changelog/revision-history.md``, the site; the DOCX in test_docx_writer).

Expected values are read from the project's own committed history (its release records)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import base_env, run_manual
from revision_repo import RevisionRepo, shared_history

from manualkit.records.history import release_history
from manualkit.records.release import revision_history_text
from manualkit.records.revision_table import REVISION_COLUMNS


def _width(line: str) -> int:
    """Terminal columns: CJK and full-width forms take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)


def _cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def _history(clone: Path, tmp_path: Path, *args: str, today: str = "2026-12-07") -> tuple[list[str], dict[str, object]]:
    env = base_env(tmp_path, MANUAL_TODAY=today)
    code, out, err = run_manual(["history", *args], clone, env)
    assert code == 0, out + err
    code, data, err = run_manual(["history", "--json"], clone, env)
    assert code == 0, data + err
    return out.splitlines(), json.loads(data)


def test_history_fits_120_columns_with_a_status_column_and_every_signature(project_clone: Path, tmp_path: Path) -> None:
    lines, data = _history(project_clone, tmp_path)
    assert max(map(_width, lines)) <= 120, "\n".join(line for line in lines if _width(line) > 120)
    header = lines[0].split()
    assert "状态" in header and "签署" not in header
    releases = data["releases"]
    assert isinstance(releases, list)
    rows = {line.split()[0]: i for i, line in enumerate(lines) if re.match(r"[A-Z]/\d+ ", line)}
    assert list(rows) == [r["version"] for r in releases]
    status = {v: _cells(lines[i])[_cells(lines[0]).index("状态")] for v, i in rows.items()}
    # On 2026-12-07 B/0 (effective 2026-07-01) is in force, B/1 (effective 2027-01-15) waits.
    assert status == {"A/0": "作废", "A/1": "作废", "B/0": "现行有效", "B/1": "已批准待实施"}
    ends = [*list(rows.values())[1:], len(lines)]
    for release, start, end in zip(releases, rows.values(), ends, strict=True):
        below = "".join(line.strip() for line in lines[start + 1 : end])
        assert below.startswith("签署："), lines[start + 1 : end]
        for a in release["approvals"]:
            signed = f"{a['role']} {a['name']} {a['signed_at'][:16].replace('T', ' ')}"
            assert signed in below, (release["version"], signed, below)


def test_history_status_follows_the_day_asked(project_clone: Path, tmp_path: Path) -> None:
    lines, _ = _history(project_clone, tmp_path, today="2026-06-15")
    column = _cells(lines[0]).index("状态")
    status = {line.split()[0]: _cells(line)[column] for line in lines if re.match(r"[A-Z]/\d+ ", line)}
    # B/1 was published on 2026-11-20: on 2026-06-15 it is a record of the future, not yet published.
    assert status == {"A/0": "作废", "A/1": "现行有效", "B/0": "已批准待实施", "B/1": "尚未发布"}


def test_history_wide_keeps_the_signatures_in_a_column(project_clone: Path, tmp_path: Path) -> None:
    lines, data = _history(project_clone, tmp_path, "--wide")
    assert lines[0].split() == ["版本", "修订类别", "发布日期", "实施日期", "失效日期", "状态", "修订申请单", "签署", "验证"]
    releases = data["releases"]
    assert isinstance(releases, list)
    rows = [line for line in lines if re.match(r"[A-Z]/\d+ ", line)]
    assert len(rows) == len(lines) - 2 == len(releases)
    for row, release in zip(rows, releases, strict=True):
        assert all(f"{a['role']} {a['name']}" in row for a in release["approvals"]), row


def test_show_prints_headings_without_anchors_unless_source(project_clone: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, MANUAL_TODAY="2026-12-07")
    code, text, err = run_manual(["show"], project_clone, env)
    assert code == 0, text + err
    code, source, err = run_manual(["show", "--source"], project_clone, env)
    assert code == 0, source + err
    anchored = re.findall(r"(?m)^(#+ .*?) \{#(sec-[\d-]+)\}$", source)
    assert len(anchored) > 20
    assert "{#" not in text
    for heading, _ in anchored:
        assert re.search(rf"(?m)^{re.escape(heading)}$", text), heading
    # Nothing but the anchors differs.
    assert re.sub(r" \{#sec-[\d-]+\}$", "", source, flags=re.MULTILINE) == text


@pytest.mark.parametrize("line", ["## 3.2 报价 {#sec-3-2}", "### 说明 {#sec-3-2-1}"])
def test_an_anchor_inside_fenced_code_is_text(line: str) -> None:
    from manualkit.commands.show import without_anchors

    fenced = f"```\n{line}\n```\n{line}"
    assert without_anchors(fenced) == f"```\n{line}\n```\n{line.rsplit(' {#', 1)[0]}"


def test_revision_history_has_a_cosign_column(project_clone: Path) -> None:
    entries = release_history(project_clone)
    text = revision_history_text([e.record for e in entries], "手册")
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0] == "| " + " | ".join(REVISION_COLUMNS) + " |" and "会签" in REVISION_COLUMNS
    column = REVISION_COLUMNS.index("会签")
    for entry, line in zip(entries, table[2:], strict=True):
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        cosigners = "、".join(dict.fromkeys(a.name for a in entry.record.approvals if a.role == "会签")) or "—"
        assert cells[column] == cosigners, line
    assert any(a.role == "会签" for e in entries for a in e.record.approvals)  # the demo history has some


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")


def test_a_signer_not_in_the_registry_is_told_how_to_be_added(released: RevisionRepo, tmp_path: Path) -> None:
    """Point 7: MAN651 names the way into the registry (a policy change request) and who signs it:
    the roles of a 一般修订 under the policy in force."""
    repo = released.copy_to(tmp_path / "repo")
    cr = repo.propose("minor", ["3.2"], today="2026-01-10")
    result = repo.manual("approve", cr, "--role", "编制", "--key", str(repo.key("outsider")))
    assert result.code == 1 and "Traceback" not in result.output
    line = next(line for line in result.stderr.splitlines() if "MAN651" in line)
    policy = yaml.safe_load((repo.root / "manual" / "policy.yml").read_text(encoding="utf-8"))
    minor = policy["change_classes"]["minor"]
    assert f"manual propose --class {minor['name']} --sections policy" in line
    assert f"按{minor['name']}签署（{'、'.join(minor['roles'])}）" in line and "manual release" in line
