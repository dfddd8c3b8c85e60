"""pyHanko's signing and validation modules, imported with one warning of theirs silenced.

cryptography deprecates DSA keys (release 51 warns), and pyHanko imports the DSA key type at
import time, so every ``manual pdf``, ``manual publish`` and ``manual verify X.pdf`` would print
that warning, with a path into the virtualenv, before its answer. The release key is never DSA: the
warning says nothing to the person running the command. Only that warning, raised while pyHanko's
own modules load, is silenced; every other warning still shows.
"""

from __future__ import annotations

import warnings


def load_pyhanko_sign() -> None:
    """Import ``pyhanko.sign`` (signers, fields, validation) once; later imports find it loaded."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"DSA is deprecated", module=r"pyhanko(_certvalidator)?(\.|$)")
        import pyhanko.sign.fields
        import pyhanko.sign.signers
        import pyhanko.sign.validation  # noqa: F401
