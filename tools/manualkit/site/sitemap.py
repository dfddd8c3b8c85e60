"""``sitemap.xml`` of the staff site: the pages in force, at the site's own address.

The sitemap protocol (sitemaps.org) takes absolute URLs only, and a static site does not know
where it is served from. The address comes from ``MANUAL_SITE_URL`` (the variable the publish jobs
already give ``manual remind`` for the links in its messages, docs/hosting.md): with it, the site
in force says so in MkDocs' ``site_url`` (each page's ``<link rel="canonical">``) and its
``sitemap.xml`` lists every page of the version in force — the chapters, 首页, 修订记录, 版本归档,
下载, the change requests and comparisons — and nothing marked ``noindex`` (the approved version
still to come under ``upcoming/``); the archived versions (their own MkDocs sites, ``noindex``) and
the draft preview of ``manual serve`` have no sitemap. Without the variable no ``sitemap.xml`` is
written at all (MkDocs would write an empty one), which docs/staff-site.md says.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from manualkit.base.diagnostics import fail

SITE_URL_VARIABLE = "MANUAL_SITE_URL"
SITEMAP = "sitemap.xml"
_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"


def site_url(env: Mapping[str, str]) -> str | None:
    """The site's address from ``MANUAL_SITE_URL``, ending in ``/``; ``None`` when unset or empty.

    A Chinese host name is given in its IDNA form and a Chinese path percent-encoded (the sitemap
    protocol's form). An address that is not a plain ``http(s)://host/path/`` (no query, fragment, user, space or
    control character) is refused (MAN990) rather than written into every page."""
    raw = env.get(SITE_URL_VARIABLE, "").strip()
    if not raw:
        return None
    bad = next((ch for ch in raw if ch.isspace() or unicodedata.category(ch)[0] == "C"), None)
    try:
        parts = urlsplit(raw)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (
        bad is not None or parts is None or not port_ok or parts.scheme not in ("http", "https")
        or not parts.hostname or parts.username is not None or parts.query or parts.fragment
        or "\\" in raw or any(ch in raw for ch in "<>\"'")
    ):  # fmt: skip
        shown = raw.encode("unicode_escape").decode("ascii")[:200]
        raise fail(
            SITE_URL_VARIABLE, 0, 0, "MAN990",
            f"{SITE_URL_VARIABLE} 不是可用的站点地址：{shown}；请写成 https://主机名/路径/ 的形式"
            "（不带查询参数、#、用户名或空白），或留空（留空则不生成 sitemap.xml）",
        )  # fmt: skip
    host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = quote(parts.path, safe="/-._~%!$&()*+,;=:@")  # a Chinese folder name percent-encoded
    return f"{parts.scheme}://{netloc}{path if path.endswith('/') else path + '/'}"


def pages_in_force(registry: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The site paths of the pages ``registry`` (docs path → the page's header entry, with
    ``noindex``) does not mark ``noindex``, in the order the pages were made."""
    found = []
    for source, entry in registry.items():
        if not source.endswith(".md") or (isinstance(entry, Mapping) and entry.get("noindex")):
            continue
        found.append(source.removesuffix(".md") + ".html")
    return found


def sitemap_xml(base: str, paths: Iterable[str]) -> bytes:
    """``sitemap.xml`` listing ``paths`` (site paths) under ``base`` (an address ending in ``/``)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{_NAMESPACE}">']
    for path in paths:
        url = base + quote(path, safe="/-._~")
        lines.append(f"  <url><loc>{escape(url)}</loc></url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")
