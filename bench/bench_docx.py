"""Benchmark of the DOCX renderer against pandoc (run on demand: ``python bench/bench_docx.py``).

Two inputs: the real manual, and a manual 25 times its size (200 chapters made from the real ones,
renumbered; built as a :class:`~manualkit.text.manual.Manual` directly, it need not pass the check).
For each, the median of 5 whole renders (including writing the zip) is printed next to the median
of 5 runs of ``pandoc`` converting the same Markdown (the chapter bodies, front matter stripped,
concatenated) to DOCX, with the ratio. Peak memory of one render of each input is measured in a
fresh subprocess (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).

Each figure of ours is the signed DOCX (render, table of contents numbered from the layout cache,
ECMA-376 package signature); the targets apply to these. The page numbers come from one LibreOffice
layout pass per content digest (``manualkit.documents.toc``): that cold pass is timed once and
printed separately, then every timed build reads it from the cache, as every build of an unchanged
release does. A further figure times the signed PDF/A of the real manual (LibreOffice's PDF/A
export of the DOCX + PAdES signature; target <= 3 s); it has no cache, so it is timed cold. A last line, for information, times the whole ``manual docx`` process on this repository
(start-up, reading and verifying the release history from git, render, sign, write) against
pandoc's whole process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from manualkit.documents.docx.release import render_docx
from manualkit.documents.layout import docx_to_pdf
from manualkit.documents.package_signature import sign_package
from manualkit.documents.pdf_release import sign_pdf
from manualkit.documents.signing_key import SigningKey, load_signing_key
from manualkit.documents.toc import with_page_numbers
from manualkit.records.edition import Edition, RevisionRow, Signoff, Status
from manualkit.text.chapter import Chapter
from manualkit.text.manual import Manual, load_manual
from manualkit.text.worktree import read_manual_files

ROOT = Path(__file__).resolve().parent.parent
PANDOC = "/usr/bin/pandoc"
TARGET_RATIO = 1.5  # the real manual: at most 1.5 x pandoc
TARGET_RATIO_LARGE = 2.0  # the 25x manual: at most 2 x pandoc
TARGET_PEAK_MB = 150.0
TARGET_PDF_SECONDS = 3.0
GENERATED = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1..999 in Chinese numerals (第一百二十三章), past the outline's 1..99."""
    if n < 10:
        return DIGITS[n]
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    out = ""
    if hundreds:
        out += DIGITS[hundreds] + "百"
        if rest == 0:
            return out
        if tens == 0:
            return out + "零" + DIGITS[units]
    if tens:
        out += ("" if tens == 1 and not hundreds else DIGITS[tens]) + "十"
    if units:
        out += DIGITS[units]
    return out


def sample_edition() -> Edition:
    tz = dt.timezone(dt.timedelta(hours=8))

    def signoff(role: str, name: str, day: int, cr: str) -> Signoff:
        return Signoff(role, f"{role}人签署", name, dt.datetime(2025, 12, day, 10, 0, tzinfo=tz), cr)

    return Edition(
        version="A/1",
        status=Status.IN_FORCE,
        published=dt.date(2025, 12, 20),
        effective=dt.date(2026, 1, 1),
        change_class="一般修订",
        signoffs=(
            signoff("编制", "王晓明", 10, "CR-2025-001"),
            signoff("审核", "李建国", 12, "CR-2025-001"),
            signoff("批准", "张伟", 15, "CR-2025-001"),
        ),
        revisions=(
            RevisionRow(
                1,
                "A/0",
                (),
                "首次发布",
                ("CR-2025-000",),
                "王晓明",
                "李建国",
                "—",
                "张伟",
                dt.date(2025, 6, 1),
                dt.date(2025, 7, 1),
            ),
            RevisionRow(
                2,
                "A/1",
                ("3.2",),
                "调整报价审批权限",
                ("CR-2025-001",),
                "王晓明",
                "李建国",
                "—",
                "张伟",
                dt.date(2025, 12, 20),
                dt.date(2026, 1, 1),
            ),
        ),
        changed_sections=frozenset({"3.2"}),
        content_digest="0" * 40,
    )


