"""The review round trip (issue 22): a 征求意见稿 made by ``manual review-copy``, edited by a reviewer
in LibreOffice (through UNO) or written as Word 365 writes it, imported by ``manual import-review``
as a 审核意见 record, its tracked changes applied to the Markdown with ``--apply``, each opinion
answered by ``manual answer``; and the hostile copies refused with nothing written.

Real parts: a signed history (A/0) in a real git repository, LibreOffice 7.4 (the system's) saving
the reviewer's copy, python-docx and lxml reading it back through the bounded OPC reader.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import new_libreoffice_profile
from revision_repo import RevisionRepo, shared_history
from word365_review import Comment, Replace, word365_review

SYSTEM_PYTHON = Path("/usr/bin/python3")
UNO_REVIEW = Path(__file__).with_name("uno_review.py")

QUOTE_OLD = "报价有效期一般为 15 日"
QUOTE_NEW = "报价有效期一般为 10 日"
COMMENTED = "报价单经审批后发送客户"
DELETED = "考核标准由人力资源部会同销售管理部、财务部拟订，经总经理办公室审定，并履行本节第四部分规定的民主程序后执行。"
CELL = "30 日内完善控制措施并指定责任人"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")  # only copied, never changed


@pytest.fixture
def repo(released: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    return released.copy_to(tmp_path / "copy")


def open_request(repo: RevisionRepo) -> str:
    """A minor request for 3.2, 5.1 and 6.2 whose proposed text shortens the quotation's validity."""
    cr = repo.propose("minor", ["3.2", "5.1", "6.2"], title="缩短报价有效期", today="2026-06-01", consultation="2026-06-01")
    repo.replace_in_manual("03-execution.md", QUOTE_OLD, QUOTE_NEW)
    repo.commit(f"{cr}: proposed text")
    return cr


def make_copy(repo: RevisionRepo, cr: str, out: Path) -> Path:
    result = repo.manual("review-copy", cr, "-o", str(out), env={"MANUAL_NOW": "2026-06-01T10:00:00+08:00", "MANUAL_TODAY": "2026-06-01"})
    assert result.code == 0, result.output
    return out


