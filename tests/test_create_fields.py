"""Create fields (#10.2): every field the contract lists for a create, per ticket or by default."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lapor_sync.app import push_outbox, push_policy
from lapor_sync.cli.common import CliState
from lapor_sync.cli.local_cmds import local_group
from lapor_sync.config import load_settings
from lapor_sync.local.create_fields import CreateDefaults, resolve
from lapor_sync.local.csv_import import CsvImportError, read_csv
from lapor_sync.local.intake import IntakeRules, TicketInput, validate_ticket
from lapor_sync.local.register import add_ticket
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.store.db import open_database
from lapor_sync.sync.push import Pusher
from lapor_sync.timeutil import WIB

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=WIB)
ALL = frozenset(
    {"classification_id", "category_id", "disposition_id", "location_id", "date_of_incident"}
)
NO_DEFAULTS = CreateDefaults(
    institution_by_account={"pemprov-lampung": "18"},
    default_account="pemprov-lampung",
    required=ALL,
)
TICKET = {"channel": "sms", "title": "Judul", "content": "Isi", "received_at": "01/11/2026"}


def test_resolution_order_ticket_then_opd_then_default() -> None:
    defaults = CreateDefaults(
        classification_id="1",
        category_id="10",
        location_id="18",
        incident_date_from_received=True,
        category_by_opd={"BMBK": "3"},
        institution_by_opd={"BMBK": "18003"},
        institution_by_account={"pemprov-lampung": "18"},
    )
    by_opd = resolve(defaults, opd_code="BMBK", account="pemprov-lampung", received_at=NOW)
    assert (by_opd.category_id, by_opd.disposition_id) == ("3", "18003")
    assert (by_opd.classification_id, by_opd.location_id) == ("1", "18")
    assert by_opd.date_of_incident == date(2026, 11, 1)
    bare = resolve(defaults, opd_code=None, account="pemprov-lampung", received_at=NOW)
    assert (bare.category_id, bare.disposition_id) == ("10", "18")
    own = resolve(
        defaults,
        opd_code="BMBK",
        account="pemprov-lampung",
        received_at=NOW,
        classification_id="2",
        category_id="31",
        disposition_id="18002",
        location_id="1871",
        date_of_incident=date(2026, 10, 30),
    )
    assert own.missing(ALL) == []
    assert (own.classification_id, own.category_id, own.disposition_id) == ("2", "31", "18002")
    assert (own.location_id, own.date_of_incident) == ("1871", date(2026, 10, 30))


def test_a_ticket_without_a_required_field_is_refused_at_intake_naming_it() -> None:
    rules = IntakeRules.of({"BMBK"}, lambda: NOW, NO_DEFAULTS)
    problems = validate_ticket(TICKET, rules)
    assert isinstance(problems, list)
    assert [p.field for p in problems] == [
        "classification_id",
        "category_id",
        "location_id",
        "date_of_incident",
    ]  # the target instansi always has one: the account's own
    assert all(p.kind == "required" for p in problems)
    assert "[local.create]" in problems[0].message
    ticket = validate_ticket(
        {
            **TICKET,
            "classification_id": "1",
            "category_id": "31",
            "location_id": "1871",
            "date_of_incident": "31/10/2026",
        },
        rules,
    )
    assert isinstance(ticket, TicketInput) and ticket.classification_id == "1"


def test_csv_rows_without_required_fields_are_refused_and_columns_are_read() -> None:
    text = (
        "saluran;diterima;judul;isi;klasifikasi;kategori;lokasi;tanggal_kejadian;disposisi\n"
        "sms;01/10/2026;Satu;Isi;1;31;1871;30/09/2026;18003\n"
        "sms;01/10/2026;Dua;Isi;;;;;\n"
    )
    with pytest.raises(CsvImportError) as info:
        read_csv(text, known_opd_codes=set(), clock=lambda: NOW, create=NO_DEFAULTS)
    found = [str(p) for p in info.value.problems]
    assert [p.split(":")[:2] for p in found] == [
        ["line 3", " klasifikasi"],
        ["line 3", " kategori"],
        ["line 3", " lokasi"],
        ["line 3", " tanggal_kejadian"],
    ]
    (row,) = read_csv(text.rsplit("sms;", 1)[0], known_opd_codes=set(), clock=lambda: NOW)
    assert (row.ticket.classification_id, row.ticket.disposition_id) == ("1", "18003")


def _local(config: Path, *args: str) -> Result:
    return CliRunner().invoke(local_group, list(args), obj=CliState(config, "console", "warning"))


def test_local_add_names_the_flag_of_a_missing_required_field(tmp_path: Path) -> None:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp_path / "s.db"}"')
    text = text.replace('classification_id = "1"      #', "#")  # no default classification
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    args = ["add", "--channel", "sms", "--title", "Judul", "--content", "Isi"]
    refused = _local(config, *args)
    assert refused.exit_code == 2
    assert "--classification: wajib untuk SP4N-LAPOR!" in refused.output
    assert _local(config, *args, "--classification", "2").exit_code == 0
    store = open_database(load_settings(config, env={}).store.path)
    assert store.execute("SELECT classification_id FROM local_tickets").fetchall() == [("2",)]


def test_push_sends_every_create_field(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=11))
    received = env.world.now()
    ticket = TicketInput(
        channel="telepon",
        title="Jalan berlubang",
        content="Di depan pasar",
        received_at=received,
        opd_code="BMBK",
    )
    ref = add_ticket(env.app.db, ticket, "LPG-{year}-{seq:06d}", "pemprov-lampung").ref
    own = TicketInput(
        channel="web",
        title="Puskesmas tutup",
        content="Sejak pagi",
        received_at=received,
        is_anonymous=True,
        is_secret=True,
        classification_id="2",
        category_id="2",
        location_id="1871",
        disposition_id="18002",
        date_of_incident=date(2026, 1, 2),
    )
    own_ref = add_ticket(env.app.db, own, "LPG-{year}-{seq:06d}", "pemprov-lampung").ref
    assert push_outbox(env.app).sent == 2
    (cid,) = env.world.find_by_tag(ref)
    made = env.world.complaint(cid)
    assert (made.classification_id, made.category_id, made.location_id) == (1, 3, 18)
    assert made.requested_disposition_id == "18003"  # BMBK's instansi
    assert made.date_of_incident == received.date()
    assert made.channel == 8
    (own_id,) = env.world.find_by_tag(own_ref)
    mine = env.world.complaint(own_id)
    assert (mine.classification_id, mine.category_id, mine.location_id) == (2, 2, 1871)
    assert mine.requested_disposition_id == "18002"
    assert mine.date_of_incident == date(2026, 1, 2)
    assert (mine.is_anonymous, mine.is_secret) == (True, True)


def test_push_refuses_a_row_other_software_wrote_without_a_required_field(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=12))
    env.app.db.execute(
        "INSERT INTO local_tickets (ref, channel, title, content, received_at) "
        "VALUES ('LPG-2026-000900', 'sms', 'Judul', 'Isi', '2026-11-01T09:00:00+07:00')"
    )
    env.app.db.conn.commit()
    policy = push_policy(env.settings)
    policy = replace(policy, create=replace(policy.create, classification_id=None))
    summary = Pusher(env.app.db, env.app.clients, policy, clock=env.world_clock).run()
    assert summary.dead == 1 and env.world.stats.count("create") == 0
    reason = env.app.db.execute("SELECT last_error FROM outbox").fetchone()[0]
    assert "requires classification_id" in reason and "local edit LPG-2026-000900" in reason


def test_strict_sandbox_requires_every_create_field_and_forward_flags() -> None:
    from lapor_sync.sandbox import SandboxServer
    from lapor_sync.sandbox.testing import SandboxClient

    world = SandboxWorld(seed=13)
    world.contract.strict = False  # first the lenient reading (strict is the default)
    complete = {
        "title": "Judul",
        "content": "Isi",
        "channel": 7,
        "classification_id": 1,
        "category_id": 31,
        "disposition_id": 18003,
        "location_id": 1871,
        "date_of_incident": "01-11-2026",
    }
    with SandboxServer(world) as server, SandboxClient(server.base_url, "18") as client:
        partial = {k: v for k, v in complete.items() if k != "classification_id"}
        assert client.post("/complaints/complaint", partial).status_code == 201  # lenient
        world.contract.strict = True
        refused = client.post("/complaints/complaint", partial)
        assert refused.status_code == 422
        assert set(refused.json()["errors"]) == {"classification_id"}
        unknown = client.post("/complaints/complaint", {**complete, "location_id": 99})
        assert set(unknown.json()["errors"]) == {"location_id"}
        assert client.post("/complaints/complaint", complete).status_code == 201
        forward = client.post("/complaints/process/1/reject", {"reason": 1871})
        assert forward.status_code == 422
        assert set(forward.json()["errors"]) == {"is_request", "not_authority"}
