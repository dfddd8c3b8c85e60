"""Benchmark of importing a reviewer's copy (run on demand: ``python bench/bench_review.py``).

The input is the 征求意见稿 of the whole manual (every chapter, rendered against itself) with 200
comments on 200 paragraphs, 20 of them answered by a reply, and 20 tracked replacements in 20 more, written as
Word 365 writes them (``tests/word365_review.py``). One import is what ``manual import-review`` does
with the file once it has the request: the bounded OPC read, every XML part parsed, the comments
placed by their paragraph bookmarks, the threads, the tracked changes, the edit of the Markdown
they make, and the 审核意见 record's text. The median of 7 imports is printed against the target.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from word365_review import Comment, Replace, word365_review  # noqa: E402

from manualkit.documents.docx.review_copy import ReviewCover, header_texts, render_review_copy  # noqa: E402
from manualkit.documents.review_apply import apply_changes  # noqa: E402
from manualkit.documents.review_import import read_review_copy  # noqa: E402
from manualkit.records.opinions import Opinion, OpinionRecord, record_text  # noqa: E402
from manualkit.text.manual import load_manual  # noqa: E402
from manualkit.text.worktree import read_manual_files  # noqa: E402

TARGET_SECONDS = 1.0
COMMENTS = 200
CHANGES = 20
REQUEST = "CR-2026-900"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def reviewed_copy() -> tuple[bytes, dict[str, str], dict[str, str], frozenset[str]]:
    files = read_manual_files(ROOT)
    manual = load_manual(files).manual
    assert manual is not None
    cover = ReviewCover(REQUEST, "基准测试", "B/1", dt.date(2026, 12, 14), dt.date(2026, 12, 7))
    copy = render_review_copy(manual, manual, cover, created=dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    import io
    import zipfile

    body = etree.fromstring(zipfile.ZipFile(io.BytesIO(copy)).read("word/document.xml"))
    texts = [t.text for t in body.iter(f"{W}t") if t.text and len(t.text) >= 16]
    counts = Counter(text[:10] for text in texts)
    unique = [text for text in texts if counts[text[:10]] == 1 and sum(text[:10] in other for other in texts) == 1]
    picked = unique[: COMMENTS + CHANGES]
    assert len(picked) == COMMENTS + CHANGES, len(picked)
    comments = [
        Comment(text[:10], "李娜", f"第 {n} 条意见：请核对本段。", *(("张伟", "已核对。") if n % 10 == 0 else ("", "")))
        for n, text in enumerate(picked[:COMMENTS])
    ]
    changes = [Replace(text[10:16], text[10:12], "（改）", "王芳") for text in picked[COMMENTS:]]
    data = word365_review(copy, comments, changes, ("王芳", "（审阅稿）"))
    chapters = {c.path: files.contents[c.path].decode("utf-8") for c in manual.chapters}
    where = {f"ch{c.number}": c.path for c in manual.chapters} | {s.id: c.path for c in manual.chapters for s in c.sections}
    return data, chapters, where, header_texts(manual, REQUEST)


def import_once(data: bytes, chapters: dict[str, str], where: dict[str, str], headers: frozenset[str]) -> int:
    copy = read_review_copy(data, f"{REQUEST} ", headers)
    edit = apply_changes(copy.changes, chapters, where)
    opinions = [Opinion(n, "comment", c.section, c.paragraph, c.author, c.date, marked=c.marked, text=c.text) for n, c in enumerate(copy.comments, 1)]
    text = record_text(OpinionRecord("p", REQUEST, "li.na", 1, "B/1", "d", "s", "t", tuple(opinions)))
    assert len(copy.comments) >= COMMENTS and copy.anchors > 1000 and text
    return len(edit.mapped)


def main() -> int:
    data, chapters, where, headers = reviewed_copy()
    times = []
    mapped = 0
    for _ in range(7):
        start = time.perf_counter()
        mapped = import_once(data, chapters, where, headers)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET_SECONDS else "OVER TARGET"
    print(f"import of the whole manual's review copy ({len(data) // 1024} KiB, {COMMENTS} comments, {mapped} changes mapped): "
          f"median {median:.3f} s of 7 (target <= {TARGET_SECONDS:.1f} s) {verdict}")  # fmt: skip
    return 0 if median <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