def scaled_manual(manual: Manual, factor: int) -> Manual:
    """``factor`` copies of every chapter, renumbered 1..N (headings, section ids and anchors)."""
    chapters: list[Chapter] = []
    originals = manual.chapters
    for index in range(len(originals) * factor):
        source = originals[index % len(originals)]
        number = index + 1
        heading = f"第{chinese_numeral(number)}章 {source.title}"
        body = re.sub(r"^# .*$", f"# {heading}", source.body, count=1, flags=re.MULTILINE)
        sections = []
        for k, section in enumerate(source.sections, start=1):
            sid, anchor = f"{number}.{k}", f"sec-{number}-{k}"
            body = body.replace(
                f"## {section.id} {section.title} {{#{section.anchor}}}", f"## {sid} {section.title} {{#{anchor}}}"
            )
            sections.append(section._replace(id=sid, anchor=anchor))
        stem = source.path.rsplit("/", 1)[-1].split("-", 1)[-1]
        chapters.append(
            source._replace(path=f"manual/{number:03d}-{stem}", number=number, sections=tuple(sections), body=body)
        )
    return Manual(manual.metadata, tuple(chapters))


def markdown_of(manual: Manual) -> str:
    return "\n\n".join(chapter.body for chapter in manual.chapters)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pandoc_seconds(markdown: str, runs: int, workdir: Path) -> float | None:
    if not Path(PANDOC).is_file() and shutil.which("pandoc") is None:
        return None
    exe = PANDOC if Path(PANDOC).is_file() else str(shutil.which("pandoc"))
    source = workdir / "manual.md"
    source.write_text(markdown, encoding="utf-8")
    target = workdir / "pandoc.docx"
    command = [exe, "-f", "markdown", "-t", "docx", "-o", str(target), str(source)]
    return median_seconds(lambda: subprocess.run(command, check=True, capture_output=True), runs)


def load_real() -> Manual:
    manual = load_manual(read_manual_files(ROOT)).manual
    if manual is None:
        raise SystemExit("manual/ could not be loaded; run `manual check`")
    return manual


def bench_key() -> SigningKey:
    """A development key made for the benchmark in a throwaway folder (never the user's)."""
    home = Path(tempfile.mkdtemp(prefix="bench-docx-key-"))
    return load_signing_key({"MANUAL_HOME": str(home)})


LAYOUT_ENV = {"MANUAL_LAYOUT_CACHE": tempfile.mkdtemp(prefix="bench-docx-layout-")}


def signed_docx(manual: Manual, edition: Edition, key: SigningKey) -> bytes:
    """What `manual docx` makes: the rendered document with its table of contents numbered (from
    the layout cache once warm), signed (ECMA-376 package signature)."""
    draft = render_docx(manual, edition, generated=GENERATED)
    return sign_package(with_page_numbers(draft, LAYOUT_ENV), key, GENERATED)


def signed_pdf(manual: Manual, edition: Edition, key: SigningKey) -> bytes:
    """What `manual pdf` makes: the numbered DOCX laid out as PDF/A-2b by LibreOffice, PAdES-signed."""
    draft = render_docx(manual, edition, generated=GENERATED)
    laid_out = docx_to_pdf(with_page_numbers(draft, LAYOUT_ENV), profile_cache=Path(LAYOUT_ENV["MANUAL_LAYOUT_CACHE"]))
    return sign_pdf(laid_out, key, GENERATED, reason="bench")


def peak_memory_child(which: str, factor: int) -> None:
    """Subprocess entry: render once, print the baseline and peak RSS in MiB."""
    manual = load_real()
    if which == "large":
        manual = scaled_manual(manual, factor)
    edition = sample_edition()
    key = bench_key()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    signed_docx(manual, edition, key)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{baseline:.1f} {peak:.1f}")


