"""Every file a user names, and every file the repository holds, is read bounded in size and kind.

Devices (``/dev/zero``), FIFOs, sockets and folders are refused at once with MAN768, before a byte
is read: ``manual verify /dev/zero`` used to be killed for memory, a FIFO in ``manual/`` made
``check`` wait for ever. Each case runs the real CLI in a real repository; the subprocess timeout
is only a guard against the old hang, never a speed assertion.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from revision_repo import RevisionRepo, shared_history


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "released")  # only copied, never changed


@pytest.fixture
def repo(released: RevisionRepo, tmp_path: Path) -> RevisionRepo:
    return released.copy_to(tmp_path / "c")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.docx"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "s.docx"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    try:
        yield path
    finally:
        sock.close()


def _refused(result: object, code: str = "MAN768") -> None:
    output = getattr(result, "output")  # noqa: B009
    assert code in output and "Traceback" not in output, output


@pytest.mark.parametrize("kind", ["device", "fifo", "socket", "folder"])
def test_verify_refuses_what_is_not_a_regular_file(repo: RevisionRepo, fifo: Path, unix_socket: Path, tmp_path: Path, kind: str) -> None:
    target = {"device": Path("/dev/zero"), "fifo": fifo, "socket": unix_socket, "folder": tmp_path}[kind]
    result = repo.manual("verify", str(target), timeout=60)
    assert result.code == 6, result.output
    _refused(result)


def test_verify_refuses_a_file_past_the_size_limit_without_reading_it(repo: RevisionRepo, tmp_path: Path) -> None:
    from manualkit.commands.verify import MAX_DOCX_BYTES

    huge = tmp_path / "huge.docx"
    with huge.open("wb") as fh:
        fh.truncate(MAX_DOCX_BYTES + 1)  # sparse: costs no disk
    result = repo.manual("verify", str(huge), timeout=60)
    assert result.code == 6
    _refused(result, "MAN004")


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_signing_key_that_is_not_a_regular_file_is_refused(repo: RevisionRepo, fifo: Path, kind: str) -> None:
    key = Path("/dev/zero") if kind == "device" else fifo
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "补充规定。")
    before = repo.state()
    _refused(repo.manual("approve", cr, "--role", "编制", "--key", str(key), timeout=60))
    _refused(repo.manual("review", "3", "--key", str(key), timeout=60))
    assert repo.state() == before
    docx = repo.manual("docx", env={"MANUAL_SIGNING_KEY": str(key), "MANUAL_HOME": str(repo.base / "mh")}, timeout=60)
    assert docx.code == 1 and "DOC531" in docx.output and "MAN768" in docx.output, docx.output


def test_a_fifo_in_the_manual_or_among_the_records_does_not_hang_check(repo: RevisionRepo) -> None:
    os.mkfifo(repo.root / "manual" / "09-extra.md")
    os.mkfifo(repo.root / "changelog" / "requests" / "CR-2026-099.yml")
    result = repo.manual("check", timeout=60)
    assert result.code == 1, result.output
    assert "manual/09-extra.md: MAN768" in result.stdout, result.output
    assert "changelog/requests/CR-2026-099.yml: MAN768" in result.stdout, result.output


def test_a_symlink_to_a_device_in_the_manual_is_refused(repo: RevisionRepo) -> None:
    (repo.root / "manual" / "09-extra.md").symlink_to("/dev/zero")
    result = repo.manual("check", timeout=60)
    assert result.code == 1 and "manual/09-extra.md: MAN005" in result.stdout, result.output


def test_a_fifo_among_the_trusted_certificates_does_not_hang_verify(repo: RevisionRepo, tmp_path: Path) -> None:
    (repo.root / "certs").mkdir()
    os.mkfifo(repo.root / "certs" / "release.pem")
    docx = tmp_path / "a.docx"
    env = {"MANUAL_HOME": str(repo.base / "mh")}
    assert repo.manual("docx", "-o", str(docx), env=env).code == 0
    result = repo.manual("verify", str(docx), env=env, timeout=60)
    assert result.code == 0 and "Traceback" not in result.output, result.output


@pytest.mark.parametrize("cr_id", ["../../../etc/passwd", "CR-2026-001/../../x", "/etc/hostname", "CR-２０２６-００１"])
def test_a_request_id_that_is_a_path_names_nothing(repo: RevisionRepo, tmp_path: Path, cr_id: str) -> None:
    before = repo.state()
    for args in (("approve", cr_id, "--role", "编制", "--key", str(repo.key("zhang"))), ("export-approval", cr_id, "--role", "编制", "--dir", str(tmp_path / "out"))):
        result = repo.manual(*args)
        assert result.code == 1 and "MAN646" in result.codes() and "Traceback" not in result.output, result.output
    assert repo.state() == before
    assert not (tmp_path / "out").exists()


def test_an_unforeseen_failure_is_a_coded_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """The last resort of the CLI (MAN769), for a failure no command foresaw."""
    from manualkit.cli import _failure

    assert _failure(RecursionError("maximum recursion depth exceeded")) == 1
    err = capsys.readouterr().err
    assert err.startswith(".: MAN769 内部错误（输入嵌套过深）") and "Traceback" not in err
    assert _failure(OSError(28, "No space left on device", "/tmp/x")) == 1
    assert "MAN766 磁盘空间不足" in capsys.readouterr().err


def test_writes_replace_a_planted_symlink_and_never_follow_it(repo: RevisionRepo, tmp_path: Path) -> None:
    """An output folder holding a symlink named like an output file: the link is replaced, the file
    it pointed to is untouched; the repository's write lock is never opened through a symlink."""
    from manualkit.base.lock import lock_path

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "allowed_signers").symlink_to(victim)
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "补充规定。")
    repo.approve(cr, "编制", now="2026-02-20T10:00:00+08:00")
    result = repo.manual("export-approval", cr, "--role", "编制", "--dir", str(out))
    assert result.code == 0, result.output
    assert victim.read_text() == "keep me\n"
    assert not (out / "allowed_signers").is_symlink()
    lock = lock_path(repo.root)
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    result = repo.manual("approve", cr, "--role", "审核", "--key", str(repo.key("li")))
    assert result.code == 1 and "MAN761" in result.codes() and "Traceback" not in result.output, result.output
    assert victim.read_text() == "keep me\n"


