"""The one attribute the staff site takes from the Markdown: a heading's trailing ``{#id}``.

The site used to enable Python-Markdown's ``attr_list``, which reads any ``{: key="value" }``
after a block or an inline element as HTML attributes (event handlers, ``href``, ``style``) that
``manual check`` never saw. This extension replaces it: a heading whose text ends with the anchor
the check knows (:data:`manualkit.text.markup.ANCHOR_RE`, the same expression) gets that ``id``;
everything else stays text, as in the DOCX, and ``manual check`` refuses it (MAN870).

MkDocs loads it by module name (``markdown_extensions`` in :func:`manualkit.site.render.mkdocs_config`).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from manualkit.text.markup import ANCHOR_RE

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class HeadingIds(Treeprocessor):  # type: ignore[misc]  # Python-Markdown is untyped
    def run(self, root: Element) -> None:
        for element in root.iter():
            if element.tag not in HEADINGS:
                continue
            last = element[-1] if len(element) else None
            text = (last.tail if last is not None else element.text) or ""
            m = ANCHOR_RE.search(text)
            if m is None:
                continue
            element.set("id", m.group(1))
            if last is not None:
                last.tail = text[: m.start()]
            else:
                element.text = text[: m.start()]


class HeadingIdsExtension(Extension):  # type: ignore[misc]
    def extendMarkdown(self, md: Markdown) -> None:
        # Before the table of contents (priority 5), which keeps an id it finds; where attr_list ran.
        md.treeprocessors.register(HeadingIds(md), "manualkit_heading_ids", 8)


def makeExtension(**kwargs: Any) -> HeadingIdsExtension:  # the name Python-Markdown looks for
    return HeadingIdsExtension(**kwargs)
