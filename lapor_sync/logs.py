"""Logging for lapor-sync: one structlog pipeline for our code and for the libraries.

Output
    ``configure_logging(fmt="auto")`` writes JSON lines (one object per line) when the
    stream is not a terminal or when ``JOURNAL_STREAM`` is set (systemd/journald), and
    structlog's readable console lines on a terminal, coloured only on a TTY (and not when
    ``NO_COLOR`` is set). Loggers of the standard library (``urllib3``, ``apscheduler``,
    ``requests``, ``py.warnings``, the root logger) go through the same processors via
    ``structlog.stdlib.ProcessorFormatter``, so their lines have the same shape and are
    filtered and masked the same way. ``urllib3`` and ``charset_normalizer`` log at
    WARNING or above: their DEBUG lines carry URLs and are noise in a service; so does
    ``apscheduler``, whose INFO lines ("Added job …", "Scheduler started") are chatter at
    every start (the daemon logs its own one-line start with the schedule).

Syslog priority
    Every JSON line carries ``priority``, the syslog severity of its level (debug 7, info
    6, warning 4, error 3, critical 2). Under journald (``JOURNAL_STREAM`` set) the line
    also starts with ``<N>``, which journald strips and stores as the entry's PRIORITY,
    so ``journalctl -u lapor-sync -p err`` finds exactly the errors.

Progress bars
    A command that draws a progress bar on the terminal calls :func:`partial_line` while
    the bar's line is unfinished; the next log line then starts on a line of its own
    instead of being glued to the bar.

Timestamps
    ISO 8601 in WIB with its offset and milliseconds (``2026-11-28T14:05:09.123+07:00``),
    the same zone as every timestamp the program stores (see ``timeutil``): operators and
    OPD liaisons think in WIB, and the offset keeps the value unambiguous for machines.

Privacy (docs/design.md, invariant 7): defence in depth
    1. The first line is the code itself: it never passes names, NIK, phone numbers,
       e-mail, complaint text, tokens or request bodies to a log call.
    2. An **allow-list of fields**. Only the keys in :data:`ALLOWED_FIELDS` (and those
       added with :func:`allow_fields`) keep their values. Any other key keeps its name,
       so a developer sees that something was there, but its value becomes
       ``"[disaring]"``. An allow-list, not a deny-list, because a new field is unsafe
       until someone decides otherwise: ``reporter=…`` or ``payload=…`` added in a hurry
       is dropped without anyone having had to foresee it. Keys that name personal data
       or credentials (``email``, ``nik``, ``content``, ``token``…) can never be allowed.
    3. **Last-line masking**: every string value that survives, including ``event``, the
       logger name, exception text and tracebacks, and the string form of any other
       value, goes through :func:`lapor_sync.redact.redact_text`, which masks registered
       secrets, NIK, phone numbers, e-mail, bearer tokens and GUID-like tokens.
    Tracebacks are rendered with :func:`traceback.format_exception`, which never shows
    local variables (whatever the traceback libraries installed, e.g. rich, would do by
    default). ``extra=`` fields of stdlib records are not copied into the output.

Allowed fields (:data:`ALLOWED_FIELDS`) and why
    ``event, level, timestamp, logger`` — the line itself. ``account, opd, job, run_id,
    endpoint, method, status, attempt, wait_s, duration_s, page, cursor, path, port, pid,
    version`` — where and how: configuration names, route templates, HTTP figures.
    ``complaint_id, followup_id, ticket, ref, outbox_id, state, kind`` — identifiers that
    the reconciliation log also carries; never personal. ``fetched, new, changed,
    quarantined, requests, pushed, conflicts, overdue, count, stored, …`` — counts for
    run summaries. ``reason, error_type`` — program-chosen words and exception class
    names, never a remote message or a body. Other modules add theirs with
    ``allow_fields("name", …)`` at import time.

Invariants: nothing is written that has not passed the allow-list and the masking;
``configure_logging`` is idempotent (it replaces its own handler, never adds a second);
:func:`get_logger` configures logging with the defaults if nobody has, so an early log
call never reaches structlog's unmasked default output.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from lapor_sync.log_fields import ALLOWED_FIELDS, NEVER_ALLOWED
from lapor_sync.redact import FILTERED_MARK, redact_text
from lapor_sync.timeutil import WIB

__all__ = [
    "ALLOWED_FIELDS",
    "LogFormat",
    "allow_fields",
    "allowed_fields",
    "configure_logging",
    "get_logger",
    "log_run_summary",
    "reset_logging",
]

LogFormat = Literal["auto", "json", "console"]

# Keys this module itself produces; always kept (and masked).
_INTERNAL_FIELDS: Final = frozenset({"exception", "stack"})
# Bookkeeping of ProcessorFormatter, removed before rendering; never touched.
_META_FIELDS: Final = frozenset({"_record", "_from_structlog"})
_LEADING: Final = ("timestamp", "level", "logger", "event")
_TRAILING: Final = ("exception", "stack")
# Library loggers held at WARNING or above.
_QUIET_LOGGERS: Final = ("urllib3", "charset_normalizer", "apscheduler")
# Syslog severities (RFC 5424) of our levels.
PRIORITIES: Final = {"debug": 7, "info": 6, "warning": 4, "error": 3, "critical": 2}
_MAX_DEPTH: Final = 4

_allowed: frozenset[str] = ALLOWED_FIELDS
_state_lock = threading.Lock()
_configured = False
_partial = threading.Event()  # a progress bar holds an unfinished line on the terminal


def partial_line(active: bool) -> None:
    """Say that the terminal's current line is (or is no longer) an unfinished bar."""
    if active:
        _partial.set()
    else:
        _partial.clear()


