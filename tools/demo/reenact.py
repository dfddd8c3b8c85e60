#!/usr/bin/env python3
"""Re-enact the full demo history of XS-QM-01 in a new git repository.

    python tools/demo/reenact.py DIR        (or: make demo, which writes demo-home/)

The project's own history (A/0 2026-01-01, A/1 2026-03-16, B/0 2026-07-01, the review of
chapter 8 on 2026-10-15, B/1 2027-01-15) was signed by demo approvers whose private keys are kept
nowhere, so nothing can be added to it. This script makes the same history again, from scratch,
in DIR, and adds what chapter 8 also asks for:

- a returned request (CR-2025-002, returned by 审核 and resubmitted as A/1's CR-2026-001 with
  ``manual propose --replaces``);
- signed training records for A/0 and B/0, dated before their effective dates;
- numbered controlled copies of A/1, recalled within 5 working days after B/0 took effect (one
  kept as 作废留存 with ``--retained``);
- a revoked key (李娜's, after B/1) and the registry change that replaces it: a change request
  listing ``policy`` (CR-2026-005), approved by the signers in force and released as B/2.

Everything is done by the documented ``manual`` commands, run as subprocesses of the installed
console script, each at a pinned time (``MANUAL_NOW``, ``MANUAL_TODAY``, ``GIT_*_DATE``); the
editors' part (the chapter texts, completing a change request, registering keys) is file
edits, as in the README. The chapter texts of each release and the change requests' fields,
dates and signers come from this repository's release commits (found from
``changelog/releases/*.yml`` with ``git log --diff-filter=A``). The signers' ed25519 keys and
the DOCX development signing key are generated in a temporary folder outside DIR and deleted at
the end. The script ends with ``manual check`` and ``manual audit`` of the new repository and
exits 1 if either fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[2]
GIT_NAME = "XS-QM-01 文件控制"
GIT_EMAIL = "document-control@example.com"

# What the demo adds to the project's history (all times China Standard Time).
RETURNED = {
    "propose": "2025-12-15T09:30:00+08:00",
    "submit": "2025-12-15T10:00:00+08:00",
    "return": "2025-12-17T15:00:00+08:00",
    "reason": "报价有效期缩短后，3.3 的订单处理时限和月报日期未相应调整，请一并修订后重新提交",
}
TRAINING = {
    "A/0": ("2025-12-26", "2025-12-26T17:00:00+08:00", 86, "首次发布宣贯培训签到表 PX-2025-031（各部门销售及相关岗位）"),
    "B/0": ("2026-06-22", "2026-06-22T17:30:00+08:00", 42, "考核与信用控制专项培训签到表 PX-2026-017 及考试记录"),
    "B/1": ("2026-11-26", "2026-11-26T16:30:00+08:00", 35, "电子合同签署与归档培训签到表 PX-2026-029"),
}
TRAINED = {  # departments trained (all of them for the first edition); the signer of the record
    "A/0": ((), "zhang.wei"),
    "B/0": (("销售管理部", "市场部", "财务部", "人力资源部"), "liu.yang"),
    "B/1": (("销售管理部", "法务合规部", "信息技术部"), "zhao.min"),
}
COPIES = (("王强", "销售管理部", 2), ("周婷", "财务部", 1))
DISTRIBUTED = "2026-03-09T10:00:00+08:00"
RECALLS = (("2026-07-02", False), ("2026-07-03", False), ("2026-07-06", True))  # 2026-07-01: B/0 in force
REVOKED = {
    "signer": "li.na",
    "by": "chen.gang",
    "at": "2026-11-28T08:30:00+08:00",
    "now": "2026-11-28T09:00:00+08:00",
    "reason": "笔记本电脑遗失，签署密钥可能泄露",
}
REGISTRY_PROPOSED = "2026-11-30T09:00:00+08:00"
REGISTRY_APPROVALS = (
    ("编制", "zhang.wei", "2026-11-30T10:00:00+08:00"),
    ("审核", "zhao.min", "2026-11-30T14:00:00+08:00"),  # 李娜's key is revoked: the other 审核 signer
    ("批准", "chen.gang", "2026-12-01T09:00:00+08:00"),
)
REGISTRY_RELEASE = ("2026-12-01", "2027-01-18")  # published, effective (after B/1's 2027-01-15)
END = "2026-12-01T12:00:00+08:00"

# The review round of B/1's request (issue 22): 李娜 (审核) comments in the 征求意见稿, the two
# opinions are imported, and the editor answers them, one accepted and one rejected, before 审核 signs.
REVIEW_ROUND = {
    "request": "CR-2026-004",
    "copy": "2026-10-28T11:00:00+08:00",  # after 编制 signed
    "import": "2026-11-02T16:00:00+08:00",
    "answers": "2026-11-03T09:00:00+08:00",  # before 审核 signs (2026-11-03 14:20)
    "reviewer": "li.na",
    "editor": "赵敏",
    "opinions": (
        ("销售合同原则上通过公司电子签名平台签署", "李娜", "2026-11-02T09:12:00Z", "请明确客户不具备电子签署条件时由谁认定。",
         "accept", "已写明：经销售管理部负责人同意后可使用纸质合同"),
        ("电子合同及其签署证据", "李娜", "2026-11-02T09:20:00Z", "建议电子档案由信息技术部而非法务合规部归档。",
         "reject", "签署证据属于合同档案，由法务合规部归档；信息技术部负责可读性和完整性抽检，职责已在本节写明"),
    ),
}


class Failed(Exception):
    pass


# --- the source: this repository's release commits -------------------------------------------


class Source:
    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, check=False)
        if proc.returncode != 0:
            raise Failed(f"git {' '.join(args)}: {proc.stderr.decode('utf-8', 'replace').strip()}")
        return proc.stdout.decode("utf-8")

    def show(self, commit: str, path: str) -> str:
        return self.git("show", f"{commit}:{path}")

    def yaml(self, commit: str, path: str) -> dict[str, Any]:
        data = yaml.safe_load(self.show(commit, path))
        if not isinstance(data, dict):
            raise Failed(f"{path} at {commit[:10]} is not a mapping")
        return data

    def added(self, path: str) -> str:
        """The commit that added ``path`` (the release commit of a release record)."""
        commits = self.git("log", "--diff-filter=A", "--format=%H", "--", path).split()
        if not commits:
            raise Failed(f"no commit added {path}; is the clone shallow?")
        return commits[-1]

    def files(self, commit: str, directory: str) -> list[str]:
        return self.git("ls-tree", "--name-only", f"{commit}:{directory}").split()

    def releases(self) -> list[tuple[dict[str, Any], str]]:
        """Each release record with its release commit, in order of publication."""
        out = []
        for name in self.files("HEAD", "changelog/releases"):
            if name.endswith(".yml"):
                commit = self.added(f"changelog/releases/{name}")
                out.append((self.yaml(commit, f"changelog/releases/{name}"), commit))
        return sorted(out, key=lambda r: str(r[0]["published"]))


# --- the new repository -------------------------------------------------------------------------


class Demo:
    def __init__(self, root: Path, secrets: Path) -> None:
        self.root = root
        self.keys = secrets / "keys"
        self.home = secrets / "home"
        self.manual_home = secrets / "manual-home"
        for d in (self.keys, self.home, self.manual_home):
            d.mkdir(parents=True)
        root.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).parent / "manual"
        self.exe = str(exe) if exe.is_file() else shutil.which("manual") or ""
        if not self.exe:
            raise Failed("the console script `manual` is not installed (pip install -e .)")
        self.log: list[str] = []

    def env(self, now: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": GIT_NAME,
            "GIT_AUTHOR_EMAIL": GIT_EMAIL,
            "GIT_COMMITTER_NAME": GIT_NAME,
            "GIT_COMMITTER_EMAIL": GIT_EMAIL,
            "GIT_AUTHOR_DATE": now,
            "GIT_COMMITTER_DATE": now,
            "MANUAL_NOW": now,
            "MANUAL_TODAY": now[:10],
            "MANUAL_HOME": str(self.manual_home),
        }

    def run(self, argv: Sequence[str], now: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(argv), cwd=self.root, env=self.env(now), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if check and proc.returncode != 0:
            raise Failed(f"{' '.join(argv)} (at {now}) exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        return proc

    def manual(self, *args: str, at: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        self.log.append(f"{at}  manual {' '.join(args)}")
        return self.run([self.exe, *args], at, check=check)

    def git(self, *args: str, at: str) -> str:
        return self.run(["git", *args], at).stdout

    def commit(self, message: str, at: str) -> None:
        self.git("add", "--all", at=at)
        self.git("commit", "--quiet", "-m", message, at=at)

    def keygen(self, signer: str, name: str | None = None) -> Path:
        path = self.keys / (name or signer)
        self.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", signer, "-f", str(path)], END)
        return path

    def key(self, signer: str) -> Path:
        return self.keys / signer

    @staticmethod
    def public(path: Path) -> str:
        return " ".join(Path(f"{path}.pub").read_text(encoding="utf-8").split()[:2])

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")


def registry_with_keys(policy: str, keys: Mapping[str, str]) -> str:
    """``policy.yml`` with the ``key:`` of each approver replaced by ``keys[id]``."""
    out: list[str] = []
    current = ""
    for line in policy.split("\n"):
        m = re.match(r"\s*- id: (\S+)", line)
        if m:
            current = m.group(1)
        m = re.match(r"(\s+)key: ", line)
        if m and current in keys:
            line = f"{m.group(1)}key: {keys[current]}"
        out.append(line)
    return "\n".join(out)


def chapter_texts(source: Source, commit: str) -> dict[str, str]:
    return {f"manual/{n}": source.show(commit, f"manual/{n}") for n in source.files(commit, "manual") if n.endswith(".md")}


def section_text(chapter: str, section: str) -> str:
    """The lines of ``## <section> …`` up to the next heading of that level or above."""
    lines = chapter.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {section} "))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "# "))), len(lines))
    return "\n".join(lines[start:end])


