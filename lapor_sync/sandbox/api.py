"""The LAPOR! integration API of docs/lapor-api.md, independent of HTTP plumbing.

``route`` maps a method and path (below the prefix) to a request kind; ``handle`` runs one
authenticated request against the world and returns status and body. The server adds
transport, auth and faults around it.

Choices where the contract leaves room (documented for the connector's authors):

- ``page_size`` above 100 is clamped to 100 (not an error); the answer's ``page_size``
  says what was used. Default 20 for complaints, 10 for follow-ups.
- ``updated_from`` accepts ``d-m-Y H:i:s`` or ``d-m-Y``; anything else is a 422.
- A complaint's ``disposition_id`` is null until the admin verifies it, even when the
  creator asked for a target.
- Create answers 201 with ``results`` present in all three shapes (empty in the ``data``
  and ``top`` shapes); follow-up add answers 201; reject answers 200.
- Reject needs the complaint to be held in the account's scope (else 403), and a target
  outside it (else 422).
- Upload (``complaints/complaint/file``) answers 200 with the new ids in ``images`` or
  ``docs`` (sandbox/uploads.py); a create names them in ``images``/``docs``: known ones
  are attached, unknown ones ignored — or a 422 in strict mode.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from lapor_sync.sandbox import masters, render
from lapor_sync.sandbox.contract import SandboxContract
from lapor_sync.sandbox.forms import decode_body
from lapor_sync.sandbox.lifecycle import FORWARD_TEXT
from lapor_sync.sandbox.masters import Account, scope_of
from lapor_sync.sandbox.records import ReporterRecord
from lapor_sync.sandbox.world import SandboxWorld

MAX_PAGE_SIZE = 100
LIST_PAGE_SIZE = 20
FOLLOWUP_PAGE_SIZE = 10
MASTERS_PAGE_SIZE = 1000
TITLE_MAX = 150

_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"/complaints"), "list"),
    ("GET", re.compile(r"/complaints/(\d+)/complaint"), "detail"),
    ("GET", re.compile(r"/complaints/(\d+)/followups"), "followups"),
    ("GET", re.compile(r"/masters/(institutions/external|categories|templates)"), "masters"),
    ("POST", re.compile(r"/complaints/complaint/file"), "upload"),
    ("POST", re.compile(r"/complaints/complaint(?:-lmw)?"), "create"),
    ("POST", re.compile(r"/complaints/followup/add"), "followup_add"),
    ("POST", re.compile(r"/complaints/process/(\d+)/reject"), "reject"),
)


@dataclass(slots=True)
class Route:
    kind: str              # a faults.REQUEST_KINDS name, or "unknown"
    arg: str | None = None  # the id or master name in the path
    status: int = 200      # 404/405 when kind is "unknown"


@dataclass(slots=True)
class ApiRequest:
    route: Route
    params: dict[str, str]
    body: bytes
    account: Account
    base_url: str           # absolute, with the prefix, for next_page_url
    page_shift: bool = False
    content_type: str = "application/json"
    contract: SandboxContract = field(default_factory=SandboxContract)


@dataclass(slots=True)
class ApiResponse:
    status: int
    payload: Any


def route(method: str, path: str) -> Route:
    path = path.rstrip("/") or "/"
    path_matched = False
    for verb, pattern, kind in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            path_matched = True
            if verb == method:
                return Route(kind, match.group(1) if match.groups() else None)
    return Route("unknown", None, 405 if path_matched else 404)


def ok(results: Any, message: str = "OK", status: int = 200) -> ApiResponse:
    return ApiResponse(status, {"success": True, "message": message, "results": results})


def fail(status: int, message: str, errors: dict[str, list[str]] | None = None) -> ApiResponse:
    return ApiResponse(status, {"success": False, "message": message, "errors": errors or {}})


def invalid(errors: dict[str, list[str]]) -> ApiResponse:
    return fail(422, "Data yang diberikan tidak valid.", errors)


def not_found() -> ApiResponse:
    return fail(404, "Data tidak ditemukan.", {"id": ["Laporan tidak ditemukan."]})


def handle(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    handler = _HANDLERS[req.route.kind]
    return handler(world, req)


# ---- field parsing ----------------------------------------------------------------------

class _Fields:
    """Collects field errors Laravel-style: ``{"field": ["message", ...]}``."""

    def __init__(self, source: dict[str, Any], known: Set[str] = masters.INSTITUTIONS.keys()
                 ) -> None:
        self.source = source
        self.known = known  # the institution ids this request may name
        self.errors: dict[str, list[str]] = {}

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, *, required: bool = False, max_len: int | None = None
             ) -> str | None:
        value = self.source.get(name)
        if value is None or value == "":
            if required:
                self.error(name, f"Kolom {name} wajib diisi.")
            return None
        if not isinstance(value, str):
            self.error(name, f"Kolom {name} harus berupa teks.")
            return None
        if required and not value.strip():
            self.error(name, f"Kolom {name} wajib diisi.")
            return None
        if max_len is not None and len(value) > max_len:
            self.error(name, f"Kolom {name} maksimal {max_len} karakter.")
            return None
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.source.get(name)
        if value is None or value == "":
            if required:
                self.error(name, f"Kolom {name} wajib diisi.")
            return None
        if isinstance(value, bool):
            self.error(name, f"Kolom {name} harus berupa angka.")
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        self.error(name, f"Kolom {name} harus berupa angka.")
        return None

    def flag(self, name: str) -> bool:
        value = self.source.get(name)
        if value in (None, "", 0, "0", False, "false"):
            return False
        if value in (1, "1", True, "true"):
            return True
        self.error(name, f"Kolom {name} harus bernilai 0 atau 1.")
        return False

    def institution(self, name: str, *, required: bool = False) -> str | None:
        number = self.integer(name, required=required)
        if number is None:
            return None
        if str(number) not in self.known:
            self.error(name, f"Instansi {name} tidak dikenal.")
            return None
        return str(number)


def _fields(world: SandboxWorld, req: ApiRequest, body: dict[str, Any]) -> _Fields:
    """A write's fields; in the strict reading only institutions the directory lists
    (``GET /masters/institutions/external``) are known, as a real server would check."""
    if req.contract.strict:
        return _Fields(body, world.directory.listed_ids())
    return _Fields(body)


def _json_body(req: ApiRequest) -> dict[str, Any] | None:
    """The body's fields, JSON or multipart form (forms.py); None when unreadable or when
    the world's contract (contract.py) refuses this encoding for this kind of request."""
    body = decode_body(req.content_type, req.body)
    if not req.contract.accepts_encoding(req.route.kind, body.encoding):
        return None
    return body.fields


