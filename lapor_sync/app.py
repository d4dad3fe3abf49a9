"""The application: settings turned into a store, clients and runnable jobs.

The CLI and the daemon both call these functions; neither holds business rules. Every job
records a row in ``runs`` (started before the work, finished after), so a crash or a
failure always leaves a visible trace, and one summary log line.
"""

from __future__ import annotations

import functools
import hashlib
import random
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests
import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.lapor.auth import HeaderNames, OAuth2Options
from lapor_sync.lapor.client import ClientOptions, LaporClient, RequestHook
from lapor_sync.lapor.download import DownloadOptions, fetch_file
from lapor_sync.lapor.pacing import RequestSlots
from lapor_sync.lapor.remote import Remote
from lapor_sync.local.attachments import folder_of as attachments_folder_of
from lapor_sync.local.create_fields import CreateDefaults
from lapor_sync.local.register import assign_missing_refs
from lapor_sync.logs import allow_fields, get_logger, log_run_summary
from lapor_sync.redact import register_secret
from lapor_sync.report.html import ReportResult, generate_report
from lapor_sync.sla.deadlines import ScanSummary, scan
from lapor_sync.sla.stages import as_rules
from lapor_sync.store.db import StoreError, open_database, reopenable_path
from lapor_sync.store.journal import EventKind, finish_run, record_event, start_run
from lapor_sync.sync.adopt import AdoptSummary, adopt
from lapor_sync.sync.downloads import DownloadSummary, download_attachments
from lapor_sync.sync.dryrun import PassSetup
from lapor_sync.sync.pull import ProgressHook, Puller, PullOptions, PullSummary
from lapor_sync.sync.push import Pusher, PushPolicy, PushSummary
from lapor_sync.sync.reconcile import ReconcileRules, ReconcileSummary, reconcile
from lapor_sync.sync.workers import PullWorkers
from lapor_sync.timeutil import Clock, now_wib

_T = TypeVar("_T")
allow_fields("remaining", "budget_per_minute", "eta_s")
log = get_logger("lapor_sync.app")

RemoteFactory = Callable[..., LaporClient]
"""Builds an account's remote from its ClientOptions and the client's keyword arguments:
``LaporClient`` (HTTP), or e.g. ``functools.partial(MemoryRemote, world)`` in tests."""


@dataclass
class App:
    """A configured lapor-sync: one store, one client per enabled account."""

    settings: Settings
    db: sqlite_utils.Database
    clients: dict[str, Remote]
    clock: Clock = now_wib
    # Set by a signal handler: jobs finish the unit of work in hand (a page, an outbox
    # row) and return early. Nothing is left half-done: each unit is one transaction.
    stop_event: threading.Event = field(default_factory=threading.Event)
    # Each account's pull download threads, kept between runs (sync/workers.py); an
    # account without one gets threads for each run.
    pull_workers: dict[str, PullWorkers] = field(default_factory=dict)

    def close(self) -> None:
        for workers in self.pull_workers.values():
            workers.close()
        for client in self.clients.values():
            client.close()
        self.db.close()

    @property
    def attachments_folder(self) -> Path:
        """Where attachment bytes live: ``attachments/`` beside the store (owner-only)."""
        return attachments_folder_of(self.settings.store.path)

    def opd_for(self, institution_id: str | None) -> str | None:
        return opd_code_for(self.settings, institution_id)


def opd_code_for(settings: Settings, institution_id: str | None) -> str | None:
    """The configured OPD of an instansi id, if any."""
    opd = settings.opd_by_institution(institution_id) if institution_id else None
    return opd.code if opd else None


