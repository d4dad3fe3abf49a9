"""``lapor-sync web``: serve the portal (waitress) until stopped."""

from __future__ import annotations

import contextlib

import click

from lapor_sync.cli.common import CliState, fail, handle_errors, pass_state
from lapor_sync.logs import get_logger


@click.command("web")
@click.option("--port", type=click.IntRange(1, 65535), help="Override web.port.")
@pass_state
@handle_errors
def web_command(state: CliState, port: int | None) -> None:
    """Serve the portal for liaisons, operators, admins and viewers ([web] settings)."""
    from lapor_sync.web import WebError
    from lapor_sync.web.serve import make_server

    settings = state.settings()
    try:
        server = make_server(settings, port=port)
    except WebError as exc:
        fail(f"error: {exc}", 2)
        return
    except OSError as exc:
        fail(
            f"error: cannot listen on {settings.web.host}:{port or settings.web.port}: "
            f"{exc.strerror}",
            1,
        )
        return
    get_logger("lapor_sync.web").info(
        "portal_started",
        host=settings.web.host,
        port=port or settings.web.port,
        public_url=settings.web.public_url,
    )
    click.echo(
        f"Portal on http://{settings.web.host}:{port or settings.web.port} "
        f"(public address {settings.web.public_url}); stop with Ctrl+C.",
        err=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run()  # type: ignore[attr-defined]
