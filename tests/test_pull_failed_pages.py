"""A pull whose page runs out of retries while the next page is downloading (issue #10):
nothing after the failed page is committed, the cursor stays before it, the failure is
shown until a later pull covers the range, and the next clean pull is complete."""

from __future__ import annotations

from typing import Any

import pytest

from lapor_sync.app import pull_account
from lapor_sync.errors import RetryableRemoteError
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.sandbox.testing import mirror_differences
from lapor_sync.store import mirror

PEMPROV = "pemprov-lampung"
PAGE = 20


def mirrored(env: Any) -> set[str]:
    rows = env.app.db.execute(
        "SELECT remote_id FROM remote_complaints WHERE account = ?", [PEMPROV]
    ).fetchall()
    return {r[0] for r in rows}


def pages_of(world: SandboxWorld) -> list[list[int]]:
    """The pages of a keyset walk over the account's complaints: each page starts at the
    last timestamp of the page before, inclusive (so it repeats at least that item)."""
    order = world.visible_ids("18")
    stamps = {i: world.complaint(i).updated_at for i in order}
    pages = [order[:PAGE]]
    while len(pages[-1]) == PAGE:
        page = [i for i in order if stamps[i] >= stamps[pages[-1][-1]]][:PAGE]
        assert page != pages[-1], "a tie group fills a page; pick another seed"
        pages.append(page)
    return pages


@pytest.mark.parametrize(
    ("kind", "page_no"),
    [("detail", 0), ("followups", 0), ("detail", 2), ("followups", 3), ("detail", -1)],
)
def test_a_page_failing_for_good_while_the_next_downloads_commits_nothing_after_it(
    make_env: Any, kind: str, page_no: int
) -> None:
    world = SandboxWorld(seed=9)
    seed_world(world, complaints=220)
    env = make_env(world, page_size=PAGE)
    pages = pages_of(world)
    assert len(pages) >= 5
    failing = pages[page_no]
    victim = failing[-2]  # not repeated by the next page
    world.faults.fail(kind, "503", target=victim)

    with pytest.raises(RetryableRemoteError):
        pull_account(env.app, PEMPROV)

    attempts = env.settings.http.retry_attempts
    asked = [r for r in world.stats.log(kind) if f"/complaints/{victim}/" in r.path]
    assert len(asked) == attempts and {r.status for r in asked} == {503}  # retries ran out
    if failing is not pages[-1]:  # the next page was listed while this one downloaded
        assert world.stats.count("list") > pages.index(failing) + 1
    before = {str(i) for p in pages[: page_no % len(pages)] for i in p}
    held = mirrored(env)
    # every page before the failed one is committed, nothing of it or after it
    assert held == before
    cursor = mirror.get_cursor(env.app.db, PEMPROV)
    if before:  # the cursor is not past anything that is not held
        missing = [
            world.complaint(i).updated_at for i in world.visible_ids("18") if str(i) not in held
        ]
        assert cursor is not None and cursor <= min(missing)
    else:
        assert cursor is None

    world.faults.clear()
    pull_account(env.app, PEMPROV)
    assert mirror_differences(env.app.db, world, PEMPROV, "18") == []
