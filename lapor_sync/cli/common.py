"""What every command shares: loading settings, opening the app, turning errors into exits.

Exit codes: 0 done; 1 the work failed (remote, data safety, store); 2 configuration or
usage problem; 3 another lapor-sync holds the database. No traceback reaches an operator
for an error lapor-sync raised on purpose: ``describe`` gives the sentence.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from lapor_sync.app import App, open_app
from lapor_sync.config import Settings, load_settings
from lapor_sync.errors import ConfigError, LaporSyncError, LockHeldError, describe
from lapor_sync.logs import configure_logging

P = ParamSpec("P")
R = TypeVar("R")


# Commands that talk to SP4N-LAPOR! and so need the account secrets. The others (log,
# overdue, conflicts, status, local, outbox, backup …) work from a plain shell, without
# the service's credentials (for example systemd's LoadCredential).
NETWORK_COMMANDS = frozenset({"pull", "push", "run", "sync", "demo", "sandbox", "probe", "masters"})
# The portal needs only its own session secret, not the SP4N-LAPOR! credentials.
WEB_SECRET_COMMANDS = frozenset({"web"})


@dataclass
class CliState:
    config_path: Path | None
    log_format: str | None
    log_level: str | None
    needs_secrets: bool = True
    needs_web_secret: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(
                self.config_path,
                resolve_secrets=self.needs_secrets,
                resolve_web_secret=self.needs_secrets or self.needs_web_secret,
            )
            configure_logging(
                fmt=self.log_format or self._settings.daemon.log_format,  # type: ignore[arg-type]
                level=self.log_level or self._settings.daemon.log_level,
                stream=sys.stderr,
            )
        return self._settings

    @contextmanager
    def app(self) -> Iterator[App]:
        app = open_app(self.settings())
        try:
            yield app
        finally:
            app.close()


pass_state = click.make_pass_decorator(CliState)


def fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn lapor-sync's errors into one sentence on stderr and an exit code."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(describe(exc), 2)
        except LockHeldError as exc:
            fail(describe(exc), 3)
        except (LaporSyncError, sqlite3.Error) as exc:
            fail(f"error: {describe(exc)}", 1)
        raise AssertionError("unreachable")

    return wrapper


def echo_figures(title: str, figures: dict[str, Any]) -> None:
    parts = ", ".join(f"{k}={v}" for k, v in figures.items() if v is not None)
    click.echo(f"{title}: {parts}")