def make_client(
    settings: Settings,
    account_name: str,
    *,
    sleep: Callable[[float], None] | None = None,
    on_request: RequestHook | None = None,
    clock: Clock = now_wib,
    stop: threading.Event | None = None,
    slots: RequestSlots | None = None,
    factory: RemoteFactory = LaporClient,
) -> LaporClient:
    account = settings.account(account_name)
    http = settings.http
    auth = account.auth
    oauth2 = None
    if auth.is_oauth2 and auth.token_url is not None:
        oauth2 = OAuth2Options(
            token_url=auth.token_url,
            client_id=account.client_id.get_secret_value(),
            client_secret=account.client_secret.get_secret_value(),
            scope=auth.scope,
            client_auth=auth.client_auth,
            renew_before=auth.renew_before_seconds,
        )
    options = ClientOptions(
        base_url=account.base_url,
        api_key=account.api_key.get_secret_value(),
        token=account.token.get_secret_value(),
        connect_timeout=http.connect_timeout,
        read_timeout=http.read_timeout,
        retry_attempts=http.retry_attempts,
        retry_initial_wait=http.retry_initial_wait,
        retry_max_wait=http.retry_max_wait,
        retry_after_cap=http.retry_after_cap,
        concurrency=http.concurrency,
        request_deadline=http.request_deadline,
        max_requests_per_minute=http.max_requests_per_minute or None,
        ca_bundle=str(http.ca_bundle) if http.ca_bundle else None,
        max_answer_bytes=http.max_answer_mib * 1024 * 1024,
        user_agent=http.user_agent,
        header_names=HeaderNames(auth.key_header, auth.key_scheme, auth.token_header),
        oauth2=oauth2,
        profile=account.wire_profile,
    )
    kwargs: dict[str, Any] = {
        "on_request": on_request,
        "clock": clock,
        "stop": stop,
        "slots": slots,
    }
    if sleep is not None:
        kwargs["sleep"] = sleep
    return factory(options, **kwargs)


def open_app(
    settings: Settings,
    *,
    clock: Clock = now_wib,
    sleep: Callable[[float], None] | None = None,
    on_request: RequestHook | None = None,
    factory: RemoteFactory = LaporClient,
) -> App:
    for account in settings.enabled_accounts:
        # Known secrets are masked in every log line, whatever path they take to get there.
        register_secret(account.api_key.get_secret_value())
        register_secret(account.token.get_secret_value())
        register_secret(account.client_secret.get_secret_value())
    db = open_database(settings.store.path)
    # One stop flag for the jobs and the clients: setting it abandons requests in flight.
    stop = threading.Event()
    slots = RequestSlots(settings.http.max_in_flight, stop=stop)
    clients: dict[str, Remote] = {
        a.name: make_client(
            settings,
            a.name,
            sleep=sleep,
            on_request=on_request,
            clock=clock,
            stop=stop,
            slots=slots,
            factory=factory,
        )
        for a in settings.enabled_accounts
    }
    workers = {name: PullWorkers(settings.http.concurrency, f"pull-{name}") for name in clients}
    return App(settings, db, clients, clock=clock, stop_event=stop, pull_workers=workers)


@contextmanager
def recorded_run(app: App, job: str, account: str | None = None) -> Iterator[int]:
    """Record a job in ``runs``; on failure log one clear sentence and re-raise."""
    run_id = start_run(app.db, job, account, app.clock())
    try:
        yield run_id
    except BaseException as exc:
        message = describe(exc) if isinstance(exc, Exception) else type(exc).__name__
        finish_run(app.db, run_id, app.clock(), ok=False, error=message)
        record_event(
            app.db,
            EventKind.RUN_FAILED,
            app.clock(),
            account=account,
            detail={"job": job, "error_type": type(exc).__name__, "reason": message},
            run_id=run_id,
        )
        log.error(
            "run_failed",
            job=job,
            account=account,
            error_type=type(exc).__name__,
            reason=message,
            run_id=run_id,
        )
        raise


def pull_options(settings: Settings, account: str) -> PullOptions:
    return PullOptions(
        account=account,
        page_size=settings.account(account).page_size,
        lookback=settings.pull.lookback,
        concurrency=settings.http.concurrency,
        max_verify_passes=settings.pull.max_verify_passes,
        mass_drop_ratio=settings.pull.mass_drop_ratio,
    )


def backfill_start(settings: Settings, now: datetime) -> datetime | None:
    """Where a first pull starts without ``--since``: ``pull.backfill_since``, if set."""
    if settings.pull.backfill_since is None:
        return None
    return datetime.combine(settings.pull.backfill_since, datetime.min.time(), now.tzinfo)


