"""Contract profiles: which paths an account's server uses and how write bodies are encoded.

A profile chooses among shapes the adapter knows; it never names a wire field (those live
in ``wire.py``). Two are built in (docs/lapor-api.md, "Contract profiles"):

- ``default``: the contract as docs/lapor-api.md writes it (JSON bodies everywhere);
- ``lmw``: what the public Lapor Mas Wapres back-office client does — create at
  ``/complaints/complaint-lmw``, follow-ups as a multipart form, attachments uploaded
  first to ``/complaints/complaint/file``, reply templates at ``/masters/templates``.

Any path, either encoding, the page-size limit and the time zone of zone-less timestamps
(default Asia/Jakarta) can be overridden per account
(``[accounts.contract]``). Invariants: every endpoint has a path; a path is relative (no
scheme, no leading ``/``, no ``..``) with at most the placeholder ``{id}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from zoneinfo import ZoneInfo

Encoding = Literal["json", "multipart"]
ENCODINGS: tuple[Encoding, ...] = ("json", "multipart")
Paging = Literal["next_page_url", "total", "full_page"]
"""How a listing says more pages follow: a ``next_page_url`` (the contract), ``total``
against page and page size, or simply a full page (the next one may then be empty)."""

ENDPOINTS: tuple[str, ...] = (
    "list",
    "detail",
    "followups",
    "institutions",
    "categories",
    "templates",
    "create",
    "followup_add",
    "forward",
    "upload",
)
"""Endpoint names, as counted in stats and metrics; ``{id}`` is in detail, followups, forward."""

_WITH_ID = frozenset({"detail", "followups", "forward"})
_PATH = re.compile(r"[A-Za-z0-9_.~-]+(?:/(?:[A-Za-z0-9_.~-]+|\{id\}))*")


def check_path(endpoint: str, path: str) -> str:
    """A validated relative path for ``endpoint``; raises ValueError saying what to fix."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; known: {', '.join(ENDPOINTS)}")
    path = path.strip().lstrip("/")
    if not _PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValueError(
            "must be a path below base_url such as complaints/{id}/complaint "
            "(letters, digits, - _ . ~ and the placeholder {id})"
        )
    has_id = "{id}" in path
    if has_id != (endpoint in _WITH_ID):
        need = "must contain {id}" if endpoint in _WITH_ID else "must not contain {id}"
        raise ValueError(f"{need} for the {endpoint} endpoint")
    return path


@dataclass(frozen=True)
class Profile:
    """Paths, write encodings and the listing page-size limit of one server."""

    name: str
    paths: Mapping[str, str] = field(repr=False)
    create_encoding: Encoding = "json"
    followup_encoding: Encoding = "json"
    max_page_size: int = 100
    paging: Paging = "next_page_url"
    time_zone: str = "Asia/Jakarta"
    """IANA zone of the server's timestamps that carry no offset (and of ``updated_from``)."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def path(self, endpoint: str, record_id: str | None = None) -> str:
        template = self.paths[endpoint]
        return template.replace("{id}", record_id) if record_id is not None else template

    def overridden(
        self,
        *,
        paths: Mapping[str, str] | None = None,
        create_encoding: Encoding | None = None,
        followup_encoding: Encoding | None = None,
        max_page_size: int | None = None,
        paging: Paging | None = None,
        time_zone: str | None = None,
    ) -> Profile:
        """This profile with some choices replaced (validated by the config section)."""
        return replace(
            self,
            paths={**self.paths, **(paths or {})},
            create_encoding=create_encoding or self.create_encoding,
            followup_encoding=followup_encoding or self.followup_encoding,
            max_page_size=max_page_size or self.max_page_size,
            paging=paging or self.paging,
            time_zone=time_zone or self.time_zone,
        )


DEFAULT_PROFILE = Profile(
    name="default",
    paths={
        "list": "complaints",
        "detail": "complaints/{id}/complaint",
        "followups": "complaints/{id}/followups",
        "institutions": "masters/institutions/external",
        "categories": "masters/categories",
        "templates": "masters/templates",
        "create": "complaints/complaint",
        "followup_add": "complaints/followup/add",
        "forward": "complaints/process/{id}/reject",
        "upload": "complaints/complaint/file",
    },
)

LMW_PROFILE = DEFAULT_PROFILE.overridden(
    paths={"create": "complaints/complaint-lmw"}, followup_encoding="multipart"
)
LMW_PROFILE = replace(LMW_PROFILE, name="lmw")

PROFILES: Mapping[str, Profile] = {p.name: p for p in (DEFAULT_PROFILE, LMW_PROFILE)}
ProfileName = Literal["default", "lmw"]


def has_next(paging: Paging, results: Mapping[str, Any], page: int, count: int) -> bool:
    """Whether a page after ``page`` (which held ``count`` items) exists, by ``paging``."""
    if count == 0:
        return False
    if paging == "next_page_url":
        return bool(results.get("next_page_url"))
    size = _number(results.get("page_size"))
    if paging == "total":
        total = _number(results.get("total"))
        if total is not None and size is not None:
            return page * size < total
    # "full_page", or "total" without the figures: a full page may have a successor
    return size is None or count >= size


def _number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def form_fields(body: Mapping[str, Any]) -> list[tuple[str, tuple[None, str]]]:
    """A JSON-ready body as multipart form fields (``requests``' ``files=`` shape).

    Scalars become text: booleans ``1``/``0`` (what a form carries), ``None`` is left out
    (an empty field would be read as an empty string), lists repeat the field as ``name[]``.
    """
    out: list[tuple[str, tuple[None, str]]] = []
    for name, value in body.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out.extend((f"{name}[]", (None, _text(item))) for item in value)
        else:
            out.append((name, (None, _text(value))))
    return out


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
