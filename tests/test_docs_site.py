"""The README fits one screen and the rest of the documentation is a small site whose links are
checked (issue 27, point 7): `mkdocs build --strict` of docs.mkdocs.yml, as `make docs` runs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "--site-dir", str(site)],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


def test_the_docs_site_builds_with_no_broken_link(tmp_path: Path) -> None:
    result = build(ROOT / "docs.mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    pages = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("index.html")}
    assert {"index.html", "desk/index.html", "obligations/index.html", "threat-model/index.html"} <= pages


def test_a_broken_link_fails_the_docs_build(tmp_path: Path) -> None:
    """The check above can fail: the same build of a copy with one link to a missing page."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "docs.mkdocs.yml", tmp_path / "docs.mkdocs.yml")
    with (tmp_path / "docs" / "speed.md").open("a", encoding="utf-8") as f:
        f.write("\nSee [the old figures](old-speed.md).\n")
    result = build(tmp_path / "docs.mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0 and "old-speed.md" in result.stderr, result.stderr


def test_the_readme_fits_one_screen_and_links_only_to_files_that_exist() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 120, len(lines)
    head = "\n".join(lines[:40])
    assert "make publish" in head and "make test" in head
    targets = [t for line in lines for t in LINK.findall(line) if not re.match(r"[a-z]+:", t)]
    assert targets and all((ROOT / t).exists() for t in targets), [t for t in targets if not (ROOT / t).exists()]
