"""Errors, named by what the caller must do about them.

The tree::

    LaporSyncError                 root; never raised itself
    ├── ConfigError                fix the configuration; exit, list every problem
    ├── RemoteError                anything the SP4N-LAPOR! side did wrong
    │   ├── RetryableRemoteError   try again later (5xx, 429, connection, garbage body)
    │   │   └── StoppingError      not sent: lapor-sync is stopping (never retried now)
    │   ├── FatalRemoteError       do not retry; a person must act
    │   │   ├── AuthError          401: the credentials are wrong or expired
    │   │   ├── ForbiddenError     403: not allowed for this instansi (this record)
    │   │   ├── NotFoundError      404
    │   │   └── RejectedError      422: the server refused the input (field errors)
    │   └── AmbiguousWriteError    a write was sent, the answer was lost: read before resending
    ├── InvalidRecordError         one record cannot be read: quarantine it, go on
    ├── DataSafetyError            the run would do mass damage: stop, say why
    ├── LockHeldError              another lapor-sync owns this database
    ├── StoreError                 the database cannot be opened or written (locked, full disk)
    ├── BackupError                the backup could not be made or did not check out
    ├── ReportError                the report cannot be written (folder, disk)
    ├── EndpointError              the health and metrics endpoint cannot listen
    ├── WebError                   the portal cannot start as configured: fix that setting
    ├── CsvImportError             a CSV file refused as a whole, every bad row listed
    ├── RegisterError   +ValueError  a local record cannot be written as given: fix the input
    ├── AttachmentError +ValueError  a file cannot be attached as it is: fix or replace it
    ├── UserError       +ValueError  a portal account cannot be made or changed as asked
    └── ConflictError   +ValueError  a conflict cannot be resolved as asked

``+ValueError``: these are also ``ValueError`` (bad input from a person), so a caller that
catches ``ValueError`` around input handling still catches them.

Outside the tree on purpose, each caught by the module that uses it and turned into
something else, never shown as it is: ``SecretProblem`` (config: becomes one of a
ConfigError's problems), ``UnreadableBody`` (lapor: becomes a RetryableRemoteError),
``AttemptFailed`` (lapor transport: carries the RemoteError one attempt already decided
on), ``DownloadError`` (lapor: an attachment not fetched, logged, tried on a later pull),
``FieldError`` (local intake: one field refused, becomes a field problem or a re-asked
prompt), ``FilterProblem`` (web: a bad filter in the address, shown as a form message),
``NotReady``/``Refused``/``UploadRefused`` (sync outbox and push: a row's outcome, not a
failure), ``BrowserError`` (the tests' and scripts' headless Chromium) and the sandbox's
own (``UnknownComplaintError``, ``_Lost``), which belong to the fake server.

Invariant: no message built here contains a secret or personal data. Messages carry
status codes, endpoint names, ids and field *names* only, never field values or
response bodies. ``describe`` is the one place that turns an error into a sentence for an
operator.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Protocol


class LaporSyncError(Exception):
    """Root of every error lapor-sync raises on purpose."""


class ConfigError(LaporSyncError):
    """The configuration is invalid. ``problems`` holds every problem, each with its key path."""

    def __init__(self, problems: Sequence[str], source: str = "configuration") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: {len(self.problems)} problem(s)")


class RemoteError(LaporSyncError):
    """The SP4N-LAPOR! side failed. ``endpoint`` is a route name like ``complaint_detail``."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(message)


class RetryableRemoteError(RemoteError):
    """Transient: 5xx, 429, connection trouble, a body that is not the promised JSON."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.retry_after = retry_after


class StoppingError(RetryableRemoteError):
    """The request was not sent, or a read was abandoned, because lapor-sync is stopping.

    Retryable on a later run, never within this one: the retry loop lets it through.
    """

    def __init__(self, endpoint: str = "") -> None:
        super().__init__("request abandoned: lapor-sync is stopping", endpoint=endpoint)


class FatalRemoteError(RemoteError):
    """Retrying will not help; a person must change something."""


class AuthError(FatalRemoteError):
    """401: the API key or instansi token is wrong or expired. Stops the whole job."""


class ForbiddenError(FatalRemoteError):
    """403: this instansi may not do this (to this record). Fails one record, not the job."""


class NotFoundError(FatalRemoteError):
    """404: the record does not exist or is not visible to this instansi."""


class RejectedError(FatalRemoteError):
    """422: the server refused the input. ``field_errors`` maps field name to messages."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = 422,
        field_errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.field_errors = {k: list(v) for k, v in (field_errors or {}).items()}


class AmbiguousWriteError(RemoteError):
    """A write was sent and its answer lost: it may or may not have been applied.

    Never resend blindly; look the record up on the remote first.
    """


class InvalidRecordError(LaporSyncError):
    """One record from the remote cannot be understood; it is quarantined and the run goes on.

    ``reason`` names the field and the problem, never the value.
    """

    def __init__(self, reason: str, *, record_id: str | None = None, raw: object = None) -> None:
        self.reason = reason
        self.record_id = record_id
        self.raw = raw  # kept for the quarantine table; never part of the message
        super().__init__(reason)


class DataSafetyError(LaporSyncError):
    """Carrying on would risk mass damage (for example the remote suddenly lists nothing)."""


