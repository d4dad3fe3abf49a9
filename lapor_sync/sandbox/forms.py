"""Request bodies the sandbox reads: JSON objects and multipart forms.

The Lapor Mas Wapres client posts follow-ups (and uploads) as ``multipart/form-data``
(docs/lapor-api.md, "Contract profiles"). A form carries only text, so a field's value is a
string; repeated ``name[]`` fields become a list under ``name``. File parts are returned
apart, with their file name, declared type and bytes.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header


@dataclass(frozen=True)
class FilePart:
    field_name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Body:
    """A decoded body; ``fields`` is None when the body is neither JSON nor a form."""

    fields: dict[str, Any] | None
    files: tuple[FilePart, ...] = ()
    encoding: str = "json"


def decode_body(content_type: str, raw: bytes) -> Body:
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        return _multipart(content_type, raw)
    try:
        value = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Body(None)
    return Body(value if isinstance(value, dict) else None)


def _multipart(content_type: str, raw: bytes) -> Body:
    # werkzeug's parser (the portal's framework): the email package's took ~100 ms for a
    # 200 KB file, which made the sandbox, not the client, the slow side of an upload.
    _, options = parse_options_header(content_type)
    boundary = options.get("boundary")
    if not boundary:
        return Body(None, encoding="multipart")
    try:
        form, uploads = MultiPartParser().parse(
            io.BytesIO(raw), boundary.encode("latin-1"), len(raw)
        )
    except ValueError:
        return Body(None, encoding="multipart")
    fields: dict[str, Any] = {}
    for name, values in form.lists():
        if name.endswith("[]"):
            fields.setdefault(name[:-2], []).extend(values)
        else:
            fields[name] = values[-1]
    files = tuple(
        FilePart(name, upload.filename or "", upload.content_type or "", upload.read())
        for name, upload in uploads.items(multi=True)
    )
    return Body(fields, files, "multipart")
