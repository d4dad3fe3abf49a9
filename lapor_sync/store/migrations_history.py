"""The frozen migrations 0001-0005: the schema's first, largest steps.

Released migrations never change (see ``store/migrations.py``); they live here so the
runner module stays small. ``HISTORY`` lists them in the order they are applied;
``store/migrations.py`` registers them, in that order, before all later ones. Nothing is
ever added here: a new migration is appended at the end of ``store/migrations.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from lapor_sync.store.migration_script import run_script


def remote_mirror(db: sqlite_utils.Database) -> None:
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


def local_register(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- The OPD register: tickets and follow-ups held by the province (Call Center, OPD
        -- staff, imports, other local apps). Documented for other writers in
        -- docs/local-records.md. ``origin`` = 'local' for what started here, 'lapor' for
        -- what was adopted from SP4N-LAPOR!.
        CREATE TABLE local_tickets (
            id INTEGER PRIMARY KEY,
            ref TEXT UNIQUE,
            origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'lapor')),
            account TEXT,
            channel TEXT NOT NULL CHECK (channel IN
                ('sms', 'whatsapp', 'telepon', 'walk-in', 'media-sosial', 'web', 'lapor')),
            reporter_name TEXT,
            reporter_phone TEXT,
            reporter_email TEXT,
            is_anonymous INTEGER NOT NULL DEFAULT 0 CHECK (is_anonymous IN (0, 1)),
            is_secret INTEGER NOT NULL DEFAULT 0 CHECK (is_secret IN (0, 1)),
            title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 150),
            content TEXT NOT NULL CHECK (length(content) >= 1),
            category_id TEXT,
            opd_code TEXT,
            location_id TEXT,
            date_of_incident TEXT,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'received',
            import_key TEXT UNIQUE,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours'))
        );
        CREATE INDEX local_tickets_opd ON local_tickets (opd_code, status);

        CREATE TABLE local_followups (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
            origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'lapor')),
            author TEXT NOT NULL DEFAULT 'opd' CHECK (author IN ('opd', 'reporter', 'admin')),
            opd_code TEXT,
            content TEXT NOT NULL CHECK (length(content) >= 1),
            is_secret INTEGER NOT NULL DEFAULT 0 CHECK (is_secret IN (0, 1)),
            remote_account TEXT,
            remote_id TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours')),
            UNIQUE (remote_account, remote_id)
        );
        CREATE INDEX local_followups_ticket ON local_followups (ticket_id);

        -- "Bukan wewenang": forward a ticket to another instansi.
        CREATE TABLE local_forwards (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
            target_institution_id TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT 'Diteruskan ke Instansi Tujuan',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours'))
        );

        -- Identity: one local ticket <-> one LAPOR! complaint, unique both ways.
        CREATE TABLE links (
            ticket_id INTEGER NOT NULL UNIQUE REFERENCES local_tickets (id),
            account TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            tracking_id TEXT,
            linked_at TEXT NOT NULL,
            UNIQUE (account, remote_id)
        );

        -- Change journal: every writer's change, captured by triggers, so the connector
        -- notices it without scanning every ticket.
        CREATE TABLE local_changes (
            id INTEGER PRIMARY KEY,
            table_name TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            op TEXT NOT NULL,
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours')),
            processed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX local_changes_pending ON local_changes (processed, id);

        -- What must reach SP4N-LAPOR!. Rows are born in the same transaction as the change
        -- that causes them (triggers below), so no writer can forget one.
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('create_complaint', 'post_followup', 'forward')),
            ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
            subject_id INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'unknown', 'done', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            -- 1 once any attempt may have reached the remote: from then on every attempt
            -- looks the record up before sending, even after a manual retry.
            ambiguous INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL DEFAULT '',
            last_error TEXT,
            result_remote_id TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+07:00', 'now', '+7 hours')),
            UNIQUE (kind, subject_id)
        );
        CREATE INDEX outbox_state ON outbox (state, next_attempt_at);
        CREATE INDEX outbox_ticket ON outbox (ticket_id, id);

        CREATE TRIGGER local_ticket_created AFTER INSERT ON local_tickets
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op) VALUES ('local_tickets', NEW.id, 'insert');
            INSERT INTO outbox (kind, ticket_id, subject_id)
                SELECT 'create_complaint', NEW.id, NEW.id WHERE NEW.origin = 'local';
        END;

        CREATE TRIGGER local_ticket_updated AFTER UPDATE ON local_tickets
        WHEN OLD.status IS NOT NEW.status OR OLD.opd_code IS NOT NEW.opd_code
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op) VALUES ('local_tickets', NEW.id, 'update');
        END;

        CREATE TRIGGER local_followup_created AFTER INSERT ON local_followups
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op) VALUES ('local_followups', NEW.id, 'insert');
            INSERT INTO outbox (kind, ticket_id, subject_id)
                SELECT 'post_followup', NEW.ticket_id, NEW.id
                WHERE NEW.origin = 'local' AND NEW.author = 'opd';
        END;

        CREATE TRIGGER local_forward_created AFTER INSERT ON local_forwards
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op) VALUES ('local_forwards', NEW.id, 'insert');
            INSERT INTO outbox (kind, ticket_id, subject_id) VALUES ('forward', NEW.ticket_id, NEW.id);
        END;

        -- Per-year counters for local references (LPG-2026-000123).
        CREATE TABLE ref_sequences (
            year INTEGER PRIMARY KEY,
            last INTEGER NOT NULL
        );
        """,
    )


