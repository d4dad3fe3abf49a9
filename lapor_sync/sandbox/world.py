"""``SandboxWorld``: the sandbox's state, its simulated clock and its control API.

One world is one simulated SP4N-LAPOR!: the fixed accounts and institutions of
``masters``, the complaints with their status logs, disposition logs and follow-ups, a
clock that moves only when told (``advance``, ``set_time``), the simulated process
(``process.Simulation``), fault injection (``faults``) and request counters (``stats``).

Invariants:

- one re-entrant lock (``world.lock``) guards all state; every public method takes it,
  so HTTP handler threads, a clock thread and a test may use one world at once;
- every change to a complaint sets its ``updated_at`` to ``now()`` (whole seconds) and
  re-indexes it, so listings by ``updated_at`` see every change;
- nothing reads the wall clock or the global ``random``: one seed and one sequence of
  calls give one world;
- texts are stored verbatim.

How complaints change (create, verify, disposition, follow up, forward, status) is
``lifecycle.ComplaintLifecycle``, which this class completes.

Methods that hand out records (``record``, ``iter_records``, ``listing``) are for the
sandbox's own modules and must be called with ``world.lock`` held; ``complaint`` returns a
deep copy that tests may keep.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from lapor_sync.sandbox import masters
from lapor_sync.sandbox.contract import SandboxContract
from lapor_sync.sandbox.directory import InstitutionDirectory
from lapor_sync.sandbox.faults import FaultInjector
from lapor_sync.sandbox.gateway import SandboxGateway
from lapor_sync.sandbox.index import ListingIndex, key_of
from lapor_sync.sandbox.lifecycle import ComplaintLifecycle
from lapor_sync.sandbox.masters import Account, scope_of
from lapor_sync.sandbox.process import Simulation, SimulationSettings
from lapor_sync.sandbox.records import (
    Complaint,
)
from lapor_sync.sandbox.stats import Stats
from lapor_sync.sandbox.uploads import UploadStore
from lapor_sync.timeutil import WIB, wib_date
from lapor_sync.working_days import WorkingCalendar

DEFAULT_START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=WIB)  # a Monday
CREATE_SHAPES = ("results", "data", "top", "rotate")
_END_OF_DAY = time(23, 59, 59)


class UnknownComplaintError(KeyError):
    """No complaint with this id exists in the world."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("the sandbox clock needs an aware datetime")
    return value.astimezone(WIB)


