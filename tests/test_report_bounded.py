"""The report's work lists are read in bounded memory and still say exactly what the whole
list says: the first complaints of each OPD, in the same order, with every stage, and the
counts of all of them (issue #16.3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lapor_sync.report.figures import opd_key
from lapor_sync.report.html.pages import WorkItem, work_items
from lapor_sync.report.overdue import late_complaints, overdue_rows
from lapor_sync.store import users as users_mod
from lapor_sync.store.db import open_database
from tests.portal_support import PortalStore, build_portal_store, cheap_hasher


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStore]:
    previous = users_mod.set_hasher(cheap_hasher())
    built = build_portal_store(tmp_path_factory.mktemp("report-bounded"), complaints=60)
    yield built
    built.server.stop()
    users_mod.set_hasher(previous)


def whole_lists(store: PortalStore, opd: str | None) -> dict[str, list[WorkItem]]:
    """The work lists as the report built them before: every complaint held at once."""
    db = open_database(Path(store.settings.store.path))
    try:
        rows = overdue_rows(db, store.settings, store.now(), opd=opd)
        grouped: dict[str, list[WorkItem]] = {}
        for item in late_complaints(db, rows):
            grouped.setdefault(opd_key(item.opd_code), []).append(
                WorkItem(item.worst, item.title, item.secret, item.stages)
            )
        return grouped
    finally:
        db.close()


@pytest.mark.parametrize("opd", [None, "DINKES"])
@pytest.mark.parametrize("keep", [1, 4, 300])
def test_bounded_work_lists_equal_the_first_of_the_whole_ones(
    store: PortalStore, keep: int, opd: str | None
) -> None:
    expected = whole_lists(store, opd)
    # Enough to cut: more complaints than the smaller ``keep``s, some with several stages.
    assert sum(len(v) for v in expected.values()) >= 3, "the store has late complaints"
    if opd is None:
        assert any(len(i.stages) > 1 for v in expected.values() for i in v), "several stages"
    db = open_database(Path(store.settings.store.path))
    try:
        settings = store.settings
        found = work_items(db, settings, store.now(), settings.calendar(), opd=opd, keep=keep)
    finally:
        db.close()
    assert set(found) == set(expected)
    for key, items in expected.items():
        assert list(found[key].shown) == items[:keep], key
        assert found[key].total == len(items)
        assert found[key].late == sum(1 for i in items if i.row.overdue)
