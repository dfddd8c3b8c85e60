"""Real git repositories for the tests of chapter 8's revision procedure (no mocks).

:class:`RevisionRepo` builds, in a temporary folder, a git repository holding a copy of the
project's ``manual/`` and ``templates/``, an empty ``changelog/``, and a registry of approvers
whose ed25519 keys are generated there with ``ssh-keygen``. Git runs with a fixed identity, pinned
dates, its own HOME and no system or global configuration; signing by git is off.

The repository is then driven the way people drive the real one (see ``git log`` of the project):
``propose`` → edit sections → ``approve`` (each role with the signer's own key) → ``commit`` →
``release``. :meth:`RevisionRepo.first_release` makes A/0 and :meth:`RevisionRepo.demo_history`
the four releases A/0, A/1, B/0 and B/1 that later tests (site, audit) can reuse.

Building keys and releases costs time, so tests build a repository once and copy it
(:meth:`RevisionRepo.copy_to`). :meth:`RevisionRepo.manual` runs the ``manual``
CLI's ``main`` in this process, in the repository and with exactly the repository's environment,
which saves the interpreter start; ``process=True`` runs the installed console script in a
subprocess instead, and the building steps (:meth:`RevisionRepo.run`) do so for every call with
``in_process=False``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent

GIT_NAME = "测试编制人"
GIT_EMAIL = "author@example.com"
GIT_DATE = "2026-01-01T09:00:00+08:00"
if TYPE_CHECKING:
    from pytest import TempPathFactory

TODAY = "2026-12-01"  # default MANUAL_TODAY: after B/1 was published, before it takes effect
ALL_SECTIONS = tuple(f"{c}.{s}" for c in range(1, 9) for s in range(1, 5))


# Page numbers of the tables of contents are laid out by LibreOffice once per draft DOCX and
# kept in a cache keyed by the draft's digest (documents/toc.py). One cache serves every test and
# xdist worker of a run: tests/conftest.py makes it when the run starts and removes it at the end,
# so a run on a developer's machine lays out as much as one on a fresh CI machine.
LAYOUT_CACHE_VARIABLE = "MANUALKIT_TEST_LAYOUT_CACHE"


def layout_cache() -> str:
    return os.environ.get(LAYOUT_CACHE_VARIABLE) or os.path.join(tempfile.gettempdir(), f"manualkit-test-layout-{os.getuid()}")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    department: str
    roles: tuple[str, ...]
    registered: bool = True  # False: has a key, but is not in the policy's registry


PEOPLE: tuple[Person, ...] = (
    Person("zhang.wei", "张伟", "销售管理部", ("编制",)),
    Person("li.na", "李娜", "质量管理部", ("审核",)),
    Person("wang.fang", "王芳", "法务合规部", ("会签",)),
    Person("chen.gang", "陈刚", "总经理办公室", ("批准",)),
    Person("liu.yang", "刘洋", "人力资源部", ("编制",)),
    Person("zhao.min", "赵敏", "销售管理部", ("编制", "审核")),  # two roles
    Person("sun.li", "孙丽", "信息技术部", ()),  # in the registry, may sign no role
    Person("outsider", "外部人员", "外部", (), registered=False),  # key not registered
)
SIGNER = {"编制": "zhang.wei", "审核": "li.na", "会签": "wang.fang", "批准": "chen.gang"}
CONSULTATION_RECORD = "职工代表大会讨论协商通过，并在公司内网公示 10 日"


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def codes(self) -> set[str]:
        """The diagnostic codes (MANnnn) printed."""
        return set(re.findall(r"\bMAN\d{3}\b", self.output))


@dataclass(frozen=True)
class RepoState:
    """What "nothing was written" compares: HEAD, every ref, git status and every file's bytes."""

    head: str
    refs: str
    status: str
    files: Mapping[str, str]  # path → sha256 of the working-tree file
    pending_journal: bool


class CommandFailed(AssertionError):
    pass


def manual_command() -> list[str]:
    script = Path(sys.executable).parent / "manual"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "manualkit.cli"]