def allow_fields(*names: str) -> None:
    """Let fields ``names`` through the allow-list (values are still masked).

    Raises ``ValueError`` for a name that is not an identifier or that names personal data
    or a credential (``email``, ``content``, ``token``, …).
    """
    global _allowed
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"not a field name: {name!r}")
        if name.lower() in NEVER_ALLOWED:
            raise ValueError(f"field {name!r} names personal data or a secret; never logged")
    with _state_lock:
        _allowed = _allowed | frozenset(names)


def allowed_fields() -> frozenset[str]:
    """The fields currently allowed: :data:`ALLOWED_FIELDS` plus every extension."""
    return _allowed


# --- processors -------------------------------------------------------------------------


def _add_timestamp(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    record = event_dict.get("_record")
    created = record.created if isinstance(record, logging.LogRecord) else time.time()
    event_dict["timestamp"] = datetime.fromtimestamp(created, WIB).isoformat(
        timespec="milliseconds"
    )
    return event_dict


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _exc_info_tuple(value: object) -> ExcInfo | None:
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple):
        if len(value) == 3 and isinstance(value[1], BaseException):
            return (type(value[1]), value[1], value[2])
        return None
    if value:
        current = sys.exc_info()
        if current[1] is not None:
            return (type(current[1]), current[1], current[2])
    return None


def _render_exception(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """``exc_info`` → an ``exception`` string, without local variables."""
    info = _exc_info_tuple(event_dict.pop("exc_info", None))
    if info is not None:
        # format_exception never renders locals (only TracebackException(capture_locals=
        # True) would); rich/better-exceptions are deliberately not used.
        text = "".join(traceback.format_exception(info[0], info[1], info[2]))
        event_dict["exception"] = text.rstrip("\n")
    stack = event_dict.pop("stack_info", None)
    if isinstance(stack, str):  # a stdlib record's stack_info
        event_dict["stack"] = stack
    return event_dict


def _filter_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Keep allowed keys; any other key stays, with its value replaced by ``[disaring]``."""
    allowed = _allowed
    result: dict[str, Any] = {}
    for key in _LEADING:
        if key in event_dict:
            result[key] = event_dict[key]
    for key, value in event_dict.items():
        if key in result or key in _TRAILING:
            continue
        if key in allowed or key in _META_FIELDS:
            result[key] = value
        else:
            # A key name is text too; mask it in case someone used data as a key.
            result[redact_text(str(key))] = FILTERED_MARK
    for key in _TRAILING:
        if key in event_dict:
            result[key] = event_dict[key]
    return result


def _mask(value: object, depth: int = 0) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        if -10_000 < value < 100_000:
            # At most five characters: shorter than any registered secret and than any
            # number redact_text masks (seven). Most figures (counts, ids) are such.
            return value
        text = str(value)
        masked = redact_text(text)
        return value if masked == text else masked  # e.g. a NIK passed as an int
    if depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            return {redact_text(str(k)): _mask(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [_mask(v, depth + 1) for v in value]
    try:
        text = str(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return redact_text(text)


def _mask_values(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Last line: mask every value, whatever its key (our own timestamp excepted)."""
    for key, value in event_dict.items():
        if key == "timestamp" or key in _META_FIELDS:
            continue
        event_dict[key] = _mask(value)
    return event_dict


# Shared by structlog events (before they become stdlib records, so that even other
# handlers, e.g. pytest's caplog, only ever see sanitized dicts) and by stdlib records.
_SANITIZE: Final[tuple[Processor, ...]] = (_render_exception, _filter_fields, _mask_values)

_STRUCTLOG_CHAIN: Final[tuple[Processor, ...]] = (
    structlog.stdlib.filter_by_level,
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    _add_timestamp,
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.StackInfoRenderer(),
    *_SANITIZE,
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
)

_FOREIGN_CHAIN: Final[tuple[Processor, ...]] = (
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    _add_timestamp,
    *_SANITIZE,
)


# --- handler and formatter ----------------------------------------------------------------


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """Never raises: a failure to format must not print the raw record anywhere."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            return super().format(record)
        except Exception as exc:
            return json.dumps(
                {
                    "timestamp": datetime.now(WIB).isoformat(timespec="milliseconds"),
                    "level": "error",
                    "logger": __name__,
                    "event": "log_format_error",
                    "error_type": type(exc).__name__,
                }
            )


class _Handler(logging.StreamHandler[TextIO]):
    """Our one handler on the root logger. With no stream it follows ``sys.stderr``."""

    lapor_sync_handler = True

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            # sys.stderr may be swapped (pytest capture, daemon set-up) after configuring.
            self.stream = sys.stderr
        if _partial.is_set():
            # End the progress bar's line first; the bar redraws itself on the next one.
            _partial.clear()
            with contextlib.suppress(Exception):
                self.stream.write("\n")
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        # The stdlib version prints the record's message and arguments: unmasked data.
        fallback = sys.__stderr__
        if logging.raiseExceptions and fallback is not None:
            error = sys.exc_info()[1]
            with contextlib.suppress(Exception):  # nowhere left to report to
                fallback.write(
                    f"lapor-sync: a log line could not be written ({type(error).__name__})\n"
                )


class _PriorityJSON:
    """JSON lines with the syslog ``priority``; with ``prefix``, led by journald's ``<N>``."""

    def __init__(self, *, prefix: bool) -> None:
        self._json = structlog.processors.JSONRenderer(ensure_ascii=False)
        self._prefix = prefix

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        priority = PRIORITIES.get(str(event_dict.get("level", "info")).lower(), 6)
        event_dict["priority"] = priority
        line = str(self._json(logger, name, event_dict))
        return f"<{priority}>{line}" if self._prefix else line


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _parse_level(level: str) -> int:
    value = logging.getLevelNamesMapping().get(level.strip().upper())
    if value is None:
        raise ValueError(f"unknown log level: {level!r}")
    return value


def _remove_our_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, "lapor_sync_handler", False):
            root.removeHandler(handler)
            handler.close()


