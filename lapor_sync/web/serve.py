"""Serving the portal with waitress: ``lapor-sync web`` and the demo.

waitress runs the portal's threads in one process (``web.threads``); it binds
``web.host:web.port`` (loopback unless ``web.allow_remote``) and trusts proxy headers
only when ``web.trust_proxy`` (nginx on the same machine, see docs/operations.md).
"""

from __future__ import annotations

from waitress.server import create_server

from lapor_sync.config import Settings
from lapor_sync.timeutil import Clock, now_wib
from lapor_sync.web.app import create_app


def make_server(settings: Settings, *, clock: Clock = now_wib, port: int | None = None) -> object:
    """A waitress server for the portal, bound but not yet serving (``.run()`` serves)."""
    app = create_app(settings, clock=clock)
    web = settings.web
    return create_server(
        app,
        host=web.host,
        port=web.port if port is None else port,
        threads=web.threads,
        ident="lapor-sync",
        # Waitress must not trust forwarded headers itself: ProxyFix in the app does,
        # one hop deep, only when web.trust_proxy is set.
        clear_untrusted_proxy_headers=True,
        channel_timeout=60,
    )
