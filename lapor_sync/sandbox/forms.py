"""Request bodies the sandbox reads: JSON objects and multipart forms.

The Lapor Mas Wapres client posts follow-ups (and uploads) as ``multipart/form-data``
(docs/lapor-api.md, "Contract profiles"). A form carries only text, so a field's value is a
string; repeated ``name[]`` fields become a list under ``name``. File parts are returned
apart, with their file name, declared type and bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any


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
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        return Body(None, encoding="multipart")
    fields: dict[str, Any] = {}
    files: list[FilePart] = []
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.append(FilePart(name, filename, part.get_content_type(), data))
            continue
        text = data.decode("utf-8", "replace")
        if name.endswith("[]"):
            fields.setdefault(name[:-2], []).append(text)
        else:
            fields[name] = text
    return Body(fields, tuple(files), "multipart")
