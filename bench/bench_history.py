"""Benchmark of the auditors' commands on a generated long history (run on demand; not a test).

Generates, by script, a repository of 1,000 releases over 10,000 commits — the real manual,
real change requests with real SSH approvals (SSHSIG made with Python's cryptography, verified by
the same code as ``ssh-keygen``-made ones), real release records, tags and 修订记录 — with
``git fast-import``, then times whole ``manual`` processes next to ``git diff --stat``:

* ``manual history`` (cold: no cache under ``.git/manualkit/``; warm: the cache of a previous run),
* ``manual show --as-of DATE``,
* ``manual diff`` between two versions 800 releases apart, and between two versions 10 apart
  (the cost must not grow with the number of commits between them),
* ``git diff --stat`` between the same two release commits.

Usage: ``python bench/bench_history.py [--releases N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from manualkit.records.change_request import approval_digest, approval_message, parse_change_request
from manualkit.records.release import ReleaseRecord, SignedApproval, record_text, revision_history_text
from manualkit.records.version import Version
from manualkit.text.chapter import Chapter, parse_chapter
from manualkit.text.manual import Manual
from manualkit.text.metadata import parse_metadata

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUNS = 11
PAIR_RUNS = 21  # the ratio is the target: more runs, a steadier median
COLD_RUNS = 3  # the first command in a new clone: every release verified, every chapter read
COMMITS_PER_RELEASE = 10
NAMESPACE = "manual-approval@xs-qm-01"
TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    department: str
    roles: tuple[str, ...]


PEOPLE = (
    Person("zhang.wei", "张伟", "销售管理部", ("编制",)),
    Person("li.na", "李娜", "质量管理部", ("审核",)),
    Person("wang.fang", "王芳", "法务合规部", ("会签",)),
    Person("chen.gang", "陈刚", "总经理办公室", ("批准",)),
)
SIGNER = {role: p for p in PEOPLE for role in p.roles}
MEANING = {
    "编制": "编制人对修订内容的准确性和完整性负责",
    "审核": "审核人确认修订内容符合公司制度和业务实际",
    "会签": "法务合规部确认修订内容符合法律法规",
    "批准": "批准人批准修订内容发布施行",
}
ROLES = {"major": ("编制", "审核", "会签", "批准"), "minor": ("编制", "审核", "批准"), "editorial": ("编制", "审核")}
NOTICE = {"major": 30, "minor": 7, "editorial": 0}
CLASS_NAME = {"major": "重大修订", "minor": "一般修订", "editorial": "编辑性修改"}
PHRASES = (
    "报价审批应在系统中留痕", "客户信用额度每季度复核", "合同评审结论须书面确认", "发货前应核对收款状态",
    "退货申请须在五个工作日内处理", "销售数据按月归档备查", "大额订单须经财务部会签", "客户投诉应在两日内回复",
)  # fmt: skip


# --- SSH signatures (SSHSIG, as ``ssh-keygen -Y sign`` writes them) -------------------------------


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


class Key:
    def __init__(self, person: Person) -> None:
        seed = hashlib.sha256(f"bench-key:{person.id}".encode()).digest()
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_line = self.private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
        self.blob = base64.b64decode(self.public_line.split()[1])

    def sign(self, message: bytes) -> str:
        signed = b"SSHSIG" + _string(NAMESPACE.encode()) + _string(b"") + _string(b"sha512") + _string(hashlib.sha512(message).digest())
        signature = _string(b"ssh-ed25519") + _string(self.private.sign(signed))
        blob = b"SSHSIG" + struct.pack(">I", 1) + _string(self.blob) + _string(NAMESPACE.encode()) + _string(b"") + _string(b"sha512") + _string(signature)
        text = base64.b64encode(blob).decode()
        lines = [text[i : i + 70] for i in range(0, len(text), 70)]
        return "\n".join(["-----BEGIN SSH SIGNATURE-----", *lines, "-----END SSH SIGNATURE-----"])


# --- git objects ---------------------------------------------------------------------------------


def blob_id(data: bytes) -> bytes:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).digest()


def tree_id(files: dict[str, bytes]) -> str:
    """The git tree hash of a flat directory (what ``git rev-parse C:manual`` prints)."""
    body = b"".join(b"100644 " + name.encode() + b"\0" + blob_id(files[name]) for name in sorted(files))
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


class Stream:
    """A ``git fast-import`` stream of one linear branch."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0

    def commit(self, when: dt.datetime, message: str, files: dict[str, bytes]) -> int:
        self.mark += 1
        stamp = f"{int(when.timestamp())} +0800"
        msg = message.encode()
        out = [
            b"commit refs/heads/main\n",
            b"mark :%d\n" % self.mark,
            f"author 测试编制人 <author@example.com> {stamp}\n".encode(),
            f"committer 测试编制人 <author@example.com> {stamp}\n".encode(),
            b"data %d\n" % len(msg) + msg + b"\n",
        ]
        if self.mark > 1:
            out.append(b"from :%d\n" % (self.mark - 1))
        for path, data in files.items():
            out.append(f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(data) + data + b"\n")
        self.parts.append(b"".join(out) + b"\n")
        return self.mark

    def tag(self, name: str, mark: int) -> None:
        self.parts.append(f"reset refs/tags/{name}\nfrom :{mark}\n\n".encode())