def pull_account(
    app: App,
    account: str,
    *,
    since: datetime | None = None,
    progress: ProgressHook | None = None,
) -> PullSummary:
    options = pull_options(app.settings, account)
    since = since if since is not None else backfill_start(app.settings, app.clock())
    with recorded_run(app, "pull", account) as run_id:
        puller = Puller(
            app.db,
            app.clients[account],
            options,
            clock=app.clock,
            opd_for=app.opd_for,
            progress=_paced_progress(app.clients[account], account, options.page_size, progress),
            run_id=run_id,
            should_stop=app.stop_event.is_set,
            workers=app.pull_workers.get(account),
        )
        summary = puller.run(since=since)
        finish_run(app.db, run_id, app.clock(), ok=True, summary=summary.figures())
    log_run_summary(log, "pull", run_id=run_id, **summary.figures())
    if app.settings.pull.download_attachments:
        download_pulled_attachments(app, account)
    return summary


def download_pulled_attachments(app: App, account: str) -> DownloadSummary:
    """``pull.download_attachments``: the bytes of what the pull listed (sync/downloads.py)."""
    http = app.settings.http
    options = DownloadOptions(
        connect_timeout=http.connect_timeout,
        read_timeout=http.read_timeout,
        ca_bundle=str(http.ca_bundle) if http.ca_bundle else None,
        user_agent=http.user_agent,
    )
    with requests.Session() as session:
        summary = download_attachments(
            app.db,
            account,
            lambda url, limit: fetch_file(session, url, limit, options),
            folder=app.attachments_folder,
            max_bytes=app.settings.local.attachment_max_mib * 1024 * 1024,
            clock=app.clock,
        )
    log.info(
        "attachments_downloaded",
        account=account,
        downloaded=summary.downloaded,
        failed=summary.failed,
    )
    return summary


def _paced_progress(
    client: Remote, account: str, page_size: int, progress: ProgressHook | None
) -> ProgressHook:
    """The caller's progress hook, plus one ``pull_paced`` line with the ETA the rate
    budget gives, when a budget is set and more than a page is still to come."""
    told = False

    def hook(listed: int, total: int | None) -> None:
        nonlocal told
        if not told and total is not None and total - listed > page_size:
            eta = client.budget.backfill_eta(total - listed, page_size)
            if eta is not None:
                told = True
                log.info(
                    "pull_paced",
                    account=account,
                    remaining=total - listed,
                    budget_per_minute=client.budget.per_minute,
                    eta_s=round(eta),
                )
        if progress is not None:
            progress(listed, total)

    return hook


def adopt_pulled(app: App) -> AdoptSummary:
    with recorded_run(app, "adopt") as run_id:
        summary = adopt(
            app.db,
            reference_format=app.settings.local.reference_format,
            state_for=app.settings.state_for_status,
            opd_for=app.opd_for,
            clock=app.clock,
        )
        finish_run(app.db, run_id, app.clock(), ok=True, summary=vars(summary))
    return summary


def reconcile_rules(settings: Settings) -> ReconcileRules:
    return ReconcileRules(
        authority=dict(settings.reconcile.authority),
        allow_backwards=settings.reconcile.allow_backwards,
    )


