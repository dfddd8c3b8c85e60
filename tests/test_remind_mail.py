"""``manual remind --send`` by mail, end to end: a real SMTP server (aiosmtpd on 127.0.0.1, with
STARTTLS and AUTH) receives the mails of a request waiting for 审核 over the 2026 National Day
holidays: the reviewer on the right working days, the 批准人 from the day the policy's ladder
escalates, nobody else, and nothing twice however often the job runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from remind_support import DUE, SMTP_USER, email_of, ledger, remind, scenario, smtp_server, write_contacts
from revision_repo import RevisionRepo, manual_command, shared_history


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("remind") / "t")
    repo.cr = scenario(repo)  # type: ignore[attr-defined]
    return repo


@pytest.fixture
def repo(prepared: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    copy = prepared.copy_to(tmp_path / "r")
    copy.cr = prepared.cr  # type: ignore[attr-defined]
    return copy


def test_the_reviewer_is_reminded_over_the_holidays_and_the_approver_from_the_escalating_day(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = repo.cr  # type: ignore[attr-defined]
    with smtp_server(tmp_path) as smtp:
        env = smtp.env()
        seen: dict[str, list[str]] = {}
        for day in ("2026-09-30", "2026-10-01", "2026-10-05", "2026-10-08", "2026-10-09", "2026-10-10", DUE, "2026-10-13"):
            result = remind(repo, day, env, "--send")
            assert result.code == 0, result.output
            seen[day] = sorted(r for m in smtp.take() for r in m.rcpt_tos)
        reviewer = [email_of("li.na")]
        assert seen == {
            "2026-09-30": [], "2026-10-01": [], "2026-10-05": [],  # not yet; holidays send nothing
            "2026-10-08": [],
            "2026-10-09": reviewer,  # 2 working days before the due date (10-10 is a make-up working Saturday)
            "2026-10-10": [],  # the rung was sent yesterday: nothing twice
            DUE: reviewer,  # on the day
            "2026-10-13": reviewer,  # 1 working day overdue
        }  # fmt: skip
        # zhao.min also holds 审核 but signed 编制 on this request: never asked to sign it twice

        # 2026-10-15, 2 working days overdue... the policy in force escalates after 2: the 3rd day
        # overdue (Thursday 10-15) goes to the approver too. Three runs that day send it once.
        remind(repo, "2026-10-14", env, "--send")
        assert [m.rcpt_tos for m in smtp.take()] == [reviewer]
        for run in range(3):
            result = remind(repo, "2026-10-15", env, "--send")
            assert result.code == 0, result.output
            mails = smtp.take()
            if run == 0:
                assert sorted(r for m in mails for r in m.rcpt_tos) == [email_of("chen.gang"), email_of("li.na")]
            else:
                assert mails == [] and "此前已发送 2 条" in result.stdout
    lines = ledger(repo)
    assert {(e["recipient"], e["rung"]) for e in lines} == {
        ("li.na", "before-2"), ("li.na", "due"), ("li.na", "overdue-1"), ("li.na", "overdue-2"),
        ("li.na", "overdue-3"), ("chen.gang", "overdue-3"),
    }  # fmt: skip
    assert all(e["status"] == "sent" and e["action"] == f"request/{cr}/审核/2026-09-29" for e in lines)
    # the ledger is not a controlled record: nothing in the working tree changed
    assert repo.git("status", "--porcelain") == ""


def test_each_mail_names_the_request_what_to_do_the_due_date_and_the_desk(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = repo.cr  # type: ignore[attr-defined]
    with smtp_server(tmp_path) as smtp:
        env = {**smtp.env(), "MANUAL_DESK_URL": "https://desk.example.com/"}
        assert remind(repo, "2026-10-15", env, "--send").code == 0
        mails = {m.rcpt_tos[0]: m for m in smtp.take()}
    assert set(mails) == {email_of("li.na"), email_of("chen.gang")}
    for address, mail in mails.items():
        assert mail.login == SMTP_USER and mail.mail_from == "manual@example.com"
        assert smtp.starttls_seen and all(smtp.starttls_seen)
        assert mail.message["To"].addresses[0].addr_spec == address and len(mail.message["To"].addresses) == 1
        assert mail.message["Cc"] is None and mail.message["Bcc"] is None
        subject = str(mail.message["Subject"])
        assert cr in subject and DUE in subject and "已逾期 3 个工作日" in subject
        body = mail.message.get_content()
        assert f"manual approve {cr} --role 审核" in body and f"https://desk.example.com/cr/{cr}" in body
    assert "李娜：" in mails[email_of("li.na")].message.get_content()
    assert "批准人" in mails[email_of("chen.gang")].message.get_content()


def test_without_send_it_lists_the_messages_by_person_and_writes_nothing(repo: RevisionRepo, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as smtp:
        text = remind(repo, "2026-10-15", smtp.env())
        data = json.loads(remind(repo, "2026-10-15", smtp.env(), "--json").stdout)
        assert smtp.take() == []
    assert text.code == 0 and "李娜（li.na）：" in text.stdout and "陈刚（chen.gang）：" in text.stdout
    assert "将发送" in text.stdout and "加 --send 发送" in text.stdout
    assert data["ladder"] == {"before": [2], "on_due": True, "overdue_every": 1, "escalate_after": 2, "from_policy": True}
    assert [(r["recipient"], r["rung"], r["escalated"]) for r in data["reminders"]] == [("li.na", "overdue-3", False), ("chen.gang", "overdue-3", True)]
    assert ledger(repo) == [] and not (repo.root / ".git" / "manualkit" / "reminders.jsonl").exists()


def test_a_server_that_is_down_leaves_the_mail_unsent_and_the_next_run_sends_it(repo: RevisionRepo, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as smtp:
        env = smtp.env()
    down = remind(repo, DUE, env, "--send")  # the server has stopped: connection refused
    assert down.code == 1 and "MAN944" in down.output and "连接被拒绝" in down.output and "Traceback" not in down.output
    assert [e["status"] for e in ledger(repo)] == ["failed"]
    with smtp_server(tmp_path, port=int(env["MANUAL_SMTP_PORT"])) as smtp:
        again = remind(repo, DUE, env, "--send")
        assert again.code == 0, again.output
        assert [m.rcpt_tos for m in smtp.take()] == [[email_of("li.na")]]
        assert remind(repo, DUE, env, "--send").code == 0 and smtp.take() == []
    # a wrong password is refused by the server: reported, not marked sent
    with smtp_server(tmp_path) as smtp:
        wrong = remind(repo, "2026-10-13", {**smtp.env(), "MANUAL_SMTP_PASSWORD": "guess"}, "--send")
        assert wrong.code == 1 and "MAN944" in wrong.output and smtp.take() == []


def test_a_run_under_faketime_in_utc_counts_the_company_day(repo: RevisionRepo, tmp_path: Path) -> None:
    """20:00 UTC on 10-14 is already 10-15 in China: the escalating day, read from the clock."""
    if shutil.which("faketime") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("faketime is required when CI=true (.ci/run installs it)")
        pytest.skip("faketime is not installed")
    with smtp_server(tmp_path) as smtp:
        env = repo.env({**smtp.env(), "MANUAL_TODAY": "", "TZ": "UTC"})
        proc = subprocess.run(
            ["faketime", "2026-10-14 20:00:00", *manual_command(), "remind", "--send"],
            cwd=repo.root, env=env, capture_output=True, check=False, stdin=subprocess.DEVNULL, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()
        assert sorted(r for m in smtp.take() for r in m.rcpt_tos) == [email_of("chen.gang"), email_of("li.na")]
    assert {e["at"][:10] for e in ledger(repo)} == {"2026-10-15"}


def test_check_reports_a_signer_without_contact_and_a_contact_for_nobody(repo: RevisionRepo) -> None:
    assert not {"MAN941", "MAN942"} & repo.manual("check").codes()
    write_contacts(repo, skip=("li.na",), extra="departments:\n  不存在的部门:\n    email: x@example.com\n")
    text = (repo.root / "manual" / "contacts.yml").read_text(encoding="utf-8")
    (repo.root / "manual" / "contacts.yml").write_text(text.replace("people:\n", "people:\n  former.staff:\n    email: f@example.com\n"), encoding="utf-8")
    result = repo.manual("check")
    assert "MAN941" in result.codes() and "li.na" in result.output
    assert result.output.count("MAN942") == 2 and "former.staff" in result.output and "不存在的部门" in result.output
    # reminders to a signer with no contact are reported, not sent to someone else
    listed = repo.manual("remind", env={"MANUAL_TODAY": DUE, "MANUAL_SMTP_HOST": "127.0.0.1", "MANUAL_SMTP_FROM": "m@example.com"})
    assert "MAN948" in listed.output and "无可用联系方式" in listed.output


def test_send_without_any_channel_is_refused(repo: RevisionRepo) -> None:
    result = repo.manual("remind", "--send", env={"MANUAL_TODAY": DUE})
    assert result.code == 1 and "MAN949" in result.output and not ledger(repo)


def test_two_runs_at_once_send_each_mail_once(repo: RevisionRepo, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as smtp:
        env = repo.env({**smtp.env(), "MANUAL_TODAY": "2026-10-15"})
        procs = [
            subprocess.Popen([*manual_command(), "remind", "--send"], cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        for p in procs:
            p.communicate(timeout=120)
            assert p.returncode == 0
        assert sorted(r for m in smtp.take() for r in m.rcpt_tos) == [email_of("chen.gang"), email_of("li.na")]


