"""``pull`` and ``push``: one pass of each, with a summary an admin can read; and what
``sync --dry-run`` prints (the rehearsal itself is sync/dryrun.py)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from lapor_sync.app import pull_account, push_outbox
from lapor_sync.cli.common import CliState, echo_figures, handle_errors, pass_state
from lapor_sync.daemon.lock import database_lock
from lapor_sync.daemon.recovery import recover
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.local.values import parse_date
from lapor_sync.logs import partial_line
from lapor_sync.timeutil import WIB


class _Progress:
    """A progress bar on a terminal; silence elsewhere (logs carry the summary)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: object | None = None
        self._shown = 0

    def __call__(self, done: int, total: int | None) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total or 0, label=self._label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)  # type: ignore[attr-defined]
        self._shown = done
        partial_line(True)  # a log line now would be glued to the bar: logs end it first

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)  # type: ignore[attr-defined]
            partial_line(False)


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """The one date grammar of flags and files (local.values): dd/mm/yyyy or ISO."""
    if value is None:
        return None
    try:
        day = parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return datetime(day.year, day.month, day.day)


@click.command("pull")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option(
    "--since",
    callback=_date_option,
    help="Start the first pull (backfill) at this date (01/11/2026 or 2026-11-01).",
)
@pass_state
@handle_errors
def pull_command(state: CliState, accounts: tuple[str, ...], since: datetime | None) -> None:
    """Pull changed complaints, status history and follow-ups from SP4N-LAPOR!."""
    settings = state.settings()
    names = list(accounts) or [a.name for a in settings.enabled_accounts]
    unknown = [n for n in names if n not in {a.name for a in settings.enabled_accounts}]
    if unknown:
        raise click.BadParameter(f"unknown or disabled account(s): {', '.join(unknown)}")
    start = since.replace(tzinfo=WIB) if since else None
    failed = False
    with database_lock(settings.store.path), state.app() as app:
        recover(app)  # a killed earlier run is closed and leaves its trace, as under run
        for name in names:
            progress = _Progress(f"pull {name}")
            try:
                summary = pull_account(app, name, since=start, progress=progress)
            except LaporSyncError as exc:
                click.echo(f"pull {name}: FAILED: {describe(exc)}", err=True)
                failed = True
                continue
            finally:
                progress.close()
            echo_figures(f"pull {name}", summary.figures())
    if failed:
        sys.exit(1)


@click.command("push")
@pass_state
@handle_errors
def push_command(state: CliState) -> None:
    """Send pending local tickets, follow-ups and forwards to SP4N-LAPOR! (one pass)."""
    with database_lock(state.settings().store.path), state.app() as app:
        recover(app)
        summary = push_outbox(app)
    echo_figures("push", summary.figures())
    if summary.dead:
        click.echo(
            f"push: {summary.dead} row(s) went dead in this pass and will not be sent without "
            "a person: lapor-sync outbox --state dead",
            err=True,
        )
        sys.exit(1)


# --- sync --dry-run ------------------------------------------------------------------------

_SHOWN = 50  # lines per section in the table; --format json lists everything


def dry_run(state: CliState, accounts: tuple[str, ...], fmt: str) -> None:
    """``sync --dry-run``: rehearse one pass on an in-memory copy of the store and print
    what it would do. Takes no lock and writes nothing (sync/dryrun.py)."""
    import json

    from lapor_sync.app import dry_run_setup, make_client
    from lapor_sync.store.snapshot import memory_copy
    from lapor_sync.sync.dryrun import rehearse
    from lapor_sync.timeutil import now_wib

    settings = state.settings()
    enabled = [a.name for a in settings.enabled_accounts]
    unknown = [n for n in accounts if n not in enabled]
    if unknown:
        raise click.BadParameter(
            f"unknown or disabled account(s): {', '.join(unknown)}; the enabled accounts "
            f"are: {', '.join(enabled) or '(none)'}",
            param_hint="--account",
        )
    state.require_store()
    chosen = list(dict.fromkeys(accounts)) or enabled
    copy = memory_copy(settings.store.path)
    remotes = {name: make_client(settings, name) for name in enabled}
    try:
        plan = rehearse(copy, remotes, dry_run_setup(settings, chosen, now_wib()), now_wib)
    finally:
        for remote in remotes.values():
            remote.close()
        copy.close()
    if accounts:
        plan = plan.for_accounts(chosen)
    if fmt == "json":
        click.echo(json.dumps({"dry_run": True, "accounts": chosen, **plan.to_json()},
                              ensure_ascii=False, indent=2))
    else:
        for line in _table(plan):
            click.echo(line)
    if plan.push_error or plan.reconcile_error or any(p.error for p in plan.pulls):
        sys.exit(1)