# --- the history ---------------------------------------------------------------------------------


def policy_text(keys: dict[str, Key]) -> str:
    text = (ROOT / "manual" / "policy.yml").read_text(encoding="utf-8")
    text = re.sub(r"^revision_limit: \d+", "revision_limit: 99", text, flags=re.MULTILINE)
    text = text[: re.search(r"^approvers:", text, re.MULTILINE).start()] + "approvers:\n"  # type: ignore[union-attr]
    for p in PEOPLE:
        text += f"  - id: {p.id}\n    name: {p.name}\n    department: {p.department}\n    roles: [{', '.join(p.roles)}]\n    key: {keys[p.id].public_line}\n"
    return text


class Generator:
    def __init__(self, releases: int) -> None:
        self.releases = releases
        self.keys = {p.id: Key(p) for p in PEOPLE}
        self.files: dict[str, bytes] = {}
        for path in sorted((ROOT / "manual").glob("*")):
            self.files[f"manual/{path.name}"] = path.read_bytes()
        self.files["manual/policy.yml"] = policy_text(self.keys).encode()
        meta, _ = parse_metadata(self.files["manual/manual.yml"].decode())
        assert meta is not None
        self.meta = meta
        self.chapters = {f"manual/{name}": i for i, name in enumerate(meta.chapter_files, start=1)}
        self.parsed: dict[str, Chapter] = {}
        self.per_year: dict[int, int] = {}
        self.records: list[ReleaseRecord] = []
        self.stream = Stream()
        self.release_marks: list[int] = []
        self.noise = 0

    def manual(self) -> Manual:
        chapters = []
        for path, position in self.chapters.items():
            key = hashlib.sha1(self.files[path]).hexdigest()
            if key not in self.parsed:
                parsed = parse_chapter(path, self.files[path].decode(), position, self.meta.departments, frozenset(self.files))
                assert parsed.chapter is not None, path
                self.parsed[key] = parsed.chapter
            chapters.append(self.parsed[key])
        return Manual(self.meta, tuple(chapters))

    def section_ids(self) -> list[str]:
        return self.manual().section_ids()

    def edit_section(self, sid: str, k: int) -> None:
        """Replace (or add) the section's revision paragraph: a sentence that differs per release."""
        number = int(sid.split(".")[0])
        path = next(p for p, pos in self.chapters.items() if pos == number)
        text = self.files[path].decode()
        lines = text.split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith(f"## {sid} "))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "# "))), len(lines))
        phrase = PHRASES[k % len(PHRASES)]
        sentence = f"本节补充规定（第 {k} 次发布）：{phrase}，相关记录保存 {k % 9 + 2} 年。"
        marker = next((i for i in range(start, end) if lines[i].startswith("本节补充规定")), None)
        if marker is not None:
            lines[marker] = sentence
        else:
            while end > start + 1 and not lines[end - 1].strip():
                end -= 1
            lines[end:end] = ["", sentence]
        self.files[path] = "\n".join(lines).encode()

    def request_text(self, cr_id: str, k: int, class_key: str, sections: list[str], day: dt.date, approvals: list[str]) -> str:
        current = str(self.records[-1].version) if self.records else "（首次发布）"
        consult = any(s.startswith("5.") for s in sections)
        lines = [
            "# 文件修订申请单 (change request). Generated by bench/bench_history.py.",
            f"id: {cr_id}",
            "document:",
            f"  title: {self.meta.title}",
            f"  number: {self.meta.document_number}",
            f"  current_version: {current}",
            f"title: 第 {k} 次修订",
            f"class: {class_key}",
            "reason: 业务实践变化，条款需相应调整",
            f"sections: [{', '.join(repr(s) for s in sections)}]",
            f"summary: 修订第 {'、'.join(sections)} 节",
            "department: 销售管理部",
            "applicant: 张伟",
            f"date: {day.isoformat()}",
            f"training_required: {'true' if class_key == 'major' else 'false'}",
            "affected_documents: []",
            "staff_consultation:",
            f"  required: {'true' if consult else 'false'}",
            f"  done: {'true' if consult else 'false'}",
        ]
        if consult:
            lines += [f"  date: {day.isoformat()}", "  record: 职工代表大会讨论协商通过，并在公司内网公示 10 日"]
        lines.append("approvals:" + ("" if approvals else " []"))
        return "\n".join(lines) + "\n" + "".join(approvals)

    def run(self) -> bytes:
        start = dt.date(2001, 1, 1)
        published = start
        effective_prev: dt.date | None = None
        when = dt.datetime(2000, 12, 1, 9, 0, tzinfo=TZ)
        self.stream.commit(when, "手册初稿与修订政策", dict(self.files))
        for k in range(self.releases):
            if k == 0:
                class_key, sections = "major", self.section_ids()
            else:
                class_key = "major" if k % 50 == 0 else "editorial" if k % 7 == 0 else "minor"
                ids = [s for s in self.section_ids() if not s.startswith("5.")]
                sections = sorted({ids[(k * 7) % len(ids)], ids[(k * 13 + 5) % len(ids)]}, key=lambda s: tuple(map(int, s.split("."))))
            day = published - dt.timedelta(days=6)
            self.per_year[day.year] = self.per_year.get(day.year, 0) + 1
            cr_id = f"CR-{day.year}-{self.per_year[day.year]:03d}"
            cr_path = f"changelog/requests/{cr_id}.yml"
            commits = 0
            t = dt.datetime.combine(day, dt.time(9, 0), TZ)
            self.stream.commit(t, f"{cr_id}: propose", {cr_path: self.request_text(cr_id, k, class_key, sections, day, []).encode()})
            commits += 1
            if k:
                for sid in sections:
                    self.edit_section(sid, k)
                changed = {p: self.files[p] for p in self.chapters if any(s.split(".")[0] == str(self.chapters[p]) for s in sections)}
                self.stream.commit(t + dt.timedelta(hours=1), f"{cr_id}: draft", changed)
                commits += 1
            manual = self.manual()
            base_text = self.request_text(cr_id, k, class_key, sections, day, [])
            cr, diags = parse_change_request(cr_path, base_text.encode(), self.meta.departments)
            assert cr is not None, diags
            digest = approval_digest(cr, manual)
            entries: list[str] = []
            signed: list[SignedApproval] = []
            for hour, role in enumerate(ROLES[class_key], start=2):
                person = SIGNER[role]
                signed_at = (t + dt.timedelta(days=1, hours=hour)).isoformat(timespec="seconds")
                message = approval_message(self.meta.document_number, cr_id, role, person.id, signed_at, digest)
                signature = self.keys[person.id].sign(message)
                entries.append(
                    f"  - role: {role}\n    signer: {person.id}\n    name: {person.name}\n    meaning: {MEANING[role]}\n"
                    f"    signed_at: '{signed_at}'\n    digest: {digest}\n    signature: |\n"
                    + "".join(f"      {line}\n" for line in signature.splitlines())
                )
                signed.append(SignedApproval(cr_id, role, person.id, person.name, signed_at, digest))
                text = self.request_text(cr_id, k, class_key, sections, day, entries)
                self.stream.commit(t + dt.timedelta(days=1, hours=hour), f"{cr_id}: {role} signed", {cr_path: text.encode()})
                commits += 1
            while commits < COMMITS_PER_RELEASE - 1:
                self.noise += 1
                note = f"# 工作记录\n\n第 {self.noise} 条：与手册无关的仓库维护。\n".encode()
                self.stream.commit(t + dt.timedelta(days=2, minutes=commits), f"chore: notes {self.noise}", {"notes/log.md": note})
                commits += 1
            version = Version.first() if not self.records else self.records[-1].version.next("edition" if class_key == "major" else "revision", 99)
            effective = published + dt.timedelta(days=NOTICE[class_key])
            if effective_prev is not None and effective <= effective_prev:
                effective = effective_prev + dt.timedelta(days=1)
            manual_files = {p[len("manual/") :]: d for p, d in self.files.items() if p.startswith("manual/")}
            record = ReleaseRecord(
                version=version, class_key=class_key, published=published, effective=effective,
                previous=self.records[-1].version if self.records else None, change_requests=(cr_id,),
                sections=tuple(sections), summary=f"第 {k} 次修订", content_digest=tree_id(manual_files),
                approvals=tuple(signed), path=f"changelog/releases/{version.slug}.yml",
            )  # fmt: skip
            self.records.append(record)
            history = revision_history_text(self.records, self.meta.title)
            mark = self.stream.commit(
                dt.datetime.combine(published, dt.time(17, 0), TZ),
                f"release {version}: {record.summary}",
                {record.path: record_text(record).encode(), "changelog/revision-history.md": history.encode()},
            )
            self.stream.tag(f"release/{version.slug}", mark)
            self.release_marks.append(mark)
            effective_prev = effective
            published += dt.timedelta(days=7)
        return b"".join(self.stream.parts)