def libreoffice_review(source: Path, target: Path, edits: dict[str, object]) -> Path:
    if not Path("/usr/bin/soffice").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required on CI")
        pytest.skip("LibreOffice is not installed")
    with tempfile.TemporaryDirectory(prefix="uno-review-") as folder:
        spec = Path(folder) / "edits.json"
        spec.write_text(json.dumps(edits, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "UNO_PROFILE": str(new_libreoffice_profile(Path(folder) / "profile"))}
        proc = subprocess.run([str(SYSTEM_PYTHON), str(UNO_REVIEW), str(source), str(target), str(spec)], env=env, capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return target


REVIEWER_EDITS = {
    "author": "王芳",
    "edits": [
        {"op": "comment", "find": COMMENTED, "text": "建议明确审批时限。", "author": "李娜", "reply": {"text": "同意，补充为 1 个工作日。", "author": "王芳"}},
        {"op": "replace", "find": CELL, "old": "30 日", "new": "15 日"},
        {"op": "delete", "find": DELETED},
        {"op": "header", "text": "（审阅稿）"},
    ],
}


def opinions_of(repo: RevisionRepo) -> tuple[str, dict[str, object]]:
    files = sorted((repo.root / "changelog" / "opinions").glob("*.yml"))
    assert len(files) == 1, files
    return files[0].name, yaml.safe_load(files[0].read_text(encoding="utf-8"))


@pytest.mark.libreoffice
def test_a_libreoffice_review_is_imported_and_its_two_text_edits_applied(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    reviewed = libreoffice_review(copy, tmp_path / "reviewed.docx", REVIEWER_EDITS)
    before = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")}

    result = repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "wang.fang", env={"MANUAL_NOW": "2026-06-03T09:00:00+08:00"})
    assert result.code == 0, result.output
    name, record = opinions_of(repo)
    assert name == f"{cr}-wang.fang-1.yml" and record["request"] == cr and record["base_version"] == "A/0"
    opinions = record["opinions"]
    comments = [o for o in opinions if o["kind"] == "comment"]
    assert [(o["author"], o["section"], o["marked"], o["text"]) for o in comments] == [
        ("李娜", "3.2", COMMENTED, "建议明确审批时限。"),
        ("王芳", "3.2", COMMENTED, "同意，补充为 1 个工作日。"),
    ]
    assert comments[0]["date"] == "2026-12-08T10:30:00Z" and comments[1]["reply_to"] == comments[0]["number"]
    changes = {o["kind"]: o for o in opinions if o["kind"] != "comment"}
    assert changes["replacement"]["section"] == "6.2" and (changes["replacement"]["old"], changes["replacement"]["new"]) == ("30 日", "15 日")
    assert changes["deletion"]["section"] == "5.1" and changes["deletion"]["old"] == DELETED
    assert changes["unmapped"]["where"].startswith("word/header") and "（审阅稿）" in changes["unmapped"]["new"]
    assert {o["author"] for o in changes.values()} == {"王芳"}
    assert [o["number"] for o in opinions] == list(range(1, len(opinions) + 1))
    # the import shows the edit, and writes nothing to the chapters
    assert "-| 中 | 8 至 14 | 30 日内完善" in result.stdout and "+| 中 | 8 至 14 | 15 日内完善" in result.stdout
    assert {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")} == before
    assert "MAN928" in result.stderr and "页眉" in result.stderr

    applied = repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "wang.fang", "--apply")
    assert applied.code == 0, applied.output
    assert len(list((repo.root / "changelog" / "opinions").glob("*.yml"))) == 1  # the same copy: no second record
    after = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")}
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {"05-assessment.md", "06-compliance.md"}
    assert after["06-compliance.md"] == before["06-compliance.md"].replace("| 30 日内完善控制措施", "| 15 日内完善控制措施", 1)
    assert after["05-assessment.md"] == before["05-assessment.md"].replace(DELETED, "", 1)
    assert "MAN928" in applied.stderr and f"{cr}#{changes['unmapped']['number']}（word/header" in applied.stderr  # numbered as recorded

    check = repo.manual("check")
    assert check.code == 0, check.output
    diff = repo.git("diff", "--stat", "HEAD", "--", "manual/")
    assert "05-assessment.md" in diff and "06-compliance.md" in diff


def test_the_review_copy_says_what_it_is(repo: RevisionRepo, tmp_path: Path) -> None:
    import docx

    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    document = docx.Document(str(copy))
    texts = [p.text for p in document.paragraphs[:8]]
    assert "征求意见稿" in texts and any(cr in t and "缩短报价有效期" in t for t in texts)
    # 5 working days after Mon 2026-06-01: Mon 2026-06-08
    assert any("2026年6月8日" in t for t in texts) and any("A/0" in t for t in texts)
    with zipfile.ZipFile(copy) as z:
        custom = z.read("docProps/custom.xml").decode()
        body = z.read("word/document.xml").decode()
    assert cr in custom and "A/0" in custom and "sha256:" in custom
    assert 'w:name="p_3_2_1"' in body and 'w:name="p_6_2_1"' in body
    # the proposed change is a tracked change of the request
    assert re.search(rf'<w:del [^>]*w:author="{cr} 缩短报价有效期"', body) and "10" in body


# --- hostile copies: each refused with its code, nothing written ------------------------------------------


def _rewrite(source: Path, target: Path, change: dict[str, bytes], *, stored: frozenset[str] = frozenset()) -> Path:
    with zipfile.ZipFile(source) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts.update(change)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data, compress_type=zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED)
    target.write_bytes(buffer.getvalue())
    return target


def _comments_part(count: int) -> bytes:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    one = '<w:comment w:id="{}" w:author="x" w:date="2026-06-02T00:00:00Z"><w:p><w:r><w:t>c</w:t></w:r></w:p></w:comment>'
    return f'<?xml version="1.0" encoding="UTF-8"?><w:comments xmlns:w="{w}">{"".join(one.format(i) for i in range(count))}</w:comments>'.encode()


def _with_comments(copy: Path, target: Path, part: bytes) -> Path:
    with zipfile.ZipFile(copy) as z:
        rels = z.read("word/_rels/document.xml.rels").decode()
        types = z.read("[Content_Types].xml").decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdC1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml"/></Relationships>',
    )
    types = types.replace(
        "</Types>", '<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/></Types>'
    )
    return _rewrite(copy, target, {"word/comments.xml": part, "word/_rels/document.xml.rels": rels.encode(), "[Content_Types].xml": types.encode()})


