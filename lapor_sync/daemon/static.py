"""Serve the latest liaison report, read-only, from a folder.

Invariants: only files inside the folder are served (the resolved path must stay under
it, so ``..`` and symlinks out are refused); only the report's own kinds of file are
served, with their content types; nothing is ever written.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from lapor_sync.daemon.endpoint import Handler, Request, Response

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
}


def serve_directory(root: Path, prefix: str) -> Handler:
    """A handler for ``prefix``…: ``prefix`` itself is the folder's index.html."""

    def handler(request: Request) -> Response:
        relative = unquote(request.path[len(prefix) :]) or "index.html"
        base = root.resolve()
        try:
            target = (base / relative).resolve()
        except (OSError, ValueError):
            return Response.text(404, "not found\n")
        if base not in target.parents or target.suffix not in CONTENT_TYPES:
            return Response.text(404, "not found\n")
        try:
            body = target.read_bytes()
        except OSError:
            return Response.text(
                404, "no report yet: it is written after the first deadline scan\n"
            )
        return Response(200, body, CONTENT_TYPES[target.suffix], {"Cache-Control": "no-cache"})

    return handler
