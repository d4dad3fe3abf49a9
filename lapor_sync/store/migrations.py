"""Versioned schema migrations (sqlite-utils ``Migrations``), safe to re-run.

Rules: a migration, once released, never changes; new needs get a new migration appended
at the end. Identifiers and phone numbers are TEXT (so "0812…" keeps its leading zero);
timestamps are ISO 8601 text in WIB (see ``timeutil``); booleans are 0/1 integers.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("lapor_sync")


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run statements one by one inside the migration's transaction.

    ``executescript`` would COMMIT first, so a crash could leave a half-applied migration
    that is not recorded as applied; statement-by-statement keeps it atomic. Statements
    are split with ``sqlite3.complete_statement`` so trigger bodies stay whole.
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError("migration script ends with an incomplete statement")


@migrations(name="0001_remote_mirror")
def _remote_mirror(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- What SP4N-LAPOR! said last, per instansi account (one complaint may be visible to
        -- several accounts, each with its own view of the status).
        CREATE TABLE remote_complaints (
            account TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            tracking_id TEXT,
            title TEXT NOT NULL,
            content TEXT NOT NULL,
            status_code TEXT NOT NULL,
            status_name TEXT NOT NULL,
            disposition_id TEXT,
            disposition_name TEXT,
            category_id TEXT,
            classification_id TEXT,
            channel TEXT,
            is_secret INTEGER NOT NULL,
            is_anonymous INTEGER NOT NULL,
            tags TEXT NOT NULL,
            location_id TEXT,
            date_of_incident TEXT,
            reporter_name TEXT,
            reporter_phone TEXT,
            reporter_email TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            first_pulled_at TEXT NOT NULL,
            last_pulled_at TEXT NOT NULL,
            PRIMARY KEY (account, remote_id)
        );
        CREATE INDEX remote_complaints_updated ON remote_complaints (account, updated_at);
        CREATE INDEX remote_complaints_tracking ON remote_complaints (tracking_id);
        CREATE INDEX remote_complaints_disposition ON remote_complaints (disposition_id);

        -- Append-only. ``fingerprint`` identifies an entry across pulls.
        CREATE TABLE remote_status_history (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            complaint_id TEXT NOT NULL,
            status_code TEXT NOT NULL,
            status_name TEXT NOT NULL,
            note TEXT,
            at TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            UNIQUE (account, complaint_id, fingerprint)
        );

        CREATE TABLE remote_dispositions (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            complaint_id TEXT NOT NULL,
            from_id TEXT,
            from_name TEXT,
            to_id TEXT,
            to_name TEXT,
            template_code TEXT,
            content TEXT,
            at TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            UNIQUE (account, complaint_id, fingerprint)
        );

        CREATE TABLE remote_followups (
            account TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            complaint_id TEXT NOT NULL,
            author_type TEXT NOT NULL,
            from_id TEXT,
            from_name TEXT,
            to_id TEXT,
            to_name TEXT,
            content TEXT NOT NULL,
            template_code TEXT,
            is_secret INTEGER NOT NULL,
            rating INTEGER,
            attachment_count INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            first_pulled_at TEXT NOT NULL,
            PRIMARY KEY (account, remote_id)
        );
        CREATE INDEX remote_followups_complaint ON remote_followups (account, complaint_id);

        -- The position in each account's change feed: a server timestamp, never the local
        -- clock. Only ever moves forward (enforced by the writer).
        CREATE TABLE cursors (
            account TEXT PRIMARY KEY,
            updated_from TEXT NOT NULL,
            advanced_at TEXT NOT NULL
        );

        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            account TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT NOT NULL DEFAULT 'running',
            summary TEXT,
            error TEXT
        );
        CREATE INDEX runs_job ON runs (job, account, started_at);

        -- Records that could not be read. ``reason`` names fields, never values; ``raw``
        -- keeps the record so nothing is lost (it may hold personal data: never shown).
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            kind TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            raw TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            occurrences INTEGER NOT NULL DEFAULT 1,
            resolved_at TEXT,
            UNIQUE (account, kind, remote_id)
        );

        -- The reconciliation log: append-only, no personal data. OPD liaisons read it.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            account TEXT,
            opd TEXT,
            complaint_id TEXT,
            tracking_id TEXT,
            ticket_ref TEXT,
            side TEXT,
            detail TEXT NOT NULL DEFAULT '{}',
            run_id INTEGER
        );
        CREATE INDEX events_opd ON events (opd, at);
        CREATE INDEX events_at ON events (at);
        CREATE INDEX events_ticket ON events (ticket_ref);
        """,
    )


def apply_migrations(db: sqlite_utils.Database) -> None:
    migrations.apply(db)
