"""Contract profiles: each built-in profile against a sandbox that holds clients to it
(paths, JSON or multipart write bodies), overrides from the config file, and the errors a
wrong override gets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import responses

from lapor_sync.app import make_client
from lapor_sync.config import load_settings
from lapor_sync.domain import ListQuery, NewComplaint, NewFollowUp, Reporter
from lapor_sync.errors import ConfigError, NotFoundError, RejectedError
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.lapor.profiles import (
    DEFAULT_PROFILE,
    LMW_PROFILE,
    PROFILES,
    Profile,
    form_fields,
)
from lapor_sync.sandbox import SandboxServer, SandboxWorld
from lapor_sync.sandbox.masters import ACCOUNT_BY_ID
from lapor_sync.timeutil import WIB

PEMPROV = ACCOUNT_BY_ID["18"]
UNIT = "18003"  # an OPD of the province in the sandbox


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    return SandboxWorld(seed=5)


@pytest.fixture(autouse=True)
def any_contract(world: SandboxWorld) -> Iterator[None]:
    yield
    world.contract.configure(None)


def client_for(server: SandboxServer, profile: Profile) -> LaporClient:
    options = ClientOptions(
        base_url=server.base_url, api_key=PEMPROV.api_key, token=PEMPROV.token, profile=profile
    )
    return LaporClient(options, sleep=lambda _s: None)


def new_complaint(tag: str) -> NewComplaint:
    return NewComplaint(
        title="Lampu jalan mati",
        content="Lampu jalan di depan pasar mati sejak seminggu.",
        channel_id="8",
        category_id="5",
        classification_id="1",
        disposition_id=UNIT,
        location_id="1871",
        date_of_incident=date(2026, 11, 20),
        is_anonymous=False,
        is_secret=True,
        tags=(tag,),
        reporter=Reporter("Siti", "081298765432", None),
    )


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_each_profile_against_a_sandbox_that_speaks_only_it(
    world: SandboxWorld, server: SandboxServer, name: str
) -> None:
    profile = PROFILES[name]
    world.contract.configure(name)
    client = client_for(server, profile)
    world.stats.reset()
    created = client.create_complaint(new_complaint(f"LPG-2026-{name}"))
    world.verify(int(created.remote_id), disposition_id=UNIT)
    fid = client.add_followup(
        NewFollowUp(
            complaint_id=created.remote_id,
            from_institution_id=UNIT,
            content="Sudah diperbaiki petugas.",
        )
    )
    followups = client.followups(created.remote_id)
    detail = client.complaint_detail(created.remote_id)
    listing = client.list_complaints(
        ListQuery(updated_from=datetime(2020, 1, 1, tzinfo=WIB), page=1, page_size=100)
    )

    assert detail.summary.title == "Lampu jalan mati"
    assert [f.remote_id for f in followups] == [fid]
    assert followups[0].content == "Sudah diperbaiki petugas."
    assert created.remote_id in {s.remote_id for s in listing.page.items}
    posts = [(path, status) for method, path, status in world.stats.requests() if method == "POST"]
    assert posts == [
        (f"/api/{profile.paths['create']}", 201),
        (f"/api/{profile.paths['followup_add']}", 201),
    ]


def test_the_wrong_profile_is_refused_by_a_strict_server(
    world: SandboxWorld, server: SandboxServer
) -> None:
    world.contract.configure("lmw")
    with pytest.raises(NotFoundError):  # the default create path does not exist there
        client_for(server, DEFAULT_PROFILE).create_complaint(new_complaint("LPG-2026-x1"))
    created = client_for(server, LMW_PROFILE).create_complaint(new_complaint("LPG-2026-x2"))
    world.verify(int(created.remote_id), disposition_id=UNIT)
    with pytest.raises(RejectedError):  # a JSON follow-up where a form is expected
        client_for(server, DEFAULT_PROFILE).add_followup(
            NewFollowUp(complaint_id=created.remote_id, from_institution_id=UNIT, content="x")
        )


def test_form_fields_encode_scalars_as_text() -> None:
    fields = form_fields({"a": 1, "b": True, "c": None, "d": "teks", "e": ["1", 2]})
    assert fields == [
        ("a", (None, "1")),
        ("b", (None, "1")),
        ("d", (None, "teks")),
        ("e[]", (None, "1")),
        ("e[]", (None, "2")),
    ]


# --- configuration -----------------------------------------------------------------------


def write_config(tmp_path: Path, extra: str, *, page_size: int = 100) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[store]
path = "{tmp_path / 'store.db'}"

[[accounts]]
name = "pemprov-lampung"
institution_id = "18"
base_url = "http://127.0.0.1:8765/api"
api_key = {{ value = "{PEMPROV.api_key}" }}
token = {{ value = "{PEMPROV.token}" }}
page_size = {page_size}
{extra}
""",
        encoding="utf-8",
    )
    return path


