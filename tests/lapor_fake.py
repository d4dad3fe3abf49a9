"""A hand-written SP4N-LAPOR! for one account, served through ``responses`` fixtures.

It answers the requests of ``LaporClient`` with the wire shapes docs/lapor-api.md
describes (envelope ``{"success", "message", "results"}``, ``d-m-Y H:i:s`` timestamps,
``next_page_url`` paging), written out here by hand — not with the sandbox's code — so
that tests/test_remote_contract.py holds the sandbox (over HTTP and in memory) and these
fixtures to one contract: if either drifts from the other, a contract test fails.

Faults are scripted per request kind, one step per request, with a subset of the
sandbox's grammar (sandbox/faults.py): a 5xx code, ``429:<seconds>``, ``refuse`` (the
connection fails before anything is applied) and ``drop`` (applied, answer lost).
"""

from __future__ import annotations

import json
import re
from collections import Counter, deque
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import responses

from lapor_sync.timeutil import WIB

STAMP = "%d-%m-%Y %H:%M:%S"
FOLLOWUP_PAGE = 10
OWN_UNITS = {"18", "18001", "18002", "18003"}  # the account's instansi and its OPD units

_Answer = tuple[int, dict[str, str], str]


def _ok(results: Any, status: int = 200, message: str = "OK") -> _Answer:
    body = {"success": True, "message": message, "results": results}
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _fail(status: int, message: str, errors: dict[str, list[str]] | None = None) -> _Answer:
    body = {"success": False, "message": message, "errors": errors or {}}
    return status, {"Content-Type": "application/json"}, json.dumps(body)


