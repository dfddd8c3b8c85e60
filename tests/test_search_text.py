"""What the site's search indexes (manualkit.site.search_text), on small HTML: tables as sentences,
hostile cell text kept inert, the page given back unchanged, the ranks of the kinds of page."""

from __future__ import annotations

import pytest

from manualkit.site.pages import esc, label_tables, table
from manualkit.site.search_text import (
    CHAPTER_BOOST,
    RECORD_BOOST,
    drop_index_only,
    indexable_tables,
    search_boost,
    table_sentences,
)

MARKDOWN_TABLE = (
    "<p>表 3-1</p>\n<table>\n<thead>\n<tr>\n<th>序号</th>\n<th>环节</th>\n<th>责任部门</th>\n</tr>\n</thead>\n"
    "<tbody>\n<tr>\n<td>1</td>\n<td>询价与报价</td>\n<td>销售管理部</td>\n</tr>\n"
    "<tr>\n<td>2</td>\n<td></td>\n<td>财务部、<br>法务合规部</td>\n</tr>\n</tbody>\n</table>\n<p>执行中应遵守以下规定：</p>"
)


def test_a_row_of_a_table_with_a_header_reads_column_and_value() -> None:
    assert table_sentences(label_tables(MARKDOWN_TABLE)) == [
        "序号：1；环节：询价与报价；责任部门：销售管理部。",
        "序号：2；责任部门：财务部、 法务合规部。",  # the empty cell left out
    ]


def test_a_two_column_table_and_row_headers_read_as_key_and_value() -> None:
    two = table(["项目", "内容"], [["申请单号", "CR-2026-001"], ["修订原因", "价格波动。"]])
    assert table_sentences(two) == ["申请单号：CR-2026-001。", "修订原因：价格波动。"]
    pairs = (
        '<table><tbody><tr><th scope="row">文件编号</th><td>XS-QM-01</td><th scope="row">版本</th><td>B/0</td></tr></tbody></table>'
    )
    assert table_sentences(pairs) == ["文件编号：XS-QM-01；版本：B/0。"]


def test_hostile_cell_text_stays_text_in_the_index() -> None:
    hostile = "<script>alert(1)</script>\u202e\u200b</p></div>"
    page = table(["角色", "签署人", "状态"], [["审核", esc(hostile), "✓"]])
    indexed = indexable_tables(page)
    assert "<script>" not in indexed and "&lt;script&gt;" in indexed
    only = indexed[indexed.index('<div class="mk-search-only" hidden>') :]
    # the escaped </div> of the cell cannot close the index-only block early
    assert only.index("</div>") == only.index("。</p>") + len("。</p>")
    assert drop_index_only(indexed) == page


def test_the_page_is_given_back_as_it_was() -> None:
    content = label_tables(MARKDOWN_TABLE) + MARKDOWN_TABLE
    indexed = indexable_tables(content)
    assert indexed != content and indexed.count('data-search-exclude="table"') == 2
    assert drop_index_only(indexed) == content
    assert indexable_tables("<p>无表格</p>") == "<p>无表格</p>"


@pytest.mark.parametrize(
    "source, boost",
    [("03-execution.md", CHAPTER_BOOST), ("01-overview.md", CHAPTER_BOOST), ("requests/CR-2026-001.md", RECORD_BOOST),
     ("revisions.md", RECORD_BOOST), ("index.md", None), ("downloads.md", None), ("upcoming/B-1/03-execution.md", None)],
)  # fmt: skip
def test_chapters_rank_above_the_records_about_them(source: str, boost: float | None) -> None:
    assert search_boost(source) == boost
