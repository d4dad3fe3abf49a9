"""``lapor-sync probe``: GET-only checks of a real server against lapor-sync's assumptions.

Read-only: it opens no store and sends only GET requests (lapor/probe.py). Exit code 0
only when nothing found blocks a pull; 1 otherwise; 2 for a configuration or usage
problem. ``--json`` prints the same findings for a support request: field names, formats,
counts and status names only — no record content, no personal data, no secret.
"""

from __future__ import annotations

import json
import sys

import click

from lapor_sync.app import make_client
from lapor_sync.cli.common import CliState, handle_errors, pass_state
from lapor_sync.config import Settings
from lapor_sync.lapor.client import LaporClient
from lapor_sync.lapor.probe import ProbeResult, probe


@click.command("probe")
@click.option("--account", "account_name", help="The account to probe (default: every enabled).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output for support.")
@pass_state
@handle_errors
def probe_command(state: CliState, account_name: str | None, as_json: bool) -> None:
    """Check with a few GET requests what SP4N-LAPOR! answers, against what lapor-sync assumes."""
    settings = state.settings()
    enabled = [a.name for a in settings.enabled_accounts]
    if account_name is not None and account_name not in enabled:
        raise click.BadParameter(
            f"unknown or disabled account {account_name!r} (enabled: {', '.join(enabled)})",
            param_hint="--account",
        )
    results = [_probe_one(settings, name) for name in ([account_name] if account_name else enabled)]
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
    else:
        for result in results:
            _print_table(result)
    sys.exit(1 if any(r.blocks_pull for r in results) else 0)


def _probe_one(settings: Settings, name: str) -> ProbeResult:
    account = settings.account(name)

    def alternate() -> LaporClient:
        auth = account.auth.model_copy(update={"key_header": "auth"})
        changed = account.model_copy(update={"auth": auth})
        accounts = tuple(changed if a.name == name else a for a in settings.accounts)
        return make_client(settings.model_copy(update={"accounts": accounts}), name)

    client = make_client(settings, name)
    try:
        return probe(
            client,
            account=name,
            page_size=account.page_size,
            known_status=lambda s: settings.state_for_status(s) is not None,
            alternate_header=alternate,
        )
    finally:
        client.close()


def _print_table(result: ProbeResult) -> None:
    click.echo(
        f"probe {result.account} (auth {result.auth_scheme}, profile {result.profile}, "
        f"{result.requests} GET requests)"
    )
    rows = [("check", "result", "seen", "setting to change")]
    for f in result.findings:
        mark = f.outcome + (" [blocks pull]" if f.blocks_pull else "")
        rows.append((f.check, mark, f.seen, f.setting or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        click.echo("  " + "  ".join(cells) + "  " + row[3])
    verdict = "BLOCKS a pull: change the settings above" if result.blocks_pull else "a pull can run"
    click.echo(f"  => {verdict}")
