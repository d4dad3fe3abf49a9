"""The control interface: ``/_sandbox/...``, JSON in and out, for curl in training sessions.

It mirrors the Python control API of ``SandboxWorld`` (the server binds to loopback only
and there is no authentication). Requests here are never faulted and never counted in
``world.stats``. Times use the wire format ``d-m-Y H:i:s`` (WIB).

    GET    /_sandbox/                         this list
    GET    /_sandbox/state                    clock, counts, settings
    GET    /_sandbox/accounts                 the three accounts and their credentials
    GET    /_sandbox/stats                    request counters   POST /_sandbox/stats/reset
    POST   /_sandbox/clock/advance            {"seconds"|"minutes"|"hours"|"days"|"working_days": n}
    POST   /_sandbox/clock/set                {"time": "d-m-Y H:i:s"}
    GET    /_sandbox/faults                   specs and pending scripts
    POST   /_sandbox/faults                   {"kind": "list", "error_rate": 0.2, ...} (replaces)
    POST   /_sandbox/faults/script            {"kind": "create", "steps": ["500", "ok"]}
    POST   /_sandbox/faults/fail              {"kind": "detail", "step": "503", "target": 12}
                                              every such request fails until cleared
    POST   /_sandbox/faults/clear             {"kind": "list"} or {} for all; also DELETE /faults
    POST   /_sandbox/settings                 {"create_response_shape": "rotate",
                                               "auto_verify": true, ...} (process.py)
    GET    /_sandbox/gateway                  credential header names, OAuth2 token counts
    POST   /_sandbox/gateway                  {"key_header": "auth", "token_lifetime": 60, ...}
    POST   /_sandbox/gateway/revoke           every issued access token becomes invalid
    POST   /_sandbox/contract                 {"profile": "lmw"} strict, or {"profile": null} any
    POST   /_sandbox/institutions/rename      {"id": "18003", "name": "…"}  (the listing only)
    POST   /_sandbox/institutions/unlist      {"id": "18003"}  no longer listed
    POST   /_sandbox/seed                     {"complaints": 200, "same_updated_at": 0}
    GET    /_sandbox/complaints?tag=&search=  matching ids
    POST   /_sandbox/complaints               {"title", "content", "channel", "created_by", ...}
    GET    /_sandbox/complaints/{id}          everything the world holds about one complaint
    POST   /_sandbox/complaints/{id}/verify       {"disposition_id"?, "note"?}
    POST   /_sandbox/complaints/{id}/disposition  {"to", "from"?, "content"?}
    POST   /_sandbox/complaints/{id}/followup     {"content", "institution_from_id"?, ...}
    POST   /_sandbox/complaints/{id}/reply        {"content"}   (the reporter)
    POST   /_sandbox/complaints/{id}/admin-reply  {"content"}
    POST   /_sandbox/complaints/{id}/forward      {"to", "from"?, "reason_description"?}
    POST   /_sandbox/complaints/{id}/archive | postpone | close   {"note"?}
    POST   /_sandbox/complaints/{id}/status       {"code", "name"?, "note"?}
    POST   /_sandbox/complaints/{id}/touch
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from lapor_sync.sandbox import masters, render
from lapor_sync.sandbox.records import ReporterRecord
from lapor_sync.sandbox.seed import seed_world
from lapor_sync.sandbox.world import SandboxWorld, UnknownComplaintError
from lapor_sync.timeutil import WIB, wib_date

Result = tuple[int, Any]
_COMPLAINT_PATH = re.compile(r"/complaints/(\d+)(?:/([a-z-]+))?")


def handle(world: SandboxWorld, method: str, path: str, params: dict[str, str],
           body: bytes) -> Result:
    path = path.rstrip("/") or "/"
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return _dispatch(world, method, path, params, data)
    except UnknownComplaintError as exc:
        return 404, {"ok": False, "error": f"unknown complaint {exc.args[0]}"}
    except (ValueError, TypeError, KeyError) as exc:
        return 422, {"ok": False, "error": str(exc)}


def _dispatch(world: SandboxWorld, method: str, path: str, params: dict[str, str],
              data: dict[str, Any]) -> Result:
    simple: dict[tuple[str, str], Callable[[], Result]] = {
        ("GET", "/"): lambda: (200, {"ok": True, "endpoints": __doc__}),
        ("GET", "/state"): lambda: (200, _state(world)),
        ("GET", "/accounts"): lambda: (200, _accounts()),
        ("GET", "/stats"): lambda: (200, world.stats.snapshot()),
        ("POST", "/stats/reset"): lambda: _run(world.stats.reset),
        ("POST", "/clock/advance"): lambda: _advance(world, data),
        ("POST", "/clock/set"): lambda: _run(world.set_time, render.parse_ts(data["time"])),
        ("GET", "/faults"): lambda: (200, world.faults.describe()),
        ("POST", "/faults"): lambda: _set_fault(world, data),
        ("POST", "/faults/script"): lambda: _run(
            world.faults.script, data["kind"], list(data["steps"])),
        ("POST", "/faults/fail"): lambda: _run(
            world.faults.fail, data["kind"], str(data.get("step", "503")),
            target=data.get("target")),
        ("POST", "/faults/clear"): lambda: _run(world.faults.clear, data.get("kind")),
        ("DELETE", "/faults"): lambda: _run(world.faults.clear, params.get("kind")),
        ("POST", "/settings"): lambda: _run(world.configure, **data),
        ("GET", "/gateway"): lambda: (200, world.gateway.describe()),
        ("POST", "/gateway"): lambda: _run(world.gateway.configure, **data),
        ("POST", "/gateway/revoke"): lambda: _run(world.gateway.revoke_all),
        ("POST", "/institutions/rename"): lambda: _run(
            world.directory.rename, str(data["id"]), str(data["name"])),
        ("POST", "/institutions/unlist"): lambda: _run(world.directory.unlist, str(data["id"])),
        ("POST", "/contract"): lambda: _run(world.contract.configure, data.get("profile")),
        ("POST", "/seed"): lambda: (200, {"ok": True, "ids": seed_world(
            world, complaints=int(data.get("complaints", 200)),
            same_updated_at=int(data.get("same_updated_at", 0)))}),
        ("GET", "/complaints"): lambda: (200, _find(world, params)),
        ("POST", "/complaints"): lambda: (201, {"ok": True, "id": _add(world, data)}),
    }
    action = simple.get((method, path))
    if action is not None:
        return action()
    match = _COMPLAINT_PATH.fullmatch(path)
    if match is None:
        return 404, {"ok": False, "error": "unknown control endpoint; GET /_sandbox/"}
    cid, verb = int(match.group(1)), match.group(2)
    if method == "GET" and verb is None:
        return 200, _inspect(world, cid)
    if method != "POST" or verb is None:
        return 405, {"ok": False, "error": "use POST /_sandbox/complaints/{id}/<action>"}
    return _complaint_action(world, cid, verb, data)


def _run(action: Callable[..., None], *args: Any, **kwargs: Any) -> Result:
    action(*args, **kwargs)
    return 200, {"ok": True}


def _state(world: SandboxWorld) -> dict[str, Any]:
    return {
        "ok": True,
        "now": render.fmt_ts(world.now()),
        "complaints": world.count(),
        "create_response_shape": world.create_response_shape,
        "simulation": world.simulation.to_json(),
        "visible": {a.institution_id: len(world.visible_ids(a.institution_id))
                    for a in masters.ACCOUNTS},
    }


def _accounts() -> dict[str, Any]:
    return {"ok": True, "accounts": [
        {"institution_id": a.institution_id, "name": a.name, "api_key": a.api_key,
         "token": a.token} for a in masters.ACCOUNTS
    ]}


def _advance(world: SandboxWorld, data: dict[str, Any]) -> Result:
    if "working_days" in data:
        now = world.now()
        day = world.add_working_days(wib_date(now), int(data["working_days"]))
        world.set_time(datetime.combine(day, now.timetz()).replace(tzinfo=WIB))
    else:
        units = {k: float(data.get(k, 0)) for k in ("seconds", "minutes", "hours", "days")}
        world.advance(timedelta(**units))
    return 200, {"ok": True, "now": render.fmt_ts(world.now())}


def _set_fault(world: SandboxWorld, data: dict[str, Any]) -> Result:
    options = dict(data)
    kind = options.pop("kind", "*")
    if "error_statuses" in options:
        options["error_statuses"] = tuple(options["error_statuses"])
    spec = world.faults.set(kind, **options)
    return 200, {"ok": True, "kind": kind, "spec": spec.to_json()}


def _find(world: SandboxWorld, params: dict[str, str]) -> dict[str, Any]:
    if params.get("tag"):
        return {"ok": True, "ids": world.find_by_tag(params["tag"])}
    if params.get("search"):
        return {"ok": True, "ids": world.search_ids(params["search"])}
    return {"ok": True, "ids": world.complaint_ids()}


def _add(world: SandboxWorld, data: dict[str, Any]) -> int:
    reporter_data = data.get("reporter")
    reporter = None
    if isinstance(reporter_data, dict):
        reporter = ReporterRecord(reporter_data.get("name"), reporter_data.get("phone"),
                                  reporter_data.get("email"))
    tags = data.get("tags")
    if tags is None:
        tags = str(data.get("tags_raw", "")).split()
    incident = data.get("date_of_incident")
    category = data.get("category_id")
    return world.add_complaint(
        str(data["title"]), str(data["content"]),
        channel=int(data.get("channel", 1)),
        category_id=int(category) if category is not None else None,
        date_of_incident=render.parse_date(incident) if incident else None,
        is_anonymous=bool(data.get("is_anonymous", False)),
        is_secret=bool(data.get("is_secret", False)),
        tags=[str(t) for t in tags], reporter=reporter,
        created_by=_opt_str(data.get("created_by")),
        disposition_id=_opt_str(data.get("disposition_id")),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _inspect(world: SandboxWorld, cid: int) -> dict[str, Any]:
    c = world.complaint(cid)
    due = world.closure_due(cid)
    return {
        "ok": True,
        "data": render.detail(c, (c.status_code, c.status_name)),
        "data_logs": render.disposition_logs(c),
        "followups": [render.followup(f) for f in c.followups],
        "created_by": c.created_by,
        "visible_to": sorted(c.visible_to),
        "forwarded_by": sorted(c.forwarded_by),
        "closure_due": render.fmt_ts(due) if due else None,
    }


def _complaint_action(world: SandboxWorld, cid: int, verb: str, data: dict[str, Any]
                      ) -> Result:
    note = data.get("note")
    if verb == "verify":
        world.verify(cid, _opt_str(data.get("disposition_id")), note)
    elif verb == "disposition":
        world.disposition(cid, str(data["to"]), from_id=_opt_str(data.get("from")),
                          content=data.get("content"))
    elif verb == "followup":
        rating = data.get("rating")
        fid = world.add_followup(
            cid, str(data["content"]),
            institution_from_id=_opt_str(data.get("institution_from_id")),
            institution_to_id=_opt_str(data.get("institution_to_id")),
            is_secret=bool(data.get("is_secret", False)),
            rating=int(rating) if rating is not None else None,
        )
        return 201, {"ok": True, "id": fid}
    elif verb == "reply":
        return 201, {"ok": True, "id": world.reply_as_reporter(cid, str(data["content"]))}
    elif verb == "admin-reply":
        return 201, {"ok": True, "id": world.reply_as_admin(cid, str(data["content"]))}
    elif verb == "forward":
        world.forward(cid, str(data["to"]), from_id=_opt_str(data.get("from")),
                      reason_description=str(data.get("reason_description",
                                                      "Diteruskan ke Instansi Tujuan")))
    elif verb in ("archive", "postpone", "close"):
        getattr(world, verb)(cid, note)
    elif verb == "status":
        world.set_status(cid, str(data["code"]), data.get("name"), note)
    elif verb == "touch":
        world.touch(cid)
    else:
        return 404, {"ok": False, "error": f"unknown action {verb!r}"}
    return 200, {"ok": True}