def generate(dest: Path, releases: int) -> Generator:
    dest.mkdir(parents=True)
    env = git_env()
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(dest)], check=True, env=env)
    gen = Generator(releases)
    stream = gen.run()
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], input=stream, check=True, env=env)
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard", "main"], check=True, env=env)
    return gen


def git_env() -> dict[str, str]:
    import os

    return {
        **os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    }  # fmt: skip


# --- timing --------------------------------------------------------------------------------------


def run_once(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds one whole process of ``cmd`` takes (exit 0 or 1: findings are still an answer)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()}")
    return seconds


def timed(cmd: list[str], cwd: Path, env: dict[str, str], runs: int = RUNS, before: object = None) -> float:
    samples = []
    for _ in range(runs):
        if callable(before):
            before()
        samples.append(run_once(cmd, cwd, env))
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this new directory")
    args = parser.parse_args()
    tmp = None
    if args.keep:
        repo = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="bench-history-")
        repo = Path(tmp) / "repo"
    try:
        return run(repo, args.releases)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def compile_bytecode() -> None:
    """Compile the package's bytecode first, as ``pip install`` does for an installed package: an
    editable install under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile every module
    in every timed run."""
    import compileall

    import manualkit

    compileall.compile_dir(str(Path(manualkit.__file__).parent), quiet=1)