def complete_request(demo: Demo, cr_id: str, original: Mapping[str, Any]) -> None:
    """What an editor completes by hand in the change request: the affected documents and the
    staff consultation (Labour Contract Law art. 4), as the original request recorded them."""
    rel = f"changelog/requests/{cr_id}.yml"
    text = demo.read(rel)
    documents = original.get("affected_documents") or []
    if documents:
        text = re.sub(r"^affected_documents: \[\]", "affected_documents: " + json.dumps(documents, ensure_ascii=False), text, count=1, flags=re.M)
    consultation = original.get("staff_consultation") or {}
    if consultation.get("done"):
        old = "staff_consultation:\n  required: true\n  done: false\n"
        if old not in text:
            raise Failed(f"{cr_id}: no open staff consultation block to complete")
        new = (
            f"staff_consultation:\n  required: true\n  done: true\n  date: {consultation['date']}\n"
            f"  record: {json.dumps(str(consultation['record']), ensure_ascii=False)}\n"
        )
        text = text.replace(old, new, 1)
    demo.write(rel, text)


def propose(demo: Demo, original: Mapping[str, Any], at: str, replaces: str | None = None) -> str:
    args = [
        "propose", "--class", str(original["class"]), "--title", str(original["title"]),
        "--sections", ",".join(str(s) for s in original["sections"]), "--reason", str(original["reason"]),
        "--summary", str(original["summary"]), "--applicant", str(original["applicant"]),
        "--department", str(original["department"]), "--training" if original.get("training_required") else "--no-training",
    ]  # fmt: skip
    if replaces:
        args += ["--replaces", replaces]
    out = demo.manual(*args, at=at).stdout
    m = re.search(r"CR-\d{4}-\d{3}", out)
    if m is None:
        raise Failed(f"manual propose printed no change request id:\n{out}")
    return m.group()


