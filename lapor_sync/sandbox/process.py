"""The simulated LAPOR! process: what happens on the remote side as simulated time passes.

Events sit in a heap ordered by (time, sequence). ``SandboxWorld.advance`` pops every
event due by the new time, sets the clock to the event's time and fires it, so a jump of
a month plays out in order. Events are checked when they fire, not cancelled when they go
stale: a closure whose anchor follow-up was answered by a reply does nothing.

Rules (docs/design.md, "The life of a report"):

- closure: "Selesai" at the end of working day ``closure_working_days`` (default 10)
  after the last instansi follow-up, if neither reporter nor admin replied since
  (``auto_close``, on by default: this is LAPOR!'s rule, not an optional extra);
- arrivals: citizens submit ``arrivals_per_working_day`` complaints a day on average
  (exponential gaps over calendar time; default 0);
- verification and disposition to an OPD within 1–3 working days (``auto_verify``);
- an OPD liaison answering directly in LAPOR! within 1–5 working days after a
  disposition or a reply (``instansi_followup_probability``);
- the reporter replying within 1–14 days after an instansi follow-up
  (``reply_probability``); a reply on a closed complaint re-opens it.

Invariant: every random draw comes from the world's ``Random``, in event order, so one
seed and one sequence of calls give one history.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from lapor_sync.sandbox import masters, texts
from lapor_sync.sandbox.records import Complaint, ReporterRecord
from lapor_sync.timeutil import WIB, wib_date

if TYPE_CHECKING:
    from lapor_sync.sandbox.world import SandboxWorld

CLOSABLE = frozenset({masters.VERIFIED, masters.IN_PROGRESS})
_DAY_START = time(8, 0)
_WORKDAY_SECONDS = 8 * 3600


@dataclass(slots=True)
class SimulationSettings:
    arrivals_per_working_day: float = 0.0
    auto_verify: bool = False
    instansi_followup_probability: float = 0.0
    reply_probability: float = 0.0
    auto_close: bool = True
    closure_working_days: int = 10

    def update(self, **options: Any) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(options) - names
        if unknown:
            raise ValueError(f"unknown simulation settings: {sorted(unknown)}")
        for name, value in options.items():
            setattr(self, name, type(getattr(self, name))(value))
        if self.closure_working_days < 1:
            raise ValueError("closure_working_days must be at least 1")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(order=True, slots=True)
class Event:
    when: datetime
    seq: int
    kind: str  # arrival | verify | followup | reply | close
    complaint_id: int = 0
    anchor: datetime | None = None


class Simulation:
    """Event scheduling for one world; every method runs under the world's lock."""

    def __init__(self, world: SandboxWorld, settings: SimulationSettings) -> None:
        self.world = world
        self.settings = settings
        self._heap: list[Event] = []
        self._seq = itertools.count()

    # ---- scheduling -------------------------------------------------------------------

    def _push(self, when: datetime, kind: str, cid: int = 0, anchor: datetime | None = None
              ) -> None:
        heapq.heappush(self._heap, Event(when, next(self._seq), kind, cid, anchor))

    def pending(self) -> list[Event]:
        return sorted(self._heap)

    def pop_due(self, until: datetime) -> Event | None:
        if self._heap and self._heap[0].when <= until:
            return heapq.heappop(self._heap)
        return None

    def closure_due(self, anchor: datetime) -> datetime:
        """When a complaint answered at ``anchor`` closes: the end of the last day, +1 s."""
        deadline = self.world.deadline(anchor, self.settings.closure_working_days)
        return deadline + timedelta(seconds=1)

    def _working_time(self, after: datetime, low: int, high: int) -> datetime:
        """A random office-hours instant on working day low..high after ``after``."""
        rng = self.world.rng
        day = self.world.add_working_days(wib_date(after), rng.randint(low, high))
        start = datetime.combine(day, _DAY_START, tzinfo=WIB)
        return start + timedelta(seconds=rng.randrange(_WORKDAY_SECONDS))

    def rebuild(self) -> None:
        """Reschedule from the records alone (after seeding or a settings change)."""
        self._heap.clear()
        now = self.world.now()
        for c in self.world.iter_records():
            if self.settings.auto_close and c.closure_anchor and c.status_code in CLOSABLE:
                self._push(max(now, self.closure_due(c.closure_anchor)), "close", c.id,
                           c.closure_anchor)
            if self.settings.auto_verify and c.status_code == masters.UNVERIFIED:
                self._push(self._working_time(max(now, c.created_at), 1, 3), "verify", c.id)
        self._schedule_arrival(now)

    def _schedule_arrival(self, after: datetime) -> None:
        rate = self.settings.arrivals_per_working_day
        if rate > 0:
            gap_days = self.world.rng.expovariate(rate)
            self._push(after + timedelta(seconds=max(1, int(gap_days * 86400))), "arrival")

    # ---- hooks the world calls after a change -------------------------------------------

    def on_created(self, c: Complaint) -> None:
        if self.settings.auto_verify:
            self._push(self._working_time(c.created_at, 1, 3), "verify", c.id)

    def on_dispositioned(self, c: Complaint) -> None:
        p = self.settings.instansi_followup_probability
        if p > 0 and self.world.rng.random() < p:
            self._push(self._working_time(self.world.now(), 1, 5), "followup", c.id)

    def on_instansi_followup(self, c: Complaint) -> None:
        if self.settings.auto_close and c.closure_anchor is not None:
            self._push(self.closure_due(c.closure_anchor), "close", c.id, c.closure_anchor)
        p = self.settings.reply_probability
        if p > 0 and self.world.rng.random() < p:
            delay = timedelta(seconds=self.world.rng.randrange(86400, 14 * 86400))
            self._push(self.world.now() + delay, "reply", c.id)

    def on_reply(self, c: Complaint) -> None:
        self.on_dispositioned(c)

    # ---- firing -------------------------------------------------------------------------

    def fire(self, event: Event) -> None:
        world = self.world
        if event.kind == "arrival":
            self._arrive()
            self._schedule_arrival(event.when)
            return
        c = world.record_or_none(event.complaint_id)
        if c is None:
            return
        if event.kind == "close":
            if (self.settings.auto_close and c.closure_anchor == event.anchor
                    and c.status_code in CLOSABLE):
                world.close(c.id, note="Ditutup otomatis: tidak ada tanggapan pelapor dalam "
                            f"{self.settings.closure_working_days} hari kerja")
        elif event.kind == "verify":
            if c.status_code == masters.UNVERIFIED:
                world.verify(c.id)
        elif event.kind == "followup":
            if c.status_code in CLOSABLE and c.disposition_id is not None:
                world.add_followup(c.id, texts.make_followup_text(world.rng),
                                   institution_from_id=c.disposition_id)
        elif event.kind == "reply" and c.status_code in (masters.IN_PROGRESS, masters.DONE):
            phone = c.reporter.phone if c.reporter else None
            world.reply_as_reporter(c.id, texts.make_reply_text(world.rng, phone))

    def _arrive(self) -> None:
        world, rng = self.world, self.world.rng
        category = rng.choice(texts.TOPIC_CATEGORIES)
        anonymous = rng.random() < 0.15
        person = texts.make_person(rng)
        title, content, tags = texts.make_complaint_text(rng, category, person)
        world.add_complaint(
            title, content,
            channel=rng.choice((1, 1, 3, 3, 2, 4)),
            category_id=category,
            is_anonymous=anonymous,
            is_secret=rng.random() < 0.1,
            tags=tags,
            reporter=ReporterRecord(person.name, person.phone, person.email),
            nik=person.nik,
        )
