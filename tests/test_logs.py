"""Logging: allow-list, last-line masking, stdlib routing, tracebacks without locals."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from lapor_sync import logs
from lapor_sync.redact import clear_secrets, redact_text, register_secret

NIK = "3201012345670001"
PHONES = [
    "081234567890",
    "0812-3456-7890",
    "0812 3456 7890",
    "0812.3456.7890",
    "+62 812 3456 7890",
    "+62-812-3456-7890",
    "+6281234567890",
    "6281234567890",
    "(+62) 812 3456 7890",
    "(021) 7654321",
]
EMAIL = "budi.santoso@example.co.id"
BEARER_VALUE = "Zm9vYmFyYmF6cXV4LXRva2Vu"
INSTANSI_TOKEN = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
SECRET = "kunci-api-Qw8Rt5"  # registered; matches no pattern on its own

# (what is placed in the log, what must never show up)
SENSITIVE: list[tuple[str, str]] = [
    (NIK, NIK),
    ("3201 0123 4567 0001", "3201 0123 4567 0001"),
    *[(phone, phone) for phone in PHONES],
    (EMAIL, EMAIL),
    (f"Authorization: Bearer {BEARER_VALUE}", BEARER_VALUE),
    (f"Bearer {BEARER_VALUE}", BEARER_VALUE),
    (f"token: {INSTANSI_TOKEN}", INSTANSI_TOKEN),
    (SECRET, SECRET),
]
SENSITIVE_IDS = [needle for _, needle in SENSITIVE]

FORMATS = ["json", "console"]


@pytest.fixture(autouse=True)
def _clean_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    logs.reset_logging()
    clear_secrets()
    monkeypatch.setattr(logs, "_allowed", logs.ALLOWED_FIELDS)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    register_secret(SECRET)
    yield
    logs.reset_logging()
    clear_secrets()


def _capture(fmt: logs.LogFormat, level: str = "info") -> io.StringIO:
    stream = io.StringIO()
    logs.configure_logging(fmt=fmt, level=level, stream=stream)
    return stream


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


class _FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- where personal data can be placed ---------------------------------------------------


def _in_event(value: str) -> None:
    logs.get_logger("lapor_sync.sync.pull").info(f"contact {value} received")


def _in_unexpected_field(value: str) -> None:
    logs.get_logger("lapor_sync.sync.pull").info("received", reporter_phone=value)


def _in_allowed_field(value: str) -> None:
    logs.get_logger("lapor_sync.sync.pull").warning("rejected", reason=f"remote said {value}")


def _in_nested_allowed_field(value: str) -> None:
    logs.get_logger("lapor_sync.sync.pull").info("x", reason={"detail": [value, 1]})


def _in_bound_context(value: str) -> None:
    structlog.contextvars.bind_contextvars(opd=value)
    try:
        logs.get_logger("lapor_sync.sync.pull").bind(state=value).info("bound")
    finally:
        structlog.contextvars.clear_contextvars()


def _in_exception(value: str) -> None:
    log = logs.get_logger("lapor_sync.lapor.client")
    try:
        raise ValueError(f"server echoed {value}")
    except ValueError:
        log.exception("request_failed", error_type="ValueError")


def _in_stdlib_logger(value: str) -> None:
    logging.getLogger("urllib3").warning("Retrying after %s", value)


def _in_stdlib_exception(value: str) -> None:
    try:
        raise RuntimeError(f"job failed for {value}")
    except RuntimeError:
        logging.getLogger("apscheduler.executors.default").exception("Job raised")


PLACES: list[Callable[[str], None]] = [
    _in_event,
    _in_unexpected_field,
    _in_allowed_field,
    _in_nested_allowed_field,
    _in_bound_context,
    _in_exception,
    _in_stdlib_logger,
    _in_stdlib_exception,
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.__name__.lstrip("_"))
@pytest.mark.parametrize(("value", "needle"), SENSITIVE, ids=SENSITIVE_IDS)
def test_personal_data_and_secrets_never_reach_the_output(
    fmt: logs.LogFormat, place: Callable[[str], None], value: str, needle: str
) -> None:
    stream = _capture(fmt)
    place(value)
    output = stream.getvalue()
    assert output.strip(), "nothing was logged"
    assert needle not in output
    if fmt == "json":
        assert _json_lines(stream)


@pytest.mark.parametrize("fmt", FORMATS)
def test_markers_say_what_was_masked(fmt: logs.LogFormat) -> None:
    stream = _capture(fmt)
    logs.get_logger("t").info(f"nik {NIK} hp {PHONES[1]} mail {EMAIL} key {SECRET}")
    output = stream.getvalue()
    for marker in ("[NIK]", "[TELEPON]", "[EMAIL]", "[RAHASIA]"):
        assert marker in output


def test_ordinary_ids_dates_and_figures_survive_unchanged() -> None:
    stream = _capture("json")
    message = (
        "pulled complaint 1234567890 tracking 3912345 ref LPG-2026-000123 on 2026-11-28 "
        "at 2026-11-28T14:05:09.123+07:00 (28-03-2025 14:05:09) range 2026-11-01 2026-11-28 "
        "status 429 took 1.25s page 12 port 8080 pid 4242 version 0.1.0"
    )
    fields: dict[str, object] = {
        "complaint_id": 1234567890,
        "followup_id": "987654",
        "ticket": "LPG-2026-000123",
        "ref": "LPG-2026-000123",
        "status": 201,
        "attempt": 3,
        "wait_s": 2.5,
        "duration_s": 0.25,
        "fetched": 100,
        "cursor": "2026-11-28T14:05:09+07:00",
        "page": 7,
        "run_id": "3fa85f6457174562",
        "endpoint": "/complaints/{id}/followups",
        "outbox_id": 42,
        "state": "pending",
    }
    logs.get_logger("lapor_sync.sync.pull").info(message, **fields)
    (line,) = _json_lines(stream)
    assert line["event"] == message
    for key, value in fields.items():
        assert line[key] == value


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_fields_keep_their_key_and_lose_their_value(fmt: logs.LogFormat) -> None:
    stream = _capture(fmt)
    logs.get_logger("t").info("received", reporter_name="Siti Aminah", opd="dinkes")
    output = stream.getvalue()
    assert "Siti Aminah" not in output
    assert "reporter_name" in output
    assert "[disaring]" in output
    assert "dinkes" in output
    if fmt == "json":
        (line,) = _json_lines(stream)
        assert line["reporter_name"] == "[disaring]"
        assert line["opd"] == "dinkes"


def test_json_lines_have_the_common_fields_in_wib() -> None:
    stream = _capture("json")
    logs.get_logger("lapor_sync.daemon").info("started", pid=1234)
    logging.getLogger("urllib3.connectionpool").warning("Retrying")
    lines = _json_lines(stream)
    assert [line["logger"] for line in lines] == ["lapor_sync.daemon", "urllib3.connectionpool"]
    assert [line["level"] for line in lines] == ["info", "warning"]
    for line in lines:
        assert isinstance(line["timestamp"], str)
        assert line["timestamp"].endswith("+07:00")
        assert list(line)[:4] == ["timestamp", "level", "logger", "event"]


def _fails_with_a_secret_in_a_local() -> None:
    api_key = "lokal-tidak-terdaftar-Zx41"  # not registered, matches no pattern
    headers = {"X-Kunci": api_key}
    raise RuntimeError(f"boom {len(headers)}")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("via", ["structlog", "stdlib"])
def test_tracebacks_show_no_local_variables(fmt: logs.LogFormat, via: str) -> None:
    stream = _capture(fmt)
    try:
        _fails_with_a_secret_in_a_local()
    except RuntimeError as exc:
        if via == "structlog":
            logs.get_logger("t").error("job_failed", exc_info=exc)
        else:
            logging.getLogger("apscheduler").error("Job raised", exc_info=True)
    output = stream.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "RuntimeError: boom 1" in output
    assert "lokal-tidak-terdaftar" not in output
    assert "X-Kunci" not in output


def test_urllib3_is_held_at_warning() -> None:
    stream = _capture("json", level="debug")
    logging.getLogger("urllib3.connectionpool").debug("Starting new HTTPS connection")
    logging.getLogger("urllib3.connectionpool").info("Resetting dropped connection")
    logging.getLogger("urllib3.connectionpool").warning("Retrying")
    logs.get_logger("t").debug("ours")
    assert [line["event"] for line in _json_lines(stream)] == ["Retrying", "ours"]


def test_level_filters_structlog_and_stdlib() -> None:
    stream = _capture("json", level="warning")
    logs.get_logger("t").info("hidden")
    logging.getLogger("apscheduler").info("hidden too")
    logs.get_logger("t").warning("shown")
    assert [line["event"] for line in _json_lines(stream)] == ["shown"]


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        logs.configure_logging(level="loud")
    with pytest.raises(ValueError, match="format"):
        logs.configure_logging(fmt="xml")  # type: ignore[arg-type]


def test_configuring_twice_does_not_duplicate_lines() -> None:
    first = _capture("json")
    second = _capture("json")
    logs.get_logger("t").info("once")
    logging.getLogger("requests").warning("once too")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "lapor_sync_handler", False)]
    assert len(ours) == 1
    assert first.getvalue() == ""
    assert [line["event"] for line in _json_lines(second)] == ["once", "once too"]


def test_auto_is_json_off_a_terminal_and_console_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = io.StringIO()
    logs.configure_logging(stream=plain)
    logs.get_logger("t").info("hello")
    assert json.loads(plain.getvalue())["event"] == "hello"

    tty = _FakeTTY()
    logs.configure_logging(stream=tty)
    logs.get_logger("t").info("hello")
    assert "hello" in tty.getvalue()
    assert "\x1b[" in tty.getvalue()  # coloured on a TTY
    with pytest.raises(json.JSONDecodeError):
        json.loads(tty.getvalue())

    monkeypatch.setenv("NO_COLOR", "1")
    tty = _FakeTTY()
    logs.configure_logging(stream=tty)
    logs.get_logger("t").info("hello")
    assert "\x1b[" not in tty.getvalue()

    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    journal = _FakeTTY()
    logs.configure_logging(stream=journal)
    logs.get_logger("t").info("hello")
    line = journal.getvalue()
    assert line.startswith("<6>{")  # journald's priority prefix: info
    assert json.loads(line[3:])["event"] == "hello"


def test_forced_console_on_a_pipe_has_no_colours() -> None:
    stream = _capture("console")
    logs.get_logger("t").info("hello", opd="dinkes")
    assert "\x1b[" not in stream.getvalue()
    assert "opd=dinkes" in stream.getvalue()


def test_run_summary_is_one_line_with_its_figures() -> None:
    stream = _capture("json")
    log = logs.get_logger("lapor_sync.sync")
    logs.log_run_summary(
        log, "pull", fetched=12, stored=11, pushed=3, conflicts=1, overdue=2, duration_s=4.5
    )
    (line,) = _json_lines(stream)
    assert line["event"] == "run_summary"
    assert line["job"] == "pull"
    assert (line["fetched"], line["stored"], line["pushed"]) == (12, 11, 3)
    assert (line["conflicts"], line["overdue"], line["duration_s"]) == (1, 2, 4.5)


def test_allow_fields_extends_the_list_but_never_to_personal_data() -> None:
    stream = _capture("json")
    logs.allow_fields("category_id")
    assert "category_id" in logs.allowed_fields()
    logs.get_logger("t").info("x", category_id=7)
    assert _json_lines(stream)[0]["category_id"] == 7
    for name in ("email", "Content", "token", "nik"):
        with pytest.raises(ValueError, match="never logged"):
            logs.allow_fields(name)
    with pytest.raises(ValueError, match="not a field name"):
        logs.allow_fields("a b")


def test_values_of_any_type_are_masked() -> None:
    class Weird:
        def __str__(self) -> str:
            return f"weird {EMAIL}"

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError(NIK)

    stream = _capture("json")
    logs.get_logger("t").info(
        "x", count=int(NIK), reason=Weird(), state=Broken(), kind=(PHONES[0], b"x")
    )
    output = stream.getvalue()
    (line,) = _json_lines(stream)
    assert NIK not in output and EMAIL not in output and PHONES[0] not in output
    assert line["count"] == "[NIK]"
    assert line["reason"] == "weird [EMAIL]"
    assert line["state"] == "<Broken>"


def test_other_handlers_only_see_sanitized_structlog_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _capture("json")
    with caplog.at_level(logging.INFO):
        logs.get_logger("t").info(f"hp {PHONES[0]}", reporter=EMAIL)
    assert PHONES[0] not in caplog.text
    assert EMAIL not in caplog.text


def test_a_broken_stdlib_record_gives_a_safe_line() -> None:
    _capture("json")
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "lapor_sync_handler", 0)]
    record = logging.LogRecord(
        "apscheduler", logging.WARNING, __file__, 1, "%s and %s", (EMAIL,), None
    )  # one argument short: formatting it raises
    line = handler.format(record)
    assert json.loads(line)["event"] == "log_format_error"
    assert EMAIL not in line


def test_get_logger_configures_safe_output_when_nobody_did(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logs.get_logger("lapor_sync.early")
    log.warning(f"hp {PHONES[0]}", reporter=EMAIL)
    err = capsys.readouterr().err
    assert "[TELEPON]" in err
    assert PHONES[0] not in err
    assert EMAIL not in err


def test_get_logger_defaults_to_the_callers_module() -> None:
    stream = _capture("json")
    logs.get_logger().info("x")
    assert _json_lines(stream)[0]["logger"] == __name__


# --- redact_text on its own ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"NIK {NIK}.", "NIK [NIK]."),
        ("NIK: 3201-0123-4567-0001", "NIK: [NIK]"),
        ("32.01.01.234567.0001", "[NIK]"),
        ("Telp.081234567", "Telp.[TELEPON]"),
        ("hubungi 0812-3456-7890 segera", "hubungi [TELEPON] segera"),
        ("+62 812 3456 7890", "[TELEPON]"),
        ("021-1234-5678", "[TELEPON]"),
        (f"<{EMAIL}>", "<[EMAIL]>"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: [RAHASIA]"),
        ("{'token': 'abc-123456', 'Accept': 'application/json'}", None),
        ("GET /complaints?page=2&search=Budi%20Santoso HTTP/1.1", None),
        ("x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig y", "x [RAHASIA] y"),
    ],
)
def test_redact_text_masks(text: str, expected: str | None) -> None:
    result = redact_text(text)
    assert result != text
    if expected is not None:
        assert result == expected
    assert "abc-123456" not in result
    assert "Budi" not in result


@pytest.mark.parametrize(
    "text",
    [
        "complaint 1234567890 tracking 3912345",
        "ref LPG-2026-000123",
        "2026-11-28",
        "2026-11-28T14:05:09.123+07:00",
        "2026-11-28T08:12:34.081234567Z",
        "28-03-2025 14:05:09",
        "08-12-2026 10.30",
        "from 2026-11-01 2026-11-28",
        "took 3.0812345678s",
        "status 429, 503 retry in 2.5 s",
        "ip 10.08.123.45 port 8080 pid 4242",
        "run 3fa85f6457174562b3fc2c963f66afa6",
        "is_secret=1 tokens=5 token_refreshed",
        "complaint 6281234567",
        "counts 12 34 56 78 90 12 34 56",
        "job pull-pemprov-lampung every 15 min",
        "",
    ],
)
def test_redact_text_leaves_ordinary_text_alone(text: str) -> None:
    assert redact_text(text) == text


def test_registered_secrets_short_values_are_ignored() -> None:
    register_secret("abc12")
    assert redact_text("abc12 abc123") == "abc12 abc123"
    register_secret("p@ss word/42")
    assert redact_text("x p@ss word/42 y p%40ss%20word%2F42") == "x [RAHASIA] y [RAHASIA]"


def test_a_text_once_found_clean_is_masked_after_its_secret_is_registered() -> None:
    # redact_text remembers short texts that held nothing to mask; a secret registered
    # later must still be masked in them, and numbers in log figures still are.
    line = "akun kunci-rahasia-baru-42 job pull"
    assert redact_text(line) == line  # nothing known yet (no credential pattern matches)
    assert redact_text(line) == line  # now remembered as clean
    register_secret("kunci-rahasia-baru-42")
    assert redact_text(line) == "akun [RAHASIA] job pull"
    clear_secrets()
    assert redact_text(line) == line


def test_small_numbers_pass_unmasked_and_long_ones_are_masked() -> None:
    stream = _capture("json")
    register_secret("654321")
    logs.get_logger("lapor_sync.test").info("run_summary", fetched=99999, stored=-9999,
                                             new=654321, changed=6281234567123)
    line = _json_lines(stream)[-1]
    assert line["fetched"] == 99999 and line["stored"] == -9999
    assert line["new"] == "[RAHASIA]"
    assert line["changed"] != 6281234567123 and "6281234567123" not in str(line["changed"])


def test_registering_from_many_threads_loses_nothing() -> None:
    values = [f"rahasia-{i:04d}-qwerty" for i in range(200)]

    def register_all(chunk: list[str]) -> None:
        for value in chunk:
            register_secret(value)

    threads = [threading.Thread(target=register_all, args=(values[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    masked = redact_text(" ".join(values))
    assert "rahasia-" not in masked


def test_redact_text_is_linear_on_long_text() -> None:
    text = ("Budi 0812-3456-7890 2026-11-28 a@b.id " * 2000) + "x" * 100_000
    masked = redact_text(text)
    assert "0812-3456-7890" not in masked
    assert "a@b.id" not in masked


_FILLER = st.text(alphabet="abcdefghij XYZ,;:!?()[]/_", max_size=20)


@given(
    before=_FILLER,
    after=_FILLER,
    digits=st.from_regex(r"[1-9]\d{15}", fullmatch=True),
    sep=st.sampled_from(["", " ", "-", "."]),
)
def test_any_nik_is_masked(before: str, after: str, digits: str, sep: str) -> None:
    nik = sep.join(digits[i : i + 4] for i in range(0, 16, 4))
    assert digits not in redact_text(before + nik + after).replace(sep, "")
    assert redact_text(before + nik + after).count("[NIK]") == 1


@given(
    before=_FILLER,
    after=_FILLER,
    prefix=st.sampled_from(["08", "+628", "+62 8", "628", "62 8"]),
    rest=st.from_regex(r"\d{2}[ .\-]?\d{4}[ .\-]?\d{3,4}", fullmatch=True),
)
def test_any_mobile_number_is_masked(before: str, after: str, prefix: str, rest: str) -> None:
    phone = prefix + rest
    masked = redact_text(f"{before} {phone} {after}")
    assert phone not in masked
    assert "[TELEPON]" in masked
