"""The glossary: one Indonesian name per internal value, and no raw names for liaisons."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import datetime

import pytest

from lapor_sync import glossary
from lapor_sync.domain import ComplaintState
from lapor_sync.local.register import LOCAL_CHANNELS
from lapor_sync.report.log_view import conflict_value_label, describe_event
from lapor_sync.sla.stages import STAGES
from lapor_sync.store.journal import EventKind
from lapor_sync.timeutil import WIB, from_db, to_db

OUTBOX_KINDS = ("create_complaint", "post_followup", "forward")  # the outbox table's CHECK
OUTBOX_STATES = ("pending", "sending", "unknown", "done", "dead")
CONFLICT_KINDS = ("unknown_status", "both_changed", "backwards_lapor", "backwards_local",
                  "lapor_decides")  # fmt: skip


@pytest.mark.parametrize(
    ("labels", "values"),
    [
        (glossary.STATE_LABELS, [s.value for s in ComplaintState]),
        (glossary.STAGE_LABELS, list(STAGES)),
        (glossary.OUTBOX_KIND_LABELS, list(OUTBOX_KINDS)),
        (glossary.OUTBOX_STATE_LABELS, list(OUTBOX_STATES)),
        (glossary.CONFLICT_LABELS, list(CONFLICT_KINDS)),
        (glossary.CHANNEL_LABELS, [*LOCAL_CHANNELS, "lapor"]),
    ],
    ids=["states", "stages", "outbox-kinds", "outbox-states", "conflicts", "channels"],
)
def test_every_value_has_exactly_one_distinct_name(
    labels: Mapping[str, str], values: list[str]
) -> None:
    assert sorted(labels) == sorted(values)
    names = [labels[v] for v in values]
    assert len(set(names)) == len(names), "two values share one Indonesian name"
    for value, name in zip(values, names, strict=True):
        assert name and name != value


def test_unknown_values_are_quoted_under_an_indonesian_phrase_never_bare() -> None:
    assert glossary.state_label("weird") == "status tidak dikenal ('weird')"
    assert glossary.outbox_state_label("zombie").startswith("keadaan kiriman tidak dikenal")
    assert glossary.conflict_label("x").startswith("jenis konflik tidak dikenal")
    assert glossary.state_label(None) == "-"
    assert glossary.state_label("in_progress") == "Sedang diproses"


def test_settlement_stage_carries_its_length() -> None:
    assert glossary.stage_label("settlement", 60) == "Penyelesaian (60 hari)"
    assert glossary.stage_label("settlement", None) == "Penyelesaian"


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_log_event_has_an_indonesian_description(kind: EventKind) -> None:
    detail = {"kind": "create_complaint", "stage": "followup", "to_status": "Dalam Proses",
              "from_state": "received", "to_state": "in_progress", "due": "2026-11-02"}  # fmt: skip
    if kind == EventKind.CONFLICT:
        detail = {"kind": "both_changed", "lapor_value": "closed", "local_value": "in_progress"}
    what, why = describe_event(kind.value, detail)
    assert what != kind.value and what != "Kejadian lain"
    for raw in ("received", "in_progress", "create_complaint", "followup", "pending"):
        assert not re.search(rf"\b{raw}\b", f"{what} {why}"), (kind, what, why)


def test_one_state_has_one_name_whichever_side_reports_it() -> None:
    """SP4N-LAPOR!'s "Dalam Proses" and our in_progress read the same to a liaison."""
    pulled = describe_event("pulled_new", {"to_status": "Dalam Proses"})
    changed = describe_event("status_changed", {"from_status": "Terverifikasi",
                                                "to_status": "Dalam Proses"})  # fmt: skip
    ours = describe_event("local_changed", {"from_state": "dispositioned",
                                            "to_state": "in_progress"})  # fmt: skip
    assert pulled[1] == "Status: Sedang diproses"
    assert changed[1] == ours[1] == "Terdisposisi → Sedang diproses"
    assert "Dalam Proses" not in pulled[1] + changed[1]


def test_an_unmapped_remote_status_is_quoted_as_sp4n_laporS_own_word() -> None:
    assert conflict_value_label("Menunggu Pihak Ketiga") == (
        "'Menunggu Pihak Ketiga' (status SP4N-LAPOR! belum dikenal)"
    )
    assert conflict_value_label("closed") == "Selesai"


def test_shown_title_hides_rahasia_and_masks_personal_data() -> None:
    assert glossary.shown_title("Pungli di sekolah", True) == glossary.SECRET_TITLE
    assert glossary.shown_title("NIK 3201012345670001\nditolak", False) == "NIK [NIK] ditolak"


def test_unknown_opd_sentence_lists_the_known_ones() -> None:
    text = glossary.unknown_opd_text("XYZ", ["BMBK", "DINKES"])
    assert text == "OPD 'XYZ' tidak dikenal. OPD yang dikenal: BMBK, DINKES."


def _stamp_text_by_parsing(value: str | None) -> str:
    """``stored_datetime_text`` as it was written before its fast path: parse, convert to
    WIB, format (``%H.%M``)."""
    if not value:
        return "-"
    try:
        local = from_db(str(value))
    except ValueError:
        return str(value)
    return f"{glossary.indonesian_date(local.date())} pukul {local:%H.%M} WIB"


def test_stored_stamps_read_without_parsing_say_what_parsing_says() -> None:
    """The store's own format (``to_db``) is read from its text; any other value goes
    through ``from_db``. Both give the same sentence for every value, valid or not."""
    rng = random.Random(85)
    values: list[str | None] = [
        *(None, "", "x", "2026-02-29T08:00:00+07:00", "2024-02-29T23:59:59+07:00"),
        *("2026-13-01T08:00:00+07:00", "2026-12-04T24:00:00+07:00", "2026-12-04T08:00:00"),
        *("2026-12-04T08:60:00+07:00", "2026-12-04", "2026-12-04T08:00:00+07:00 "),
        *("1963-06-01T08:00:00+07:00", "1950-06-01T08:00:00+07:00"),  # before WIB was +07:00
    ]
    for _ in range(3000):
        year, month, day = rng.randint(1940, 2100), rng.randint(1, 12), rng.randint(1, 31)
        offset = rng.choice(["+07:00", "+07:00", "+00:00", "+08:00", "-05:30", "Z", ""])
        sep = rng.choice(["T", "T", "T", " "])
        hour, minute, second = rng.randint(0, 24), rng.randint(0, 60), rng.randint(0, 60)
        values.append(f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:"
                      f"{second:02d}{offset}")  # fmt: skip
    for v in values:
        assert glossary.stored_datetime_text(v) == _stamp_text_by_parsing(v), v
    now = datetime(2026, 12, 4, 9, 5, 7, tzinfo=WIB)
    assert glossary.stored_datetime_text(to_db(now)) == glossary.indonesian_datetime(now)
    assert glossary.indonesian_datetime(now) == "Jumat, 4 Desember 2026 pukul 09.05 WIB"
