"""``lapor-sync demo --serve``: the sandbox, the daemon and the portal, kept running.

For a newcomer to click through the whole job on loopback: a seeded sandbox SP4N-LAPOR!
whose clock runs in real time (complaints get verified, OPDs answer, reporters reply),
the daemon pulling, reconciling and pushing every minute, and the portal with one fresh
account per role whose one-time passwords are printed. Its own database (recreated on
each start); the configured store is never touched. Ctrl-C stops all three.
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from lapor_sync.config import Settings
from lapor_sync.daemon.service import Daemon
from lapor_sync.glossary import ROLE_LABELS
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.sandbox.ticker import ClockTicker
from lapor_sync.store.db import open_database
from lapor_sync.store.users import Role, add_user, one_time_password
from lapor_sync.timeutil import now_wib
from lapor_sync.web.serve import make_server

Say = Callable[[str], None]
# (name, role, OPDs): the accounts the demo makes.
DEMO_ACCOUNTS: tuple[tuple[str, Role, tuple[str, ...]], ...] = (
    ("admin", Role.ADMIN, ()),
    ("penghubung.bmbk", Role.LIAISON, ("BMBK",)),
    ("penghubung.dinkes", Role.LIAISON, ("DINKES",)),
    ("callcenter", Role.OPERATOR, ()),
    ("pemantau", Role.VIEWER, ()),
)


def demo_settings(settings: Settings, base_url: str, store: Path, port: int | None) -> Settings:
    """The configured settings on the demo's sandbox and store, with a brisk schedule."""
    moved = settings.with_base_url(base_url)
    web = moved.web
    if not web.session_secret.get_secret_value():
        web = web.model_copy(update={"session_secret": SecretStr(secrets.token_urlsafe(48))})
    if port is not None:
        web = web.model_copy(update={"port": port, "public_url": f"http://{web.host}:{port}"})
    schedule = moved.schedule.model_copy(
        update={
            "pull_every": timedelta(seconds=30),
            "push_every": timedelta(seconds=15),
            "reconcile_every": timedelta(seconds=30),
            "deadlines_every": timedelta(minutes=1),
        }
    )
    return moved.model_copy(
        update={
            "store": moved.store.model_copy(update={"path": store}),
            "report": moved.report.model_copy(update={"out_dir": store.parent / "demo-report"}),
            "web": web,
            "schedule": schedule,
        }
    )


def make_accounts(settings: Settings) -> list[tuple[str, Role, tuple[str, ...], str]]:
    """One account per role in the demo store; returns them with their passwords."""
    made = []
    db = open_database(settings.store.path)
    try:
        for name, role, opds in DEMO_ACCOUNTS:
            password = one_time_password()
            add_user(db, name, role, opds, password, now_wib())
            made.append((name, role, opds, password))
    finally:
        db.close()
    return made


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_demo(
    settings: Settings,
    store: Path,
    say: Say,
    *,
    complaints: int = 300,
    port: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run until Ctrl-C (or ``stop`` is set). Returns the exit code."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    world = SandboxWorld(seed=1, start=now_wib().replace(microsecond=0))
    seed_world(world, complaints=complaints)
    world.configure(
        arrivals_per_working_day=20, auto_verify=True, instansi_followup_probability=0.4,
        reply_probability=0.3,
    )  # fmt: skip
    with SandboxServer(world) as sandbox:
        ticker = ClockTicker(world, 1.0)
        ticker.start()
        run = demo_settings(settings, sandbox.base_url, store, port)
        daemon = Daemon(run, port=0)
        daemon.start()
        server = make_server(run)
        try:
            accounts = make_accounts(run)
            web = run.web
            say(f"Sandbox SP4N-LAPOR!: {sandbox.base_url} ({world.count()} complaints)")
            say(f"Daemon: pulling, reconciling and pushing every 15-30 s into {store}")
            say(f"Portal: {web.public_url}/  (Ctrl-C stops everything)")
            say("Accounts (passwords made for this run only):")
            for name, role, opds, password in accounts:
                scope = f" {', '.join(opds)}" if opds else ""
                say(f"  {name:20} {password}   {ROLE_LABELS[role.value]}{scope}")
            if stop is None:
                # SIGTERM (systemd, kill) stops as cleanly as Ctrl-C.
                signal.signal(signal.SIGTERM, _interrupt)
                try:
                    server.run()  # type: ignore[attr-defined]
                except KeyboardInterrupt:
                    say("Stopping.")
            else:
                thread = threading.Thread(target=server.run, daemon=True)  # type: ignore[attr-defined]
                thread.start()
                stop.wait()
        finally:
            server.close()  # type: ignore[attr-defined]
            daemon.stop()
            ticker.stop()
    return 0