def test_hostile_copies_are_refused_with_their_codes_and_nothing_is_written(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>'
    )
    other = repo.propose("editorial", ["7.1"], title="另一份申请", today="2026-06-01")
    other_copy = make_copy(repo, other, tmp_path / "other.docx")
    cases = {
        "DOC505": _rewrite(copy, tmp_path / "bomb.docx", {"word/bomb.xml": b"<a>" + b" " * (32 * 1024 * 1024) + b"</a>"}),
        "DOC511": _rewrite(copy, tmp_path / "xxe.docx", {"word/document.xml": xxe}),
        "MAN925": _with_comments(copy, tmp_path / "many.docx", _comments_part(100_000)),
        "MAN922": other_copy,
        "MAN924": _rewrite(copy, tmp_path / "anchors.docx", {"word/document.xml": re.sub(rb'<w:bookmark(Start|End) [^>]*/>', b"", zipfile.ZipFile(copy).read("word/document.xml"))}),
    }
    state = repo.state()
    for code, path in cases.items():
        result = repo.manual("import-review", str(path), "--cr", cr, "--apply")
        assert result.code == 1 and f"{path}: {code} " in result.output, (code, result.output)
        assert "Traceback" not in result.output
        assert repo.state() == state, code
    long = _comments_part(1).replace(b"<w:t>c</w:t>", b"<w:t>" + "".join(chr(0x4E00 + i * 7919 % 20000) for i in range(30_000)).encode() + b"</w:t>")
    result = repo.manual("import-review", str(_with_comments(copy, tmp_path / "long.docx", long)), "--cr", cr)
    assert result.code == 1 and "MAN925" in result.codes() and repo.state() == state
    assert not (repo.root / "changelog" / "opinions").exists()


# --- Word 365 -------------------------------------------------------------------------------------------

WORD_COMMENTS = [Comment(COMMENTED, "李娜", "建议明确审批时限。", "张伟", "已补充，见修订。")]
WORD_CHANGES = [Replace(CELL, "30 日", "15 日", "李娜"), Replace(DELETED, DELETED, "", "李娜")]


def word_copy(repo: RevisionRepo, cr: str, tmp_path: Path, name: str = "word.docx") -> Path:
    copy = make_copy(repo, cr, tmp_path / f"copy-{name}")
    out = tmp_path / name
    out.write_bytes(word365_review(copy.read_bytes(), WORD_COMMENTS, WORD_CHANGES, ("李娜", "（李娜审阅）")))
    return out


