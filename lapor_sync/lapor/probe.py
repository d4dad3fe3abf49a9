"""``lapor-sync probe``: what a server actually answers, compared with what lapor-sync assumes.

The first thing an admin runs with real credentials. It sends a handful of GET requests —
never a write — through the account's configured client (so its auth scheme, header names
and profile paths are what is tested): the complaint list twice (a full page, then a page
of two to see paging), one complaint's detail and follow-ups, and the three masters. The
answers are compared with docs/lapor-api.md and each check ends as:

- ``as assumed``;
- ``different``: what was seen, and the setting to change (or that the adapter copes);
- ``missing``: the endpoint or field is not there.

Invariants: only GETs reach SP4N-LAPOR! (an OAuth2 token request goes to the gateway's
token endpoint); a finding holds field names, types, formats, counts and status names —
never a record's title, content, reporter data, id value or any credential; ``blocks_pull``
is set only for what would stop or silently break ``lapor-sync pull``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from lapor_sync.errors import AuthError, InvalidRecordError, LaporSyncError
from lapor_sync.lapor import wire
from lapor_sync.lapor.client import LaporClient
from lapor_sync.lapor.profiles import Profile

Outcome = Literal["as assumed", "different", "missing"]
_WIRE_TS = re.compile(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}")
_ISO_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_EPOCH = "01-01-2000 00:00:00"


@dataclass(frozen=True)
class Finding:
    check: str
    outcome: Outcome
    seen: str
    setting: str | None = None
    blocks_pull: bool = False


@dataclass
class ProbeResult:
    account: str
    auth_scheme: str
    profile: str
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    statuses: set[str] = field(default_factory=set)  # names seen, checked at the end

    @property
    def blocks_pull(self) -> bool:
        return any(f.blocks_pull for f in self.findings)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.findings.append(Finding(*args, **kwargs))

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "auth_scheme": self.auth_scheme,
            "profile": self.profile,
            "get_requests": self.requests,
            "blocks_pull": self.blocks_pull,
            "findings": [asdict(f) for f in self.findings],
            "status_names_seen": sorted(self.statuses),
        }


@dataclass(frozen=True)
class _Answer:
    status: int | None  # None: no HTTP answer at all
    results: dict[str, Any] | None
    problem: str | None = None  # why results is None


def probe(
    client: LaporClient,
    *,
    account: str,
    page_size: int,
    known_status: Callable[[str], bool],
    alternate_header: Callable[[], LaporClient] | None = None,
) -> ProbeResult:
    """Run the checks. ``alternate_header`` builds a client sending the gateway credential
    in ``auth`` instead of the configured header, tried once if the first answer is 401."""
    profile = client.profile
    result = ProbeResult(account, client.credentials.scheme, profile.name)
    listing = _get(client, result, "list", {"updated_from": _EPOCH, "page": 1,
                                            "page_size": page_size})
    if not _credentials(result, listing, client, alternate_header):
        return result
    if listing.results is None:
        result.add("list endpoint", "missing", _why(listing),
                   f"accounts.contract.paths.list (now {profile.paths['list']!r})", True)
        return result
    result.add("envelope", "as assumed", "success/results envelope")
    items = listing.results.get("data")
    if not isinstance(items, list):
        result.add("list data", "missing", "results has no 'data' list", None, True)
        return result
    result.add("list endpoint", "as assumed", f"{len(items)} complaint(s) on the first page")
    _shapes(result, [i for i in items if isinstance(i, dict)], profile)
    _paging(result, client, listing.results, len(items), page_size)
    first = next((i.get("id") for i in items if isinstance(i, dict) and i.get("id")), None)
    if first is None:
        result.add("detail endpoint", "missing", "no complaint visible to probe it with")
    else:
        _record_endpoints(result, client, str(first))
    _statuses(result, known_status)
    for endpoint in ("institutions", "categories", "templates"):
        answer = _get(client, result, endpoint, {"page_size": 1000})
        data = answer.results.get("data") if answer.results else None
        if isinstance(data, list):
            result.add(f"{endpoint} master", "as assumed", f"{len(data)} entries")
        else:
            result.add(f"{endpoint} master", "missing", _why(answer),
                       f"accounts.contract.paths.{endpoint} (now {profile.paths[endpoint]!r})")
    return result


def _get(client: LaporClient, result: ProbeResult, endpoint: str, params: dict[str, Any],
         record_id: str | None = None) -> _Answer:
    result.requests += 1
    try:
        status, body = client.probe_get(endpoint, record_id, params)
    except AuthError:  # the OAuth2 token endpoint refused the client credentials
        return _Answer(401, None, "token endpoint refused the client credentials")
    except LaporSyncError as exc:
        return _Answer(None, None, f"no answer ({type(exc).__name__})")
    try:
        envelope = json.loads(body)
    except ValueError:
        return _Answer(status, None, f"HTTP {status}, not JSON")
    if not isinstance(envelope, dict):
        return _Answer(status, None, f"HTTP {status}, JSON but not an object")
    results = envelope.get("results")
    if status >= 300 or envelope.get("success") is False:
        return _Answer(status, None, f"HTTP {status}")
    if not isinstance(results, dict):
        shape = "'data' at the top level" if "data" in envelope else "no 'results' object"
        return _Answer(status, None, f"HTTP {status}, {shape}")
    return _Answer(status, results)


def _why(answer: _Answer) -> str:
    return answer.problem or f"HTTP {answer.status}"


def _credentials(result: ProbeResult, listing: _Answer, client: LaporClient,
                 alternate: Callable[[], LaporClient] | None) -> bool:
    names = client.header_names
    if listing.status is None:
        result.add("connection", "missing", _why(listing), "base_url, http.ca_bundle", True)
        return False
    if listing.status != 401:
        result.add("credentials", "as assumed",
                   f"{result.auth_scheme} accepted in headers {names.key_header!r} and "
                   f"{names.token_header!r}")
        return True
    if alternate is not None and names.key_header.lower() != "auth":
        other = _get(alternate(), result, "list", {"updated_from": _EPOCH, "page": 1,
                                                   "page_size": 1})
        if other.status is not None and other.status != 401:
            result.add("credentials", "different",
                       "refused in header " + repr(names.key_header) + ", accepted in 'auth'",
                       'accounts.auth.key_header = "auth"', True)
            return False
    result.add("credentials", "missing", "refused (HTTP 401)",
               "api_key and token (or auth.client_id / auth.client_secret)", True)
    return False


def _shapes(result: ProbeResult, items: list[dict[str, Any]], profile: Profile) -> None:
    if not items:
        return
    kinds = sorted({_kind(i.get("id")) for i in items})
    if kinds == ["integer"]:
        result.add("id type", "as assumed", "integers")
    elif set(kinds) <= {"integer", "numeric string"}:
        result.add("id type", "different", "ids as " + " and ".join(kinds),
                   "none: the adapter reads both and stores ids as text")
    else:
        result.add("id type", "different", "ids as " + " and ".join(kinds),
                   "none available: report it (the adapter expects numbers)", True)
    flags = sorted({_kind(i.get(k)) for i in items for k in ("is_secret", "is_anonymous")})
    odd = [f for f in flags if f not in ("boolean", "0/1", "absent")]
    result.add("boolean encoding", "different" if odd else "as assumed",
               ", ".join(flags), "none available: report it" if odd else None, bool(odd))
    stamps = [i.get(k) for i in items for k in ("updated_at", "created_at")]
    _timestamps(result, stamps, profile.time_zone)
    unreadable = 0
    for item in items:
        try:
            wire.summary_from_wire(item, profile.zone)
        except InvalidRecordError:
            unreadable += 1
    if unreadable:
        result.add("summaries", "different", f"{unreadable} of {len(items)} unreadable "
                   "(they would be quarantined)", "none available: report it")
    result.statuses.update(_names(i.get("status_name") for i in items))


def _kind(value: object) -> str:
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "boolean"
    if value in (0, 1):
        return "0/1"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        text = value.strip()
        if text in ("0", "1"):
            return "0/1 as text"
        if text.lower() in ("true", "false"):
            return "true/false as text"
        return "numeric string" if text.isdigit() else "other text"
    return type(value).__name__


def _timestamps(result: ProbeResult, values: Iterable[object], zone: str) -> None:
    formats: set[str] = set()
    unreadable = False
    values = list(values)
    for value in values:
        if not isinstance(value, str):
            formats.add("absent" if value is None else type(value).__name__)
            unreadable = unreadable or value is not None
            continue
        text = value.strip()
        if _WIRE_TS.fullmatch(text):
            formats.add("d-m-Y H:i:s")
        elif _ISO_TS.fullmatch(text):
            zoned = text.endswith("Z") or bool(re.search(r"[+-]\d{2}:?\d{2}$", text))
            formats.add("ISO 8601 with offset" if zoned else "ISO 8601 without zone")
        else:
            formats.add("unknown format")
        try:
            wire.parse_timestamp(text, ZoneInfo(zone))
        except ValueError:
            unreadable = True
    _zones(result, values, zone)
    seen = ", ".join(sorted(formats)) or "none"
    if formats <= {"d-m-Y H:i:s"}:
        result.add("timestamp format", "as assumed", seen)
    elif unreadable:
        result.add("timestamp format", "different", seen,
                   "none available: report it (timestamps cannot be read)", True)
    else:
        result.add("timestamp format", "different", seen,
                   f"none: the adapter reads ISO 8601 (without zone as {zone})")


_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _zones(result: ProbeResult, values: Iterable[object], zone: str) -> None:
    """The time zone(s) the timestamps carry, reported apart from their format.

    A stamp without a zone is read in the account's ``time_zone`` (Asia/Jakarta unless
    ``[accounts.contract] time_zone`` says otherwise); one with an offset is converted from
    that offset. Offsets other than the zone's are therefore read correctly, but they show
    the server does not answer in that zone, which an admin should know: its zone-less
    stamps (and the ``updated_from`` it is sent) may then be in the offset's zone too.
    """
    zones: set[str] = set()
    for value in values:
        if not isinstance(value, str) or not value.strip():
            continue
        text = value.strip()
        match = _OFFSET.search(text) if _ISO_TS.fullmatch(text) else None
        if match is None:
            zones.add(f"no zone (read as {zone} {_offset_of(zone)})")
            continue
        raw = match.group(1)
        offset = "+00:00" if raw == "Z" else f"{raw[:3]}:{raw[-2:]}"
        zones.add(offset + (" (UTC)" if offset in ("+00:00", "-00:00") else ""))
    if not zones:
        return
    seen = ", ".join(sorted(zones))
    assumed = _offset_of(zone)
    other = sorted(z for z in zones if not z.startswith((assumed, "no zone")))
    if not other:
        result.add("time zone", "as assumed", seen)
        return
    result.add(
        "time zone",
        "different",
        f"{seen}; assumed {zone} ({assumed})",
        f"accounts.contract.time_zone (now {zone!r}), if the server also sends stamps "
        "without an offset: they and updated_from are read and sent in that zone; "
        "stamps with an offset are converted from it whatever it says",
    )


def _offset_of(zone: str) -> str:
    """The ``+HH:MM`` offset of ``zone`` now (zones without summer time, as Indonesia's)."""
    delta = datetime.now(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _names(values: Iterable[object]) -> set[str]:
    return {n.strip() for n in values if isinstance(n, str) and n.strip()}


def _statuses(result: ProbeResult, known_status: Callable[[str], bool]) -> None:
    seen = sorted(result.statuses)
    unknown = [n for n in seen if not known_status(n)]
    if unknown:
        quoted = ", ".join(f'"{n}"' for n in unknown)
        result.add("status names", "different", f"unknown to the status map: {quoted}",
                   f'[status_map] {quoted.split(", ")[0]} = "<state>" (one line each)')
    elif seen:
        result.add("status names", "as assumed", f"{len(seen)} known name(s)")


def _paging(result: ProbeResult, client: LaporClient, first: dict[str, Any], count: int,
            page_size: int) -> None:
    paging = client.profile.paging
    total = first.get("total")
    has_total = isinstance(total, int) or (isinstance(total, str) and total.isdigit())
    result.add("total", "as assumed" if has_total else "missing",
               "present" if has_total else "no 'total' in the list answer")
    small = _get(client, result, "list", {"updated_from": _EPOCH, "page": 1, "page_size": 2})
    data = small.results.get("data") if small.results else None
    if not isinstance(data, list):
        result.add("page size", "missing", _why(small))
        return
    if len(data) > 2:
        result.add("page size", "different", f"asked for 2, got {len(data)}",
                   f"accounts.contract.max_page_size = {len(data)} or less; page_size likewise",
                   paging == "full_page")
    elif count > page_size:
        result.add("page size", "different", f"asked for {page_size}, got {count}",
                   "accounts.contract.max_page_size")
    else:
        result.add("page size", "as assumed", "page_size honoured")
    more = has_total and int(str(total)) > len(data)
    if "next_page_url" in small.results:  # type: ignore[operator]
        link = small.results.get("next_page_url")  # type: ignore[union-attr]
        if more and not link:
            result.add("paging", "different", "next_page_url is null though more pages exist",
                       'accounts.contract.paging = "total"', paging == "next_page_url")
        else:
            result.add("paging", "as assumed", "next_page_url")
    else:
        fix = '"total"' if has_total else '"full_page"'
        result.add("paging", "different", "no next_page_url in the list answer",
                   f"accounts.contract.paging = {fix}", paging == "next_page_url")


def _record_endpoints(result: ProbeResult, client: LaporClient, complaint_id: str) -> None:
    paths = client.profile.paths
    detail = _get(client, result, "detail", {}, complaint_id)
    data = detail.results.get("data") if detail.results else None
    if not isinstance(data, dict):
        result.add("detail endpoint", "missing", _why(detail),
                   f"accounts.contract.paths.detail (now {paths['detail']!r})", True)
    else:
        logs = data.get("status_logs")
        history = "with status history" if isinstance(logs, list) else "no status_logs"
        result.add("detail endpoint", "as assumed" if isinstance(logs, list) else "different",
                   history)
        if isinstance(logs, list):
            result.statuses.update(
                _names(x.get("status_name") for x in logs if isinstance(x, dict))
            )
    follow = _get(client, result, "followups", {"page": 1}, complaint_id)
    items = follow.results.get("data") if follow.results else None
    if isinstance(items, list):
        result.add("follow-ups endpoint", "as assumed", f"{len(items)} on the first page")
    else:
        result.add("follow-ups endpoint", "missing", _why(follow),
                   f"accounts.contract.paths.followups (now {paths['followups']!r})", True)
