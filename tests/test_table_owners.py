"""One owner per table (issue #12.1), checked over the package's source.

(a) nothing outside ``lapor_sync/store/`` holds SQL that writes. ``lapor_sync/sandbox/``
    is excepted: it is the fake LAPOR! server, whose state is its own, not the register;
(b) each table of the schema is written by exactly one module under ``store/`` (the
    migration modules excepted: they create the schema and its triggers).

The scanner (``scripts/store_tables.py``) reads SQL string literals and sqlite-utils table
writes; a failure names the offender as ``file:line``. The table in ``docs/store.md`` is
checked against the same facts.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from store_tables import (
    BEGIN,
    DOCS_FILE,
    END,
    MIGRATION_MODULES,
    WRITERS_ALLOWED_OUTSIDE_STORE,
    Write,
    owners,
    package_writes,
    render_table,
    scan_source,
    schema_tables,
)


def test_no_writing_sql_outside_store() -> None:
    offenders = [
        write.where()
        for write in package_writes()
        if not write.path.startswith("lapor_sync/store/")
        and not write.path.startswith(WRITERS_ALLOWED_OUTSIDE_STORE)
    ]
    assert not offenders, (
        "writing SQL outside lapor_sync/store/ — move it behind the owning store module's "
        "named functions:\n  " + "\n  ".join(offenders)
    )


def test_every_table_has_exactly_one_writer_module() -> None:
    writes = [
        w
        for w in package_writes()
        if w.path.startswith("lapor_sync/store/") and w.path not in MIGRATION_MODULES
    ]
    by_table: dict[str, list[Write]] = defaultdict(list)
    for write in writes:
        by_table[write.table].append(write)
    shared = {
        table: found for table, found in by_table.items() if len({w.path for w in found}) > 1
    }
    message = []
    for table, found in sorted(shared.items()):
        message.append(f"{table} is written by {len({w.path for w in found})} modules:")
        message.extend(f"    {w.where()}" for w in found)
    assert not shared, "one owner per table under lapor_sync/store/:\n" + "\n".join(message)


def test_writes_name_tables_of_the_schema() -> None:
    # A write to a name the schema does not have is a typo or a dynamic name the
    # two rules above could not attribute.
    tables = schema_tables()
    unknown = [
        w.where()
        for w in package_writes()
        if not w.path.startswith(WRITERS_ALLOWED_OUTSIDE_STORE)
        and w.path not in MIGRATION_MODULES
        and w.table not in tables
    ]
    assert not unknown, "writes to tables the schema does not have:\n  " + "\n  ".join(unknown)


def test_scanner_sees_a_write_in_sync() -> None:
    # The rule (a) must catch the shapes a write takes; a scanner that sees nothing
    # would let every check above pass.
    source = '''
"""Docstring mentioning INSERT INTO links is prose, not SQL."""
def f(db, ticket_id, x):
    db.execute("INSERT INTO links (ticket_id) VALUES (?)", [ticket_id])
    db.execute(
        "UPDATE local_tickets "
        "SET status = ? WHERE id = ?", [x, ticket_id])
    db.execute(f"delete from outbox WHERE id = {x}")
    db.execute("INSERT INTO sync_state (key, value) VALUES (?, ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    db["conflicts"].insert({"ticket_id": ticket_id})
    db.execute("PRAGMA journal_mode=DELETE")
'''
    found = {(w.line, w.table, w.how) for w in scan_source(source, "lapor_sync/sync/x.py")}
    assert found == {
        (4, "links", "INSERT"),
        (6, "local_tickets", "UPDATE"),
        (8, "outbox", "DELETE"),
        (9, "sync_state", "INSERT"),
        (11, "conflicts", ".insert()"),
    }


def test_every_table_of_the_schema_has_its_owner() -> None:
    owned = owners()
    orphans = sorted(schema_tables() - set(owned))
    assert not orphans, f"tables no module under lapor_sync/store/ writes: {orphans}"


def test_docs_store_table_matches_the_code() -> None:
    text = DOCS_FILE.read_text(encoding="utf-8")
    shown = text.partition(BEGIN)[2].partition(END)[0].strip()
    rows = {line.split("|")[1].strip(" `") for line in shown.splitlines()[2:]}
    assert rows == schema_tables(), "docs/store.md must list every table of the schema"
    assert shown == render_table().strip(), (
        "docs/store.md is out of date with the code: run "
        "`.venv/bin/python scripts/store_tables.py --write` and commit the result"
    )