def main_in_process(args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Result:
    """The ``manual`` CLI's ``main(args)`` in this process, as the console script runs it in ``cwd``
    with exactly ``env`` as its environment: what it prints and the exit status it returns (or
    exits with). Nothing the package reads is fixed when it is imported: the time zone is the
    policy's, ``os.environ`` is read when a command runs, and git runs as a process with it."""
    from manualkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    with _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        os.chdir(cwd)
        try:
            code = main(list(args))
        except SystemExit as exc:  # as the interpreter turns it into an exit status
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os.chdir(before)
    return Result(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``env`` inside (for a building step run in this process)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class RevisionRepo:
    """A controlled-document repository in ``base/repo`` with keys in ``base/keys``."""

    def __init__(self, base: Path, *, in_process: bool = True, _build: bool = True) -> None:
        self.base = base
        self.root = base / "repo"
        self.home = base / "home"
        self.keys = base / "keys"
        self.in_process = in_process
        self.today = TODAY
        if _build:
            self._build()

    # --- building -------------------------------------------------------------------------

    def _build(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True)
        shutil.copytree(PROJECT_ROOT / "manual", self.root / "manual")
        shutil.copytree(PROJECT_ROOT / "templates", self.root / "templates")
        (self.root / "changelog").mkdir()
        for person in PEOPLE:
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", person.id, "-f", str(self.keys / person.id)],
                check=True, capture_output=True, stdin=subprocess.DEVNULL, env=self.env(),
            )  # fmt: skip
        self._write_registry()
        self.git("init", "--quiet", "--initial-branch=main")
        for key, value in (
            ("user.name", GIT_NAME),
            ("user.email", GIT_EMAIL),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("core.autocrlf", "false"),
        ):
            self.git("config", "--local", key, value)
        self.commit("手册初稿与修订政策；登记签署人（仅公钥）")

    def _write_registry(self) -> None:
        """Replace the ``approvers:`` block of the policy with the people generated here."""
        path = self.root / "manual" / "policy.yml"
        lines = path.read_text(encoding="utf-8").split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith("approvers:"))
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"[A-Za-z_]", lines[i])), len(lines))
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        block = ["approvers:"]
        for p in PEOPLE:
            if p.registered:
                block += [
                    f"  - id: {p.id}",
                    f"    name: {p.name}",
                    f"    department: {p.department}",
                    f"    roles: [{', '.join(p.roles)}]",
                    f"    key: {self.public_key(p.id)}",
                ]
        lines[start:end] = block
        text = "\n".join(lines)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")

    @classmethod
    def open(cls, base: Path, *, in_process: bool = True) -> RevisionRepo:
        """A repository built earlier in ``base`` (e.g. a copy)."""
        repo = cls(base, in_process=in_process, _build=False)
        if not (repo.root / ".git").is_dir():
            raise FileNotFoundError(f"no repository in {repo.root}")
        return repo

    def copy_to(self, base: Path) -> RevisionRepo:
        """A copy of the whole thing (repository, keys, HOME) in ``base``; much cheaper than a build."""
        shutil.copytree(self.base, base, symlinks=True)
        copy = RevisionRepo.open(base, in_process=self.in_process)
        copy.today = self.today
        return copy

    # --- environment and commands ------------------------------------------------------------

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "Asia/Shanghai",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": GIT_NAME,
            "GIT_AUTHOR_EMAIL": GIT_EMAIL,
            "GIT_COMMITTER_NAME": GIT_NAME,
            "GIT_COMMITTER_EMAIL": GIT_EMAIL,
            "GIT_AUTHOR_DATE": GIT_DATE,
            "GIT_COMMITTER_DATE": GIT_DATE,
            "MANUAL_TODAY": self.today,
            "MANUAL_LAYOUT_CACHE": layout_cache(),
        }
        if extra:
            env.update(extra)
        return env

    def git(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=self.env(env), capture_output=True, check=False, stdin=subprocess.DEVNULL
        )
        out = proc.stdout.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            raise CommandFailed(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode('utf-8', 'replace')}")
        return out

    def manual(
        self, *args: str, env: Mapping[str, str] | None = None, check: bool = False, timeout: float | None = None, process: bool = False
    ) -> Result:
        """The real ``manual`` CLI with cwd = the repository and exactly :meth:`env` as the
        environment: its ``main`` in this process (the interpreter start is most of a short
        command's time), or the installed console script in a subprocess with ``process=True``, a
        ``timeout`` or a fault to inject, for what only a whole process shows (a hang, a kill)."""
        if process or timeout is not None or "MANUAL_FAULT_INJECT" in (env or {}):
            proc = subprocess.run(
                [*manual_command(), *args],
                cwd=self.root, env=self.env(env), capture_output=True, timeout=timeout or 120, check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            result = Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
        else:
            result = main_in_process(args, self.root, self.env(env))
        if check and result.code != 0:
            raise CommandFailed(f"manual {' '.join(args)} exited {result.code}:\n{result.output}")
        return result

    def run(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> Result:
        """A building step (checked by default), in this process unless ``in_process`` is off."""
        return self.manual(*args, env=env, check=check, process=not self.in_process)

    # --- people --------------------------------------------------------------------------------

    def person(self, who: str) -> Person:
        """A person by id (``zhang.wei``) or by the part before the dot (``zhang``)."""
        return next(p for p in PEOPLE if who in (p.id, p.id.split(".")[0]))

    def key(self, who: str) -> Path:
        return self.keys / self.person(who).id

    def public_key(self, who: str) -> str:
        return " ".join((self.keys / f"{self.person(who).id}.pub").read_text().split()[:2])

    # --- the revision procedure ----------------------------------------------------------------

    def propose(
        self,
        class_key: str,
        sections: Sequence[str],
        *,
        title: str | None = None,
        reason: str = "业务实践变化，条款需相应调整",
        summary: str | None = None,
        applicant: str = "张伟",
        today: str | None = None,
        consultation: str | None = None,
    ) -> str:
        """``manual propose``; returns the new change request's id.

        ``consultation`` (a date) fills in the staff consultation record that chapter-5 changes need.
        """
        args = [
            "propose", "--class", class_key, "--sections", ",".join(sections), "--title", title or f"修订第 {'、'.join(sections)} 节",
            "--reason", reason, "--applicant", applicant,
        ]  # fmt: skip
        if summary:
            args += ["--summary", summary]
        result = self.run(*args, env={"MANUAL_TODAY": today or self.today})
        m = re.search(r"CR-\d{4}-\d{3}", result.stdout)
        if m is None:
            raise CommandFailed(f"manual propose printed no change request id:\n{result.output}")
        if consultation:
            self.fill_consultation(m.group(), consultation)
        return m.group()

    def request_path(self, cr: str) -> Path:
        return self.root / "changelog" / "requests" / f"{cr}.yml"

    def fill_consultation(self, cr: str, day: str, record: str = CONSULTATION_RECORD) -> None:
        """Record the staff consultation (劳动合同法第四条) in the change request, as an editor would."""
        path = self.request_path(cr)
        text = path.read_text(encoding="utf-8")
        old = "staff_consultation:\n  required: true\n  done: false\n"
        if old not in text:
            raise CommandFailed(f"{cr} has no open staff consultation block")
        path.write_text(text.replace(old, f"staff_consultation:\n  required: true\n  done: true\n  date: {day}\n  record: {record}\n"), encoding="utf-8")

    def chapter_path(self, section_id: str) -> Path:
        number = int(section_id.split(".")[0])
        return next((self.root / "manual").glob(f"{number:02d}-*.md"))

    def append_to_section(self, section_id: str, text: str) -> None:
        """Add a paragraph at the end of the section's body in its chapter file."""
        path = self.chapter_path(section_id)
        lines = path.read_text(encoding="utf-8").split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith(f"## {section_id} "))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "# "))), len(lines))
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        lines[end:end] = ["", text]
        path.write_text("\n".join(lines), encoding="utf-8")

    def replace_in_manual(self, path: str, old: str, new: str) -> None:
        """Replace the first ``old`` in a file (``manual/…``, ``changelog/…``, or a name in manual/)."""
        target = self.root / (path if "/" in path else f"manual/{path}")
        text = target.read_text(encoding="utf-8")
        if old not in text:
            raise CommandFailed(f"{old!r} not found in {path}")
        target.write_text(text.replace(old, new, 1), encoding="utf-8")

    def approve(self, cr: str, role: str, person: str | None = None, now: str | None = None, *, check: bool = True) -> Result:
        """``manual approve CR --role ROLE --key <person's key>`` at ``now`` (ISO 8601)."""
        who = person or SIGNER[role]
        return self.run(
            "approve", cr, "--role", role, "--key", str(self.key(who)),
            env={"MANUAL_NOW": now or f"{self.today}T10:00:00+08:00"}, check=check,
        )  # fmt: skip

    def roles_for(self, class_key: str) -> tuple[str, ...]:
        from manualkit.records.policy import parse_policy

        policy, _ = parse_policy((self.root / "manual" / "policy.yml").read_text(encoding="utf-8"))
        assert policy is not None
        return policy.classes[class_key].roles

    def approve_all(self, cr: str, day: str | None = None) -> None:
        """Every role the change request's class needs, each by its usual signer, one hour apart."""
        text = self.request_path(cr).read_text(encoding="utf-8")
        m = re.search(r"^class: (\w+)", text, re.MULTILINE)
        assert m is not None
        for hour, role in enumerate(self.roles_for(m.group(1)), start=9):
            self.approve(cr, role, now=f"{day or self.today}T{hour:02d}:00:00+08:00")

    def commit(self, message: str, *, date: str | None = None) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message, env={"GIT_AUTHOR_DATE": date or GIT_DATE, "GIT_COMMITTER_DATE": date or GIT_DATE})
        return self.head()

    def release(self, published: str, effective: str, *, check: bool = True, env: Mapping[str, str] | None = None) -> Result:
        """``manual release --published … --effective …`` (it commits and tags by itself)."""
        return self.run(
            "release", "--published", published, "--effective", effective,
            env={"MANUAL_TODAY": published, **(env or {})}, check=check,
        )  # fmt: skip

    def release_cli(self, published: str, effective: str, *, env: Mapping[str, str] | None = None) -> Result:
        """``manual release`` run as a process on the publication day (today = ``published``)."""
        return self.manual(
            "release", "--published", published, "--effective", effective, env={"MANUAL_TODAY": published, **(env or {})}, process=True
        )

    def prepared(self, class_key: str, sections: Sequence[str], *, day: str, text: str | None = None, consultation: str | None = None) -> str:
        """propose → edit every listed section → approve all roles → commit; returns the CR id."""
        cr = self.propose(class_key, sections, today=day, consultation=consultation)
        for sid in sections:
            self.append_to_section(sid, text or f"（{cr}）本节的补充规定自本版本实施之日起执行，各部门应据此调整相关作业指导书。")
        self.approve_all(cr, day)
        self.commit(f"{cr}: approved")
        return cr

    def first_release(self) -> str:
        """A/0: one major change request for all 32 sections, signed in every role."""
        cr = self.propose(
            "major", ALL_SECTIONS, title="首次发布", reason="建立销售业务流程的受控文件", today="2025-11-10", consultation="2025-11-20"
        )
        self.approve_all(cr, "2025-11-25")
        self.commit(f"{cr}: first edition of the manual, approved")
        self.release("2025-12-01", "2026-01-01")
        return cr

    def demo_history(self) -> None:
        """A/0; A/1 (a minor and an editorial request, bundled); B/0 (major, chapter 5, with the
        staff consultation record); B/1 (minor), approved but taking effect after today (2027-01-15).
        """
        if not (self.root / "changelog" / "releases" / "A-0.yml").exists():
            self.first_release()
        minor = self.propose("minor", ["3.2"], title="缩短报价有效期", today="2026-02-10")
        self.append_to_section("3.2", "报价单的有效期为 15 日；超过有效期的报价须重新审批。")
        editorial = self.propose("editorial", ["1.3", "7.1"], title="更正范围表述与系统名称", today="2026-02-10")
        self.append_to_section("1.3", "本节所称“销售业务”包括线上和线下渠道的销售活动。")
        self.append_to_section("7.1", "本手册所称“客户关系管理系统”即 CRM 系统。")
        self.approve_all(minor, "2026-02-20")
        self.approve_all(editorial, "2026-02-20")
        self.commit(f"{minor}, {editorial} approved")
        self.release("2026-03-01", "2026-03-16")
        major = self.propose("major", ["5.1", "6.2"], title="调整考核权重并加强信用风险控制", today="2026-04-20", consultation="2026-05-08")
        self.append_to_section("5.1", "考核结果应在公示期满后方可用于绩效工资的计算。")
        self.append_to_section("6.2", "新客户首单实行款到发货；信用额度每半年复核一次。")
        self.approve_all(major, "2026-05-12")
        self.commit(f"{major} approved")
        self.release("2026-06-01", "2026-07-01")
        later = self.propose("minor", ["2.2", "4.3"], title="推行电子合同并明确电子档案归档要求", today="2026-11-02")
        self.append_to_section("2.2", "销售合同原则上以电子合同签订，电子合同的签署应使用公司认可的电子签名。")
        self.append_to_section("4.3", "电子合同及其签署记录按电子档案归档，保存期限与纸质合同相同。")
        self.approve_all(later, "2026-11-10")
        self.commit(f"{later} approved")
        self.release("2026-11-27", "2027-01-15")

    # --- observing -----------------------------------------------------------------------------

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tags(self) -> list[str]:
        return self.git("tag", "--list").split()

    def porcelain(self, *paths: str) -> str:
        return self.git("status", "--porcelain=v1", "--untracked-files=all", "--", *paths)

    def state(self) -> RepoState:
        files = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if rel.parts[0] != ".git" and path.is_file():
                files[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        return RepoState(
            head=self.head(),
            refs=self.git("for-each-ref", "--format=%(refname) %(objectname)"),
            status=self.git("status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
            files=files,
            pending_journal=(self.root / ".git" / "manual-release-pending").exists(),
        )

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")


def plus_days(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


# --- histories shared by the whole test session ---------------------------------------------------

_shared: dict[tuple[Path, str], RevisionRepo] = {}

#: A folder for the whole run, shared by every pytest-xdist worker (made by tests/conftest.py).
SHARED_VARIABLE = "MANUALKIT_TEST_SHARED"


def built_once(name: str, make: Callable[[Path], None], factory: TempPathFactory) -> Path:
    """``<run folder>/<name>``, made by ``make(folder)`` once for the whole run: the first worker
    to ask makes it under a lock while the others wait, then every worker reads the same folder
    (take a copy; never change it). Outside a run that set up the folder (tests/conftest.py), a
    folder of this process, made on every call."""
    top = os.environ.get(SHARED_VARIABLE)
    if not top:
        folder = factory.mktemp(name)
        make(folder)
        return folder
    import fcntl

    done = Path(top) / name
    with open(Path(top) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_dir():
            work = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=top))
            make(work)
            work.rename(done)  # complete or absent: a worker that failed half-way leaves no "done"
    return done


def shared_history(factory: TempPathFactory, kind: Literal["released", "demo"]) -> RevisionRepo:
    """A history built once per test run for every module that needs it: ``"released"`` is A/0
    (:meth:`RevisionRepo.first_release`), ``"demo"`` adds A/1, B/0 and B/1
    (:meth:`RevisionRepo.demo_history`). Under pytest-xdist one worker signs it and the others
    wait for it (:func:`built_once`). Never run a command in it (commands leave caches under
    ``.git/manualkit/``): take a :meth:`RevisionRepo.copy_to`, which is much cheaper than signing a
    history again."""
    key = (factory.getbasetemp(), kind)
    if key not in _shared:

        def make(base: Path) -> None:
            if kind == "released":
                RevisionRepo(base).first_release()
            else:
                shared_history(factory, "released").copy_to(base / "t").demo_history()

        folder = built_once(f"history-{kind}", make, factory)
        _shared[key] = RevisionRepo.open(folder if kind == "released" else folder / "t")
    return _shared[key]
