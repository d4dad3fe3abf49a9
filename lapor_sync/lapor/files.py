"""The wire of attachments: the upload request and answer, and attachment metadata.

Beside ``wire.py`` (which would pass 500 lines with this) and like it, the only place that
knows these field names (docs/lapor-api.md, "Attachments"):

- an upload is ``POST`` of a multipart form with the file in ``attachments[]``; one file
  per request here, so each answer names exactly one new id;
- the id comes back in ``results.images[]`` or ``results.docs[]`` (as a number, a numeric
  string or ``{"id": …}``); which list it is in is what the create must refer to it by;
- the create refers to uploads as ``images[]`` and ``docs[]`` [assumed];
- a complaint's detail and a follow-up list ``attachments`` as objects with a name, a type,
  a size and a URL, under names that vary (``name``/``file_name``/``filename``,
  ``type``/``mime_type``/``mime``, ``size``/``file_size``, ``url``/``file_url``/``path``);
  an unreadable entry is kept with what could be read, never a reason to refuse a record.

Invariant: no exception here quotes a value; file names and URLs are personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lapor_sync.domain import Attachment, NewUpload, Uploaded
from lapor_sync.errors import RetryableRemoteError

UPLOAD_FIELD = "attachments[]"
_ID_LISTS = (("images", "image"), ("docs", "doc"))


def upload_parts(upload: NewUpload) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The multipart parts of one upload (``requests``' ``files=`` shape; bytes, so the
    request can be sent again after a 401)."""
    return [(UPLOAD_FIELD, (upload.file_name, upload.data, upload.media_type))]


def create_references(image_ids: tuple[str, ...], doc_ids: tuple[str, ...]) -> dict[str, Any]:
    """The create body's references to uploads; nothing when there are none."""
    body: dict[str, Any] = {}
    if image_ids:
        body["images"] = list(image_ids)
    if doc_ids:
        body["docs"] = list(doc_ids)
    return body


def _one_id(item: Any) -> str | None:
    if isinstance(item, Mapping):
        item = item.get("id")
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str) and item.strip():
        return item.strip()
    return None


def uploaded_from_wire(envelope: Mapping[str, Any]) -> Uploaded:
    """The id of the one file just uploaded, and which list SP4N-LAPOR! put it in."""
    results = envelope.get("results")
    found: list[Uploaded] = []
    if isinstance(results, Mapping):
        for name, kind in _ID_LISTS:
            items = results.get(name)
            if isinstance(items, list):
                found.extend(
                    Uploaded(upload_id, kind)
                    for upload_id in (_one_id(item) for item in items)
                    if upload_id is not None
                )
    if len(found) != 1:
        raise RetryableRemoteError(
            f"upload answered with {len(found)} ids in results.images/docs, not one",
            endpoint="upload",
        )
    return found[0]


def _text(raw: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = raw.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _size(raw: Mapping[str, Any]) -> int | None:
    for name in ("size", "file_size"):
        value = raw.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return None


def attachments_from_wire(value: Any) -> tuple[Attachment, ...]:
    """A record's ``attachments`` list, as far as it can be read (a bare string is a URL)."""
    if not isinstance(value, list):
        return ()
    out: list[Attachment] = []
    for raw in value:
        if isinstance(raw, str):
            out.append(Attachment(None, None, None, raw.strip() or None))
        elif isinstance(raw, Mapping):
            out.append(
                Attachment(
                    name=_text(raw, "name", "file_name", "filename", "original_name"),
                    media_type=_text(raw, "type", "mime_type", "mime", "content_type"),
                    size=_size(raw),
                    url=_text(raw, "url", "file_url", "path", "link"),
                )
            )
        else:
            out.append(Attachment(None, None, None, None))
    return tuple(out)