def configure_logging(
    *,
    fmt: LogFormat = "auto",
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    """Send every log line, ours and the libraries', through one filtered, masked pipeline.

    ``fmt="auto"``: JSON lines if ``stream`` (default: the current ``sys.stderr``) is not a
    terminal or ``JOURNAL_STREAM`` is set; console lines otherwise. Idempotent: calling it
    again replaces the previous set-up. Raises ``ValueError`` for an unknown level.
    """
    global _configured
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"unknown log format: {fmt!r}")
    numeric = _parse_level(level)
    target = stream if stream is not None else sys.stderr
    tty = _isatty(target)
    use_json = fmt == "json" or (
        fmt == "auto" and (bool(os.environ.get("JOURNAL_STREAM")) or not tty)
    )
    renderer: Processor
    if use_json:
        renderer = _PriorityJSON(prefix=bool(os.environ.get("JOURNAL_STREAM")))
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=tty and "NO_COLOR" not in os.environ,
            # Exceptions arrive already rendered (as text, without locals); this is only
            # a guard in case one ever reaches the renderer unrendered.
            exception_formatter=structlog.dev.plain_traceback,
        )
    formatter = _Formatter(
        foreign_pre_chain=_FOREIGN_CHAIN,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        keep_exc_info=False,
        keep_stack_info=False,
    )
    handler = _Handler(stream)
    handler.setFormatter(formatter)

    with _state_lock:
        root = logging.getLogger()
        _remove_our_handlers(root)
        root.addHandler(handler)
        root.setLevel(numeric)
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
        logging.captureWarnings(True)
        structlog.configure(
            processors=list(_STRUCTLOG_CHAIN),
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            context_class=dict,
            # No caching: it saves ~2% per line, and a cached module-level logger would
            # ignore later re-configuration (structlog.testing.capture_logs in tests).
            cache_logger_on_first_use=False,
        )
        _configured = True


def reset_logging() -> None:
    """Undo :func:`configure_logging` (for tests). Allowed fields and secrets are kept."""
    global _configured
    with _state_lock:
        root = logging.getLogger()
        _remove_our_handlers(root)
        root.setLevel(logging.WARNING)
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.captureWarnings(False)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        _configured = False


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (default: the calling module's ``__name__``)."""
    if not _configured and not structlog.is_configured():
        configure_logging()
    if name is None:
        name = sys._getframe(1).f_globals.get("__name__", "lapor_sync")
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def log_run_summary(logger: structlog.stdlib.BoundLogger, job: str, **figures: object) -> None:
    """Emit the one ``run_summary`` line of a run: ``job`` and its figures.

    Figure names must be allowed fields (``fetched``, ``stored``, ``pushed``, ``conflicts``,
    ``overdue``, ``duration_s``, …); others show as ``[disaring]``.
    """
    logger.info("run_summary", job=job, **figures)