def test_a_signer_id_that_is_a_path_cannot_steer_export_approval_out_of_its_folder(repo: RevisionRepo, tmp_path: Path) -> None:
    """The files export-approval writes are named after the request and the signer: a request file
    whose approval names the signer ``../../x`` is refused by check and writes nothing anywhere."""
    cr = repo.propose("minor", ["3.2"], today="2026-02-10")
    repo.append_to_section("3.2", "补充规定。")
    repo.approve(cr, "编制", now="2026-02-20T10:00:00+08:00")
    repo.replace_in_manual(f"changelog/requests/{cr}.yml", "signer: zhang.wei", "signer: ../../planted")
    out = tmp_path / "deep" / "out"
    result = repo.manual("export-approval", cr, "--role", "编制", "--dir", str(out))
    assert result.code == 1 and "Traceback" not in result.output, result.output
    assert not list(tmp_path.rglob("planted*")) and not out.exists()
    assert "MAN107" in repo.manual("check").codes() or "MAN109" in repo.manual("check").codes()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_output_path_that_is_not_a_regular_file_is_never_replaced(repo: RevisionRepo, tmp_path: Path, kind: str) -> None:
    """``-o`` naming a FIFO or a folder (or, as root, ``/dev/null``) is refused: the rename that
    writes atomically would otherwise turn it into a regular file."""
    import stat

    target = tmp_path / "target"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    for args in (("audit", "-o", str(target)), ("show", "--format", "docx", "-o", str(target))):
        result = repo.manual(*args, timeout=60)
        assert result.code == 1 and "MAN768" in result.codes() and "Traceback" not in result.output, result.output
    mode = os.lstat(target).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISDIR(mode)


# --- base/files: the bounded read, and its follow-nothing option ---------------------------------


def _codes(attempt: Callable[[], object]) -> list[str]:
    from manualkit.base.diagnostics import ManualError

    with pytest.raises(ManualError) as e:
        attempt()
    return [d.code for d in e.value.diagnostics]


