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

Methods that hand out records (``record``, ``iter_records``, ``listing``) are for the
sandbox's own modules and must be called with ``world.lock`` held; ``complaint`` returns a
deep copy that tests may keep.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

from lapor_sync.sandbox import masters
from lapor_sync.sandbox.contract import SandboxContract
from lapor_sync.sandbox.directory import InstitutionDirectory
from lapor_sync.sandbox.faults import FaultInjector
from lapor_sync.sandbox.gateway import SandboxGateway
from lapor_sync.sandbox.index import ListingIndex, key_of
from lapor_sync.sandbox.masters import Account, institution_name, scope_of
from lapor_sync.sandbox.process import Simulation, SimulationSettings
from lapor_sync.sandbox.records import (
    Complaint,
    DispositionLog,
    FollowUpRecord,
    ReporterRecord,
    StatusLog,
)
from lapor_sync.sandbox.stats import Stats
from lapor_sync.sla.calendar import WorkingCalendar
from lapor_sync.timeutil import WIB, wib_date

DEFAULT_START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=WIB)  # a Monday
CREATE_SHAPES = ("results", "data", "top", "rotate")
AUTHOR_TYPES = ("instansi", "pelapor", "admin")
FORWARD_TEXT = "Diteruskan ke Instansi Tujuan"
_END_OF_DAY = time(23, 59, 59)
# Which account the admin dispositions a complaint to when nobody asked for one.
_TARGET_WEIGHTS = (("18", 0.6), ("1871", 0.25), ("1801", 0.15))


