"""What an auditor reads: the audit report names every release's signers with role and time, and
``manual history`` groups each release's signatures by change request."""

from __future__ import annotations

from pathlib import Path

from conftest import base_env, run_manual


def test_the_audit_report_names_each_releases_signers_with_role_and_time(project_clone: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, MANUAL_TODAY="2026-11-27")
    code, out, err = run_manual(["audit", "--format", "md"], project_clone, env)
    assert code == 0, out + err
    signers = out.split("## 签署人", 1)[1]
    assert "| A/1 | CR-2026-001 | 批准 | 陈刚（chen.gang） | 2026-02-24 10:30（UTC+08:00） | 有效 |" in signers
    assert signers.count("| B/0 | CR-2026-003 |") == 4  # 编制, 审核, 会签, 批准
    code, page, err = run_manual(["audit", "--format", "html"], project_clone, env)
    assert "<h2>签署人</h2>" in page and "<td>赵敏（zhao.min）</td>" in page


def test_history_groups_signatures_by_change_request(project_clone: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path, MANUAL_TODAY="2026-11-27")
    code, out, err = run_manual(["history"], project_clone, env)
    assert code == 0, out + err
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("A/1 "))
    a1 = "".join(line.strip() for line in lines[start + 1 : start + 3])  # the signatures, below the row
    assert "CR-2026-001［编制 张伟 2026-02-11 09:10，审核 李娜 2026-02-13 14:00，批准 陈刚 2026-02-24 10:30］" in a1
    assert "CR-2026-002［编制 张伟 2026-02-11 09:20，审核 赵敏 2026-02-12 11:00］" in a1
