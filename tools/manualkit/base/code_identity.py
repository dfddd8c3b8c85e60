"""Which code is running: a digest of this package's files, the key every content-kept answer
carries (the release history's caches, the kept check, the kept DOCX, the site's cache), so that
an answer written by other code is never read.

Files are taken as Python checks its own ``.pyc`` files: by name, size and modification time, not
by reading them, so the digest costs one ``stat`` per file.
"""

from __future__ import annotations

import hashlib
import os

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_digest: str | None = None


def package_digest() -> str:
    """SHA-256 (hex) over every file of the ``manualkit`` package (``__pycache__`` left out): its
    path in the package, size and modification time. Worked out once per process."""
    global _digest
    if _digest is None:
        rows = []
        for directory, subdirs, files in os.walk(PACKAGE):
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
            for name in files:
                path = os.path.join(directory, name)
                st = os.stat(path)
                rows.append(f"{os.path.relpath(path, PACKAGE)}\0{st.st_size}\0{st.st_mtime_ns}\n")
        _digest = hashlib.sha256("".join(sorted(rows)).encode()).hexdigest()
    return _digest
