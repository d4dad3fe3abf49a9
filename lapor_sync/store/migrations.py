"""Versioned schema migrations (sqlite-utils ``Migrations``), safe to re-run.

Rules: a migration, once released, never changes; new needs get a new migration appended
at the end. Identifiers and phone numbers are TEXT (so "0812…" keeps its leading zero);
timestamps are ISO 8601 text in WIB (see ``timeutil``); booleans are 0/1 integers.

Layout: the runner and migrations 0006 onward live here; the frozen first steps 0001-0005
live in ``store/migrations_history.py`` and are registered first, in their order. Append a
new migration at the end of this module.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from lapor_sync.store.migration_script import run_script
from lapor_sync.store.migrations_history import HISTORY

migrations = Migrations("lapor_sync")
# 0001-0005 (frozen, in store/migrations_history.py) come first, in their order.
for _name, _step in HISTORY:
    migrations(name=_name)(_step)


def apply_migrations(db: sqlite_utils.Database) -> None:
    migrations.apply(db)


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


@migrations(name="0013_attachments")
def _attachments(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Files attached to a local ticket (owner: store/attachments.py). The bytes live
        -- owner-only in <store folder>/attachments/<sha256>, never in the database or a
        -- log; a row names them by hash. ``kind`` says where SP4N-LAPOR! answers the
        -- upload's id (images or docs). ``upload_id`` is committed as soon as the upload
        -- answered and before the create refers to it: a file with one is never sent again.
        CREATE TABLE local_attachments (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
            sha256 TEXT NOT NULL,
            file_name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('image', 'doc')),
            size INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            upload_account TEXT,
            upload_id TEXT,
            uploaded_at TEXT,
            UNIQUE (ticket_id, sha256)
        );

        -- What SP4N-LAPOR! says is attached to a complaint (followup_id '') or to one of
        -- its follow-ups, as last pulled: metadata only, unless pull.download_attachments
        -- fetched the bytes into the same sha256 store (``sha256`` then set).
        CREATE TABLE remote_attachments (
            account TEXT NOT NULL,
            complaint_id TEXT NOT NULL,
            followup_id TEXT NOT NULL DEFAULT '',
            position INTEGER NOT NULL,
            file_name TEXT,
            media_type TEXT,
            size INTEGER,
            url TEXT,
            sha256 TEXT,
            pulled_at TEXT NOT NULL,
            downloaded_at TEXT,
            PRIMARY KEY (account, complaint_id, followup_id, position)
        );
        """,
    )


