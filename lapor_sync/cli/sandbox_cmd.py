"""``lapor-sync sandbox``: a simulated SP4N-LAPOR! on loopback for training and demos.

It seeds a world, lets its clock run at ``--speed`` simulated seconds per real second
(complaints arrive, get verified and dispositioned, OPDs answer, reporters reply,
complaints close), prints the base URL and the three sandbox accounts, and serves until
Ctrl-C. The credentials printed are the sandbox's published constants, not secrets.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from datetime import datetime

import click

from lapor_sync.sandbox.masters import ACCOUNTS
from lapor_sync.sandbox.render import fmt_ts, parse_ts
from lapor_sync.sandbox.seed import seed_world
from lapor_sync.sandbox.server import SandboxServer
from lapor_sync.sandbox.ticker import ClockTicker
from lapor_sync.sandbox.world import CREATE_SHAPES, SandboxWorld
from lapor_sync.timeutil import now_wib


@click.command("sandbox")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on."
)
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the data.")
@click.option(
    "--complaints",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Complaints to seed, spread over the past six months.",
)
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Simulated seconds per real second (0 freezes the clock).",
)
@click.option(
    "--arrivals",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="New citizen complaints per working day.",
)
@click.option("--start", default=None, help='Simulated start, "d-m-Y H:i:s" WIB (default: now).')
@click.option("--prefix", default="/api", show_default=True, help="API path prefix.")
@click.option(
    "--create-shape",
    type=click.Choice(CREATE_SHAPES),
    default="results",
    show_default=True,
    help="Where a create answer puts the new id.",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Take the lenient reading where the contract is silent (for training); "
    "default: strict, as a real server may be (docs/lapor-api.md).",
)
def sandbox_command(
    host: str,
    port: int,
    seed: int,
    complaints: int,
    speed: float,
    arrivals: float,
    start: str | None,
    prefix: str,
    create_shape: str,
    lenient: bool,
) -> None:
    """Run a simulated SP4N-LAPOR! server on loopback until Ctrl-C."""
    try:
        started: datetime = parse_ts(start) if start else now_wib().replace(microsecond=0)
    except ValueError:
        raise click.BadParameter('use "d-m-Y H:i:s"', param_hint="--start") from None
    world = SandboxWorld(seed, start=started, create_response_shape=create_shape)
    world.contract.strict = not lenient  # strict by default: a trial proves the config
    seed_world(world, complaints=complaints)
    world.configure(
        arrivals_per_working_day=arrivals,
        auto_verify=True,
        instansi_followup_probability=0.4,
        reply_probability=0.3,
    )
    try:
        server = SandboxServer(world, host=host, port=port, prefix=prefix)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    ticker = ClockTicker(world, speed)
    server.start()
    ticker.start()
    click.echo(f"SP4N-LAPOR! sandbox at {server.base_url}")
    click.echo(f"control interface:  {server.control_url}/  (GET it for the endpoint list)")
    click.echo(
        f"simulated time {fmt_ts(world.now())} WIB, speed x{speed:g}, {world.count()} complaints"
    )
    for account in ACCOUNTS:
        click.echo(f"  {account.institution_id:>5}  {account.name}")
        click.echo(f"         api key: {account.api_key}   token: {account.token}")
    click.echo("Ctrl-C stops the sandbox.", nl=True)
    stop = threading.Event()
    with contextlib.suppress(ValueError):  # signals can only be set from the main thread
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("stopping")
        ticker.stop()
        server.stop()
