"""The portal's shared state: settings, clock and one store connection per thread.

Invariant: every request thread uses its own SQLite connection (WAL lets readers run
beside the daemon's writer); the schema is migrated once, when the portal starts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from flask import current_app

from lapor_sync.config import Settings
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import Clock, now_wib

EXTENSION = "lapor_sync"


@dataclass
class PortalContext:
    settings: Settings
    clock: Clock = now_wib
    db_path: Path | str | None = None
    _local: threading.local = field(default_factory=threading.local)
    _all: list[sqlite_utils.Database] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> Path | str:
        return self.db_path if self.db_path is not None else self.settings.store.path

    def db(self) -> sqlite_utils.Database:
        found: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if found is None:
            found = open_database(self.path, migrate=False)
            self._local.db = found
            with self._lock:
                self._all.append(found)
        return found

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()


def portal() -> PortalContext:
    ctx: PortalContext = current_app.extensions[EXTENSION]
    return ctx


def db() -> sqlite_utils.Database:
    return portal().db()