def peak_memory(which: str, factor: int) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", which, "--scale", str(factor)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median is printed)")
    parser.add_argument("--scale", type=int, default=25, help="size factor of the large manual")
    parser.add_argument("--memory-child", choices=("real", "large"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        peak_memory_child(args.memory_child, args.scale)
        return 0

    # Memory first, while this process is still small: a child's ru_maxrss starts from the size of
    # the parent it was forked from, so measuring after the timed renders would report ours.
    memory = {which: peak_memory(which, args.scale) for which in ("real", "large")}
    real = load_real()
    large = scaled_manual(real, args.scale)
    edition = sample_edition()
    key = bench_key()
    print("Signed DOCX (render_docx + sign_package, whole build including writing the zip)")
    print(f"runs per figure: {args.runs} (median)")
    if not Path(PANDOC).is_file() and shutil.which("pandoc") is None:
        print("pandoc: NOT FOUND (install pandoc, e.g. apt-get install pandoc); ratios are not computed")
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-docx-") as tmp:
        workdir = Path(tmp)
        for label, manual, target in (
            ("real manual", real, TARGET_RATIO),
            (f"{args.scale}x manual", large, TARGET_RATIO_LARGE),
        ):
            markdown = markdown_of(manual)
            cold = median_seconds(partial(signed_docx, manual, edition, key), 1)  # fills the layout cache
            ours = median_seconds(partial(signed_docx, manual, edition, key), args.runs)
            size = len(signed_docx(manual, edition, key))
            theirs = pandoc_seconds(markdown, args.runs, workdir)
            base, peak = memory["real" if manual is real else "large"]
            print(f"\n{label}: {len(manual.chapters)} chapters, {len(markdown.encode()) / 1024:.0f} KiB Markdown")
            print(f"  layout pass : {cold * 1000:8.1f} ms   (first build of this content: LibreOffice lays it out once)")
            print(f"  signed DOCX : {ours * 1000:8.1f} ms   ({size / 1024:.0f} KiB DOCX, page numbers from the cache)")
            if theirs is None:
                print("  pandoc      :  (missing)")
            else:
                ratio = ours / theirs
                verdict = "ok" if ratio <= target else "TOO SLOW"
                failed |= ratio > target
                print(f"  pandoc      : {theirs * 1000:8.1f} ms")
                print(f"  ratio       : {ratio:8.2f} x pandoc (target <= {target}) {verdict}")
            verdict = "ok" if peak <= TARGET_PEAK_MB else "TOO MUCH"
            failed |= peak > TARGET_PEAK_MB
            print(
                f"  peak RSS    : {peak:8.1f} MiB (process before rendering {base:.1f} MiB; target <= {TARGET_PEAK_MB:.0f}) {verdict}"
            )
        whole = median_seconds(  # the layout cache of the user running the benchmark applies
            partial(
                subprocess.run,
                [str(Path(sys.executable).parent / "manual"), "--root", str(ROOT), "docx", "-o", str(workdir / "whole.docx")],
                env={**__import__("os").environ, "MANUAL_HOME": str(workdir / "home")},
                check=True,
                capture_output=True,
            ),
            args.runs,
        )
        theirs = pandoc_seconds(markdown_of(real), args.runs, workdir)
        print(f"\nwhole `manual docx` process (version in force, from git): {whole * 1000:.0f} ms", end="")
        if theirs is not None:
            # For information: the targets above are on building the signed DOCX; this line adds
            # what a user waits for (interpreter start, imports of markdown-it, cryptography and
            # lxml, reading the release from git).
            print(f"   = {whole / theirs:.2f} x pandoc's whole process ({theirs * 1000:.0f} ms; for information)")
        else:
            print()
        pdf_seconds = median_seconds(partial(signed_pdf, real, edition, key), max(1, min(args.runs, 3)))
        verdict = "ok" if pdf_seconds <= TARGET_PDF_SECONDS else "TOO SLOW"
        failed |= pdf_seconds > TARGET_PDF_SECONDS
        print(f"signed PDF/A of the real manual (LibreOffice export + PAdES): {pdf_seconds * 1000:.0f} ms (target <= {TARGET_PDF_SECONDS:.0f} s) {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
