"""The attachments wire (lapor/files.py): upload answers in their shapes, and the
attachment metadata of complaints and follow-ups however the server names it."""

from __future__ import annotations

from typing import Any

import pytest

from lapor_sync.domain import Attachment, Uploaded
from lapor_sync.errors import RetryableRemoteError
from lapor_sync.lapor.files import attachments_from_wire, create_references, uploaded_from_wire
from lapor_sync.sandbox import SandboxWorld


@pytest.fixture
def world() -> SandboxWorld:
    return SandboxWorld(seed=9)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ({"images": [5001], "docs": []}, Uploaded("5001", "image")),
        ({"docs": ["77"]}, Uploaded("77", "doc")),
        ({"images": [], "docs": [{"id": 9}]}, Uploaded("9", "doc")),
    ],
)
def test_the_one_uploaded_id_and_its_list(results: dict[str, object], expected: Uploaded) -> None:
    assert uploaded_from_wire({"success": True, "results": results}) == expected


@pytest.mark.parametrize(
    "results", [{}, {"images": [], "docs": []}, {"images": [1, 2]}, {"images": [True]}, None]
)
def test_an_answer_without_exactly_one_id_is_unusable(results: object) -> None:
    with pytest.raises(RetryableRemoteError, match="not one"):
        uploaded_from_wire({"success": True, "results": results})


def test_create_refers_to_uploads_only_when_there_are_some() -> None:
    assert create_references((), ()) == {}
    assert create_references(("1",), ("2", "3")) == {"images": ["1"], "docs": ["2", "3"]}


def test_attachment_metadata_under_its_several_names() -> None:
    got = attachments_from_wire(
        [
            {"name": "foto.jpg", "mime_type": "image/jpeg", "size": 1234, "url": "https://x/1"},
            {"file_name": "surat.pdf", "type": "application/pdf", "file_size": "99",
             "file_url": "https://x/2"},
            "https://x/3",
            {"x": 1},
            7,
        ]
    )
    assert got == (
        Attachment("foto.jpg", "image/jpeg", 1234, "https://x/1"),
        Attachment("surat.pdf", "application/pdf", 99, "https://x/2"),
        Attachment(None, None, None, "https://x/3"),
        Attachment(None, None, None, None),
        Attachment(None, None, None, None),
    )
    assert attachments_from_wire(None) == () and attachments_from_wire("x") == ()
    assert "foto.jpg" not in repr(got[0])  # a file name may identify a person


def test_the_upload_path_is_the_profiles_setting(server: Any, world: Any) -> None:
    """``[accounts.contract] paths.upload`` moves the upload like any other endpoint."""
    from lapor_sync.domain import NewUpload
    from lapor_sync.errors import NotFoundError
    from lapor_sync.lapor.client import ClientOptions, LaporClient
    from lapor_sync.lapor.profiles import DEFAULT_PROFILE
    from lapor_sync.sandbox.masters import ACCOUNT_BY_ID

    account = ACCOUNT_BY_ID["18"]
    upload = NewUpload("foto.png", "image/png", "image", b"\x89PNG\r\n\x1a\n" + b"x" * 10)

    def client(paths: dict[str, str]) -> LaporClient:
        options = ClientOptions(
            base_url=server.base_url, api_key=account.api_key, token=account.token,
            profile=DEFAULT_PROFILE.overridden(paths=paths),
        )  # fmt: skip
        return LaporClient(options, sleep=lambda _s: None)

    assert client({}).upload_attachment(upload).kind == "image"
    with pytest.raises(NotFoundError):
        client({"upload": "berkas/unggah"}).upload_attachment(upload)
    assert any(r.path.endswith("/berkas/unggah") for r in world.stats.log())
