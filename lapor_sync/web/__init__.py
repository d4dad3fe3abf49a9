"""The portal (``lapor-sync web``): the province's complaint register in a browser.

A Flask application served by waitress in its own process, on the same SQLite store as
the daemon (WAL: readers never block the writer). Bahasa Indonesia throughout.

Modules: ``app`` (factory, security headers, errors), ``context`` (settings, clock, a
store connection per thread), ``auth`` (sign in/out, sessions, throttling, the route
guard), ``access`` (roles and personal-data rules: the one place that decides),
``pages`` (home, report, log, accounts), ``complaints`` (list, complaint page, exports),
``actions`` (follow-ups, forwards, conflicts, outbox), ``intake`` (the Call Center form),
``serve`` (waitress). SQL reads are named queries in ``store.portal_queries`` and
``store.portal_work``.
"""

from lapor_sync.web.app import WebError, create_app

__all__ = ["WebError", "create_app"]
