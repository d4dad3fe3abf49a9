"""Which log fields may carry a value: the allow-list, and the names that never may.

The first line of privacy is never passing personal data to a logger; this list is the
second: ``lapor_sync.logs`` replaces the value of any other field by ``[disaring]``.
"""

from __future__ import annotations

from typing import Final

ALLOWED_FIELDS: Final[frozenset[str]] = frozenset(
    {
        # the line itself
        "event",
        "level",
        "timestamp",
        "logger",
        # where and how
        "account",
        "opd",
        "job",
        "run_id",
        "endpoint",
        "method",
        "status",
        "attempt",
        "wait_s",
        "retry_after_s",
        "duration_s",
        "page",
        "page_size",
        "cursor",
        "path",
        "port",
        "pid",
        "version",
        "mode",
        "signal",
        "exit_code",
        # identifiers, never personal
        "complaint_id",
        "followup_id",
        "ticket",
        "ref",
        "outbox_id",
        "state",
        "kind",
        "stage",
        # figures
        "fetched",
        "unchanged",
        "stale",
        "followups_new",
        "recovered",
        "retry_later",
        "unknown",
        "waiting",
        "dead",
        "tickets_new",
        "echoes_linked",
        "followup_echoes",
        "applied",
        "opened",
        "checked",
        "tickets",
        "inserted",
        "updated",
        "deleted",
        "invalid",
        "events",
        "accepted_local",
        "agreed",
        "new",
        "changed",
        "quarantined",
        "requests",
        "pushed",
        "stored",
        "conflicts",
        "overdue",
        "near_due",
        "failed",
        "downloaded",
        "skipped",
        "count",
        "total",
        # program-chosen words
        "reason",
        "error_type",
    }
)
"""Fields whose values are logged (after masking). Extend with :func:`allow_fields`."""

# Names that say "personal data or a credential": refusing them in allow_fields keeps a
# hurried change from opening the filter. Compared case-insensitively.
NEVER_ALLOWED: Final[frozenset[str]] = frozenset(
    {
        "name",
        "nama",
        "reporter",
        "pelapor",
        "phone",
        "telepon",
        "hp",
        "email",
        "nik",
        "address",
        "alamat",
        "content",
        "isi",
        "text",
        "title",
        "judul",
        "note",
        "catatan",
        "body",
        "payload",
        "data",
        "headers",
        "search",
        "query",
        "token",
        "api_key",
        "password",
        "secret",
        "authorization",
        "cookie",
    }
)