class UnknownComplaintError(KeyError):
    """No complaint with this id exists in the world."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("the sandbox clock needs an aware datetime")
    return value.astimezone(WIB)


class SandboxWorld:
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
        self._wd_cache: dict[tuple[date, int], date] = {}
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
        # The calendar walks day by day; seeding thousands of histories needs a memo.
        key = (start, days)
        found = self._wd_cache.get(key)
        if found is None:
            found = self.calendar.add_working_days(start, days)
            self._wd_cache[key] = found
        return found

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

    # ---- changing complaints --------------------------------------------------------------

    @contextmanager
    def _changing(self, complaint_id: int) -> Iterator[Complaint]:
        with self.lock:
            c = self.record(complaint_id)
            old_key, old_visible = key_of(c.updated_at, c.id), c.visible_to
            yield c
            c.updated_at = self.stamp()
            c.visible_to = self._visibility(c)
            self._index.remove(old_key, old_visible)
            self._index.add(key_of(c.updated_at, c.id), c.visible_to)

    def _log_status(self, c: Complaint, code: str, name: str, note: str | None) -> None:
        c.status_code, c.status_name = code, name
        c.status_logs.append(StatusLog(code, name, note, self.stamp()))

    @staticmethod
    def _check_institution(institution_id: str | None, what: str) -> None:
        if institution_id is not None and institution_id not in masters.INSTITUTIONS:
            raise ValueError(f"unknown {what} institution {institution_id!r}")

    def add_complaint(
        self,
        title: str,
        content: str,
        *,
        channel: int = 1,
        category_id: int | None = None,
        classification_id: int | None = 1,
        location_id: int | None = None,
        date_of_incident: date | None = None,
        is_anonymous: bool = False,
        is_secret: bool = False,
        tags: Iterable[str] = (),
        reporter: ReporterRecord | None = None,
        created_by: str | None = None,
        disposition_id: str | None = None,
        nik: str | None = None,
    ) -> int:
        """A new complaint, "Belum Terverifikasi"; ``created_by`` is an account id or None."""
        if created_by is not None and created_by not in masters.ACCOUNT_BY_ID:
            raise ValueError(f"created_by must be an account id, not {created_by!r}")
        self._check_institution(disposition_id, "disposition")
        with self.lock:
            now = self.stamp()
            name = masters.STATUS_NAMES[masters.UNVERIFIED]
            c = Complaint(
                id=self.allocate_complaint_id(), tracking_id=self.allocate_tracking_id(),
                title=title, content=content, channel=channel, category_id=category_id,
                classification_id=classification_id, location_id=location_id,
                date_of_incident=date_of_incident, is_anonymous=is_anonymous,
                is_secret=is_secret, tags=[t.lstrip("#") for t in tags if t.lstrip("#")],
                reporter=reporter, created_by=created_by, created_at=now, updated_at=now,
                status_code=masters.UNVERIFIED, status_name=name,
                requested_disposition_id=disposition_id,
                status_logs=[StatusLog(masters.UNVERIFIED, name, "Laporan diterima", now)],
            )
            self.load(c)
            self.note_personal(nik)
            self._sim.on_created(c)
            return c.id

    def default_target(self, c: Complaint) -> str:
        """Where the admin sends a complaint nobody routed: an OPD chosen by category."""
        if c.created_by is not None:
            return masters.unit_for(c.created_by, c.category_id)
        roll, account = self.rng.random(), "18"
        for candidate, weight in _TARGET_WEIGHTS:
            account = candidate
            if roll < weight:
                break
            roll -= weight
        return masters.unit_for(account, c.category_id)

    def _route(self, c: Complaint, target: str, from_id: str | None, template: str,
               content: str | None) -> None:
        c.disposition_logs.append(DispositionLog(
            from_id, institution_name(from_id) if from_id else masters.ADMIN_NAME,
            target, institution_name(target), template, content, self.stamp(),
        ))
        c.disposition_id = target

    def verify(self, complaint_id: int, disposition_id: str | None = None,
               note: str | None = None) -> None:
        """The admin verifies and dispositions: to the instansi, then on to its OPD."""
        self._check_institution(disposition_id, "disposition")
        with self._changing(complaint_id) as c:
            target = disposition_id or c.requested_disposition_id or self.default_target(c)
            account = scope_of(target)
            self._log_status(c, masters.VERIFIED, masters.STATUS_NAMES[masters.VERIFIED],
                             note or "Laporan diverifikasi dan didisposisikan")
            if account is not None and account != target:
                self._route(c, account, None, "disposition", "Disposisi ke instansi")
                self._route(c, target, account, "disposition", "Disposisi ke OPD")
            else:
                self._route(c, target, None, "disposition", "Disposisi ke instansi")
            self._sim.on_dispositioned(c)

    def disposition(self, complaint_id: int, to_id: str, *, from_id: str | None = None,
                    content: str | None = None) -> None:
        """Route a complaint on (e.g. admin instansi → OPD) without changing its status."""
        self._check_institution(to_id, "target")
        self._check_institution(from_id, "source")
        with self._changing(complaint_id) as c:
            self._route(c, to_id, from_id or c.disposition_id, "disposition", content)
            self._sim.on_dispositioned(c)

    def add_followup(
        self,
        complaint_id: int,
        content: str,
        *,
        author_type: str = "instansi",
        institution_from_id: str | None = None,
        institution_to_id: str | None = None,
        is_secret: bool = False,
        rating: int | None = None,
        attachments: list[dict[str, str]] | None = None,
        template_code: str = "followup",
    ) -> int:
        """A follow-up; an instansi one starts the closure clock, a reply stops it."""
        if author_type not in AUTHOR_TYPES:
            raise ValueError(f"author_type must be one of {AUTHOR_TYPES}")
        self._check_institution(institution_from_id, "source")
        self._check_institution(institution_to_id, "target")
        with self._changing(complaint_id) as c:
            now = self.stamp()
            if author_type == "instansi":
                from_id = institution_from_id or c.disposition_id or c.created_by
                from_name = institution_name(from_id)
            else:
                from_id = None
                if author_type == "admin":
                    from_name = masters.ADMIN_NAME
                elif c.reporter is not None and c.reporter.name and not c.is_anonymous:
                    from_name = c.reporter.name
                else:
                    from_name = "Pelapor"
                institution_to_id = institution_to_id or c.disposition_id
            fid = self.allocate_followup_id()
            c.followups.append(FollowUpRecord(
                fid, c.id, author_type, from_id, from_name, institution_to_id,
                institution_name(institution_to_id), content, template_code, is_secret,
                rating, list(attachments or []), now,
            ))
            if author_type == "instansi":
                c.last_instansi_followup_at = c.closure_anchor = now
                if c.status_code == masters.VERIFIED:
                    self._log_status(c, masters.IN_PROGRESS,
                                     masters.STATUS_NAMES[masters.IN_PROGRESS],
                                     "Tindak lanjut instansi")
                self._sim.on_instansi_followup(c)
            else:
                c.last_reply_at, c.closure_anchor = now, None
                if c.status_code == masters.DONE:
                    self._log_status(c, masters.IN_PROGRESS,
                                     masters.STATUS_NAMES[masters.IN_PROGRESS],
                                     "Dibuka kembali: ada tanggapan baru")
                self._sim.on_reply(c)
            return fid

    def reply_as_reporter(self, complaint_id: int, content: str) -> int:
        return self.add_followup(complaint_id, content, author_type="pelapor")

    def reply_as_admin(self, complaint_id: int, content: str) -> int:
        return self.add_followup(complaint_id, content, author_type="admin")

    def forward(self, complaint_id: int, to_id: str, *, from_id: str | None = None,
                reason_description: str = FORWARD_TEXT) -> None:
        """"Bukan wewenang": the holder sends it to ``to_id``; the holder's account then
        sees "Ditolak" while the target sees it as newly dispositioned."""
        self._check_institution(to_id, "target")
        self._check_institution(from_id, "source")
        with self._changing(complaint_id) as c:
            source = from_id or c.disposition_id
            if source == to_id:
                raise ValueError("cannot forward a complaint to its current holder")
            account = scope_of(source)
            if account is not None:
                c.forwarded_by.add(account)
            self._route(c, to_id, source, "reject", reason_description)
            c.closure_anchor = None
            self._log_status(c, masters.VERIFIED, masters.STATUS_NAMES[masters.VERIFIED],
                             f"Diteruskan ke {institution_name(to_id)}: bukan wewenang")
            self._sim.on_dispositioned(c)

    def set_status(self, complaint_id: int, code: str, name: str | None = None,
                   note: str | None = None) -> None:
        """Any status, including codes and names the connector has never seen."""
        name = name or masters.STATUS_NAMES.get(code)
        if name is None:
            raise ValueError(f"status code {code!r} is unknown: give a name too")
        with self._changing(complaint_id) as c:
            if code not in ("1", "2"):
                c.closure_anchor = None
            self._log_status(c, code, name, note)

    def archive(self, complaint_id: int, note: str | None = None) -> None:
        self.set_status(complaint_id, masters.ARCHIVED, None, note or "Laporan diarsipkan")

    def postpone(self, complaint_id: int, note: str | None = None) -> None:
        self.set_status(complaint_id, masters.POSTPONED, None, note or "Laporan ditunda")

    def close(self, complaint_id: int, note: str | None = None) -> None:
        self.set_status(complaint_id, masters.DONE, None, note or "Laporan selesai")

    def touch(self, complaint_id: int) -> None:
        """Bump ``updated_at`` without any visible change (a real server does this too)."""
        with self._changing(complaint_id):
            pass