def status_map_key(settings: Settings) -> str:
    """Identifies the status mapping: a change makes reconciliation look at every ticket."""
    text = repr(sorted((name, state.value) for name, state in settings.status_map.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reconcile_all(app: App) -> ReconcileSummary:
    """Adopt what was pulled into the register, then reconcile every linked ticket."""
    with recorded_run(app, "reconcile") as run_id:
        adopted = adopt(
            app.db,
            reference_format=app.settings.local.reference_format,
            state_for=app.settings.state_for_status,
            opd_for=app.opd_for,
            clock=app.clock,
        )
        summary = reconcile(
            app.db,
            reconcile_rules(app.settings),
            app.settings.state_for_status,
            clock=app.clock,
            run_id=run_id,
            mapping_key=status_map_key(app.settings),
        )
        figures = {**summary.figures(), **vars(adopted)}
        finish_run(app.db, run_id, app.clock(), ok=True, summary=figures)
    log_run_summary(log, "reconcile", run_id=run_id, **figures)
    return summary


def scan_deadlines(app: App) -> ScanSummary:
    """Recompute due dates, then log what turned overdue or near-due since the last scan."""
    with recorded_run(app, "deadlines") as run_id:
        summary = scan(app.db, app.settings, app.settings.calendar(), app.clock(), run_id=run_id)
        finish_run(app.db, run_id, app.clock(), ok=True, summary=summary.figures())
    log_run_summary(log, "deadlines", run_id=run_id, **summary.figures())
    return summary


def publish_report(app: App) -> ReportResult | None:
    """Regenerate the liaisons' report (current month) into ``report.out_dir``.

    A failure is recorded and logged as a failed ``report`` run; it never fails the caller.
    """
    try:
        with recorded_run(app, "report") as run_id:
            result = generate_report(app, app.settings.report.out_dir)
            finish_run(app.db, run_id, app.clock(), ok=True, summary={"files": len(result.files)})
    except Exception:
        return None
    log_run_summary(
        log,
        "report",
        run_id=run_id,
        count=len(result.files),
        duration_s=round(result.duration_s, 3),
    )
    return result


def push_policy(settings: Settings) -> PushPolicy:
    return PushPolicy(
        default_account=settings.default_account.name,
        account_institutions={a.name: a.institution_id for a in settings.accounts},
        opd_institutions={o.code: o.institution_id for o in settings.opd},
        channel_ids={str(k): v for k, v in settings.channels.items()},
        max_attempts=settings.push.max_attempts,
        backoff_initial=timedelta(seconds=settings.push.backoff_initial_seconds),
        backoff_max=timedelta(seconds=settings.push.backoff_max_seconds),
        create=CreateDefaults.from_settings(settings),
        attachments_folder=attachments_folder_of(settings.store.path),
        attachment_max_bytes=settings.local.attachment_max_mib * 1024 * 1024,
        account_scopes={
            a.name: frozenset(
                {a.institution_id} | {o.institution_id for o in settings.opd if o.account == a.name}
            )
            for a in settings.accounts
        },
    )


def push_outbox(app: App, *, rng: random.Random | None = None, **hooks: Any) -> PushSummary:
    with recorded_run(app, "push") as run_id:
        # Tickets other software inserted without a reference get one before they can go.
        assign_missing_refs(app.db, app.settings.local.reference_format)
        pusher = Pusher(
            app.db,
            app.clients,
            push_policy(app.settings),
            clock=app.clock,
            rng=rng,
            run_id=run_id,
            concurrency=app.settings.http.concurrency,
            max_in_flight=app.settings.http.max_in_flight,
            should_stop=app.stop_event.is_set,
            **hooks,
        )
        summary = pusher.run()
        finish_run(app.db, run_id, app.clock(), ok=True, summary=summary.figures())
    log_run_summary(log, "push", run_id=run_id, **summary.figures())
    return summary


def pull_all(
    app: App, *, since: datetime | None = None, progress: ProgressHook | None = None
) -> dict[str, PullSummary | LaporSyncError]:
    """Pull every enabled account, in parallel; one account's failure or stall does not
    stop or delay the others.

    Each account is pulled in a thread of its own with its own store connection (pages
    are committed in short transactions of their own, so the accounts only ever queue
    for the write lock for a moment). ``http.max_in_flight`` bounds both the threads and
    the requests on the wire. A store that cannot be opened twice (``:memory:``) is
    pulled one account after another.
    """
    names = list(app.clients)
    path = reopenable_path(app.db)
    workers = min(len(names), app.settings.http.max_in_flight) if path else 1

    def one(name: str) -> PullSummary | LaporSyncError:
        own = app if workers == 1 else replace(app, db=open_database(path or "", migrate=False))
        try:
            return pull_account(own, name, since=since, progress=progress)
        except LaporSyncError as exc:
            return exc
        except sqlite3.Error as exc:  # the store, not this account: say so for this one
            return StoreError(f"the store failed during this account's pull: {exc}")
        finally:
            if own is not app:
                own.db.close()

    if workers <= 1:
        return {name: one(name) for name in names}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull-account") as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def dry_run_setup(settings: Settings, accounts: Sequence[str], now: datetime) -> PassSetup:
    """What ``sync --dry-run`` rehearses: the pass ``sync --once`` would run, pulling only
    ``accounts`` (sync/dryrun.py)."""
    return PassSetup(
        pulls={name: pull_options(settings, name) for name in accounts},
        backfill_since=backfill_start(settings, now),
        reference_format=settings.local.reference_format,
        state_for=settings.state_for_status,
        opd_for=functools.partial(opd_code_for, settings),
        rules=reconcile_rules(settings),
        mapping_key=status_map_key(settings),
        push=push_policy(settings),
        deadline_rules=as_rules(settings),
        calendar=settings.calendar(),
    )
