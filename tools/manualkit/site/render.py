"""The MkDocs adapter of the staff site: a docs folder, its configuration, and one build.

The configuration of every site (the version in force, an archived version, the draft preview of
``manual serve``) is declared once, in :func:`mkdocs_config`: Material in Chinese, no web fonts,
the theme overrides of this package (page template, CSS, JavaScript, the Chinese search worker)
and its hooks (:mod:`manualkit.site.hooks`). What each page says is in the docs folder already.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manualkit.base.diagnostics import fail
from manualkit.site import csp, pages
from manualkit.site.model import source_path
from manualkit.text.manual import MANUAL_DIR
from manualkit.text.metadata import ManualMetadata

PACKAGE = Path(__file__).resolve().parent
OVERRIDES = PACKAGE / "overrides"
HOOKS = PACKAGE / "hooks.py"
# Material's separator for Chinese (its zh translation), given here so the plugin need not render
# a template to look it up; the Chinese text itself is indexed by the site's search worker.
# Fullwidth punctuation separates words too: （ERP） is found by ERP.
SEARCH_SEPARATOR = "[\\s\\u200b\\u3000\\-、。，．？！；：（）【】《》〈〉「」『』“”‘’·…—～]+"
SITE_DATE_CSS = "assets/manualkit/site-date.css"
VERSIONS_JS = "assets/manualkit/versions.js"  # every version of the site, for the date picker
FEATURES = ("navigation.sections", "navigation.top", "search.highlight", "toc.follow")


@dataclass
class Docs:
    """A docs folder to be: its files, the header block of each page, and the navigation."""

    files: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)  # docs path (.md) → header, noindex
    nav: list[Any] = field(default_factory=list)

    def add(self, page: pages.Page, prefix: str = "") -> str:
        """Add ``page`` (its site path under ``prefix``); returns its docs path."""
        path = source_path(page.path.removeprefix(prefix))
        self.files[path] = (pages.front_matter(page.title, searchable=page.searchable, wide=page.wide) + page.markdown).encode("utf-8")
        self.headers[path] = {"header": pages.header_html(page.path, page.header), "noindex": page.noindex}
        return path

    def write(self, directory: Path) -> None:
        """Write every file; files whose bytes are unchanged are left alone (``manual serve`` watches them)."""
        for rel, data in self.files.items():
            target = directory / rel
            try:
                if target.read_bytes() == data:
                    continue
            except OSError:
                pass
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)



def site_date_css(day_text: str) -> bytes:
    """The print date of a site without script: the day it was generated, labelled as such."""
    text = f"网页生成日期 {day_text}".replace("\\", "\\\\").replace('"', '\\"')
    return f'@charset "utf-8";\n:root {{ --mk-print-date: "{text}"; }}\n'.encode()


def mkdocs_config(
    metadata: ManualMetadata,
    docs_dir: Path,
    site_dir: Path,
    docs: Docs,
    *,
    search: bool,
    cache_dir: Path | None,
    draft_root: Path | None = None,
    site_name: str | None = None,
    root: str = "",
    site_url: str | None = None,
) -> dict[str, Any]:
    """The MkDocs configuration of one site (declared once, here): Material in Chinese, no web fonts.

    ``site_name`` (the manual's title, its version and status) ends every ``<title>``; ``root`` is
    the way from this site to the top of the staff site (``../../`` from ``archive/A-0/``), where
    :data:`SITE_DATE_CSS` says the date the site was generated (the print date without script);
    ``site_url`` (the site in force only) is its address, for canonical links and ``sitemap.xml``
    (:mod:`manualkit.site.sitemap`)."""
    extra: dict[str, Any] = {"pages": docs.headers, "csp": csp.POLICY}
    if cache_dir is not None:
        extra["cache_dir"] = str(cache_dir)
    if draft_root is not None:
        extra["draft_root"] = str(draft_root)
    if site_url is not None:
        extra["sitemap"] = True
    config: dict[str, Any] = {
        # the theme prints these unescaped (as HTML, and inside attributes): escaped here
        "site_name": pages.esc(site_name or metadata.title),
        "site_description": pages.esc(f"{metadata.company} {metadata.document_number}"),
        "docs_dir": str(docs_dir),
        "site_dir": str(site_dir),
        "use_directory_urls": False,
        "strict": True,
        "nav": docs.nav,
        "theme": {
            "name": "material",
            "language": "zh",
            "font": False,  # no request to an outside host
            "custom_dir": str(OVERRIDES),
            "features": list(FEATURES),
        },
        # The Markdown `manual check` checked (text/markup.py): tables, headings with their
        # {#id}; no attribute lists, no admonitions (which the check and the DOCX read as text).
        "markdown_extensions": ["tables", "manualkit.site.heading_ids", {"toc": {"permalink": True}}],
        "plugins": [{"search": {"lang": ["zh"], "separator": SEARCH_SEPARATOR, "pipeline": []}}] if search else [],
        "hooks": [str(HOOKS)],
        "extra_css": ["assets/manualkit/site.css", root + SITE_DATE_CSS, "assets/manualkit/downloads.css"],
        "extra_javascript": [root + VERSIONS_JS, "assets/manualkit/site.js"],
        "extra": {"manualkit": extra, "generator": False},
    }
    if site_url is not None:
        config["site_url"] = site_url
    if draft_root is not None:
        config["watch"] = [str(draft_root / MANUAL_DIR)]
    return config


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _quiet_mkdocs() -> Iterator[_Collect]:
    """MkDocs logs through ``logging``; collect its warnings for the error message instead of printing."""
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    saved = logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    try:
        yield collect
    finally:
        logger.removeHandler(collect)
        logger.propagate = saved


def write_config(config: Mapping[str, Any], path: Path) -> Path:
    """The configuration as a file MkDocs loads (JSON is YAML); kept next to the docs for inspection."""
    path.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def run_mkdocs(config: Mapping[str, Any], work: Path) -> None:
    """One MkDocs build of ``config`` (strict: any warning, e.g. a broken link, fails the build)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    path = write_config(config, work / "mkdocs.yml")
    with _quiet_mkdocs() as collected:
        try:
            build(load_config(str(path)))
        except (MkDocsException, OSError) as exc:
            details = "；".join(dict.fromkeys(collected.messages)) or str(exc)
            raise fail("mkdocs", 0, 0, "MAN730", f"MkDocs 构建站点失败：{details}") from None