def test_read_regular_without_following_refuses_a_symlink_that_it_follows_by_default(tmp_path: Path) -> None:
    from manualkit.base.files import read_for_cache, read_regular

    target = tmp_path / "target.txt"
    target.write_bytes(b"kept\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert read_regular(link, 100) == b"kept\n"
    assert _codes(lambda: read_regular(link, 100, "link.txt", follow=False)) == ["MAN768"]
    with pytest.raises(OSError) as e:
        read_for_cache(link, 100, follow=False)
    assert e.value.errno == errno.ELOOP
    assert read_regular(target, 100, follow=False) == b"kept\n"  # a regular file is read either way
    (tmp_path / "to-device").symlink_to("/dev/zero")
    assert _codes(lambda: read_regular(tmp_path / "to-device", 100)) == ["MAN768"]
    assert _codes(lambda: read_regular(tmp_path / "to-device", 100, follow=False)) == ["MAN768"]


@pytest.mark.parametrize("follow", [True, False])
def test_a_fifo_a_device_and_a_folder_are_refused_before_a_byte_is_read(fifo: Path, tmp_path: Path, follow: bool) -> None:
    from manualkit.base.files import NotRegular, read_for_cache, read_regular

    for path in (fifo, Path("/dev/zero"), tmp_path):
        assert _codes(functools.partial(read_regular, path, 100, follow=follow)) == ["MAN768"]
        with pytest.raises(NotRegular):
            read_for_cache(path, 100, follow=follow)


@pytest.mark.parametrize("follow", [True, False])
def test_a_file_over_the_limit_is_refused_and_one_at_the_limit_is_read(tmp_path: Path, follow: bool) -> None:
    from manualkit.base.files import TooLarge, read_for_cache, read_regular

    at_limit = tmp_path / "at.txt"
    at_limit.write_bytes(b"x" * 64)
    over = tmp_path / "over.txt"
    over.write_bytes(b"x" * 65)
    assert read_regular(at_limit, 64, follow=follow) == b"x" * 64
    assert _codes(lambda: read_regular(over, 64, follow=follow)) == ["MAN004"]
    with pytest.raises(TooLarge):
        read_for_cache(over, 64, follow=follow)
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as fh:
        fh.truncate(1 << 40)  # sparse: refused from its size, never read
    assert _codes(lambda: read_regular(huge, 1 << 20, follow=follow)) == ["MAN004"]


@pytest.mark.parametrize("follow", [True, False])
def test_a_file_longer_than_its_size_said_is_refused_at_the_limit(follow: bool) -> None:
    """A file that grows while it is read: ``/proc/self/status`` is a regular file whose size says 0
    and whose reading gives more, as a file appended to after its ``fstat`` does. The read stops
    one byte past the limit and refuses; it is read whole when the limit allows."""
    from manualkit.base.files import TooLarge, read_for_cache, read_regular

    grows = Path("/proc/self/status")
    if not grows.exists() or os.stat(grows).st_size != 0:
        pytest.skip("no /proc file that says it is empty")
    assert b"Name:" in read_for_cache(grows, 1 << 20, follow=follow)
    with pytest.raises(TooLarge):
        read_for_cache(grows, 16, follow=follow)
    assert _codes(lambda: read_regular(grows, 16, follow=follow)) == ["MAN004"]


def test_the_caches_own_files_are_read_without_following_a_symlink(tmp_path: Path) -> None:
    """kept_check reads .git/HEAD and its refs through the same read: a HEAD that is a link, or a
    FIFO in its place, leaves the check unkept (it runs afresh) and never raises into the user."""
    from manualkit.records.kept_check import Layout, Unkept, head_from_files, read_entry

    git = tmp_path / "git"
    (git / "refs" / "heads").mkdir(parents=True)
    commit = "a" * 40
    (git / "refs" / "heads" / "main").write_text(commit + "\n")
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    where = Layout(git, git)
    assert head_from_files(where) == commit
    (git / "real-head").write_text("ref: refs/heads/main\n")
    (git / "HEAD").unlink()
    (git / "HEAD").symlink_to(git / "real-head")
    with pytest.raises(Unkept):
        head_from_files(where)
    (git / "HEAD").unlink()
    os.mkfifo(git / "HEAD")
    with pytest.raises(Unkept):
        head_from_files(where)
    (git / "HEAD").unlink()
    (git / "HEAD").write_text("ref: refs/heads/other\n")  # no loose ref: packed-refs answers
    (git / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted\n{'b' * 40} refs/heads/other\n")
    assert head_from_files(where) == "b" * 40
    (tmp_path / "entry").write_bytes(b"x")
    (tmp_path / "linked").symlink_to(tmp_path / "entry")
    assert read_entry(tmp_path, "entry") == b"x" and read_entry(tmp_path, "linked") is None and read_entry(tmp_path, "none") is None


def test_a_kept_page_answer_that_is_a_fifo_or_too_large_is_laid_out_again_not_read(tmp_path: Path) -> None:
    """The layout cache's page answers are read bounded (documents/toc.py through base/files): a
    FIFO in an entry's place is not waited on, an entry past the bound is not read, and either is
    an answer not kept, as is one of another shape; a whole entry is read."""
    import json

    from manualkit.documents.toc import MAX_PAGES_BYTES, _pages_entry, keep_pages, kept_pages

    env = {"MANUAL_LAYOUT_CACHE": str(tmp_path / "layout")}
    draft = b"a draft's bytes"
    keep_pages(draft, {"sec_1": 3, "sec_2": 5}, env)
    assert kept_pages(draft, env) == {"sec_1": 3, "sec_2": 5}
    entry = _pages_entry(draft, env)
    entry.unlink()
    os.mkfifo(entry)
    assert kept_pages(draft, env) is None  # returns at once: no writer is waited for
    entry.unlink()
    answer = json.dumps({"sec_1": 3})
    entry.write_text(answer + " " * (MAX_PAGES_BYTES + 1 - len(answer)), encoding="utf-8")  # valid JSON, one byte too long
    assert entry.stat().st_size == MAX_PAGES_BYTES + 1 and kept_pages(draft, env) is None
    entry.write_text(json.dumps({"sec_1": True}), encoding="utf-8")
    assert kept_pages(draft, env) is None
