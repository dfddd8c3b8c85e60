"""The pages of a release's table of contents tried on the layout its PDF/A needs anyway
(documents/toc.py, documents/release_document.py).

The site offers every release in every status it has had (A/0, A/1, B/0 and B/1 of the demo
history: 9 files). Each file's table of contents needs the pages LibreOffice puts each heading on,
which took a layout of its draft, and then its PDF/A a second layout. The drafts of one release
differ only in their cover, so the pages found for one status are tried for the next on the
PDF/A's own layout, and the draft is laid out only when a page differs.

Each test builds the real site with ``manual build`` in a subprocess whose PATH puts a recording
``soffice`` (it writes one line, then runs the real LibreOffice) first, with a layout cache of its
own, so that every layout is counted; and reads every file's table of contents back from the DOCX
and every heading's page from the PDF/A with poppler.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from revision_repo import RevisionRepo, shared_history

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> RevisionRepo:
    return shared_history(tmp_path_factory, "demo")  # only copied, never changed


def _recording_soffice(folder: Path, log: Path) -> Path:
    real = shutil.which("soffice") or shutil.which("libreoffice")
    if real is None:
        pytest.fail("LibreOffice is missing") if os.environ.get("CI") == "true" else pytest.skip("LibreOffice is missing")
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "soffice"
    script.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" --convert-to "*) echo layout >> "{log}" ;; esac\n'
        f'exec "{real}" "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder


def _build(repo: RevisionRepo, tmp: Path, name: str) -> tuple[int, dict[str, bytes]]:
    """A full ``manual build`` with an empty layout cache of its own: the layouts it ran, and the
    files it offers for download."""
    log = tmp / f"{name}.log"
    bin_dir = _recording_soffice(tmp / f"{name}-bin", log)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "MANUAL_LAYOUT_CACHE": str(tmp / f"{name}-layout"),
        "MANUAL_HOME": str(tmp / "manual-home"),  # one development key for every build here
    }
    shutil.rmtree(repo.root / ".git" / "manualkit", ignore_errors=True)  # no kept files or DOCX
    result = repo.manual("build", env=env, process=True, timeout=600)
    assert result.code == 0, result.output
    layouts = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    downloads = repo.root / "site" / "downloads"
    return layouts, {p.name: p.read_bytes() for p in downloads.iterdir() if p.suffix in (".docx", ".pdf")}


def _statuses(repo: RevisionRepo) -> tuple[int, int]:
    """(releases, files of all their statuses) the site offers, from releases.json."""
    listing = json.loads((repo.root / "site" / "downloads" / "releases.json").read_text(encoding="utf-8"))
    releases = listing["releases"]
    return len(releases), sum(1 + len(r.get("earlier", [])) for r in releases)


def _consistent(files: dict[str, bytes]) -> None:
    """Every DOCX's table of contents gives each heading the page its PDF/A puts it on."""
    from manualkit.documents.layout import destination_name, pdf_destinations
    from manualkit.documents.toc import toc_page_numbers

    names = sorted(n for n in files if n.endswith(".docx"))
    assert names
    for name in names:
        toc = toc_page_numbers(files[name])
        pages = pdf_destinations(files[name.removesuffix(".docx") + ".pdf"])
        assert toc and {b: pages.get(destination_name(b)) for b in toc} == toc, name


class Built(NamedTuple):
    repo: RevisionRepo
    folder: Path
    layouts: int
    files: dict[str, bytes]


@pytest.fixture(scope="module")
def built(demo: RevisionRepo, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The demo history's site built once with an empty layout cache (three builds would cost the
    suite some 100 s of CPU; the second test makes the guesses of this one wrong)."""
    folder = tmp_path_factory.mktemp("toc-guess")
    repo = demo.copy_to(folder / "copy")
    layouts, files = _build(repo, folder, "right")
    return Built(repo, folder, layouts, files)


def test_a_release_in_its_later_statuses_is_laid_out_once(built: Built) -> None:
    releases, statuses = _statuses(built.repo)
    assert releases == 4 and statuses >= 6  # A/0, A/1, B/0 and B/1, some in several statuses
    # Each release's first status: its draft and its PDF/A; each later status: its PDF/A only.
    # (Before: two layouts for every status.)
    assert built.layouts == statuses + releases, (built.layouts, statuses, releases)
    _consistent(built.files)


def test_a_wrong_guess_is_never_used(built: Built) -> None:
    """Kept guesses made wrong (every page one more) are tried, found wrong, and each draft is
    laid out as before: the same files as the build with right guesses, byte for byte."""
    layout = built.folder / "right-layout"
    guesses = sorted(layout.glob("guess-*.json"))
    assert guesses
    wrong_layout = built.folder / "wrong-layout"
    wrong_layout.mkdir()
    for guess in guesses:  # every other layout forgotten: only the wrong guesses remain
        pages = json.loads(guess.read_text(encoding="utf-8"))
        (wrong_layout / guess.name).write_text(json.dumps({k: v + 1 for k, v in pages.items()}), encoding="utf-8")
    layouts, wrong = _build(built.repo, built.folder, "wrong")
    assert wrong == built.files
    releases, statuses = _statuses(built.repo)
    assert layouts > statuses + releases  # the wrong guesses cost a layout each, never a file
    _consistent(wrong)