class SandboxWorld(ComplaintLifecycle):
    """The in-memory SP4N-LAPOR!; see the module docstring for its invariants."""

    def __init__(
        self,
        seed: int = 1,
        *,
        start: datetime = DEFAULT_START,
        calendar: WorkingCalendar | None = None,
        simulation: SimulationSettings | None = None,
        create_response_shape: str = "results",
    ) -> None:
        if create_response_shape not in CREATE_SHAPES:
            raise ValueError(f"create_response_shape must be one of {CREATE_SHAPES}")
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.calendar = calendar or WorkingCalendar()
        self.faults = FaultInjector(seed)
        self.stats = Stats()
        self.gateway = SandboxGateway()  # credential header names and OAuth2 tokens
        self.contract = SandboxContract()  # which profile's paths and encodings it accepts
        self.directory = InstitutionDirectory()  # the institution list it serves
        self.uploads = UploadStore()  # files uploaded before a create (sandbox/uploads.py)
        self._create_shape = create_response_shape
        self._rotation = 0
        self._now = _aware(start)
        self._records: dict[int, Complaint] = {}
        self._by_tag: dict[str, set[int]] = {}
        self._index = ListingIndex(masters.ACCOUNT_BY_ID)
        self._next_complaint_id = 2_000_001
        self._next_followup_id = 9_000_001
        self._tracking_ids: set[str] = set()
        self._personal: set[str] = set()
        self._sim = Simulation(self, simulation or SimulationSettings())
        self._sim.rebuild()

    # ---- clock ----------------------------------------------------------------------------

    def now(self) -> datetime:
        with self.lock:
            return self._now

    def stamp(self) -> datetime:
        """``now()`` in whole seconds: the wire has no sub-second precision."""
        with self.lock:
            return self._now.replace(microsecond=0)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward, firing every simulated event that falls due, in order."""
        if delta < timedelta(0):
            raise ValueError("advance() only moves forward; use set_time() to go back")
        with self.lock:
            self._run_until(self._now + delta)

    def set_time(self, when: datetime) -> None:
        """Jump the clock; forward jumps fire due events, backward jumps fire nothing."""
        when = _aware(when)
        with self.lock:
            if when >= self._now:
                self._run_until(when)
            else:
                self._now = when

    def _run_until(self, target: datetime) -> None:
        while (event := self._sim.pop_due(target)) is not None:
            self._now = max(self._now, event.when)
            self._sim.fire(event)
        self._now = target

    def add_working_days(self, start: date, days: int) -> date:
        # Remembered by the calendar (shared by every world on equal calendars).
        return self.calendar.add_working_days(start, days)

    def deadline(self, started: datetime, working_days: int) -> datetime:
        day = self.add_working_days(wib_date(started), working_days)
        return datetime.combine(day, _END_OF_DAY, tzinfo=WIB)

    # ---- settings -------------------------------------------------------------------------

    @property
    def simulation(self) -> SimulationSettings:
        return self._sim.settings

    @property
    def create_response_shape(self) -> str:
        return self._create_shape

    def configure(self, *, create_response_shape: str | None = None, **simulation: Any) -> None:
        """Change the create response shape and/or simulation settings (see process.py)."""
        with self.lock:
            if create_response_shape is not None:
                if create_response_shape not in CREATE_SHAPES:
                    raise ValueError(f"create_response_shape must be one of {CREATE_SHAPES}")
                self._create_shape = create_response_shape
            if simulation:
                self._sim.settings.update(**simulation)
                self._sim.rebuild()

    def next_create_shape(self) -> str:
        with self.lock:
            if self._create_shape != "rotate":
                return self._create_shape
            shape = CREATE_SHAPES[self._rotation % 3]
            self._rotation += 1
            return shape

    # ---- accounts -------------------------------------------------------------------------

    @property
    def accounts(self) -> tuple[Account, ...]:
        return masters.ACCOUNTS

    @staticmethod
    def credentials(institution_id: str) -> tuple[str, str]:
        """``(api_key, token)`` of an account."""
        account = masters.ACCOUNT_BY_ID[institution_id]
        return account.api_key, account.token

    # ---- records (sandbox-internal; hold world.lock) ---------------------------------------

    def record(self, complaint_id: int) -> Complaint:
        try:
            return self._records[complaint_id]
        except KeyError:
            raise UnknownComplaintError(complaint_id) from None

    def record_or_none(self, complaint_id: int) -> Complaint | None:
        return self._records.get(complaint_id)

    def iter_records(self) -> Iterator[Complaint]:
        return iter(list(self._records.values()))

    def allocate_complaint_id(self) -> int:
        with self.lock:
            cid = self._next_complaint_id
            self._next_complaint_id += 1
            return cid

    def allocate_followup_id(self) -> int:
        with self.lock:
            fid = self._next_followup_id
            self._next_followup_id += 1
            return fid

    def allocate_tracking_id(self) -> str:
        with self.lock:
            while True:
                tracking = f"{self.rng.randrange(10**6, 10**7)}"
                if tracking not in self._tracking_ids:
                    self._tracking_ids.add(tracking)
                    return tracking

    def load(self, c: Complaint) -> None:
        """Add a fully built record (seeding); its ``updated_at`` is kept as given."""
        with self.lock:
            if c.id in self._records:
                raise ValueError(f"complaint {c.id} exists")
            c.refresh_search_text()
            c.visible_to = self._visibility(c)
            self._records[c.id] = c
            for tag in c.tags:
                self._by_tag.setdefault(tag, set()).add(c.id)
            if c.reporter is not None:
                self.note_personal(c.reporter.name, c.reporter.phone, c.reporter.email)
            self._index.add(key_of(c.updated_at, c.id), c.visible_to)

    def note_personal(self, *values: str | None) -> None:
        """Remember personal data so tests can search logs for it (``personal_data``)."""
        with self.lock:
            self._personal.update(v for v in values if v)

    def reschedule(self) -> None:
        """Rebuild the event queue from the records (after seeding)."""
        with self.lock:
            self._sim.rebuild()

    @staticmethod
    def _visibility(c: Complaint) -> frozenset[str]:
        seen = {scope_of(c.disposition_id), c.created_by}
        for log in c.disposition_logs:
            seen.add(scope_of(log.from_id))
            seen.add(scope_of(log.to_id))
        return frozenset(a for a in seen if a in masters.ACCOUNT_BY_ID)

    @staticmethod
    def status_for(c: Complaint, account_id: str) -> tuple[str, str]:
        """The status an account sees: "Ditolak" once it forwarded the complaint away."""
        if account_id in c.forwarded_by and scope_of(c.disposition_id) != account_id:
            return masters.REJECTED, masters.STATUS_NAMES[masters.REJECTED]
        return c.status_code, c.status_name

    def listing(
        self,
        account_id: str,
        updated_from: datetime | None,
        offset: int,
        limit: int,
        search: str | None = None,
    ) -> tuple[list[Complaint], int]:
        """One offset page of the account's listing and the total it pages over."""
        keys, start = self._index.since(account_id, updated_from)
        records = self._records
        if not search:
            chosen = keys[start + offset:start + offset + limit]
            return [records[k[1]] for k in chosen], len(keys) - start
        needle = search.lower()
        page: list[Complaint] = []
        total = 0
        for i in range(start, len(keys)):
            c = records[keys[i][1]]
            if needle in c.search_text:
                if offset <= total < offset + limit:
                    page.append(c)
                total += 1
        return page, total

    def shift_listing(
        self, account_id: str, updated_from: datetime | None, search: str | None = None
    ) -> int | None:
        """Touch the first complaint of a listing so it moves to the end (``page_shift``)."""
        with self.lock:
            first, _ = self.listing(account_id, updated_from, 0, 1, search)
            if not first:
                return None
            self.touch(first[0].id)
            return first[0].id

    # ---- reading (copies; safe for tests) ---------------------------------------------------

    def complaint(self, complaint_id: int) -> Complaint:
        """A deep copy of one complaint's record."""
        with self.lock:
            return copy.deepcopy(self.record(complaint_id))

    def complaint_ids(self) -> list[int]:
        with self.lock:
            return sorted(self._records)

    def count(self) -> int:
        with self.lock:
            return len(self._records)

    def find_by_tag(self, tag: str) -> list[int]:
        """Ids of complaints carrying ``tag`` (without '#'), e.g. a local reference."""
        with self.lock:
            return sorted(self._by_tag.get(tag.lstrip("#"), ()))

    def search_ids(self, text: str) -> list[int]:
        """Ids whose title, content or tags contain ``text`` (case-insensitive)."""
        needle = text.lower()
        with self.lock:
            return sorted(c.id for c in self._records.values() if needle in c.search_text)

    def visible_ids(self, account_id: str) -> list[int]:
        """Every complaint the account may list, in listing order."""
        with self.lock:
            keys, _ = self._index.since(account_id, None)
            return [k[1] for k in keys]

    def status_seen_by(self, complaint_id: int, account_id: str) -> tuple[str, str]:
        with self.lock:
            return self.status_for(self.record(complaint_id), account_id)

    def closure_due(self, complaint_id: int) -> datetime | None:
        """When the pending automatic closure would fire, or None if none is pending."""
        with self.lock:
            c = self.record(complaint_id)
            if c.closure_anchor is None or c.status_code not in ("1", "2"):
                return None
            return self._sim.closure_due(c.closure_anchor)

    def personal_data(self) -> set[str]:
        """Every fake name, phone, e-mail and NIK the world holds (for leak tests)."""
        with self.lock:
            return set(self._personal)
