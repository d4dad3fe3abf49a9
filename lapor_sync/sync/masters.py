"""The daily masters job, and the warnings it makes possible.

``sync_masters`` reads SP4N-LAPOR!'s institution list and reply templates for each
enabled account and replaces the stored sets (store/masters.py). ``masters_warnings``
compares the configuration and the outbox with the stored institutions:

- an ``[[opd]]`` whose ``institution_id`` SP4N-LAPOR! no longer lists;
- a forward waiting in the outbox whose target is no longer listed;
- an institution named by either whose name changed at the last sync that saw it change.

Invariants: warnings are computed only against an account that has synced at least
once (an empty, never-synced store warns of nothing); they name OPD codes, institution
ids and public institution names only — no complaint data; a templates endpoint that
fails does not stop the institutions from being stored, and is reported in the summary.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from lapor_sync.app import App, recorded_run
from lapor_sync.config import Settings
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.logs import get_logger, log_run_summary
from lapor_sync.store import masters
from lapor_sync.store.db import transaction
from lapor_sync.store.journal import finish_run

log = get_logger("lapor_sync.sync.masters")

_WAITING = ("pending", "unknown", "sending", "dead")


@dataclass
class MastersSummary:
    institutions: int = 0
    templates: int = 0
    renamed: int = 0
    problems: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        return {
            "institutions": self.institutions,
            "templates": self.templates,
            "renamed": self.renamed,
            "problems": len(self.problems),
        }


def sync_masters(app: App) -> MastersSummary:
    """One pass over every enabled account; one ``runs`` row named ``masters``."""
    summary = MastersSummary()
    with recorded_run(app, "masters") as run_id:
        for name, client in app.clients.items():
            institutions = client.institutions()  # a failure here fails the run
            entries = [masters.MasterEntry(i.remote_id, i.name) for i in institutions]
            with transaction(app.db):
                summary.renamed += masters.replace(
                    app.db, name, "institution", entries, app.clock()
                )
            summary.institutions += len(entries)
            try:
                templates = client.templates()
            except LaporSyncError as exc:
                summary.problems.append(f"templates ({name}): {describe(exc)}")
                continue
            rows = [masters.MasterEntry(t.remote_id, t.name, t.code, t.content) for t in templates]
            with transaction(app.db):
                masters.replace(app.db, name, "template", rows, app.clock())
            summary.templates += len(rows)
        finish_run(app.db, run_id, app.clock(), ok=True, summary=summary.figures())
    log_run_summary(log, "masters", run_id=run_id, **summary.figures())
    for problem in summary.problems:
        log.warning("masters_problem", reason=problem)
    return summary


def masters_warnings(conn: sqlite3.Connection, settings: Settings) -> list[str]:
    """Sentences for an operator (English, like the rest of status and health)."""
    listed: dict[str, masters.SyncedInstitution] = {}
    synced: list[str] = []
    for account in settings.enabled_accounts:
        when = masters.synced_at(conn, account.name, "institution")
        if when is not None:
            synced.append(when)
            listed.update(masters.institutions(conn, account.name))
    if not synced:
        return []
    when = max(synced)
    named: dict[str, str] = {}
    for i, opd in enumerate(settings.opd):
        named.setdefault(opd.institution_id, f"[[opd]] {opd.code} (opd[{i}].institution_id)")
    for outbox_id, target in conn.execute(
        "SELECT o.id, f.target_institution_id FROM outbox o "
        "JOIN local_forwards f ON o.kind = 'forward' AND f.id = o.subject_id "
        f"WHERE o.state IN ({', '.join('?' * len(_WAITING))}) ORDER BY o.id",
        _WAITING,
    ):
        named.setdefault(str(target), f"the forward in outbox row {outbox_id}")
    warnings: list[str] = []
    for institution_id, who in named.items():
        entry = listed.get(institution_id)
        if entry is None:
            warnings.append(
                f"{who} names institution {institution_id}, which SP4N-LAPOR! no longer "
                f"lists (masters synced {when})"
            )
        elif entry.previous_name is not None:
            warnings.append(
                f"institution {institution_id} of {who} was renamed in SP4N-LAPOR! from "
                f'"{entry.previous_name}" to "{entry.name}" (seen {entry.renamed_at})'
            )
    return warnings
