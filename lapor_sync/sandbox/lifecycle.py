"""How complaints change in the simulated SP4N-LAPOR!: created, verified and
dispositioned, followed up, forwarded, given a status, touched.

``ComplaintLifecycle`` is the part of :class:`~lapor_sync.sandbox.world.SandboxWorld`
that changes records; the world holds the state, the clock and the index it uses.

Invariants (the world's, kept here): every change goes through ``_changing``, which holds
``world.lock``, sets the complaint's ``updated_at`` to the clock's whole second and
re-indexes it (its listing position and which accounts see it); every status change
appends to the status log; every routing appends to the disposition log.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from threading import RLock
from typing import TYPE_CHECKING

from lapor_sync.sandbox import masters
from lapor_sync.sandbox.index import ListingIndex, key_of
from lapor_sync.sandbox.masters import institution_name, scope_of
from lapor_sync.sandbox.records import (
    Complaint,
    DispositionLog,
    FollowUpRecord,
    ReporterRecord,
    StatusLog,
)

if TYPE_CHECKING:
    from datetime import datetime

    from lapor_sync.sandbox.process import Simulation

AUTHOR_TYPES = ("instansi", "pelapor", "admin")
FORWARD_TEXT = "Diteruskan ke Instansi Tujuan"
# Which account the admin dispositions a complaint to when nobody asked for one.
_TARGET_WEIGHTS = (("18", 0.6), ("1871", 0.25), ("1801", 0.15))


class ComplaintLifecycle:
    """The changing half of the sandbox world (see the module docstring)."""

    lock: RLock
    rng: random.Random
    _index: ListingIndex
    _sim: Simulation

    if TYPE_CHECKING:  # provided by SandboxWorld

        def stamp(self) -> datetime: ...
        def record(self, complaint_id: int) -> Complaint: ...
        def load(self, c: Complaint) -> None: ...
        def note_personal(self, *values: str | None) -> None: ...
        def allocate_complaint_id(self) -> int: ...
        def allocate_followup_id(self) -> int: ...
        def allocate_tracking_id(self) -> str: ...
        @staticmethod
        def _visibility(c: Complaint) -> frozenset[str]: ...

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
