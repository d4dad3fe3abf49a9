"""Realistic seed data: complaints with whole histories, spread over the past months.

``seed_world`` writes records straight into the world (no events, no per-change
re-indexing), which is how 5,000 complaints take well under two seconds. Each history
follows the rules the live simulation follows (process.py), so the world is consistent
when the clock moves on: verification within 1–3 working days, follow-ups, reporter
replies, forwards, archive and postponement, closure 10 working days after an unanswered
instansi follow-up. A closure still pending at ``now`` is scheduled by
``world.reschedule()``.

Invariant: everything is drawn from ``world.rng``, so one seed gives one data set.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from lapor_sync.sandbox import masters, texts
from lapor_sync.sandbox.records import (
    Complaint,
    DispositionLog,
    FollowUpRecord,
    ReporterRecord,
    StatusLog,
)
from lapor_sync.sandbox.world import SandboxWorld
from lapor_sync.timeutil import WIB, wib_date

_CHANNEL_WEIGHTS = ((1, 35), (3, 30), (2, 10), (4, 10), (7, 7), (8, 5), (9, 3))
_CALL_CENTER_CHANNELS = frozenset({2, 7, 8, 9})
_DAY_START = time(8, 0)


def seed_world(
    world: SandboxWorld,
    complaints: int = 200,
    *,
    same_updated_at: int = 0,
    months: float = 6.0,
    anonymous_ratio: float = 0.15,
    secret_ratio: float = 0.1,
) -> list[int]:
    """Add ``complaints`` complaints created over the past ``months``; returns their ids.

    ``same_updated_at=K`` gives K of them one identical ``updated_at`` (one day before
    now, or now if too few are older), as a bulk job on the server would: more than a
    page of ties for the connector's cursor to survive.
    """
    if same_updated_at > complaints:
        raise ValueError("same_updated_at cannot exceed complaints")
    with world.lock:
        rng = world.rng
        now = world.stamp()
        span = max(7200, int(months * 30 * 86400))
        ages = sorted((rng.randrange(3600, span) for _ in range(complaints)), reverse=True)
        builder = _Builder(world, rng, now, anonymous_ratio, secret_ratio)
        records = [builder.build(now - timedelta(seconds=age)) for age in ages]
        if same_updated_at:
            tie = now - timedelta(days=1)
            candidates = [c for c in records if c.updated_at <= tie]
            if len(candidates) < same_updated_at:
                tie, candidates = now, records
            for c in rng.sample(candidates, same_updated_at):
                c.updated_at = tie
        for c in records:
            world.load(c)
        world.reschedule()
        return [c.id for c in records]


class _Builder:
    def __init__(self, world: SandboxWorld, rng: random.Random, now: datetime,
                 anonymous_ratio: float, secret_ratio: float) -> None:
        self.world, self.rng, self.now = world, rng, now
        self.anonymous_ratio, self.secret_ratio = anonymous_ratio, secret_ratio
        self.closure_days = world.simulation.closure_working_days

    def working_time(self, after: datetime, low: int, high: int) -> datetime:
        day = self.world.add_working_days(wib_date(after), self.rng.randint(low, high))
        start = datetime.combine(day, _DAY_START, tzinfo=WIB)
        return start + timedelta(seconds=self.rng.randrange(8 * 3600))

    def closure_time(self, anchor: datetime) -> datetime:
        return self.world.deadline(anchor, self.closure_days) + timedelta(seconds=1)

    def build(self, created: datetime) -> Complaint:
        world, rng = self.world, self.rng
        category = rng.choice(texts.TOPIC_CATEGORIES)
        person = texts.make_person(rng)
        title, content, tags = texts.make_complaint_text(rng, category, person)
        if person.nik in content:
            world.note_personal(person.nik)
        channel = rng.choices([c for c, _ in _CHANNEL_WEIGHTS],
                              [w for _, w in _CHANNEL_WEIGHTS])[0]
        created_by = None
        if channel in _CALL_CENTER_CHANNELS and rng.random() < 0.5:
            created_by = rng.choice(("18", "18", "1871", "1801"))
            tags.append("callcenter")
        name = masters.STATUS_NAMES[masters.UNVERIFIED]
        c = Complaint(
            id=world.allocate_complaint_id(), tracking_id=world.allocate_tracking_id(),
            title=title, content=content, channel=channel, category_id=category,
            classification_id=rng.choice((1, 1, 1, 2, 3)),
            location_id=rng.randrange(1801010, 1871200),
            date_of_incident=(created - timedelta(days=rng.randrange(0, 10))).date(),
            is_anonymous=rng.random() < self.anonymous_ratio,
            is_secret=rng.random() < self.secret_ratio,
            tags=tags, reporter=ReporterRecord(person.name, person.phone, person.email),
            created_by=created_by, created_at=created, updated_at=created,
            status_code=masters.UNVERIFIED, status_name=name,
            status_logs=[StatusLog(masters.UNVERIFIED, name, "Laporan diterima", created)],
        )
        self.history(c)
        return c

    # ---- history ------------------------------------------------------------------------

    def status(self, c: Complaint, code: str, note: str, at: datetime) -> None:
        c.status_code, c.status_name = code, masters.STATUS_NAMES[code]
        c.status_logs.append(StatusLog(code, c.status_name, note, at))
        c.updated_at = max(c.updated_at, at)

    def route(self, c: Complaint, source: str | None, target: str, template: str,
              content: str, at: datetime) -> None:
        c.disposition_logs.append(DispositionLog(
            source, masters.institution_name(source) if source else masters.ADMIN_NAME,
            target, masters.institution_name(target), template, content, at,
        ))
        c.disposition_id = target
        c.updated_at = max(c.updated_at, at)

    def followup(self, c: Complaint, author: str, at: datetime, text: str) -> None:
        fid = self.world.allocate_followup_id()
        if author == "instansi":
            source, name = c.disposition_id, masters.institution_name(c.disposition_id)
            target, target_name = None, None
        else:
            source = None
            name = "Pelapor" if c.is_anonymous or c.reporter is None else c.reporter.name
            target, target_name = c.disposition_id, masters.institution_name(c.disposition_id)
        attachments = []
        if author == "instansi" and self.rng.random() < 0.2:
            attachments = [{"name": "foto_lokasi.jpg",
                            "url": f"https://lapor.example.id/lampiran/{fid}.jpg"}]
        c.followups.append(FollowUpRecord(
            fid, c.id, author, source, name, target, target_name, text, "followup",
            self.rng.random() < 0.05, None, attachments, at,
        ))
        c.updated_at = max(c.updated_at, at)

    def history(self, c: Complaint) -> None:
        rng, now = self.rng, self.now
        fate = rng.random()
        verified = self.working_time(c.created_at, 1, 3)
        if verified > now:
            return
        if fate < 0.05:
            self.status(c, masters.ARCHIVED, "Laporan diarsipkan: bukan kewenangan pemerintah",
                        verified)
            return
        target = rng.choice(tuple(masters.EXTERNAL)) if rng.random() < 0.04 \
            else self.world.default_target(c)
        account = masters.scope_of(target)
        self.status(c, masters.VERIFIED, "Laporan diverifikasi dan didisposisikan", verified)
        if account is not None and account != target:
            self.route(c, None, account, "disposition", "Disposisi ke instansi", verified)
            self.route(c, account, target, "disposition", "Disposisi ke OPD", verified)
        else:
            self.route(c, None, target, "disposition", "Disposisi ke instansi", verified)
        t = verified
        if fate < 0.10 and account is not None:
            forwarded = self.working_time(t, 1, 3)
            if forwarded > now:
                return
            others = [a.institution_id for a in masters.ACCOUNTS if a.institution_id != account]
            to = rng.choice(others + list(masters.EXTERNAL)[:3])
            c.forwarded_by.add(account)
            self.route(c, c.disposition_id, to, "reject", "Diteruskan ke Instansi Tujuan",
                       forwarded)
            self.status(c, masters.VERIFIED,
                        f"Diteruskan ke {masters.institution_name(to)}: bukan wewenang",
                        forwarded)
            t = forwarded
        if 0.10 <= fate < 0.13:
            postponed = self.working_time(t, 1, 5)
            if postponed <= now:
                self.status(c, masters.POSTPONED, "Laporan ditunda", postponed)
            return
        self.dialogue(c, t)

    def dialogue(self, c: Complaint, t: datetime) -> None:
        """Rounds of instansi follow-up and reporter reply, then closure if it is due."""
        rng, now = self.rng, self.now
        anchor: datetime | None = None
        for _ in range(4):
            answered = self.working_time(t, 1, 5)
            if answered > now or rng.random() > 0.85:
                break
            self.followup(c, "instansi", answered, texts.make_followup_text(rng))
            c.last_instansi_followup_at = anchor = t = answered
            if c.status_code == masters.VERIFIED:
                self.status(c, masters.IN_PROGRESS, "Tindak lanjut instansi", answered)
            if rng.random() >= 0.35:
                break
            replied = t + timedelta(seconds=rng.randrange(86400, 14 * 86400))
            closes = self.closure_time(anchor)
            if closes <= min(replied, now):
                self.status(c, masters.DONE, "Ditutup otomatis", closes)
            if replied > now:
                break
            phone = c.reporter.phone if c.reporter and not c.is_anonymous else None
            self.followup(c, "pelapor", replied, texts.make_reply_text(rng, phone))
            c.last_reply_at, anchor, t = replied, None, replied
            if c.status_code == masters.DONE:
                self.status(c, masters.IN_PROGRESS, "Dibuka kembali: ada tanggapan baru",
                            replied)
        c.closure_anchor = anchor
        if anchor is not None and c.status_code == masters.IN_PROGRESS:
            closes = self.closure_time(anchor)
            if closes <= now:
                self.status(c, masters.DONE, "Ditutup otomatis", closes)
