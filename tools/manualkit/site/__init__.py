"""The staff website: the version in force, what is coming, the archive, and Chinese search.

- :mod:`manualkit.site.model` — the released versions as the site shows them, and where each page lives;
- :mod:`manualkit.site.redlines` — what changed between two versions, section by section, as HTML;
- :mod:`manualkit.site.pages` — the text of every generated page and of the banner/metadata block;
- :mod:`manualkit.site.build` — reads the releases from git, writes the docs folders, assembles the site;
- :mod:`manualkit.site.cache` — archived versions, built once and kept by content digest;
- :mod:`manualkit.site.draft` — the draft preview of ``manual serve`` (the working tree);
- :mod:`manualkit.site.render` — the MkDocs adapter: the configuration and one build;
- :mod:`manualkit.site.hooks` — the MkDocs hooks (thin);
- ``overrides/`` — the theme overrides: the page and 404 templates, CSS (every screen width, and
  print: the 非受控（打印件） mark on every sheet without script), ``site.js`` (the print date and the
  date picker 查看某日有效的版本) and the Chinese search worker.

Nothing here prints or exits; the commands ``manual build`` and ``manual serve`` do.
"""
