"""Text hygiene, defined once (``base/characters``) and applied by ``check``, ``propose`` and every
command that writes a record: no control characters, no bidirectional controls, no zero-width
characters, no non-characters; section numbers and references in ASCII digits.

Each case is a real file in a copy of the manual checked by the real ``manual`` CLI, or a real
``propose`` / ``review`` / ``release`` in a real git repository, and each checks that a refusal
wrote nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_manual
from revision_repo import RevisionRepo, manual_command, shared_history

CHAPTER = "03-execution.md"


def _edit(root: Path, old: str, new: str, name: str = CHAPTER) -> None:
    path = root / "manual" / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("inserted", "code"),
    [
        ("\u202e", "MAN762"),  # right-to-left override: 15 日 displays reversed
        ("\u2066", "MAN762"),  # left-to-right isolate
        ("\u200b", "MAN762"),  # zero-width space inside a word
        ("\u200d", "MAN762"),  # zero-width joiner
        ("\ufeff", "MAN762"),  # a BOM in the middle of the text
        ("\ufffe", "MAN763"),  # a non-character
        ("\U0001fffe", "MAN763"),  # a non-character of plane 1
        ("\x07", "MAN009"),  # BEL
        ("\x85", "MAN009"),  # NEL: a line break to YAML, not to Markdown
    ],
)
def test_check_refuses_characters_no_controlled_text_may_hold(repo_copy: Path, isolated_env: dict[str, str], inserted: str, code: str) -> None:
    _edit(repo_copy, "各环节的具体操作见 3.2", f"各环节的具体{inserted}操作见 3.2")
    rc, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert rc == 1, out + err
    assert f"manual/{CHAPTER}:39:7: {code} " in out, out
    assert f"U+{ord(inserted):04X}" in out


@pytest.mark.parametrize("escaped", ["\\uFFFE", "\\x07", "\\u202E", "\\u200B"])
def test_an_escaped_character_in_yaml_is_refused_like_a_written_one(repo_copy: Path, isolated_env: dict[str, str], escaped: str) -> None:
    _edit(repo_copy, "company: 晟达实业有限公司", f'company: "晟达{escaped}实业有限公司"', "manual.yml")
    rc, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert rc == 1 and "Traceback" not in err, out + err
    assert "manual/manual.yml:5:10: MAN" in out and "可能以转义写成" in out, out


def test_fullwidth_section_numbers_and_references_are_refused_with_the_ascii_form(repo_copy: Path, isolated_env: dict[str, str]) -> None:
    _edit(repo_copy, "## 3.2 业务流程实施步骤", "## ３.２ 业务流程实施步骤")
    _edit(repo_copy, "考核标准见 5.1。", "考核标准见 ５.１。")
    _edit(repo_copy, "按第 6.3 节处理", "按第 ６.3 节处理")
    rc, out, err = run_manual(["check"], repo_copy, isolated_env)
    assert rc == 1, out + err
    assert f"manual/{CHAPTER}:41:1: MAN764 节编号“３.２”使用了全角数字；请改为半角“3.2”" in out, out
    assert "MAN764 引用“见 ５.１”使用了全角数字，不会被检查；请改为半角“见 5.1”" in out, out
    assert "MAN764 引用“第 ６.3”使用了全角数字" in out, out


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")  # only copied, never changed



@pytest.mark.parametrize(
    ("option", "value", "code"),
    [
        ("--title", "缩短报价\ufffe有效期", "MAN763"),
        ("--title", "缩短报价\x07有效期", "MAN009"),
        ("--title", "缩短报价\n有效期", "MAN009"),  # a title is one line
        ("--title", "报价有效期 \u202e日 51\u202c", "MAN762"),
        ("--reason", "原因\u200b说明", "MAN762"),
        ("--summary", "摘要\ufdd0", "MAN763"),
        ("--applicant", "张\u200d伟", "MAN762"),
        ("--sections", "３.２", "MAN764"),
        ("--department", "<b>不存在的部门</b>", "MAN109"),
    ],
)
def test_propose_refuses_what_no_record_may_hold_and_writes_nothing(
    released: RevisionRepo, tmp_path: Path, option: str, value: str, code: str
) -> None:
    repo = released.copy_to(tmp_path / "p")
    args = {"--title": "缩短报价有效期", "--reason": "业务变化", "--sections": "3.2"}
    args[option] = value
    argv = ["propose", "--class", "minor", "--applicant", "张伟"]
    for key, text in args.items():
        argv += [key, text]
    if option not in args:
        argv += [option, value]
    if option == "--applicant":
        argv[argv.index("--applicant") + 1] = value
    before = repo.state()
    result = repo.manual(*argv)
    assert result.code == 1 and code in result.codes() and "Traceback" not in result.output, result.output
    assert repo.state() == before


def test_an_argument_that_is_not_utf8_is_refused_not_a_traceback(released: RevisionRepo, tmp_path: Path) -> None:
    repo = released.copy_to(tmp_path / "bytes")
    before = repo.state()
    proc = subprocess.run(
        [*manual_command(), "propose", "--class", "minor", "--sections", "3.2", "--applicant", "张伟", "--reason", "r",
         "--title", b"\xff\xfe title".decode("utf-8", "surrogateescape")],
        cwd=repo.root, env=repo.env(), capture_output=True, check=False,
    )  # fmt: skip
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1 and "MAN763" in err and "Traceback" not in err, err
    assert repo.state() == before


def test_review_refuses_a_conclusion_with_a_bidi_override(released: RevisionRepo, tmp_path: Path) -> None:
    repo = released.copy_to(tmp_path / "review")
    before = repo.state()
    result = repo.manual("review", "3", "--key", str(repo.key("li")), "--conclusion", "经评审\u202e无需修订")
    assert result.code == 1 and "MAN762" in result.codes() and "Traceback" not in result.output, result.output
    assert repo.state() == before


def test_a_request_title_yaml_cannot_carry_is_refused_and_the_history_stays_whole(released: RevisionRepo, tmp_path: Path) -> None:
    """The attack of the issue: a title holding U+FFFE (written as an escape) used to pass check and
    release, and the release record written from it could not be read again."""
    repo = released.copy_to(tmp_path / "release")
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "报价单的有效期为 15 日。")
    repo.approve_all(cr, "2026-02-20")
    repo.replace_in_manual(f"changelog/requests/{cr}.yml", "title: 修订第 3.2 节", 'title: "修订第 3.2 节\\uFFFE"')
    repo.commit(f"{cr} approved")
    check = repo.manual("check")
    assert check.code == 1 and "MAN763" in check.codes(), check.output
    before = repo.state()
    result = repo.release("2026-03-01", "2026-03-16", check=False)
    assert result.code == 1 and "Traceback" not in result.output, result.output
    assert repo.state() == before
    history = repo.manual("history", "--json")
    assert history.code == 0 and '"A/0"' in history.stdout, history.output


def test_the_printable_shortcut_never_lets_a_refused_character_through() -> None:
    """``first_disallowed`` answers "none" without its search for a text Python counts printable:
    sound only while every character the search refuses is one Python counts unprintable (the
    Unicode database of a newer Python moves characters between categories)."""
    from manualkit.base.characters import _DISALLOWED_RE, first_disallowed

    refused = [chr(c) for c in range(0x110000) if _DISALLOWED_RE.match(chr(c))]
    assert len(refused) > 2000 and not [c for c in refused if c.isprintable()]
    for c in refused[:: max(1, len(refused) // 500)]:
        assert first_disallowed(f"第一行\n销售{c}订单") is not None
    assert first_disallowed("第一行\n销售订单") is None
    assert first_disallowed("销售\n订单", multiline=False) is not None and first_disallowed("销售　订单", multiline=False) is None