def at(day: object, time: str = "10:00:00") -> str:
    return f"{day}T{time}+08:00"


# --- the history ---------------------------------------------------------------------------------


def reenact(target: Path, source: Source, secrets: Path) -> Demo:
    demo = Demo(target, secrets)
    releases = source.releases()
    if [str(r["version"]) for r, _ in releases][:4] != ["A/0", "A/1", "B/0", "B/1"]:
        raise Failed("the project's releases are not A/0, A/1, B/0, B/1")
    first_commit = releases[0][1]
    policy_text = source.show(first_commit, "manual/policy.yml")
    signers = [str(a["id"]) for a in yaml.safe_load(policy_text)["approvers"]]
    keys = {s: demo.public(demo.keygen(s)) for s in signers}
    departments = [str(d) for d in yaml.safe_load(source.show("HEAD", "manual/manual.yml"))["departments"]]

    # The first commit: the draft manual (A/0's text), the policy with the signers' public keys,
    # the company calendar, the obligations map and the change-request template.
    first_request = source.yaml(first_commit, f"changelog/requests/{releases[0][0]['change_requests'][0]}.yml")
    start = at(first_request["date"], "09:00:00")
    demo.git("init", "--quiet", "--initial-branch=main", at=start)
    for rel, text in chapter_texts(source, first_commit).items():
        demo.write(rel, text)
    demo.write("manual/policy.yml", registry_with_keys(policy_text, keys))
    for rel in ("manual/manual.yml", "manual/calendar.yml", "manual/obligations.yml", "templates/change-request.yml"):
        demo.write(rel, source.show("HEAD", rel))
    demo.write(".gitignore", "site/\ndist/\n")
    demo.commit("手册初稿与修订政策；登记签署人（仅公钥）", start)

    returned_id = ""
    for record, commit in releases:
        version = str(record["version"])
        requests = {cr: source.yaml(commit, f"changelog/requests/{cr}.yml") for cr in record["change_requests"]}
        if version == "A/1":
            returned_id = returned_request(demo, source, commit, requests)
        if version == "B/1":
            review(demo, source)
        ids = []
        for cr, original in requests.items():
            replaces = returned_id if version == "A/1" and "3.2" in [str(s) for s in original["sections"]] else None
            new = propose(demo, original, at(original["date"], "09:30:00"), replaces)
            if new != cr:
                raise Failed(f"manual propose numbered {new}, the original is {cr}")
            complete_request(demo, cr, original)
            ids.append(cr)
        last_date = max(str(o["date"]) for o in requests.values())
        if version != "A/0":
            for rel, text in chapter_texts(source, commit).items():
                demo.write(rel, text)
        titles = "；".join(str(o["title"]) for o in requests.values())
        demo.commit(f"{'、'.join(ids)}: {titles}", at(last_date, "17:00:00"))
        approvals = sorted(
            ((str(a["signed_at"]), cr, str(a["role"]), str(a["signer"])) for cr, o in requests.items() for a in o["approvals"]),
        )
        for signed_at, cr, role, signer in approvals:
            if cr == REVIEW_ROUND["request"] and signed_at > str(REVIEW_ROUND["answers"]) and not (demo.root / "changelog" / "answers").exists():
                review_round(demo, secrets)
            demo.manual("approve", cr, "--role", role, "--key", str(demo.key(signer)), at=signed_at)
        demo.commit(f"{'、'.join(ids)} approved", approvals[-1][0])
        demo.manual("release", "--published", str(record["published"]), "--effective", str(record["effective"]), at=at(record["published"]))
        if version in TRAINING:
            training(demo, version, departments)
        if version == "A/1":
            distribute(demo)
        if version == "B/0":
            recall(demo)
    revoke_and_replace(demo, keys)
    return demo


