"""Stored timestamps: WIB, seconds, with the offset, whatever zone the instant came in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lapor_sync.timeutil import WIB, from_db, to_db

ZONES = st.sampled_from([WIB, UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3))])


@given(
    instant=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES
    )
)
def test_any_aware_instant_is_stored_as_the_same_instant_in_wib(instant: datetime) -> None:
    text = to_db(instant)
    assert text.endswith("+07:00")
    assert from_db(text) == instant.replace(microsecond=0)
    assert text == instant.astimezone(WIB).replace(microsecond=0).isoformat()


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_db(datetime(2026, 12, 4, 8, 0))