def _paging(fields: _Fields, default_size: int, max_size: int) -> tuple[int, int]:
    page, size = fields.integer("page"), fields.integer("page_size")
    if page is not None and page < 1:
        fields.error("page", "Kolom page minimal 1.")
    if size is not None and size < 1:
        fields.error("page_size", "Kolom page_size minimal 1.")
    return max(page or 1, 1), min(size or default_size, max_size)


def _next_url(base: str, path: str, params: dict[str, str], page: int, size: int) -> str:
    query = dict(params)
    query["page"], query["page_size"] = str(page), str(size)
    return f"{base}{path}?{urlencode(query)}"


def _visible(world: SandboxWorld, req: ApiRequest) -> Any:
    c = world.record_or_none(int(req.route.arg or 0))
    if c is None or req.account.institution_id not in c.visible_to:
        return None
    return c


# ---- reading ----------------------------------------------------------------------------

def _list(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    params = req.params
    fields = _Fields(dict(params))
    updated_from = None
    if params.get("updated_from"):
        try:
            updated_from = render.parse_ts(params["updated_from"])
        except ValueError:
            fields.error("updated_from", "Format updated_from harus d-m-Y H:i:s.")
    page, size = _paging(fields, LIST_PAGE_SIZE, MAX_PAGE_SIZE)
    if fields.errors:
        return invalid(fields.errors)
    search = params.get("search") or None
    account = req.account.institution_id
    with world.lock:
        if req.page_shift and page >= 2:
            world.shift_listing(account, updated_from, search)
        items, total = world.listing(account, updated_from, (page - 1) * size, size, search)
        data = [render.summary(c, world.status_for(c, account)) for c in items]
    more = page * size < total
    return ok({
        "data": data, "page": page, "page_size": size, "total": total,
        "next_page_url": _next_url(req.base_url, "/complaints", params, page + 1, size)
        if more else None,
    })


def _detail(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    with world.lock:
        c = _visible(world, req)
        if c is None:
            return not_found()
        status = world.status_for(c, req.account.institution_id)
        return ok({"data": render.detail(c, status), "data_logs": render.disposition_logs(c)})


def _followups(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    fields = _Fields(dict(req.params))
    page, size = _paging(fields, FOLLOWUP_PAGE_SIZE, MAX_PAGE_SIZE)
    if fields.errors:
        return invalid(fields.errors)
    with world.lock:
        c = _visible(world, req)
        if c is None:
            return not_found()
        chosen = c.followups[(page - 1) * size:page * size]
        data = [render.followup(f) for f in chosen]
        total = len(c.followups)
    path = f"/complaints/{c.id}/followups"
    return ok({
        "data": data, "page": page, "page_size": size, "total": total,
        "next_page_url": _next_url(req.base_url, path, {}, page + 1, size)
        if page * size < total else None,
    })


def _masters(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    if req.route.arg == "categories":
        data = [{"id": cid, "parent": parent, "name": name}
                for cid, parent, name in masters.CATEGORIES]
        return ok({"data": data})
    if req.route.arg == "templates":
        data = [{"id": tid, "code": code, "name": name, "content": text}
                for tid, code, name, text in masters.TEMPLATES]
        return ok({"data": data, "total": len(data)})
    fields = _Fields(dict(req.params))
    page, size = _paging(fields, MASTERS_PAGE_SIZE, MASTERS_PAGE_SIZE)
    if fields.errors:
        return invalid(fields.errors)
    rows = [{"id": int(i), "name": n} for i, n in world.directory.rows()]
    path = "/masters/institutions/external"
    return ok({
        "data": rows[(page - 1) * size:page * size], "page": page, "page_size": size,
        "total": len(rows),
        "next_page_url": _next_url(req.base_url, path, {}, page + 1, size)
        if page * size < len(rows) else None,
    })


# ---- writing ----------------------------------------------------------------------------

def _create(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    body = _json_body(req)
    if body is None:
        return invalid({"body": ["Badan permintaan harus berupa objek JSON."]})
    f = _fields(world, req, body)
    title = f.text("title", required=True, max_len=TITLE_MAX)
    content = f.text("content", required=True)
    channel = f.integer("channel", required=True)
    category = f.integer("category_id")
    if category is not None and category not in masters.CATEGORY_IDS:
        f.error("category_id", "Kategori tidak dikenal.")
    classification = f.integer("classification_id")
    location = f.integer("location_id")
    target = f.institution("disposition_id")
    incident_text = f.text("date_of_incident")
    incident = None
    if incident_text is not None:
        try:
            incident = render.parse_date(incident_text)
        except ValueError:
            f.error("date_of_incident", "Format date_of_incident harus d-m-Y.")
    anonymous, secret = f.flag("is_anonymous"), f.flag("is_secret")
    tags_raw = f.text("tags_raw") or ""
    name, phone, email = f.text("nameUser"), f.text("phoneUser"), f.text("emailUser")
    if email is not None and "@" not in email:
        f.error("emailUser", "Format emailUser tidak valid.")
    if req.contract.strict:
        _strict_create(f, channel, classification, category, location, target)
    images, docs = _upload_ids(f, "images"), _upload_ids(f, "docs")
    if f.errors or title is None or content is None or channel is None:
        return invalid(f.errors)
    reporter = ReporterRecord(name, phone, email) if (name or phone or email) else None
    account = req.account.institution_id
    with world.lock:
        if req.contract.strict:
            unknown = world.uploads.unknown(account, images, docs)
            if unknown:
                return invalid({"images" if images else "docs": unknown})
        cid = world.add_complaint(
            title, content, channel=channel, category_id=category,
            classification_id=classification, location_id=location,
            date_of_incident=incident, is_anonymous=anonymous, is_secret=secret,
            tags=tags_raw.split(), reporter=reporter, created_by=req.account.institution_id,
            disposition_id=target,
        )
        record = world.record(cid)
        record.attachments = world.uploads.attach(cid, account, images + docs, req.base_url)
        tracking = record.tracking_id
        shape = world.next_create_shape()
    message = "Laporan berhasil dibuat."
    if shape == "results":
        return ok({"complaint": {"id": cid, "tracking_id": tracking}}, message, 201)
    if shape == "data":
        return ApiResponse(201, {"success": True, "message": message, "results": {},
                                 "data": {"complaint_id": cid, "tracking_id": tracking}})
    return ApiResponse(201, {"success": True, "message": message, "results": {},
                             "complaint_id": cid, "tracking_id": tracking})


def _upload_ids(f: _Fields, name: str) -> list[int]:
    """``images``/``docs``: a list of upload ids (JSON list, or a form's repeated field)."""
    value = f.source.get(name)
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    ids: list[int] = []
    for item in items:
        if isinstance(item, bool) or not (
            isinstance(item, int) or (isinstance(item, str) and item.strip().isdigit())
        ):
            f.error(name, f"Kolom {name} harus berupa daftar id lampiran.")
            return []
        ids.append(int(item))
    return ids


def _upload(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    """Files first (sandbox/uploads.py): their ids, for a create to refer to."""
    body = decode_body(req.content_type, req.body)
    if body.fields is None or not req.contract.accepts_encoding("upload", body.encoding):
        return invalid({"attachments": ["Berkas harus dikirim sebagai multipart/form-data."]})
    with world.lock:
        answer = world.uploads.accept(req.account.institution_id, body.files)
    if "errors" in answer:
        return invalid(answer["errors"])
    return ok(answer, "Berkas berhasil diunggah.")


def _strict_create(f: _Fields, channel: int | None, classification: int | None,
                   category: int | None, location: int | None, target: str | None) -> None:
    """The strict reading: every listed create field given, each a known master value."""
    for name, value in (("classification_id", classification), ("category_id", category),
                        ("location_id", location), ("disposition_id", target)):
        if value is None and name not in f.errors:
            f.error(name, f"Kolom {name} wajib diisi.")
    if f.source.get("date_of_incident") in (None, ""):
        f.error("date_of_incident", "Kolom date_of_incident wajib diisi.")
    if channel is not None and channel not in masters.CHANNELS:
        f.error("channel", "Kanal tidak dikenal.")
    if classification is not None and classification not in masters.CLASSIFICATIONS:
        f.error("classification_id", "Klasifikasi tidak dikenal.")
    if location is not None and location not in masters.LOCATIONS:
        f.error("location_id", "Lokasi tidak dikenal.")


def _followup_add(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    body = _json_body(req)
    if body is None:
        return invalid({"body": ["Badan permintaan harus berupa objek JSON."]})
    f = _fields(world, req, body)
    cid = f.integer("complaint_id", required=True)
    source = f.institution("institution_from_id", required=True)
    target = f.institution("institution_to_id")
    content = f.text("content", required=True)
    template = f.text("template_code") or "followup"
    secret = f.flag("is_secret")
    rating = f.integer("rating")
    if rating is not None and not 1 <= rating <= 5:
        f.error("rating", "Kolom rating harus 1 sampai 5.")
    if f.errors or cid is None or source is None or content is None:
        return invalid(f.errors)
    account = req.account.institution_id
    with world.lock:
        c = world.record_or_none(cid)
        if c is None or account not in c.visible_to:
            return not_found()
        if scope_of(source) != account:
            return fail(403, "Instansi tidak berwenang.",
                        {"institution_from_id": ["Bukan instansi atau unit akun ini."]})
        if req.contract.strict and scope_of(c.disposition_id) != account:
            # The strict reading: only while the complaint is with this instansi or one
            # of its units (not before the admin's disposition, not once forwarded away).
            return fail(403, "Laporan tidak sedang didisposisikan ke instansi ini.",
                        {"complaint_id": ["Tindak lanjut hanya oleh instansi yang sedang "
                                          "menangani laporan."]})
        fid = world.add_followup(cid, content, institution_from_id=source,
                                 institution_to_id=target, is_secret=secret, rating=rating,
                                 template_code=template)
        record = next(x for x in reversed(c.followups) if x.id == fid)
        return ok({"data": render.followup(record)}, "Tindak lanjut berhasil disimpan.", 201)


def _reject(world: SandboxWorld, req: ApiRequest) -> ApiResponse:
    body = _json_body(req)
    if body is None:
        return invalid({"body": ["Badan permintaan harus berupa objek JSON."]})
    f = _fields(world, req, body)
    target = f.institution("reason", required=True)
    text = f.text("reason_description") or FORWARD_TEXT
    is_request, not_authority = f.flag("is_request"), f.flag("not_authority")
    if req.contract.strict:
        for name, given in (("is_request", is_request), ("not_authority", not_authority)):
            if not given and name not in f.errors:
                f.error(name, f"Kolom {name} harus bernilai 1.")
    if f.errors or target is None:
        return invalid(f.errors)
    account = req.account.institution_id
    with world.lock:
        c = _visible(world, req)
        if c is None:
            return not_found()
        if scope_of(c.disposition_id) != account:
            return fail(403, "Laporan tidak sedang didisposisikan ke instansi ini.",
                        {"id": ["Laporan tidak dapat diteruskan oleh instansi ini."]})
        if scope_of(target) == account:
            return invalid({"reason": ["Instansi tujuan tidak boleh instansi sendiri."]})
        world.forward(c.id, target, from_id=c.disposition_id, reason_description=text)
        code, name = world.status_for(c, account)
    return ok({"data": {"complaint_id": c.id, "status_code": code, "status_name": name,
                        "institution_to_id": int(target)}}, "Laporan berhasil diteruskan.")


_HANDLERS = {
    "list": _list, "detail": _detail, "followups": _followups, "masters": _masters,
    "create": _create, "followup_add": _followup_add, "reject": _reject, "upload": _upload,
}


def emptied(kind: str, response: ApiResponse) -> ApiResponse:
    """The ``empty`` fault: the same request, answered as if the remote held nothing."""
    if kind in ("list", "followups", "masters"):
        return ok({"data": [], "page": 1, "page_size": LIST_PAGE_SIZE, "total": 0,
                   "next_page_url": None})
    if kind == "detail":
        return not_found()
    return ok({}, response.payload.get("message", "OK"), response.status)