class LockHeldError(LaporSyncError):
    """Another lapor-sync process holds the database lock."""


class StoreError(LaporSyncError):
    """The database cannot be opened or written (locked, read-only, full disk)."""


class BackupError(LaporSyncError):
    """The backup could not be made or did not check out."""


class ReportError(LaporSyncError):
    """The report cannot be written (folder not writable, disk full)."""


class EndpointError(LaporSyncError):
    """The health and metrics endpoint cannot listen (port taken, address not local)."""


class WebError(LaporSyncError):
    """The portal cannot start as configured; the message says which setting to fix."""


class FileProblem(Protocol):
    """One thing wrong in a refused file (``local.csv_import.RowProblem`` is one).

    ``str()`` says it in English for the log, ``in_indonesian()`` for the operator who
    imports the file; neither quotes a value from the file.
    """

    def in_indonesian(self) -> str: ...


class CsvImportError(LaporSyncError):
    """A file was refused as a whole; ``problems`` lists every bad row. Nothing was written."""

    def __init__(self, problems: Sequence[FileProblem], source: str = "CSV file") -> None:
        self.problems = list(problems)
        self.source = source
        lines = [f"{source}: {len(self.problems)} problem(s); nothing was imported:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class RegisterError(LaporSyncError, ValueError):
    """A local record cannot be written as given; the message says what to fix."""


class AttachmentError(LaporSyncError, ValueError):
    """A file cannot be attached as it is; ``message`` (Bahasa Indonesia) and
    ``message_en`` say what to fix. Neither quotes the file's content."""

    def __init__(self, message_en: str, message: str) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message = message


class UserError(LaporSyncError, ValueError):
    """An account cannot be created or changed as asked; the message says what to fix."""


class ConflictError(LaporSyncError, ValueError):
    """A conflict cannot be resolved as asked; the message says why."""


def describe(error: BaseException) -> str:
    """One sentence for an operator: what happened and what to do. No secrets, no personal data."""
    if isinstance(error, ConfigError):
        lines = [f"{error.source} has {len(error.problems)} problem(s); fix them and try again:"]
        lines += [f"  - {p}" for p in error.problems]
        return "\n".join(lines)
    where = ""
    if isinstance(error, RemoteError) and error.endpoint:
        where = f" ({error.endpoint}"
        where += f", HTTP {error.status})" if error.status else ")"
    if isinstance(error, AuthError) and error.endpoint == "token":
        return f"The API gateway's token endpoint refused the client credentials{where}: {error}."
    if isinstance(error, AuthError):
        return (
            f"SP4N-LAPOR! refused the credentials{where}: check the account's API key and "
            "instansi token in the configuration (they may have expired or been rotated)."
        )
    if isinstance(error, ForbiddenError):
        return (
            f"SP4N-LAPOR! does not allow this instansi to do that{where}; the complaint may "
            "belong to another instansi or unit."
        )
    if isinstance(error, RejectedError):
        fields = ", ".join(sorted(error.field_errors)) or "unspecified fields"
        return f"SP4N-LAPOR! rejected the data{where}; fields with errors: {fields}."
    if isinstance(error, NotFoundError):
        return (
            f"SP4N-LAPOR! does not know this record{where}; it may not be visible to this instansi."
        )
    if isinstance(error, AmbiguousWriteError):
        return (
            f"A write was sent but its answer was lost{where}; lapor-sync will look the record "
            "up before sending again."
        )
    if isinstance(error, StoppingError):
        return f"Stopped before the work was done{where}; the next run picks it up."
    if isinstance(error, RetryableRemoteError):
        return (
            f"SP4N-LAPOR! is unavailable or overloaded{where}: {error}. "
            "lapor-sync will retry on the next cycle."
        )
    if isinstance(error, RemoteError):
        return f"SP4N-LAPOR! answered unexpectedly{where}: {error}."
    if isinstance(error, InvalidRecordError):
        return f"A record could not be read and was quarantined: {error.reason}."
    if isinstance(error, DataSafetyError):
        return f"Stopped to protect the data: {error}"
    if isinstance(error, LockHeldError):
        return f"{error} Only one lapor-sync may use a database at a time."
    if isinstance(error, LaporSyncError):
        return str(error)
    if isinstance(error, sqlite3.Error):
        return _describe_sqlite(error)
    if isinstance(error, OSError):
        return f"Operating system error: {error.strerror or type(error).__name__}."
    return f"Unexpected internal error ({type(error).__name__}); see the log for details."


def _describe_sqlite(error: sqlite3.Error) -> str:
    # SQLite's messages are fixed texts ("database is locked"), never row data.
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return (
            "The database is busy: another program has held a write lock for too long. "
            "Try again; if it persists, find the program that keeps the store open."
        )
    if "full" in text:
        return "The disk holding the database is full: free space, then run again."
    if "readonly" in text or "read-only" in text:
        return "The database file or its folder is read-only for this user: check ownership."
    if "malformed" in text or "not a database" in text:
        return (
            "The database file is damaged or not a lapor-sync store: restore the last backup "
            "(lapor-sync backup) and run again."
        )
    return f"Database error ({type(error).__name__}): {error}."
