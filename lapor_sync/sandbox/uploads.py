"""The sandbox's upload endpoint: files kept in memory, referred to by a create.

``POST /complaints/complaint/file`` takes a multipart form whose file parts are named
``attachments[]`` (or ``attachments``); each accepted file gets an id, answered in
``results.images`` (JPEG, PNG) or ``results.docs`` (PDF, DOC, DOCX). The sandbox's own
rules, as a server would have them: at most ``max_bytes`` per file (10 MB unless a test
changes it) and the extension must be one of the allowed ones (else 422, nothing kept).

A create lists the ids in ``images``/``docs``; the world attaches the uploads it knows to
the complaint (shown in its detail as ``attachments``, with a URL below the API prefix,
``/lampiran/{id}/{name}``, that the server answers with the bytes and no credentials, as
file storage would). Strict mode: an id that was never
uploaded, was uploaded by another account, or is already used by a complaint is a 422.
Uploads nobody refers to stay, as on a real server: that is what a lost answer leaves.

Thread safety: everything here runs under ``world.lock``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lapor_sync.sandbox.forms import FilePart

MAX_BYTES = 10 * 1024 * 1024
_KINDS = {
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".png": ("image", "image/png"),
    ".pdf": ("doc", "application/pdf"),
    ".doc": ("doc", "application/msword"),
    ".docx": (
        "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
}
FIELD_NAMES = ("attachments[]", "attachments")


@dataclass(slots=True)
class Upload:
    id: int
    account: str
    name: str
    kind: str
    media_type: str
    data: bytes = field(repr=False)
    complaint_id: int | None = None


@dataclass
class UploadStore:
    """Every upload the sandbox accepted, by id. Read and change under ``world.lock``."""

    max_bytes: int = MAX_BYTES
    by_id: dict[int, Upload] = field(default_factory=dict)
    _next_id: int = 5001

    def accept(self, account: str, parts: tuple[FilePart, ...]) -> dict[str, Any]:
        """Keep the files: ``{"images": [...], "docs": [...]}``, or ``{"errors": {...}}``
        when any file is refused (then none is kept)."""
        files = [p for p in parts if p.field_name in FIELD_NAMES]
        if not files:
            return {"errors": {"attachments": ["Kolom attachments wajib diisi."]}}
        errors: list[str] = []
        for part in files:
            extension = "." + part.filename.rsplit(".", 1)[-1].lower() if "." in part.filename \
                else ""
            if extension not in _KINDS:
                errors.append("Berkas harus berupa jpg, jpeg, png, pdf, doc atau docx.")
            elif len(part.data) > self.max_bytes:
                errors.append(f"Ukuran berkas maksimal {self.max_bytes // 1024} KB.")
        if errors:
            return {"errors": {"attachments": errors}}
        answer: dict[str, Any] = {"images": [], "docs": []}
        for part in files:
            kind, media_type = _KINDS["." + part.filename.rsplit(".", 1)[-1].lower()]
            upload = Upload(self._next_id, account, part.filename, kind, media_type, part.data)
            self._next_id += 1
            self.by_id[upload.id] = upload
            answer["images" if kind == "image" else "docs"].append(upload.id)
        return answer

    def unknown(self, account: str, images: list[int], docs: list[int]) -> list[str]:
        """Why the referenced ids cannot be used (strict mode); empty when they all can."""
        problems: list[str] = []
        for kind, ids in (("image", images), ("doc", docs)):
            for upload_id in ids:
                upload = self.by_id.get(upload_id)
                if upload is None or upload.account != account or upload.kind != kind:
                    problems.append(f"Lampiran {upload_id} tidak dikenal.")
                elif upload.complaint_id is not None:
                    problems.append(f"Lampiran {upload_id} sudah dipakai.")
        return problems

    def attach(
        self, complaint_id: int, account: str, ids: list[int], base_url: str
    ) -> list[dict[str, Any]]:
        """Give the known, unused uploads to the complaint; their detail entries, with
        URLs the sandbox serves (``{base_url}/lampiran/{id}/{name}``, no credentials)."""
        out: list[dict[str, Any]] = []
        for upload_id in ids:
            upload = self.by_id.get(upload_id)
            if upload is None or upload.account != account or upload.complaint_id is not None:
                continue  # lenient reading: an unknown id is ignored
            upload.complaint_id = complaint_id
            out.append(entry(upload, base_url))
        return out

    def referenced(self) -> list[Upload]:
        return [u for u in self.by_id.values() if u.complaint_id is not None]


def entry(upload: Upload, base_url: str) -> dict[str, Any]:
    """How a complaint's detail lists an attachment."""
    return {
        "id": upload.id,
        "name": upload.name,
        "mime_type": upload.media_type,
        "size": len(upload.data),
        "url": f"{base_url.rstrip('/')}/lampiran/{upload.id}/{quote(upload.name)}",
    }