@migrations(name="0014_portal_home_indexes")
def _portal_home_indexes(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- The portal's home counts complaints by their earliest open deadline (late, near
        -- due): the open rows of one ticket, due order, without reading the met ones.
        CREATE INDEX deadlines_open_ticket ON deadlines (ticket_id, due_at) WHERE met_at IS NULL;
        -- "New since my last visit": recent rows first, with the columns of every scope
        -- (OPD, origin) so no ticket row is read to count them.
        CREATE INDEX local_tickets_created ON local_tickets (created_at, opd_code, origin);
        """,
    )


@migrations(name="0015_ticket_due")
def _ticket_due(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Per complaint with an open deadline (met_at IS NULL): its earliest open due_at and
        -- its current OPD (owner: store/deadlines.py). The portal's home counts late and
        -- near-due complaints as index ranges of it instead of grouping every open deadline.
        -- Kept exact by the triggers below on every write to deadlines and to a ticket's
        -- opd_code, whoever writes; no foreign key, so a ticket's delete trigger may run in
        -- any order with the delete's own checks.
        CREATE TABLE ticket_due (
            ticket_id INTEGER PRIMARY KEY,
            opd_code TEXT,
            first_open_due TEXT NOT NULL
        );
        CREATE INDEX ticket_due_first ON ticket_due (first_open_due);
        CREATE INDEX ticket_due_opd ON ticket_due (opd_code, first_open_due);

        INSERT INTO ticket_due (ticket_id, opd_code, first_open_due)
            SELECT d.ticket_id, t.opd_code, min(d.due_at) FROM deadlines d
            LEFT JOIN local_tickets t ON t.id = d.ticket_id
            WHERE d.met_at IS NULL GROUP BY d.ticket_id;

        -- A new open row can only move the earliest due date earlier (or start the row).
        CREATE TRIGGER ticket_due_deadline_added AFTER INSERT ON deadlines
        WHEN NEW.met_at IS NULL
        BEGIN
            INSERT INTO ticket_due (ticket_id, opd_code, first_open_due)
                VALUES (NEW.ticket_id,
                        (SELECT opd_code FROM local_tickets WHERE id = NEW.ticket_id),
                        NEW.due_at)
                ON CONFLICT (ticket_id) DO UPDATE
                SET first_open_due = min(first_open_due, excluded.first_open_due);
        END;

        -- A changed, met or dropped row: recompute the ticket's earliest open due date
        -- (one probe of deadlines_open_ticket), and drop the row when none is open.
        CREATE TRIGGER ticket_due_deadline_changed AFTER UPDATE OF ticket_id, due_at, met_at
        ON deadlines
        WHEN OLD.ticket_id IS NOT NEW.ticket_id OR OLD.due_at IS NOT NEW.due_at
            OR OLD.met_at IS NOT NEW.met_at
        BEGIN
            DELETE FROM ticket_due WHERE ticket_id IN (OLD.ticket_id, NEW.ticket_id);
            INSERT INTO ticket_due (ticket_id, opd_code, first_open_due)
                SELECT d.ticket_id, (SELECT opd_code FROM local_tickets WHERE id = d.ticket_id),
                       min(d.due_at)
                FROM deadlines d WHERE d.ticket_id IN (OLD.ticket_id, NEW.ticket_id)
                AND d.met_at IS NULL GROUP BY d.ticket_id;
        END;

        CREATE TRIGGER ticket_due_deadline_dropped AFTER DELETE ON deadlines
        WHEN OLD.met_at IS NULL
        BEGIN
            DELETE FROM ticket_due WHERE ticket_id = OLD.ticket_id;
            INSERT INTO ticket_due (ticket_id, opd_code, first_open_due)
                SELECT d.ticket_id, (SELECT opd_code FROM local_tickets WHERE id = d.ticket_id),
                       min(d.due_at)
                FROM deadlines d WHERE d.ticket_id = OLD.ticket_id AND d.met_at IS NULL
                GROUP BY d.ticket_id;
        END;

        -- A forward (or any writer) moves the complaint to another OPD: its count follows.
        CREATE TRIGGER ticket_due_opd_moved AFTER UPDATE OF opd_code ON local_tickets
        WHEN OLD.opd_code IS NOT NEW.opd_code
        BEGIN
            UPDATE ticket_due SET opd_code = NEW.opd_code WHERE ticket_id = NEW.id;
        END;

        CREATE TRIGGER ticket_due_ticket_gone AFTER DELETE ON local_tickets
        BEGIN
            DELETE FROM ticket_due WHERE ticket_id = OLD.id;
        END;
        """,
    )


@migrations(name="0016_journal_mirrored_linked_complaint")
def _journal_mirrored_linked_complaint(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- A complaint lapor-sync created is linked when the create returns, before any pull
        -- mirrors it. If a reconciliation reads the link's journal entry first, the ticket
        -- has no mirror row to compare yet and the entry is consumed; the later first
        -- mirroring then has to name the ticket again, or it is never reconciled (found by
        -- the model test: a pull failing right after the push). Only for a complaint that
        -- is already linked: a backfill's inserts journal nothing.
        CREATE TRIGGER remote_linked_complaint_mirrored AFTER INSERT ON remote_complaints
        WHEN EXISTS (SELECT 1 FROM links l
                     WHERE l.account = NEW.account AND l.remote_id = NEW.remote_id)
        BEGIN
            INSERT INTO local_changes (table_name, row_id, op)
                VALUES ('remote_complaints', NEW.rowid, 'insert');
        END;
        """,
    )
