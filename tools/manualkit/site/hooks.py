"""MkDocs hooks of the staff site (named under ``hooks`` by the generated configuration).

A thin adapter: the text and the header block of every page are made by
:mod:`manualkit.site.pages` before MkDocs runs, and the page template only places them. The hooks:

- keep jieba out of the build. Material's search plugin segments Chinese with jieba whenever
  jieba is importable, and loading jieba's dictionary costs about 0.7 s per build. The site does
  not need it: its search worker (``overrides/assets/javascripts/workers/manualkit-search.js``)
  indexes Chinese as single characters and character pairs in the browser, which finds a word
  wherever it stands — also inside a longer word jieba would have kept whole;
- give MkDocs' Jinja environment a bytecode cache, so Material's templates are compiled once, not
  in every build (the archived versions are built by the same process, and the cache directory
  keeps them for the next run);
- let MkDocs list the theme's static files without walking Material's ``.icons`` folder (14 000
  files, which MkDocs lists and then filters out again: it never copies dot-folders);
- in ``manual serve``, regenerate the draft docs folder from the working tree before each rebuild;
- make the 404 page's links relative (MkDocs makes them absolute from the host root, which breaks
  a site served from a subfolder);
- move the theme's inline scripts into files of the site, so that every page obeys its
  Content-Security-Policy (``script-src 'self'``, :mod:`manualkit.site.csp`), and in ``manual
  serve`` send that policy as a header too, with the live-reload script served as a file;
- after Markdown: give chapter tables their column labels for narrow screens, and keep
  identifiers (CR-2026-004, XS-QM-01) whole (:func:`manualkit.site.pages.label_tables`,
  :func:`manualkit.site.pages.mark_identifiers`);
- what search indexes (:mod:`manualkit.site.search_text`): each table's rows as sentences
  (列名：值；…) instead of its cells run together, taken out of the page again after indexing;
  the chapters ranked above the change requests and the 修订记录 that repeat their words;
- write ``sitemap.xml`` of the pages in force at the site's address, when it has one
  (:mod:`manualkit.site.sitemap`), instead of MkDocs' (which lists noindex pages too).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import jinja2

_memory_cache: jinja2.BytecodeCache | None = None


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, in front of an optional disk cache."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self.disk: jinja2.BytecodeCache | None = None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self._data.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)
        elif self.disk is not None:
            self.disk.load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._data[bucket.key] = bucket.bytecode_to_string()
        if self.disk is not None:
            self.disk.dump_bytecode(bucket)


def _settings(config: Any) -> dict[str, Any]:
    extra = config.extra.get("manualkit") if hasattr(config.extra, "get") else None
    return extra if isinstance(extra, dict) else {}


class _StaticFilesLoader(jinja2.FileSystemLoader):
    """The theme's loader, listing files without descending into dot-folders.

    MkDocs lists every file of the theme to copy its static files, and drops each path with a part
    starting with a dot (``.*`` and ``*/.*``); not walking those folders gives the same list.
    """

    def list_templates(self) -> list[str]:
        found: set[str] = set()
        for searchpath in self.searchpath:
            for dirpath, dirnames, filenames in os.walk(searchpath, followlinks=self.followlinks):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = os.path.relpath(dirpath, searchpath)
                for filename in filenames:
                    if not filename.startswith("."):
                        found.add(filename if rel == "." else f"{rel}/{filename}".replace(os.sep, "/"))
        return sorted(found)


def on_config(config: Any) -> Any:
    # The site's own search worker segments Chinese (see above); Material's plugin reads this
    # module global when it indexes a page.
    setattr(importlib.import_module("material.plugins.search.plugin"), "jieba", None)  # noqa: B010
    theme = config.theme
    make_env = theme.get_env

    def get_env() -> jinja2.Environment:
        env: jinja2.Environment = make_env()
        loader = env.loader
        if isinstance(loader, jinja2.FileSystemLoader) and not isinstance(loader, _StaticFilesLoader):
            env.loader = _StaticFilesLoader(loader.searchpath, loader.encoding, loader.followlinks)
        return env

    theme.get_env = get_env
    return config


def on_env(env: jinja2.Environment, config: Any, files: Any) -> jinja2.Environment:
    global _memory_cache
    if _memory_cache is None:
        _memory_cache = _MemoryBytecodeCache()
    cache = _memory_cache
    assert isinstance(cache, _MemoryBytecodeCache)
    directory = _settings(config).get("cache_dir")
    if directory and cache.disk is None:
        path = Path(directory) / "jinja"
        try:
            path.mkdir(parents=True, exist_ok=True)
            cache.disk = jinja2.FileSystemBytecodeCache(str(path))
        except OSError:
            pass
    env.bytecode_cache = cache
    return env


def on_pre_build(config: Any) -> None:
    settings = _settings(config)
    root = settings.get("draft_root")
    if root:
        from manualkit.site.draft import refresh_draft

        settings["pages"] = refresh_draft(Path(root), Path(config.docs_dir))


def _searched(config: Any) -> bool:
    # MkDocs names the plugin after the theme's namespace when the theme has one (material/search)
    return any(name in config.plugins for name in ("search", "material/search"))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if _searched(config):
        from manualkit.site.search_text import search_boost

        boost = search_boost(page.file.src_uri)
        search = page.meta.get("search")
        if boost is not None and (search is None or isinstance(search, dict)):
            page.meta["search"] = {**(search or {}), "boost": boost}
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    from manualkit.site.pages import label_tables, mark_identifiers

    content = mark_identifiers(label_tables(html))
    if _searched(config):
        from manualkit.site.search_text import indexable_tables

        content = indexable_tables(content)
    return content


def on_template_context(context: Any, template_name: str, config: Any) -> Any:
    if template_name == "404.html":  # relative to the site's top folder, wherever it is served from
        context["base_url"] = "."
        context["extra_css"] = [url.lstrip("/") for url in context["extra_css"]]
        context["extra_javascript"] = [url.lstrip("/") if isinstance(url, str) else url for url in context["extra_javascript"]]
    return context


def _write_scripts(config: Any, files: dict[str, str]) -> None:
    for name, body in files.items():
        target = Path(config.site_dir) / name
        if target.is_file():  # named by its digest: an existing file holds the same code
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_text(body, encoding="utf-8")
        partial.replace(target)


def on_post_page(output: str, page: Any, config: Any) -> str:
    from manualkit.site.csp import externalise_inline_scripts, to_top
    from manualkit.site.search_text import drop_index_only

    html, files = externalise_inline_scripts(drop_index_only(output), to_top(page.url))
    _write_scripts(config, files)
    return html


def on_post_template(output_content: str, template_name: str, config: Any) -> str:
    if not template_name.endswith(".html"):
        return output_content
    from manualkit.site.csp import externalise_inline_scripts

    html, files = externalise_inline_scripts(output_content, "")  # 404.html: at the top folder
    _write_scripts(config, files)
    return html


def on_post_build(config: Any) -> None:
    if not _settings(config).get("sitemap") or not config.site_url:
        return
    from manualkit.base.atomic import write_atomic
    from manualkit.site.sitemap import SITEMAP, pages_in_force, sitemap_xml

    registry = _settings(config).get("pages") or {}
    write_atomic(Path(config.site_dir) / SITEMAP, sitemap_xml(config.site_url, pages_in_force(registry)))


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    from manualkit.site.csp import live_reload_server

    return live_reload_server(server)