def returned_request(demo: Demo, source: Source, a1_commit: str, requests: Mapping[str, Mapping[str, Any]]) -> str:
    """CR-2025-002: the quotation change first proposed alone in December 2025, submitted, and
    returned by 审核 (8.2 三 4); its edit is withdrawn, and A/1's request resubmits it."""
    original = next(o for o in requests.values() if "3.2" in [str(s) for s in o["sections"]])
    first = {**original, "sections": ["3.2"], "title": "缩短报价有效期", "summary": "3.2 报价有效期由 30 日改为 15 日",
             "date": RETURNED["propose"][:10], "training_required": False, "staff_consultation": {}, "affected_documents": []}  # fmt: skip
    cr = propose(demo, first, RETURNED["propose"])
    chapter = next(rel for rel in chapter_texts(source, a1_commit) if rel.endswith("03-execution.md"))
    before = demo.read(chapter)
    after = before.replace(section_text(before, "3.2"), section_text(source.show(a1_commit, chapter), "3.2"), 1)
    demo.write(chapter, after)
    demo.commit(f"{cr}: 缩短报价有效期", RETURNED["propose"])
    demo.manual("approve", cr, "--role", "编制", "--key", str(demo.key("zhang.wei")), at=RETURNED["submit"])
    demo.commit(f"{cr} submitted (编制 signed)", RETURNED["submit"])
    demo.manual("return", cr, "--role", "审核", "--key", str(demo.key("li.na")), "--reason", RETURNED["reason"], at=RETURNED["return"])
    demo.write(chapter, before)
    demo.commit(f"{cr} returned by 审核; its edit withdrawn", RETURNED["return"])
    return cr


