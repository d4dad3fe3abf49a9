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


@migrations(name="0002_local_register")
def _local_register(db: sqlite_utils.Database) -> None:
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


@migrations(name="0003_reconcile_and_deadlines")
def _reconcile_and_deadlines(db: sqlite_utils.Database) -> None:
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


@migrations(name="0004_change_journal_for_reconciliation")
def _change_journal_for_reconciliation(db: sqlite_utils.Database) -> None:
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


@migrations(name="0005_journal_facts_for_deadlines")
def _journal_facts_for_deadlines(db: sqlite_utils.Database) -> None:
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


@migrations(name="0006_portal_users_sessions_access")
def _portal_users_sessions_access(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Accounts of the portal (lapor-sync web). ``password_hash`` is an Argon2id hash;
        -- the password itself is never stored. ``opds``: the OPD codes of a liaison,
        -- space-separated (empty for the other roles).
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'liaison', 'operator', 'viewer')),
            opds TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
            disabled_at TEXT,
            created_at TEXT NOT NULL,
            last_login_at TEXT,
            last_seen_home_at TEXT
        );

        -- Server-side portal sessions. The cookie carries a random token; only its SHA-256
        -- is kept, so a copy of the database does not hold usable sessions.
        CREATE TABLE web_sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id),
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            address TEXT
        );
        CREATE INDEX web_sessions_user ON web_sessions (user_id);

        -- Failed logins in a row, per account name ('user') and per client address ('address').
        CREATE TABLE login_failures (
            scope TEXT NOT NULL CHECK (scope IN ('user', 'address')),
            key TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failure_at TEXT NOT NULL,
            locked_until TEXT,
            PRIMARY KEY (scope, key)
        );

        -- Every portal view or export that showed personal data: who, when, which
        -- complaint, what was shown (UU 27/2022). Append-only; names what, never the data.
        CREATE TABLE access_journal (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_name TEXT NOT NULL,
            role TEXT NOT NULL,
            ticket_ref TEXT NOT NULL,
            view TEXT NOT NULL,
            shown TEXT NOT NULL,
            address TEXT
        );
        CREATE INDEX access_journal_at ON access_journal (at);
        CREATE INDEX access_journal_ticket ON access_journal (ticket_ref, at);
        """,
    )


@migrations(name="0007_portal_list_indexes")
def _portal_list_indexes(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- The portal's complaint list is newest first, paged by (received_at, id); the
        -- search by Tracking ID reads links by it.
        CREATE INDEX local_tickets_received ON local_tickets (received_at, id);
        CREATE INDEX local_tickets_opd_received ON local_tickets (opd_code, received_at, id);
        CREATE INDEX links_tracking ON links (tracking_id);
        """,
    )


@migrations(name="0008_notify_outbox")
def _notify_outbox(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Notifications to liaisons, admins and monitoring (owner: store/notify_outbox.py).
        -- A row is the whole message, decided and committed before any attempt to send it;
        -- ``dedupe_key`` makes deciding the same message twice a no-op. No personal data:
        -- recipients are the configured desks' addresses, texts carry identifiers only.
        CREATE TABLE notify_outbox (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN
                ('opd_batch', 'opd_digest', 'admin_alert', 'monitoring_weekly', 'test')),
            opd_code TEXT,
            channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
            recipients TEXT NOT NULL DEFAULT '[]',
            subject TEXT NOT NULL,
            body_text TEXT NOT NULL,
            body_html TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'unknown', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL DEFAULT '',
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX notify_outbox_state ON notify_outbox (state, next_attempt_at);

        -- What has been announced (owner: store/notify_conditions.py). An OPD item is told
        -- once per condition; an admin condition once when it opens and once when it
        -- clears (``cleared_at``). ``label`` is the identifier-only text of the condition.
        CREATE TABLE notify_conditions (
            key TEXT PRIMARY KEY,
            audience TEXT NOT NULL CHECK (audience IN ('opd', 'admin')),
            opd_code TEXT,
            label TEXT NOT NULL DEFAULT '',
            opened_at TEXT NOT NULL,
            cleared_at TEXT
        );
        CREATE INDEX notify_conditions_open ON notify_conditions (audience, cleared_at);
        """,
    )


@migrations(name="0009_pull_gaps")
def _pull_gaps(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- A failed pull's trace: the part of the feed it left unread, open until a later
        -- pull covered it (store/pull_gaps.py). Server timestamps; no personal data.
        -- At most one open row per account; failed pulls in a row extend it.
        CREATE TABLE pull_gaps (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            run_id INTEGER,
            first_failed_at TEXT NOT NULL,
            last_failed_at TEXT NOT NULL,
            failures INTEGER NOT NULL DEFAULT 1,
            covered_to TEXT,
            listed_to TEXT,
            reason TEXT NOT NULL,
            closed_at TEXT,
            closed_by_run INTEGER
        );
        CREATE UNIQUE INDEX pull_gaps_open ON pull_gaps (account) WHERE closed_at IS NULL;
        """,
    )


@migrations(name="0010_ticket_create_fields")
def _ticket_create_fields(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- The create fields a ticket may give itself (docs/local-records.md); NULL = the
        -- configuration's default ([local.create], the OPD's category and instansi).
        ALTER TABLE local_tickets ADD COLUMN classification_id TEXT;
        ALTER TABLE local_tickets ADD COLUMN disposition_id TEXT;
        """,
    )


@migrations(name="0011_cursor_settled_and_probed")
def _cursor_settled_and_probed(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- The server's clock (its HTTP Date) just before the complaints at the cursor's
        -- second were last read in full; NULL whenever the cursor moves. Once it lies a
        -- whole lookback past that second, the second cannot change any more and a pull
        -- need not read it again (docs/sync.md, "a quiet cycle").
        ALTER TABLE cursors ADD COLUMN settled_at TEXT;
        -- When (local clock) the last safety probe against a mass drop was made.
        ALTER TABLE cursors ADD COLUMN probed_at TEXT;
        """,
    )


@migrations(name="0012_remote_masters")
def _remote_masters(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- SP4N-LAPOR!'s masters as last synced per account (store/masters.py): institutions
        -- and reply templates. A sync replaces an account's set of one kind; an institution
        -- whose name changed keeps the name it had before and when that was seen.
        CREATE TABLE remote_masters (
            account TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('institution', 'template')),
            remote_id TEXT NOT NULL,
            name TEXT NOT NULL,
            code TEXT,
            content TEXT,
            previous_name TEXT,
            renamed_at TEXT,
            PRIMARY KEY (account, kind, remote_id)
        );
        -- When each account's set of each kind was last replaced (a set may be empty).
        CREATE TABLE remote_masters_synced (
            account TEXT NOT NULL,
            kind TEXT NOT NULL,
            synced_at TEXT NOT NULL,
            entries INTEGER NOT NULL,
            PRIMARY KEY (account, kind)
        );
        """,
    )