def test_a_word_365_review_is_imported_with_its_thread_and_applied(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    reviewed = word_copy(repo, cr, tmp_path)
    before = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")}
    result = repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na", "--apply", env={"MANUAL_NOW": "2026-06-03T09:00:00+08:00"})
    assert result.code == 0, result.output
    name, record = opinions_of(repo)
    assert name == f"{cr}-li.na-1.yml" and record["imported_at"] == "2026-06-03T09:00:00+08:00"
    opinions = record["opinions"]
    assert [(o["kind"], o["section"], o["author"]) for o in opinions] == [
        ("comment", "3.2", "李娜"), ("comment", "3.2", "张伟"), ("deletion", "5.1", "李娜"), ("replacement", "6.2", "李娜"), ("unmapped", "", "李娜"),
    ]  # fmt: skip
    assert opinions[0]["date"] == "2026-06-02T03:15:00Z" and opinions[0]["marked"] == COMMENTED
    assert opinions[1]["reply_to"] == 1 and opinions[1]["text"] == "已补充，见修订。"
    assert opinions[4]["where"].startswith("word/header") and opinions[4]["new"] == "（李娜审阅）"
    after = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")}
    assert {n for n in after if after[n] != before[n]} == {"05-assessment.md", "06-compliance.md"}
    assert after["06-compliance.md"] == before["06-compliance.md"].replace("| 30 日内完善控制措施", "| 15 日内完善控制措施", 1)
    assert after["05-assessment.md"] == before["05-assessment.md"].replace(DELETED, "", 1)


def test_opinions_are_answered_before_approval(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    reviewed = word_copy(repo, cr, tmp_path)
    assert repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na").code == 0
    again = repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na")
    assert again.code == 1 and "MAN936" in again.codes()
    check = repo.manual("check")
    assert "MAN932" in check.codes() and f"{cr}#1" in check.output and f"{cr}#2" not in check.output  # a reply is answered with its thread
    for role in ("编制", "审核"):
        assert repo.approve(cr, role, now="2026-06-04T10:00:00+08:00").code == 0
    refused = repo.approve(cr, "批准", now="2026-06-04T11:00:00+08:00", check=False)
    assert refused.code == 1 and "MAN933" in refused.codes() and f"{cr}#1" in refused.output and f"{cr}#3" in refused.output
    assert "chen.gang" not in repo.request_path(cr).read_text(encoding="utf-8")

    assert repo.manual("answer", cr, "1", "--accept", "--reason", "已补充审批时限", "--editor", "张伟").code == 0
    twice = repo.manual("answer", cr, "1", "--reject", "--reason", "改变主意", "--editor", "张伟")
    assert twice.code == 1 and "MAN931" in twice.codes()
    reply = repo.manual("answer", cr, "2", "--accept", "--reason", "x", "--editor", "张伟")
    assert reply.code == 1 and "MAN930" in reply.codes()
    missing = repo.manual("answer", cr, "99", "--accept", "--reason", "x", "--editor", "张伟")
    assert missing.code == 1 and "MAN930" in missing.codes()
    for n, decision in ((3, "--accept"), (4, "--reject"), (5, "--reject")):
        assert repo.manual("answer", cr, str(n), decision, "--reason", "与考核程序一致，保留原文" if n == 4 else "已处理", "--editor", "张伟").code == 0
    answer = yaml.safe_load((repo.root / "changelog" / "answers" / f"{cr}-4.yml").read_text(encoding="utf-8"))
    assert answer == {"kind": "manual-answer/1", "request": cr, "opinion": 4, "decision": "reject", "reason": "与考核程序一致，保留原文", "editor": "张伟", "answered_at": answer["answered_at"]}
    assert "MAN932" not in repo.manual("check").codes()
    assert repo.approve(cr, "批准", now="2026-06-04T11:00:00+08:00").code == 0


def test_a_copy_of_another_base_version_is_refused(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    with zipfile.ZipFile(copy) as z:
        custom = z.read("docProps/custom.xml").replace(b">A/0<", b">A/1<")
    moved = _rewrite(copy, tmp_path / "moved.docx", {"docProps/custom.xml": custom})
    state = repo.state()
    result = repo.manual("import-review", str(moved), "--cr", cr)
    assert result.code == 1 and "MAN923" in result.codes() and repo.state() == state
    bad = repo.manual("import-review", str(copy), "--cr", cr, "--reviewer", "Li Na")
    assert bad.code == 1 and "MAN935" in bad.codes() and repo.state() == state


def test_hostile_text_in_comments_is_kept_visible_and_the_record_stays_valid(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    hostile = "注意\u202e\u200b<script>alert(1)</script>: |\n- x"
    reviewed = tmp_path / "hostile.docx"
    reviewed.write_bytes(word365_review(copy.read_bytes(), [Comment(COMMENTED, "攻击者\u202e", hostile)], [], None))
    assert repo.manual("import-review", str(reviewed), "--cr", cr).code == 0
    _, record = opinions_of(repo)
    opinion = record["opinions"][0]
    assert "⟨U+202E⟩" in opinion["text"] and "⟨U+200B⟩" in opinion["text"] and "<script>" in opinion["text"] and "\u202e" not in opinion["author"]
    assert "MAN929" not in repo.manual("check").codes()


def test_what_is_not_a_review_copy_of_this_text_is_refused(repo: RevisionRepo, tmp_path: Path) -> None:
    import docx

    released = sorted(p.stem for p in (repo.root / "changelog" / "requests").glob("*.yml"))[0]
    done = repo.manual("review-copy", released, "-o", str(tmp_path / "released.docx"))
    assert done.code == 1 and "MAN920" in done.codes() and not (tmp_path / "released.docx").exists()
    cr = open_request(repo)
    plain = tmp_path / "plain.docx"
    docx.Document().save(str(plain))
    state = repo.state()
    result = repo.manual("import-review", str(plain), "--cr", cr)
    assert result.code == 1 and "MAN921" in result.codes() and repo.state() == state
    endless = repo.manual("import-review", "/dev/zero", "--cr", cr)
    assert endless.code == 1 and "MAN921" in endless.codes() and repo.state() == state

    reviewed = word_copy(repo, cr, tmp_path)
    repo.replace_in_manual("03-execution.md", QUOTE_NEW, "报价有效期一般为 12 日")  # the proposed text moves on
    state = repo.state()
    applied = repo.manual("import-review", str(reviewed), "--cr", cr, "--apply")
    assert applied.code == 1 and "MAN927" in applied.codes() and repo.state() == state
    imported = repo.manual("import-review", str(reviewed), "--cr", cr)
    assert imported.code == 0 and "MAN926" in imported.codes()
    assert len(list((repo.root / "changelog" / "opinions").glob("*.yml"))) == 1


def test_an_altered_answer_record_is_reported(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    assert repo.manual("import-review", str(word_copy(repo, cr, tmp_path)), "--cr", cr).code == 0
    assert repo.manual("answer", cr, "1", "--accept", "--reason", "已补充", "--editor", "张伟").code == 0
    path = repo.root / "changelog" / "answers" / f"{cr}-1.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("decision: accept", "decision: maybe"), encoding="utf-8")
    assert "MAN934" in repo.manual("check").codes()
    path.write_text(path.read_text(encoding="utf-8").replace("decision: maybe", "decision: accept").replace("opinion: 1", "opinion: 77"), encoding="utf-8")
    path.rename(path.with_name(f"{cr}-77.yml"))
    assert "MAN930" in repo.manual("check").codes()


# --- the site's request page ---------------------------------------------------------------------------


def test_the_request_page_shows_opinions_and_answers_escaped(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    hostile = "<img src=x onerror=alert(1)> 建议缩短"
    reviewed = tmp_path / "reviewed.docx"
    reviewed.write_bytes(word365_review(copy.read_bytes(), [Comment(COMMENTED, "李娜", hostile, "张伟", "已处理")], [Replace(CELL, "30 日", "15 日", "李娜")], None))
    assert repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na", "--apply").code == 0
    assert repo.manual("answer", cr, "1", "--reject", "--reason", "<b>不采纳</b>：时限已由 3.1 规定", "--editor", "张伟").code == 0
    assert repo.manual("answer", cr, "3", "--accept", "--reason", "改为 15 日", "--editor", "张伟").code == 0
    repo.commit(f"{cr}: opinions imported and answered")
    repo.approve_all(cr, "2026-06-05")
    repo.commit(f"{cr}: approved")
    repo.release("2026-06-08", "2026-06-15")
    built = repo.manual("build", "--site-only", env={"MANUAL_TODAY": "2026-06-20"})
    assert built.code == 0, built.output
    page = (repo.root / "site" / "requests" / f"{cr}.html").read_text(encoding="utf-8")
    section = page[page.index('id="opinions"') :]
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; 建议缩短" in section
    assert "&lt;b&gt;不采纳&lt;/b&gt;：时限已由 3.1 规定" in section and "↳ 张伟：已处理" in section
    assert f"{cr}#1" in section and f"{cr}#3" in section and f"{cr}#2" not in section  # the reply sits in its thread
    assert section.index("不采纳") < section.index("采纳</span>", section.index("不采纳") + 3)
    assert "<del>30 日</del>" in section and "<ins>15 日</ins>" in section and "6.2 第" in section
    # the 修订对照表 carries the answers in its 修订说明 column, on the rows of the sections they concern
    table = repo.manual("diff", "--from", "A/0", "--to", "A/1", "--layout", "table", "--format", "md")
    assert table.code == 0, table.output
    # (read without the marks of what changed: ~~deleted~~ and **inserted** characters)
    rows = [line.replace("**", "").replace("~~", "") for line in table.stdout.splitlines() if line.startswith("|")]
    cell_row = next(line for line in rows if "15 日内完善" in line)
    assert f"审核意见 {cr}#3 采纳：改为 15 日" in cell_row and "#1" not in cell_row
    quote_row = next(line for line in rows if "10 日" in line)
    assert f"审核意见 {cr}#1 不采纳" in quote_row


def test_the_desk_shows_opinions_and_answers(repo: RevisionRepo, tmp_path: Path) -> None:
    from desk_support import free_port, running_desk

    cr = open_request(repo)
    reviewed = tmp_path / "reviewed.docx"
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    reviewed.write_bytes(word365_review(copy.read_bytes(), [Comment(COMMENTED, "李娜", "<script>x</script>请明确时限", "张伟", "已补充")], [Replace(CELL, "30 日", "15 日", "李娜")], None))
    assert repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na").code == 0
    assert repo.manual("answer", cr, "3", "--accept", "--reason", "改为 15 日", "--editor", "张伟").code == 0
    with running_desk(repo, "--port", str(free_port()), env={"MANUAL_NOW": "2026-06-03T10:00:00+08:00"}) as desk:
        desk.request("GET", f"/?token={desk.token}", token=False)
        status, _, page = desk.request("GET", f"/cr/{cr}")
    assert status == 200, page
    section = page[page.index('id="ops"') : page.index('id="cmp"')]
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;请明确时限" in section and "↳ 张伟：已补充" in section
    assert f'data-opinion="{cr}#1" data-answered="no"' in section and "尚未处理" in section
    assert f'data-opinion="{cr}#3" data-answered="yes"' in section and "采纳" in section and "改为 15 日（张伟）" in section
    assert f"{cr}#2" not in section


def test_two_imports_at_once_write_one_record(repo: RevisionRepo, tmp_path: Path) -> None:
    from revision_repo import manual_command

    cr = open_request(repo)
    reviewed = word_copy(repo, cr, tmp_path)
    argv = [*manual_command(), "import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na"]
    procs = [subprocess.Popen(argv, cwd=repo.root, env=repo.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outcomes = sorted((p.wait(timeout=120), p.stderr.read().decode() if p.stderr else "") for p in procs)
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in outcomes] == [0, 1] and "MAN936" in outcomes[1][1], outcomes
    assert [p.name for p in (repo.root / "changelog" / "opinions").iterdir()] == [f"{cr}-li.na-1.yml"]


def test_a_committed_opinion_record_is_frozen_and_an_altered_one_invalid(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    assert repo.manual("import-review", str(word_copy(repo, cr, tmp_path)), "--cr", cr, "--reviewer", "li.na").code == 0
    repo.commit(f"{cr}: opinions imported")
    path = repo.root / "changelog" / "opinions" / f"{cr}-li.na-1.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("建议明确审批时限。", "同意原文。"), encoding="utf-8")
    assert "MAN851" in repo.manual("check").codes()
    path.write_text(path.read_text(encoding="utf-8").replace("kind: \"comment\"", "kind: \"praise\"", 1), encoding="utf-8")
    assert {"MAN851", "MAN929"} <= repo.manual("check").codes()


def test_a_signed_answer_is_verified_by_check(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    assert repo.manual("import-review", str(word_copy(repo, cr, tmp_path)), "--cr", cr, "--reviewer", "li.na").code == 0
    signed = repo.manual("answer", cr, "1", "--accept", "--reason", "已补充审批时限", "--key", str(repo.key("zhang.wei")))
    assert signed.code == 0, signed.output
    path = repo.root / "changelog" / "answers" / f"{cr}-1.yml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert record["by"] == "zhang.wei" and record["editor"] == "张伟" and "SSH SIGNATURE" in record["signature"]
    assert "MAN937" not in repo.manual("check").codes()
    path.write_text(path.read_text(encoding="utf-8").replace("decision: accept", "decision: reject"), encoding="utf-8")
    assert "MAN937" in repo.manual("check").codes()
    outsider = repo.manual("answer", cr, "3", "--accept", "--reason", "x", "--key", str(repo.key("outsider")))
    assert outsider.code == 1 and "MAN651" in outsider.codes() and not (repo.root / "changelog" / "answers" / f"{cr}-3.yml").exists()


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def test_a_copy_as_wps_writes_it_keeps_the_thread_and_lists_moves_and_formatting(repo: RevisionRepo, tmp_path: Path) -> None:
    """No commentsExtended (WPS, LibreOffice): the reply is the later comment on the same range. A
    moved paragraph and a formatting-only change are recorded as not mappable, and --apply leaves them."""
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    data = word365_review(copy.read_bytes(), WORD_COMMENTS, [WORD_CHANGES[0]], None, extended=False)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        body = z.read("word/document.xml").decode()
    bold = "报价单经审批后发送客户"
    body = body.replace(
        "<w:t>本节对 3.1 所列主要环节", '<w:rPr><w:b/><w:rPrChange w:id="7001" w:author="李娜" w:date="2026-06-02T03:20:00Z"><w:rPr/></w:rPrChange></w:rPr><w:t>本节对 3.1 所列主要环节', 1
    )
    moved = "财务部根据签收回单开具发票"
    body = re.sub(
        rf"(<w:r>(?:(?!</w:r>).)*?<w:t>{moved})", r'<w:moveFrom w:id="7002" w:author="李娜" w:date="2026-06-02T03:21:00Z">\1', body, count=1
    ).replace(f"{moved}，并在系统中登记应收账款。</w:t></w:r>", f"{moved}，并在系统中登记应收账款。</w:t></w:r></w:moveFrom>", 1)
    assert "rPrChange" in body and "moveFrom" in body and bold in body
    wps = _rewrite_bytes(data, tmp_path / "wps.docx", {"word/document.xml": body.encode()})
    before = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")}
    result = repo.manual("import-review", str(wps), "--cr", cr, "--reviewer", "li.na", "--apply")
    assert result.code == 0, result.output
    _, record = opinions_of(repo)
    opinions = record["opinions"]
    assert opinions[1]["reply_to"] == opinions[0]["number"] and opinions[1]["author"] == "张伟"
    unmapped = [o for o in opinions if o["kind"] == "unmapped"]
    assert [(o["section"], "格式" in o["reason"], "移动" in o["reason"]) for o in unmapped] == [("3.2", True, False), ("3.2", False, True)], unmapped
    assert unmapped[1]["old"].startswith(moved)
    after = {p.name: p.read_text(encoding="utf-8") for p in (repo.root / "manual").glob("*.md")}
    assert {n for n in after if after[n] != before[n]} == {"06-compliance.md"}  # only the cell: the move is not applied


def _rewrite_bytes(data: bytes, target: Path, change: dict[str, bytes]) -> Path:
    source = target.with_suffix(".orig.docx")
    source.write_bytes(data)
    return _rewrite(source, target, change)


def test_a_signed_import_is_verified_by_check(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = open_request(repo)
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    reviewed = tmp_path / "signed.docx"
    reviewed.write_bytes(word365_review(copy.read_bytes(), [Comment(COMMENTED, "李娜\u200b", "请核对\u202e时限")], [], None))
    result = repo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", "li.na", "--key", str(repo.key("zhang.wei")))
    assert result.code == 0, result.output
    path = repo.root / "changelog" / "opinions" / f"{cr}-li.na-1.yml"
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert record["by"] == "zhang.wei" and "SSH SIGNATURE" in record["signature"] and "⟨U+202E⟩" in record["opinions"][0]["text"]
    assert not {"MAN938", "MAN929"} & repo.manual("check").codes()
    path.write_text(path.read_text(encoding="utf-8").replace("请核对", "请删除"), encoding="utf-8")
    assert "MAN938" in repo.manual("check").codes()


def test_an_editorial_request_with_an_unanswered_opinion_cannot_get_its_last_signature(repo: RevisionRepo, tmp_path: Path) -> None:
    cr = repo.propose("editorial", ["6.2"], title="更正用语", today="2026-06-01")
    copy = make_copy(repo, cr, tmp_path / "copy.docx")
    reviewed = tmp_path / "reviewed.docx"
    reviewed.write_bytes(word365_review(copy.read_bytes(), [], [Replace(CELL, "30 日", "15 日", "李娜")], None))
    assert repo.manual("import-review", str(reviewed), "--cr", cr).code == 0
    assert repo.approve(cr, "编制", now="2026-06-02T10:00:00+08:00").code == 0
    refused = repo.approve(cr, "审核", now="2026-06-02T11:00:00+08:00", check=False)
    assert refused.code == 1 and "MAN933" in refused.codes() and "“审核”" in refused.output
    assert repo.manual("answer", cr, "1", "--reject", "--reason", "编辑性修改不改时限", "--editor", "张伟").code == 0
    assert repo.approve(cr, "审核", now="2026-06-02T11:00:00+08:00").code == 0


def test_changes_map_to_the_markdown_only_where_they_are_unique() -> None:
    from manualkit.documents.review_apply import apply_changes
    from manualkit.documents.review_import import Change

    chapter = "# 第三章 执行\n\n## 3.1 流程 {#sec-3-1}\n\n甲在 2 日内办理；乙在 2 日内复核。\n\n**加粗**的条款在此。\n\n## 3.2 步骤 {#sec-3-2}\n\n在 2 日内办理。\n"
    where = {"3.1": "manual/03.md", "3.2": "manual/03.md"}
    changes = [
        Change("insertion", "3.1", 1, "李娜", "", new="个工作", before="甲在 2 ", after="日内办理；乙在 2 日内复核。"),
        Change("replacement", "3.1", 1, "李娜", "", old="2", new="3", before="甲在 2 日内办理；乙在 ", after=" 日内复核。"),
        Change("deletion", "3.1", 2, "李娜", "", old="加粗的", before="", after="条款在此。"),
        Change("replacement", "3.2", 0, "李娜", "", old="步骤", new="程序", before="3.2 业务流程", after=""),
    ]
    edit = apply_changes(changes, {"manual/03.md": chapter}, where)
    text = edit.files["manual/03.md"]
    assert "甲在 2 个工作日内办理；乙在 3 日内复核。" in text and "在 2 日内办理。\n" in text.split("## 3.2")[1]
    assert [u.change.kind for u in edit.unmapped] == ["deletion", "replacement"]
    assert "格式标记" in edit.unmapped[0].reason and "标题" in edit.unmapped[1].reason
    assert edit.diff({"manual/03.md": chapter}).startswith("--- a/manual/03.md\n+++ b/manual/03.md\n")


def test_the_desk_refuses_approval_while_an_opinion_is_unanswered(repo: RevisionRepo, tmp_path: Path) -> None:
    from desk_support import free_port, running_desk

    cr = open_request(repo)
    assert repo.manual("import-review", str(word_copy(repo, cr, tmp_path)), "--cr", cr, "--reviewer", "li.na").code == 0
    for role in ("编制", "审核"):
        assert repo.approve(cr, role, now="2026-06-04T10:00:00+08:00").code == 0
    before = repo.request_path(cr).read_bytes()
    key = ("--key", str(repo.key("chen.gang")))
    with running_desk(repo, "--port", str(free_port()), *key, env={"MANUAL_NOW": "2026-06-04T11:00:00+08:00"}) as desk:
        desk.request("GET", f"/?token={desk.token}", token=False)
        _, challenge = desk.post("/api/challenge", {"change_request": cr, "role": "批准", "signer": "chen.gang", "method": "ssh"})
    assert challenge["ok"] is False and challenge["diagnostics"][0]["code"] == "MAN933", challenge  # type: ignore[index]
    assert repo.request_path(cr).read_bytes() == before