def test_profile_and_overrides_from_the_config_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """profile = "lmw"

[accounts.contract]
paths = { detail = "/v2/complaints/{id}/detail", create = "complaints/complaint" }
create_encoding = "multipart"
max_page_size = 50
""",
        page_size=50,
    )
    settings = load_settings(path, env={})
    profile = settings.account("pemprov-lampung").wire_profile
    assert profile.path("detail", "77") == "v2/complaints/77/detail"
    assert profile.paths["create"] == "complaints/complaint"
    assert profile.paths["followups"] == LMW_PROFILE.paths["followups"]
    assert (profile.create_encoding, profile.followup_encoding) == ("multipart", "multipart")
    assert profile.max_page_size == 50
    assert make_client(settings, "pemprov-lampung")._options.profile == profile


def test_the_default_profile_is_todays_contract(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, ""), env={})
    assert settings.account("pemprov-lampung").wire_profile == DEFAULT_PROFILE


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('profile = "other"', "accounts[0].profile:"),
        ('[accounts.contract]\npaths = { lists = "x" }', "accounts[0].contract.paths: "),
        ('[accounts.contract]\npaths = { detail = "complaints/1" }', "must contain {id}"),
        ('[accounts.contract]\npaths = { list = "../admin" }', "must be a path below base_url"),
        ('[accounts.contract]\ncreate_encoding = "xml"', "accounts[0].contract.create_encoding"),
        (
            "[accounts.contract]\nmax_page_size = 20",
            "accounts[0].contract: the server's page-size limit (20) is below page_size (100)",
        ),
    ],
)
def test_wrong_contract_settings_are_clear_errors(
    tmp_path: Path, extra: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(tmp_path, extra), env={})
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_a_server_in_another_zone_is_read_and_asked_in_it() -> None:
    """``[accounts.contract] time_zone``: zone-less stamps are read in the server's zone and
    ``updated_from`` is sent in it; stamps with an offset keep theirs; storage stays WIB."""
    base = "http://127.0.0.1:9/api"
    profile = DEFAULT_PROFILE.overridden(time_zone="UTC")
    client = LaporClient(
        ClientOptions(base_url=base, api_key="k", token="t", profile=profile),
        sleep=lambda _s: None,
    )
    item = {"id": 5, "status_name": "Diproses", "created_at": "28-03-2025 07:05:09",
            "updated_at": "2025-03-28T07:10:00+08:00"}
    body = {"success": True, "message": "OK",
            "results": {"data": [item], "next_page_url": None}}
    with responses.RequestsMock() as mock:
        mock.get(f"{base}/complaints", json=body)
        page = client.list_complaints(
            ListQuery(updated_from=datetime(2025, 3, 28, 14, 0, tzinfo=WIB), page=1)
        )
        sent = mock.calls[0].request.params["updated_from"]
    assert sent == "28-03-2025 07:00:00"  # 14:00 WIB asked as 07:00 UTC
    [summary] = page.page.items
    assert summary.created_at == datetime(2025, 3, 28, 14, 5, 9, tzinfo=WIB)
    assert summary.created_at.utcoffset() == WIB.utcoffset(summary.created_at)
    assert summary.updated_at == datetime(2025, 3, 28, 6, 10, tzinfo=WIB)  # +08:00 kept


def test_time_zone_from_the_config_file_and_a_wrong_one(tmp_path: Path) -> None:
    settings = load_settings(
        write_config(tmp_path, '[accounts.contract]\ntime_zone = "UTC"'), env={}
    )
    assert settings.account("pemprov-lampung").wire_profile.time_zone == "UTC"
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(tmp_path, '[accounts.contract]\ntime_zone = "Jawa/Barat"'),
                      env={})
    assert any("unknown time zone 'Jawa/Barat'" in p and "Asia/Jakarta" in p
               for p in info.value.problems), info.value.problems