def timed_pair(a: list[str], b: list[str], cwd: Path, env: dict[str, str], runs: int = RUNS) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` run alternately, so that both see the same machine load."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        samples[0].append(run_once(a, cwd, env))
        samples[1].append(run_once(b, cwd, env))
    return statistics.median(samples[0]), statistics.median(samples[1])


def run(repo: Path, releases: int) -> int:
    compile_bytecode()
    started = time.perf_counter()
    gen = generate(repo, releases)
    commits = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True, check=True).stdout)
    print(f"generated {len(gen.records)} releases over {commits} commits in {time.perf_counter() - started:.1f} s ({repo})")
    env = {**git_env(), "MANUAL_TODAY": (gen.records[-1].effective + dt.timedelta(days=30)).isoformat()}
    manual = str(BIN / "manual")
    cache = repo / ".git" / "manualkit"

    def drop_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    proc = subprocess.run([manual, "history", "--json"], cwd=repo, capture_output=True, env=env, check=False)
    entries = json.loads(proc.stdout)["releases"]
    invalid = [e["version"] for e in entries if not e["valid"]]
    print(f"manual history --json: {len(entries)} versions, {len(invalid)} invalid {invalid[:5]} (exit {proc.returncode})")
    if invalid or len(entries) != len(gen.records):
        print(proc.stderr.decode()[:2000])
        return 1

    n = len(gen.records)
    lo, hi = n // 10, n // 10 + min(800, n - n // 10 - 1)
    v_lo, v_hi = str(gen.records[lo].version), str(gen.records[hi].version)
    near = str(gen.records[hi - 10].version)
    middle = gen.records[n // 2].effective + dt.timedelta(days=1)
    commit_lo = f"release/{gen.records[lo].version.slug}"
    commit_hi = f"release/{gen.records[hi].version.slug}"

    diff_far, git_far = timed_pair(
        [manual, "diff", "--from", v_lo, "--to", v_hi], ["git", "diff", "--stat", commit_lo, commit_hi], repo, env, runs=PAIR_RUNS
    )
    figures = {
        "manual history (cold, no cache)": timed([manual, "history"], repo, env, runs=COLD_RUNS, before=drop_cache),
        "manual history": timed([manual, "history"], repo, env),
        f"manual show --as-of {middle}": timed([manual, "show", "--as-of", middle.isoformat()], repo, env),
        f"manual diff {v_lo} → {v_hi} ({hi - lo} releases)": diff_far,
        f"manual diff {near} → {v_hi} (10 releases)": timed([manual, "diff", "--from", near, "--to", v_hi], repo, env),
        "git diff --stat (same two commits)": git_far,
        "manual --help (interpreter + CLI start)": timed([manual, "--help"], repo, env),
    }
    print(f"\ntimes (median of {RUNS} whole-process runs, {PAIR_RUNS} for the diff and git, run alternately; cold: {COLD_RUNS} runs):")
    for label, seconds in figures.items():
        print(f"  {label:55s} {seconds:7.3f} s")
    git_time = figures["git diff --stat (same two commits)"]
    diff_near = next(v for k, v in figures.items() if "(10 releases)" in k)
    start_cost = figures["manual --help (interpreter + CLI start)"]
    print("\ntargets:")
    for label, seconds in figures.items():
        if label.startswith("manual") and "cold" not in label and "--help" not in label:
            print(f"  {label:55s} {seconds:7.3f} s  (≤ 1 s)  {'met' if seconds <= 1 else 'MISSED'}")
    cold = figures["manual history (cold, no cache)"]
    print(f"  {'first command in a new clone (cold history)':55s} {cold:7.3f} s  (≤ 2 s)  {'met' if cold <= 2 else 'MISSED'}")
    ratio = diff_far / git_time
    print(f"  manual diff / git diff --stat                           {ratio:7.1f}x   (≤ 2x)   {'met' if ratio <= 2 else 'MISSED'}")
    print(f"    without the interpreter and CLI start ({start_cost:.3f} s):        {(diff_far - start_cost) / git_time:7.1f}x")
    print(f"  diff over {hi - lo} releases / over 10 releases                {diff_far / diff_near:7.2f}x   (flat: ≈ 1x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