def review_round(demo: Demo, secrets: Path) -> None:
    """``manual review-copy``; the reviewer's comments, written into the copy as Word writes them;
    ``manual import-review``; ``manual answer`` for each opinion (one accepted, one rejected)."""
    cr, opinions = str(REVIEW_ROUND["request"]), REVIEW_ROUND["opinions"]
    assert isinstance(opinions, tuple)
    copy = secrets / f"{cr}_征求意见稿.docx"
    demo.manual("review-copy", cr, "-o", str(copy), at=str(REVIEW_ROUND["copy"]))
    reviewed = secrets / f"{cr}_征求意见稿_李娜.docx"
    reviewed.write_bytes(with_comments(copy.read_bytes(), [(find, who, when, text) for find, who, when, text, _, _ in opinions]))
    demo.manual("import-review", str(reviewed), "--cr", cr, "--reviewer", str(REVIEW_ROUND["reviewer"]), at=str(REVIEW_ROUND["import"]))
    demo.commit(f"{cr}: 审核意见 of 李娜 imported", str(REVIEW_ROUND["import"]))
    for number, (_, _, _, _, decision, reason) in enumerate(opinions, start=1):
        demo.manual("answer", cr, str(number), f"--{decision}", "--reason", reason, "--editor", str(REVIEW_ROUND["editor"]), at=str(REVIEW_ROUND["answers"]))
    demo.commit(f"{cr}: 处理意见 to both opinions", str(REVIEW_ROUND["answers"]))


