"""Malformed-input scenarios: each folder under ``tests/scenarios/`` is one bad manual.

The rules (what a scenario folder holds, how ``expected.txt`` is compared) are in
``tests/scenarios/README.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_manual

from manualkit.base.codes import CODES

SCENARIOS = Path(__file__).parent / "scenarios"
EXPECTED_RE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<code>MAN\d{3})(?: (?P<text>.+))?$")
SIZE_RE = re.compile(r"^(?P<n>\d+)(?P<unit>|KiB|MiB)$")
UNITS = {"": 1, "KiB": 1024, "MiB": 1024 * 1024}


@dataclass(frozen=True)
class Expected:
    path: str
    line: int
    col: int
    code: str
    text: str  # a fragment the message must contain ('' for none)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.code)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code}" + (f" {self.text}" if self.text else "")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    severity: str
    message: str

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.code)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} [{self.severity}] {self.message}"


def _lines(path: Path) -> list[str]:
    """Non-empty, non-comment lines of a scenario's text file."""
    if not path.is_file():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def read_expected(folder: Path) -> list[Expected]:
    expected = []
    for line in _lines(folder / "expected.txt"):
        m = EXPECTED_RE.match(line)
        assert m, f"{folder.name}/expected.txt: cannot read line {line!r}"
        expected.append(Expected(m["path"], int(m["line"]), int(m["col"]), m["code"], (m["text"] or "").strip()))
    assert expected, f"{folder.name}/expected.txt lists no finding"
    return expected


def _inside(root: Path, rel: str) -> Path:
    target = root / rel
    assert not Path(rel).is_absolute() and ".." not in Path(rel).parts, f"path {rel!r} must stay inside the copy"
    return target


def apply_scenario(folder: Path, root: Path) -> None:
    """Turn the copy of the real manual at ``root`` into the scenario's manual."""
    outside = root.parent / "outside"
    for source_dir, dest in ((folder / "files", root), (folder / "outside", outside)):
        if source_dir.is_dir():
            for source in sorted(source_dir.rglob("*")):
                if source.is_file():
                    target = dest / source.relative_to(source_dir)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
    for rel in _lines(folder / "remove.txt"):
        target = _inside(root, rel)
        assert target.is_file(), f"{folder.name}/remove.txt: {rel} is not in the copy"
        target.unlink()
    for line in _lines(folder / "generate.txt"):
        rel, size, source_rel = line.split()
        m = SIZE_RE.match(size)
        assert m, f"{folder.name}/generate.txt: bad size {size!r}"
        total = int(m["n"]) * UNITS[m["unit"]]
        seed = _inside(root, source_rel).read_bytes()
        assert seed, f"{folder.name}/generate.txt: {source_rel} is empty"
        data = seed * (total // len(seed) + 1)
        target = _inside(root, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[:total])
    for line in _lines(folder / "symlinks.txt"):
        link_rel, arrow, target_text = line.partition(" -> ")
        assert arrow, f"{folder.name}/symlinks.txt: expected 'link -> target', got {line!r}"
        link = _inside(root, link_rel.strip())
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(target_text.strip(), link)


def tree_digest(top: Path) -> dict[str, str]:
    """Every entry under ``top``: a file's SHA-256, a symlink's target text, or 'dir'."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


SCENARIO_NAMES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIO_NAMES) >= 30


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_scenario(name: str, repo_copy: Path, isolated_env: dict[str, str]) -> None:
    folder = SCENARIOS / name
    expected = read_expected(folder)
    for e in expected:
        assert e.code in CODES, f"{name}/expected.txt names unknown code {e.code}"
        # Lines are only stable in files the scenario stores itself, not in the live manual.
        assert e.line == 0 or (folder / "files" / e.path).is_file(), f"{name}: {e.path} must be stored under files/"
    apply_scenario(folder, repo_copy)
    inputs = [repo_copy, repo_copy.parent / "outside"]
    before = [tree_digest(top) for top in inputs]

    status, stdout, stderr = run_manual(["check", "--format", "json"], repo_copy, isolated_env)

    assert "Traceback" not in stderr, stderr
    assert [tree_digest(top) for top in inputs] == before, "manual check changed, added or removed files"
    assert status == 1, f"exit status {status}\n{stdout}\n{stderr}"
    findings = [Finding(**item) for item in json.loads(stdout)]
    report = "\n".join(str(f) for f in findings)

    main = expected[0]
    assert any((f.path, f.line, f.col, f.code) == (main.path, main.line, main.col, main.code) for f in findings), (
        f"main finding {main} not reported; got:\n{report}"
    )
    for e in expected:
        matches = [f for f in findings if f.key == e.key]
        assert matches, f"expected {e} not reported; got:\n{report}"
        if e.text:
            assert any(e.text in f.message for f in matches), f"no message of {e} contains {e.text!r}; got:\n{report}"
    allowed = {e.key for e in expected}
    unexpected = [f for f in findings if f.severity == "error" and f.key not in allowed]
    assert not unexpected, "unexpected errors:\n" + "\n".join(str(f) for f in unexpected)