def reconcile_and_deadlines(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- The base of the three-way comparison: per linked ticket, the state each side was
        -- last known to be in when lapor-sync accounted for it. A side whose current state
        -- differs from its base has changed since.
        CREATE TABLE sync_base (
            ticket_id INTEGER PRIMARY KEY REFERENCES local_tickets (id),
            lapor_state TEXT NOT NULL,
            local_state TEXT NOT NULL,
            lapor_status_name TEXT,
            updated_at TEXT NOT NULL
        );

        -- What no rule could settle: waits for a person. Both values are kept.
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
            kind TEXT NOT NULL,
            lapor_value TEXT,
            local_value TEXT,
            base_value TEXT,
            opened_at TEXT NOT NULL,
            resolved_at TEXT,
            resolution TEXT CHECK (resolution IN ('lapor', 'local')),
            note TEXT
        );
        CREATE UNIQUE INDEX conflicts_open ON conflicts (ticket_id, kind, lapor_value, local_value)
            WHERE resolved_at IS NULL;

        -- Due dates per ticket and stage, recomputed when the calendar or the rules change
        -- (their fingerprints are stored with each row).
        CREATE TABLE deadlines (
            ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
            stage TEXT NOT NULL,
            started_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            met_at TEXT,
            flagged TEXT,
            fingerprint TEXT NOT NULL,
            computed_at TEXT NOT NULL,
            PRIMARY KEY (ticket_id, stage)
        );
        CREATE INDEX deadlines_open ON deadlines (met_at, due_at);
        """,
    )


def change_journal_for_reconciliation(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Reconciliation reads what changed from the journal instead of comparing every
        -- linked ticket: new links, and SP4N-LAPOR! status changes, are journalled too.
        CREATE TRIGGER link_created AFTER INSERT ON links
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op) VALUES ('links', NEW.ticket_id, 'insert');
        END;

        CREATE TRIGGER remote_status_changed AFTER UPDATE OF status_name ON remote_complaints
        WHEN OLD.status_name IS NOT NEW.status_name
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op)
                VALUES ('remote_complaints', NEW.rowid, 'update');
        END;

        -- Small named values the connector keeps between runs (e.g. the fingerprint of the
        -- reconciliation rules last applied).
        CREATE TABLE sync_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    )


def journal_facts_for_deadlines(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Deadlines are recomputed only for tickets whose facts changed: new follow-ups,
        -- dispositions and status history pulled from SP4N-LAPOR! name their ticket here
        -- (when it is linked; the link's own journal entry covers the rest).
        CREATE TRIGGER remote_followup_journal AFTER INSERT ON remote_followups
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op)
                SELECT 'ticket_facts', l.ticket_id, 'followup' FROM links l
                WHERE l.account = NEW.account AND l.remote_id = NEW.complaint_id;
        END;

        CREATE TRIGGER remote_disposition_journal AFTER INSERT ON remote_dispositions
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op)
                SELECT 'ticket_facts', l.ticket_id, 'disposition' FROM links l
                WHERE l.account = NEW.account AND l.remote_id = NEW.complaint_id;
        END;

        CREATE TRIGGER remote_history_journal AFTER INSERT ON remote_status_history
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op)
                SELECT 'ticket_facts', l.ticket_id, 'status' FROM links l
                WHERE l.account = NEW.account AND l.remote_id = NEW.complaint_id;
        END;
        """,
    )


HISTORY: tuple[tuple[str, Callable[[sqlite_utils.Database], None]], ...] = (
    ("0001_remote_mirror", remote_mirror),
    ("0002_local_register", local_register),
    ("0003_reconcile_and_deadlines", reconcile_and_deadlines),
    ("0004_change_journal_for_reconciliation", change_journal_for_reconciliation),
    ("0005_journal_facts_for_deadlines", journal_facts_for_deadlines),
)