def with_comments(docx: bytes, comments: Sequence[tuple[str, str, str, str]]) -> bytes:
    """``docx`` with a comment on the first run holding each text (``w:commentRangeStart`` and
    ``End`` around that run, a ``w:commentReference`` run, the comment in ``word/comments.xml``)."""
    import io
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    from lxml import etree

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    body = etree.fromstring(parts["word/document.xml"])
    items = []
    for cid, (find, author, when, text) in enumerate(comments):
        t = next(t for t in body.iter(f"{{{w}}}t") if t.text and find in t.text)
        run = t.getparent()
        parent = run.getparent()
        start, end = etree.Element(f"{{{w}}}commentRangeStart"), etree.Element(f"{{{w}}}commentRangeEnd")
        start.set(f"{{{w}}}id", str(cid))
        end.set(f"{{{w}}}id", str(cid))
        parent.insert(parent.index(run), start)
        parent.insert(parent.index(run) + 1, end)
        ref = etree.fromstring(f'<w:r xmlns:w="{w}"><w:commentReference w:id="{cid}"/></w:r>')
        parent.insert(parent.index(end) + 1, ref)
        items.append(f'<w:comment w:id="{cid}" w:author={quoteattr(author)} w:date="{when}" w:initials="李"><w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p></w:comment>')
    parts["word/document.xml"] = etree.tostring(body, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["word/comments.xml"] = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments xmlns:w="{w}">{"".join(items)}</w:comments>'.encode()
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdReview1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml"/></Relationships>',
    ).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace(
        "</Types>", '<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/></Types>'
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def training(demo: Demo, version: str, departments: Sequence[str]) -> None:
    day, now, attendees, evidence = TRAINING[version]
    names, trainer = TRAINED[version]
    trained = [d for d in departments if d in names] if names else list(departments)
    demo.manual(
        "training", version, "--date", day, "--departments", *trained, "--attendees", str(attendees),
        "--record", evidence, "--key", str(demo.key(trainer)), at=now,
    )  # fmt: skip
    demo.commit(f"{version} training recorded ({day})", now)


COPIES_SIGNER = "zhao.min"  # 销售管理部 issues and recalls the controlled copies, signing each record


def distribute(demo: Demo) -> None:
    for holder, department, count in COPIES:
        demo.manual("distribute", "A/1", "--holder", holder, "--department", department, "--copies", str(count), "--key", str(demo.key(COPIES_SIGNER)), at=DISTRIBUTED)
    demo.commit("Controlled copies of A/1 issued", DISTRIBUTED)


def recall(demo: Demo) -> None:
    numbers = sorted(p.stem for p in (demo.root / "changelog" / "copies").glob("A-1-*.yml") if not p.stem.endswith("-recall"))
    if len(numbers) != len(RECALLS):
        raise Failed(f"expected {len(RECALLS)} copies of A/1, found {numbers}")
    for number, (day, retained) in zip(numbers, RECALLS, strict=True):
        now = at(day, "16:00:00")
        demo.manual("recall", number, "--date", day, *(["--retained"] if retained else []), "--key", str(demo.key(COPIES_SIGNER)), at=now)
        demo.commit(f"{number} {'kept as 作废留存' if retained else 'recalled'}", now)


def review(demo: Demo, source: Source) -> None:
    for name in source.files("HEAD", "changelog/reviews"):
        r = source.yaml("HEAD", f"changelog/reviews/{name}")
        now = str(r["signed_at"])
        demo.manual("review", str(r["chapter"]), "--key", str(demo.key(str(r["reviewer"]))), "--conclusion", str(r["conclusion"]), at=now)
        demo.commit(f"Periodic review of chapter {r['chapter']} ({r['reviewed_on']}), signed by {r['name']}", now)


def revoke_and_replace(demo: Demo, keys: Mapping[str, str]) -> None:
    """李娜's key is revoked at once (8.2 四); her new key enters the registry by a change request
    listing ``policy``, approved by the signers in force (the registry of the last release) and
    released as B/2: the chain of trust admits no other way."""
    signer = REVOKED["signer"]
    demo.manual(
        "revoke-key", signer, "--at", REVOKED["at"], "--reason", REVOKED["reason"], "--key", str(demo.key(REVOKED["by"])), at=REVOKED["now"]
    )
    demo.commit(f"{signer}'s key revoked", REVOKED["now"])
    new_key = demo.public(demo.keygen(signer, f"{signer}-2"))
    registry = registry_with_keys(demo.read("manual/policy.yml"), {signer: new_key})
    title = "更换李娜的签署密钥（原密钥已停用）"
    proposed = demo.manual(
        "propose", "--class", "minor", "--sections", "policy", "--title", title, "--reason", REVOKED["reason"],
        "--summary", "签署人名录：李娜的原密钥停用，登记新密钥", "--applicant", "赵敏", "--department", "质量管理部", "--no-training",
        at=REGISTRY_PROPOSED,
    )  # fmt: skip
    m = re.search(r"CR-\d{4}-\d{3}", proposed.stdout)
    if m is None:
        raise Failed(f"manual propose printed no change request id:\n{proposed.stdout}")
    cr = m.group()
    demo.write("manual/policy.yml", registry)
    demo.commit(f"{cr}: {title}", REGISTRY_PROPOSED)
    for role, who, now in REGISTRY_APPROVALS:
        demo.manual("approve", cr, "--role", role, "--key", str(demo.key(who)), at=now)
    demo.commit(f"{cr} approved by the signers in force", REGISTRY_APPROVALS[-1][2])
    published, effective = REGISTRY_RELEASE
    demo.manual("release", "--published", published, "--effective", effective, at=at(published, "11:00:00"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("directory", type=Path, help="the new repository (must not exist, or be empty)")
    parser.add_argument("--source", type=Path, default=PROJECT, help="the project repository to take the releases from")
    args = parser.parse_args(argv)
    target: Path = args.directory.resolve()
    if target.exists() and any(target.iterdir()):
        print(f"reenact: {target} exists and is not empty", file=sys.stderr)
        return 2
    secrets = Path(tempfile.mkdtemp(prefix="manual-demo-keys-"))
    try:
        demo = reenact(target, Source(args.source.resolve()), secrets)
        check = demo.manual("check", at=END, check=False)
        audit = demo.manual("audit", at=END, check=False)
    except Failed as exc:
        print(f"reenact: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(secrets, ignore_errors=True)  # the private keys never outlive the run
    print("\n".join(demo.log))
    print(check.stdout + check.stderr + audit.stdout + audit.stderr, end="")
    print(f"reenact: demo history in {target} ({END[:10]}); keys deleted")
    return 0 if check.returncode == 0 and audit.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
