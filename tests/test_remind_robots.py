"""``manual remind --send`` to the group robots of 企业微信, 钉钉 and 飞书: a local web server on
127.0.0.1 stands for the three and receives the JSON each documents; a 500, a timeout and a refused
connection each leave the reminder unsent and reported, and the next run sends it; hostile text in
a request's title cannot change who is mentioned, nor mention everyone, by robot or by mail; the
ledger's own failures stop a run before anything is sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from remind_support import DUE, email_of, ledger, mobile_of, remind, robot_server, scenario, smtp_server
from revision_repo import RevisionRepo, shared_history

HOSTILE_TITLE = '<b>报价</b> @all @所有人 <at user_id="all">所有人</at> [点我](http://evil.example) **紧急**'


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    repo = shared_history(tmp_path_factory, "released").copy_to(tmp_path_factory.mktemp("robots") / "t")
    repo.cr = scenario(repo, title=HOSTILE_TITLE)  # type: ignore[attr-defined]
    return repo


@pytest.fixture
def repo(prepared: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    copy = prepared.copy_to(tmp_path / "r")
    copy.cr = prepared.cr  # type: ignore[attr-defined]
    return copy


def test_each_robot_receives_its_documented_json_mentioning_the_one_person(repo: RevisionRepo) -> None:
    cr = repo.cr  # type: ignore[attr-defined]
    with robot_server() as robots:
        result = remind(repo, "2026-10-09", robots.env(), "--send")
        assert result.code == 0, result.output
        calls = {c.robot: c for c in robots.take()}
    assert set(calls) == {"wecom", "dingtalk", "feishu"}
    wecom, dingtalk, feishu = calls["wecom"].body, calls["dingtalk"], calls["feishu"].body
    # 企业微信: text message, mentioned by userid only
    assert wecom["msgtype"] == "text" and wecom["text"]["mentioned_list"] == ["wx-li.na"]
    assert set(wecom["text"]) == {"content", "mentioned_list"}
    # 钉钉: mentioned by mobile (the contacts give no userid), never everyone, the @ in the text too
    assert dingtalk.body["at"] == {"isAtAll": False, "atMobiles": [mobile_of("li.na")]}
    assert dingtalk.body["text"]["content"].startswith(f"@{mobile_of('li.na')} ")
    # 钉钉加签: timestamp (ms) and sign in the query, HMAC-SHA256 of "timestamp\nsecret"
    stamp = dingtalk.query["timestamp"][0]
    want = base64.b64encode(hmac.new(b"SECdingtalk", f"{stamp}\nSECdingtalk".encode(), hashlib.sha256).digest()).decode()
    assert dingtalk.query["sign"] == [want] and dingtalk.query["access_token"] == ["t1"]
    # 飞书: one <at> for the one person; 签名校验 in the body
    assert feishu["msg_type"] == "text" and feishu["content"]["text"].startswith('<at user_id="ou_lina">李娜</at> ')
    key = f"{feishu['timestamp']}\nfeishu-secret".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    for body in (wecom, dingtalk.body, feishu):
        text = json.dumps(body, ensure_ascii=False)
        assert cr in text and DUE in text and "manual approve" in text
    assert {(e["channel"], e["recipient"], e["rung"], e["status"]) for e in ledger(repo)} == {
        (c, "li.na", "before-2", "sent") for c in ("wecom", "dingtalk", "feishu")
    }


def test_a_500_a_timeout_and_a_refused_connection_leave_the_reminder_unsent_until_the_next_run(repo: RevisionRepo) -> None:
    with robot_server() as robots:
        robots.behaviour.update(wecom="500", dingtalk="slow")
        failed = remind(repo, DUE, robots.env(refused=("feishu",)), "--send")
        assert failed.code == 1 and "Traceback" not in failed.output
        assert failed.output.count("MAN945") >= 3
        assert "HTTP 500" in failed.output and "等待超时" in failed.output and "连接被拒绝" in failed.output
        assert "key=k1" not in failed.output and "access_token" not in failed.output  # the webhook's secret part is never printed
        assert sorted(e["status"] for e in ledger(repo)) == ["failed"] * 3
        robots.take()
        # a robot that answers 200 with an error code has not delivered either
        robots.behaviour.update(wecom="errcode", dingtalk="ok")
        again = remind(repo, DUE, robots.env(), "--send")
        assert again.code == 1 and "错误码 310000" in again.output
        assert sorted(c.robot for c in robots.take()) == ["dingtalk", "feishu", "wecom"]
        robots.behaviour.clear()
        last = remind(repo, DUE, robots.env(), "--send")
        assert last.code == 0, last.output
        assert [c.robot for c in robots.take()] == ["wecom"]  # only what had not been delivered
        assert remind(repo, DUE, robots.env(), "--send").code == 0 and robots.take() == []
    sent = [(e["channel"], e["rung"]) for e in ledger(repo) if e["status"] == "sent"]
    assert sorted(sent) == [("dingtalk", "due"), ("feishu", "due"), ("wecom", "due")]


def test_hostile_text_in_a_title_changes_no_recipient_and_mentions_nobody_else(repo: RevisionRepo, tmp_path: Path) -> None:
    # the title went into the change request as written (the records keep it; the messages show it)
    assert "@all" in repo.request_path(repo.cr).read_text(encoding="utf-8")  # type: ignore[attr-defined]
    with robot_server() as robots, smtp_server(tmp_path) as smtp:
        result = remind(repo, "2026-10-15", {**robots.env(), **smtp.env()}, "--send")
        assert result.code == 0, result.output
        calls, mails = robots.take(), smtp.take()
    assert sorted(r for m in mails for r in m.rcpt_tos) == [email_of("chen.gang"), email_of("li.na")]
    for mail in mails:
        assert len(mail.message["To"].addresses) == 1 and mail.message["Cc"] is None and mail.message["Bcc"] is None
        subject = str(mail.message["Subject"])
        assert "\n" not in subject and "@" not in subject and "<" not in subject
        assert "＠all" in subject or "＠all" in mail.message.get_content()
    mentioned = []
    for call in calls:
        raw = json.dumps(call.body, ensure_ascii=False)
        assert "@all" not in raw and "@所有人" not in raw and 'user_id=\\"all\\"' not in raw and "<b>" not in raw
        assert "](http" not in raw and "**" not in raw
        if call.robot == "wecom":
            mentioned += call.body["text"]["mentioned_list"]
        elif call.robot == "dingtalk":
            assert call.body["at"]["isAtAll"] is False
            mentioned += call.body["at"]["atMobiles"]
        else:
            assert call.body["content"]["text"].count("<at ") == 1
            mentioned.append(call.body["content"]["text"].split('"')[1])
    assert sorted(mentioned) == sorted(
        ["wx-li.na", "wx-chen.gang", mobile_of("li.na"), mobile_of("chen.gang"), "ou_lina", "ou_chengang"]
    )


def test_a_contact_that_would_mention_everyone_stops_the_run(repo: RevisionRepo) -> None:
    path = repo.root / "manual" / "contacts.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("wecom_userid: wx-li.na", "wecom_userid: '@all'"), encoding="utf-8")
    with robot_server() as robots:
        result = remind(repo, DUE, robots.env(), "--send")
        assert result.code == 1 and "MAN943" in result.output and robots.take() == []
    assert "MAN943" in repo.manual("check").codes()


def test_a_ledger_that_cannot_be_written_or_read_stops_the_run_before_anything_is_sent(repo: RevisionRepo, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with robot_server() as robots:
        unwritable = remind(repo, DUE, {**robots.env(), "MANUAL_REMIND_LEDGER": str(blocker)}, "--send")
        assert unwritable.code == 1 and "MAN947" in unwritable.output and robots.take() == []
        folder = tmp_path / "ledger"
        folder.mkdir()
        (folder / "reminders.jsonl").write_text('{"broken\n{"action": "x", "status": "sent"}\n', encoding="utf-8")
        corrupt = remind(repo, DUE, {**robots.env(), "MANUAL_REMIND_LEDGER": str(folder)}, "--send")
        assert corrupt.code == 1 and "MAN947" in corrupt.output and "reminders.jsonl:1" in corrupt.output and robots.take() == []
        # a line torn by a crash (the last one, without its newline) is cut off, and the run goes on
        (folder / "reminders.jsonl").write_text('{"action": "request/x", "recipient": "li.na", "rung": "due", "chan', encoding="utf-8")
        torn = remind(repo, DUE, {**robots.env(), "MANUAL_REMIND_LEDGER": str(folder)}, "--send")
        assert torn.code == 0, torn.output
        assert len(robots.take()) == 3
        lines = (folder / "reminders.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 3 and all(json.loads(line)["status"] == "sent" for line in lines)
    assert not (repo.root / ".git" / "manualkit" / "reminders.jsonl").exists()  # the configured folder was used


def test_a_refused_answer_leaves_no_connection_open() -> None:
    """A robot answering 500 is MAN945, and the connection of that answer is closed then, not
    left to the garbage collector (which reports an unclosed socket, in another test or in the
    desk's long-running process)."""
    import gc
    import sys
    import urllib.error

    from manualkit.base.diagnostics import ManualError
    from manualkit.base.notify import Mention, RobotConfig, post_robot

    unraisable: list[BaseException | None] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda found: unraisable.append(found.exc_value)
    try:
        with robot_server() as robots:
            robots.behaviour.update(wecom="500")
            config = RobotConfig("wecom", f"http://127.0.0.1:{robots.port}/cgi-bin/webhook/send?key=k1", "", 5.0)
            for _ in range(3):
                with pytest.raises(ManualError) as refused:
                    post_robot(config, "提醒", Mention("李娜"), 1_780_000_000.0)
                (found,) = refused.value.diagnostics
                assert found.code == "MAN945" and "HTTP 500" in found.message
                answer = refused.value.__context__  # the refused answer, closed before MAN945 was raised
                assert isinstance(answer, urllib.error.HTTPError) and answer.fp.closed
                del refused, answer
            gc.collect()
    finally:
        sys.unraisablehook = hook
    assert [e for e in unraisable if isinstance(e, ResourceWarning)] == []
