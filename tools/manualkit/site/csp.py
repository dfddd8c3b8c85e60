"""The Content-Security-Policy of every page of the staff site, and the pages made to satisfy it.

No page runs a script the site did not serve as a file of its own: no inline script, no event
handler attribute, no ``javascript:`` URL, no script from another host (``script-src 'self'``).
Material's templates write three small inline scripts into every page (its storage helpers, the
colour palette, the tab state); :func:`externalise_inline_scripts` moves each into a file under
:data:`INLINE_DIR` named by its digest, loaded in the same place by ``<script src>``, so the page
runs exactly what it ran before. JSON data blocks (``<script type="application/json">``) are not
run and stay.

The policy is delivered twice: as ``<meta http-equiv="Content-Security-Policy">`` in every page
(the template places it before any script; a static host needs nothing else) and, by ``manual
serve``, as a response header (:func:`with_policy_header`), which also carries what a meta
element cannot (``frame-ancestors``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
HEADER_POLICY = POLICY + "; frame-ancestors 'none'"  # frame-ancestors is ignored in a <meta> element
INLINE_DIR = "assets/manualkit/inline"

_INLINE_SCRIPT_RE = re.compile(r"<script(\s+type=\"(?:text/javascript|module)\")?>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def script_name(body: str) -> str:
    """The site path of the file holding ``body``: its digest names it, so equal scripts share one."""
    return f"{INLINE_DIR}/{hashlib.sha256(body.encode('utf-8')).hexdigest()[:20]}.js"


def externalise_inline_scripts(html: str, to_top: str) -> tuple[str, dict[str, str]]:
    """``html`` with every inline script replaced by a ``<script src>`` of the same code, and the
    files to write (site path → code). ``to_top`` is the way from the page to the site's top
    folder (``""``, ``"../"``)."""
    files: dict[str, str] = {}

    def replace(m: re.Match[str]) -> str:
        kind, body = m.group(1) or "", m.group(2)
        name = script_name(body)
        files[name] = body
        return f'<script{kind} src="{to_top}{name}"></script>'

    return _INLINE_SCRIPT_RE.sub(replace, html), files


def to_top(page_url: str) -> str:
    """The way from a page (its URL within the site, ``archive/x.html``) to the site's top folder."""
    return "../" * page_url.strip("/").count("/") if page_url.strip("/") else ""


_StartResponse = Callable[..., Any]
_App = Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]


def with_policy_header(app: _App) -> _App:
    """A WSGI application answering as ``app`` does, every response with the policy header."""

    def wrapped(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() != "content-security-policy"]
            return start_response(status, [*kept, ("Content-Security-Policy", HEADER_POLICY)], *rest)

        return app(environ, start)

    return wrapped


LIVE_RELOAD_SCRIPT = "manualkit-livereload.js"


def live_reload_server(server: Any) -> Any:
    """MkDocs' live-reload server of ``manual serve``, made to obey the policy: every response
    carries the header, and the reload script MkDocs writes inline into each page is served as
    a file of its own (``<script src>``), which ``script-src 'self'`` allows."""
    from urllib.parse import parse_qs

    from mkdocs.livereload import _SCRIPT_TEMPLATE

    mount = server.mount_path
    script_path = mount + LIVE_RELOAD_SCRIPT
    serve_request: _App = server.serve_request

    def inject(content: bytes, epoch: int) -> bytes:
        body_end = content.rfind(b"</body>")
        if body_end < 0:
            body_end = len(content)
        request_id = hashlib.sha256(content).hexdigest()[:12]
        tag = f'<script src="{script_path}?epoch={int(epoch)}&amp;request={int(request_id, 16)}"></script>'.encode()
        return content[:body_end] + tag + content[body_end:]

    def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == script_path:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            epoch = query.get("epoch", ["0"])[0]
            request = query.get("request", ["0"])[0]
            if not (epoch.isdigit() and request.isdigit()):
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b""]
            body = _SCRIPT_TEMPLATE.substitute(epoch=epoch, request_id=request).encode()
            start_response("200 OK", [("Content-Type", "application/javascript"), ("Content-Length", str(len(body)))])
            return [body]
        return serve_request(environ, start_response)

    server._inject_js_into_html = inject
    server.set_app(with_policy_header(app))
    return server
