"""What every command shares: loading settings, opening the app, turning errors into exits.

Exit codes: 0 done; 1 the work failed (remote, data safety, store); 2 configuration or
usage problem; 3 another lapor-sync holds the database. No traceback reaches an operator
for an error lapor-sync raised on purpose: ``describe`` gives the sentence.
"""

from __future__ import annotations

import os
import shutil
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
from lapor_sync.config.loader import DEFAULT_CONFIG_PATH, ENV_CONFIG_PATH
from lapor_sync.errors import ConfigError, LaporSyncError, LockHeldError, describe
from lapor_sync.glossary import unknown_opd_text
from lapor_sync.logs import configure_logging
from lapor_sync.sla.deadlines import NO_OPD

P = ParamSpec("P")
R = TypeVar("R")


# Commands that talk to SP4N-LAPOR! and so need the account secrets. The others (log,
# overdue, conflicts, status, local, outbox, backup …) work from a plain shell, without
# the service's credentials (for example systemd's LoadCredential).
NETWORK_COMMANDS = frozenset({"pull", "push", "run", "sync", "demo", "sandbox", "probe", "masters"})

# Commands that print their own summary per run: their INFO log lines (``run_summary``)
# would print it a second time, so they log WARNING and above unless --log-level says
# otherwise. The daemon (``run``) keeps the configured level: its log is the summary.
SUMMARY_COMMANDS = frozenset({"pull", "push", "sync"})
# The portal needs only its own session secret, not the SP4N-LAPOR! credentials.
WEB_SECRET_COMMANDS = frozenset({"web"})


@dataclass
class CliState:
    config_path: Path | None
    log_format: str | None
    log_level: str | None
    needs_secrets: bool = True
    needs_web_secret: bool = False
    prints_summaries: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(
                self.config_path,
                resolve_secrets=self.needs_secrets,
                resolve_web_secret=self.needs_secrets or self.needs_web_secret,
            )
            level = self.log_level or self._settings.daemon.log_level
            if self.log_level is None and self.prints_summaries and level in ("debug", "info"):
                level = "warning"
            configure_logging(
                fmt=self.log_format or self._settings.daemon.log_format,  # type: ignore[arg-type]
                level=level,
                stream=sys.stderr,
            )
        return self._settings

    def config_source(self) -> Path:
        """The configuration file these settings come from (as ``load_settings`` picks it)."""
        chosen = self.config_path or Path(os.environ.get(ENV_CONFIG_PATH) or DEFAULT_CONFIG_PATH)
        return chosen.expanduser().absolute()

    def require_store(self) -> None:
        """Refuse, before anything is opened, to read a store that does not exist.

        Opening would create an empty store, and an empty store answers every question
        with "nothing": a false all-clear. Read commands call this; commands that record
        something (``local add``, ``pull``) may create the store.
        """
        path = self.settings().store.path
        if not path.exists():
            fail(missing_store_text(path, self.config_source()), 2)

    @contextmanager
    def app(self, *, existing: bool = False) -> Iterator[App]:
        """The opened app; ``existing=True`` (read commands) first requires the store."""
        if existing:
            self.require_store()
        app = open_app(self.settings())
        try:
            yield app
        finally:
            app.close()


pass_state = click.make_pass_decorator(CliState)

# Bounds of numeric arguments, checked by click before anything runs: a row id is a
# positive SQLite integer (an id above 2**63 - 1 cannot exist and SQLite cannot even
# compare with it), a limit is a count of rows someone can read.
ROW_ID = click.IntRange(1, 2**63 - 1)
LIMIT = click.IntRange(1, 1_000_000)
LIMIT_OR_ZERO = click.IntRange(0, 1_000_000)


def command_name() -> str:
    """How the user invoked lapor-sync, so printed advice works exactly as printed.

    ``lapor-sync`` when that name on $PATH is this program (pipx, a system install);
    otherwise the path as typed (``.venv/bin/lapor-sync`` after ``make setup``).
    """
    invoked = sys.argv[0] if sys.argv and sys.argv[0] else "lapor-sync"
    name = Path(invoked).name
    if name != "lapor-sync":  # python -m lapor_sync, or a test runner
        return "lapor-sync"
    found = shutil.which(name)
    if found and Path(found).resolve() == Path(invoked).resolve():
        return name
    return invoked


def shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, else absolute."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


def missing_store_text(store: Path, config: Path) -> str:
    """What a read command says when the configured store does not exist (nothing made)."""
    prog = command_name()
    return (
        f"error: no lapor-sync store at {shown_path(store)} (store.path in "
        f"{shown_path(config)}); nothing was read and nothing was created.\n"
        f"  To fill this store: {prog} pull (or run the daemon: {prog} run).\n"
        f"  To read another store, name its configuration: {prog} --config FILE ... "
        f"(or set {ENV_CONFIG_PATH}); `{prog} demo` writes one for its own store."
    )


def fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def checked_opd(settings: Settings, code: str | None) -> str | None:
    """``--opd`` as every liaison command reads it, checked before anything is opened.

    Returns None (no filter), ``NO_OPD`` (``unassigned`` or ``-``: tickets without an OPD)
    or a configured OPD code, upper-cased. Any other code is refused the same way by every
    command — one Indonesian sentence listing the known codes, exit status 2 — because a
    filter that matches nothing would read as "nothing to do".
    """
    if code is None:
        return None
    wanted = code.strip().upper()
    if wanted in (NO_OPD.upper(), "-"):
        return NO_OPD
    if settings.opd_by_code(wanted) is None:
        known = [*(o.code for o in settings.opd), NO_OPD]
        fail(f"--opd: {unknown_opd_text(code.strip(), known)}", 2)
    return wanted


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