def _table(plan: Any) -> list[str]:
    out = [f"sync --dry-run at {plan.at}: what one pass would do (nothing was written or sent)"]
    out += ["", "PULL (what changed on SP4N-LAPOR! since each cursor; GET requests only)"]
    for p in plan.pulls:
        new = sum(1 for c in p.complaints if c.change == "new")
        head = f"  {p.account}: {new} new, {len(p.complaints) - new} changed"
        head += f"; cursor {p.cursor_before or '(none)'} -> {p.cursor_after or '(none)'}"
        out.append(head + (f"; FAILS: {p.error}" if p.error else ""))
        out += _limited(
            [f"    {c.change:<8} {c.complaint_id:<10} {c.tracking_id or '-':<16} {c.status}"
             for c in p.complaints]
        )
    out += ["", "RECONCILE"]
    if plan.reconcile_error:
        out.append(f"  FAILS: {plan.reconcile_error}")
    out.append(f"  adopt: {len(plan.adoptions)} complaint(s) into the register")
    out += _limited(
        [f"    {'link echo' if a.echo else 'new ticket':<10} {a.ticket_ref or '-':<20} "
         f"<- {a.account} {a.complaint_id} ({a.tracking_id or '-'}), OPD {a.opd or '-'}"
         for a in plan.adoptions]
    )
    decisions = [d for d in plan.reconcile if d["action"] != "open_conflict"]
    out.append(f"  decisions: {len(decisions)} change(s)")
    out += _limited([f"    {_decision(d)}" for d in decisions])
    out.append(f"  conflicts to open: {len(plan.conflicts)}")
    out += _limited(
        [f"    {c['ticket_ref'] or '-'} {c['kind']}: SP4N-LAPOR! {c['lapor_value']!r}, "
         f"local {c['local_value']!r}" for c in plan.conflicts]
    )
    out += ["", "PUSH (outbox rows this pass would settle; field names only, no values)"]
    if plan.push_error:
        out.append(f"  FAILS: {plan.push_error}")
    out += _limited([f"  {_push_line(p)}" for p in plan.pushes]) or ["  nothing to send"]
    figures = plan.flag_figures
    out += [
        "",
        f"FLAG (deadline events the scan would log: {figures.get('events', 0)}; "
        f"open overdue {figures.get('overdue', 0)}, near due {figures.get('near_due', 0)})",
    ]
    out += _limited(
        [f"  {f['kind']:<8} {f['ticket_ref'] or '-':<20} {f['stage']:<12} due {f['due_at']} "
         f"({_lateness(f['days_late'])}), OPD {f['opd'] or '-'}" for f in plan.flags]
    )
    if not plan.flags_listed_all:
        out.append("  (more events than listed: the counts above are complete)")
    return out


def _lateness(days: int) -> str:
    if days > 0:
        return f"{days} working day(s) late"
    return "due today" if days == 0 else f"due in {-days} working day(s)"


def _decision(d: dict[str, Any]) -> str:
    ref = d["ticket_ref"] or "-"
    if d["action"] == "apply_remote_state":
        return f"{ref}: apply the SP4N-LAPOR! state locally ({d['from_state']} -> {d['to_state']})"
    if d["action"] == "accept_local":
        return f"{ref}: keep the local change ({d['from_state']} -> {d['to_state']})"
    if d["action"] == "agree":
        return f"{ref}: both sides moved to {d['state']}: recorded as agreed"
    if d["action"] == "close_unknown_status":
        return f"{ref}: the status map now knows the status: its conflicts close"
    return f"{ref}: {d['action']}"


def _push_line(p: Any) -> str:
    what = {
        "send": "send" + (" (after looking it up)" if p.look_up_first else ""),
        "found": "already on SP4N-LAPOR!: recorded, not sent again",
        "retry": "not sent now, retried later",
        "dead": "goes dead, will not be sent without a person",
        "waits": "waits",
    }[p.outcome]
    line = f"row {p.outbox_id} {p.kind} {p.ticket_ref or '-'} ({p.account}): {what}"
    if p.fields:
        line += f"; fields: {', '.join(p.fields)}"
    if p.reason:
        line += f"; reason: {p.reason}"
    return line


def _limited(lines: list[str]) -> list[str]:
    if len(lines) <= _SHOWN:
        return lines
    return [*lines[:_SHOWN], f"    … and {len(lines) - _SHOWN} more (--format json lists all)"]