class FakeLapor:
    """One account's SP4N-LAPOR!: complaints, follow-ups, dispositions, a clock."""

    def __init__(self, base_url: str, api_key: str, token: str) -> None:
        self.base = base_url.rstrip("/")
        self._auth = (f"Bearer {api_key}", token)
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=WIB)
        self.complaints: dict[int, dict[str, Any]] = {}
        self.followups: dict[int, list[dict[str, Any]]] = {}
        self.logs: dict[int, list[dict[str, Any]]] = {}
        self.hidden: set[int] = set()  # exist, but not for this account
        self.scripts: dict[str, deque[str]] = {}
        self.seen: Counter[str] = Counter()
        self._next = 7000

    # --- the test's side ------------------------------------------------------------------

    def add(self, title: str, *, unit: str = "18003", visible: bool = True) -> int:
        self.now += timedelta(minutes=1)
        cid = self._new_id()
        stamp = self.now.strftime(STAMP)
        self.complaints[cid] = {
            "id": cid, "tracking_id": f"{cid + 3_000_000}", "title": title,
            "status_code": "2", "status_name": "Terverifikasi", "disposition_id": int(unit),
            "disposition_name": "Dinas Bina Marga", "category_id": 31,
            "classification_id": 1, "channel": 2, "is_secret": False, "is_anonymous": False,
            "tags": [], "created_at": stamp, "updated_at": stamp,
            "content": f"Isi {title}", "location_id": 18, "date_of_incident": None,
            "reporter": None,
            "status_logs": [{"status_code": "2", "status_name": "Terverifikasi",
                             "note": None, "timestamp": stamp}],
        }
        self.followups[cid] = []
        self.logs[cid] = [self._log(None, unit, "disposition")]
        if not visible:
            self.hidden.add(cid)
        return cid

    def add_followup(self, cid: int, content: str) -> int:
        self.now += timedelta(seconds=1)
        fid = self._new_id()
        self.followups[cid].append({
            "id": fid, "complaint_id": cid, "author_type": "instansi",
            "institution_from_id": 18003, "institution_from_name": "Dinas Bina Marga",
            "institution_to_id": None, "institution_to_name": None, "content": content,
            "template_code": "followup", "is_secret": False, "rating": None,
            "attachments": [], "created_at": self.now.strftime(STAMP),
        })
        self._touch(cid)
        return fid

    def script(self, kind: str, steps: list[str]) -> None:
        self.scripts.setdefault(kind, deque()).extend(steps)

    def install(self, mock: responses.RequestsMock) -> None:
        routes = [
            ("GET", r"/complaints", "list", self._list),
            ("GET", r"/complaints/(\d+)/complaint", "detail", self._detail),
            ("GET", r"/complaints/(\d+)/followups", "followups", self._followups),
            ("POST", r"/complaints/complaint", "create", self._create),
            ("POST", r"/complaints/followup/add", "followup_add", self._followup_add),
            ("POST", r"/complaints/process/(\d+)/reject", "reject", self._reject),
        ]
        for method, path, kind, handler in routes:
            pattern = re.compile(re.escape(self.base) + path + r"(\?.*)?$")
            mock.add_callback(method, pattern, callback=self._serving(kind, path, handler))

    # --- serving --------------------------------------------------------------------------

    def _serving(self, kind: str, path: str, handler: Any) -> Any:
        def callback(request: requests.PreparedRequest) -> Any:
            self.seen[kind] += 1
            split = urlsplit(request.url or "")
            match = re.fullmatch(re.escape(urlsplit(self.base).path) + path, split.path)
            arg = int(match.group(1)) if match and match.groups() else None
            params = {k: v[-1] for k, v in parse_qs(split.query).items()}
            step = self.scripts[kind].popleft() if self.scripts.get(kind) else "ok"
            if step == "refuse":
                return requests.ConnectionError("connection refused by the fixture")
            if step.isdigit():
                return _fail(int(step), "Server Error")
            if step.startswith("429"):
                seconds = step.partition(":")[2] or "1"
                status, headers, body = _fail(429, "Too Many Requests")
                return status, {**headers, "Retry-After": seconds}, body
            if (request.headers.get("Authorization"), request.headers.get("token")) \
                    != self._auth:
                return _fail(401, "Unauthenticated.")
            body = json.loads(request.body) if request.body else {}
            answer = handler(arg, params, body)
            if step == "drop":
                return requests.ConnectionError("answer lost after the commit")
            return answer

        return callback

    def _list(self, _arg: Any, params: dict[str, str], _body: Any) -> _Answer:
        since = datetime.strptime(params["updated_from"], STAMP).replace(tzinfo=WIB)
        page, size = int(params.get("page", 1)), int(params.get("page_size", 20))
        search = params.get("search")
        items = sorted(
            (c for cid, c in self.complaints.items() if cid not in self.hidden
             and self._stamp(c["updated_at"]) >= since
             and (not search or search in c["title"] or search in " ".join(c["tags"]))),
            key=lambda c: (self._stamp(c["updated_at"]), c["id"]),
        )
        chosen = items[(page - 1) * size:page * size]
        more = page * size < len(items)
        query = urlencode({**params, "page": page + 1})
        return _ok({
            "data": [self._summary(c) for c in chosen], "page": page, "page_size": size,
            "total": len(items),
            "next_page_url": f"{self.base}/complaints?{query}" if more else None,
        })

    def _detail(self, cid: int, _params: Any, _body: Any) -> _Answer:
        if cid not in self.complaints or cid in self.hidden:
            return _fail(404, "Data tidak ditemukan.")
        return _ok({"data": dict(self.complaints[cid]), "data_logs": self.logs[cid]})

    def _followups(self, cid: int, params: dict[str, str], _body: Any) -> _Answer:
        if cid not in self.complaints or cid in self.hidden:
            return _fail(404, "Data tidak ditemukan.")
        page = int(params.get("page", 1))
        rows = self.followups[cid]
        more = page * FOLLOWUP_PAGE < len(rows)
        return _ok({
            "data": rows[(page - 1) * FOLLOWUP_PAGE:page * FOLLOWUP_PAGE], "page": page,
            "page_size": FOLLOWUP_PAGE, "total": len(rows),
            "next_page_url": f"{self.base}/complaints/{cid}/followups?page={page + 1}"
            if more else None,
        })

    def _create(self, _arg: Any, _params: Any, body: dict[str, Any]) -> _Answer:
        missing = [k for k in ("title", "content", "channel") if not body.get(k)]
        if missing:
            return _fail(422, "The given data was invalid.",
                         {k: [f"Kolom {k} wajib diisi."] for k in missing})
        cid = self.add(str(body["title"]), unit=str(body.get("disposition_id") or "18"))
        self.complaints[cid]["tags"] = [t for t in str(body.get("tags_raw", "")).split()]
        self.complaints[cid]["content"] = body["content"]
        return _ok({"complaint": {"id": cid, "tracking_id": self.complaints[cid]["tracking_id"]}},
                   201, "Laporan berhasil dibuat.")

    def _followup_add(self, _arg: Any, _params: Any, body: dict[str, Any]) -> _Answer:
        cid = int(body.get("complaint_id") or 0)
        if cid not in self.complaints or cid in self.hidden:
            return _fail(404, "Data tidak ditemukan.")
        if str(body.get("institution_from_id")) not in OWN_UNITS:
            return _fail(403, "Instansi tidak berwenang.",
                         {"institution_from_id": ["Bukan instansi atau unit akun ini."]})
        fid = self.add_followup(cid, str(body["content"]))
        return _ok({"data": self.followups[cid][-1] | {"id": fid}}, 201)

    def _reject(self, cid: int, _params: Any, body: dict[str, Any]) -> _Answer:
        if cid not in self.complaints or cid in self.hidden:
            return _fail(404, "Data tidak ditemukan.")
        target = str(body.get("reason") or "")
        if not target:
            return _fail(422, "The given data was invalid.", {"reason": ["wajib diisi."]})
        self.logs[cid].append(self._log(str(self.complaints[cid]["disposition_id"]), target,
                                        "forward"))
        self.complaints[cid]["disposition_id"] = int(target)
        self._touch(cid)
        return _ok({"data": {"complaint_id": cid, "institution_to_id": int(target)}})

    # --- helpers --------------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next += 1
        return self._next

    def _touch(self, cid: int) -> None:
        self.complaints[cid]["updated_at"] = self.now.strftime(STAMP)

    def _log(self, source: str | None, target: str, template: str) -> dict[str, Any]:
        return {"institution_from_id": int(source) if source else None,
                "institution_from_name": None, "institution_to_id": int(target),
                "institution_to_name": None, "template_code": template, "content": None,
                "created_at": self.now.strftime(STAMP)}

    @staticmethod
    def _stamp(text: str) -> datetime:
        return datetime.strptime(text, STAMP).replace(tzinfo=WIB)

    @staticmethod
    def _summary(c: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "tracking_id", "title", "status_code", "status_name", "disposition_id",
                "disposition_name", "category_id", "classification_id", "channel",
                "is_secret", "is_anonymous", "tags", "created_at", "updated_at")
        return {k: c[k] for k in keys}
