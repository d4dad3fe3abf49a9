"""A quiet cycle costs one request (issue #16.1), and nothing is lost for it.

The sandbox's clock moves only when told and its HTTP ``Date`` is that clock, so "the
server's clock" here is exactly the clock its ``updated_at`` stamps come from.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lapor_sync.app import pull_account
from lapor_sync.errors import DataSafetyError
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.store import mirror
from tests.conftest import settings_for

PEMPROV = "pemprov-lampung"
CYCLE = timedelta(minutes=5)


def requests_of_one_pull(env: Any) -> tuple[int, dict[str, int]]:
    env.world.stats.reset()
    summary = pull_account(env.app, PEMPROV)
    counts = {k: env.world.stats.count(k) for k in ("list", "detail", "followups")}
    assert summary.requests == sum(counts.values())
    return summary.requests, counts


def test_once_the_cursor_second_has_settled_a_quiet_cycle_is_one_list_request(
    make_env: Any,
) -> None:
    world = SandboxWorld(seed=21)
    seed_world(world, complaints=60)
    env = make_env(world)
    newest = world.add_complaint("Jalan rusak", "Isi", created_by="18")  # at "now"
    pull_account(env.app, PEMPROV)
    lookback = env.settings.pull.lookback
    # Within the lookback the cursor's second may still change: it is read again.
    world.advance(CYCLE)
    _, counts = requests_of_one_pull(env)
    assert counts["detail"] >= 1
    # A whole lookback after that second, read once more in full: now it has settled.
    world.advance(lookback)
    requests_of_one_pull(env)
    for _ in range(5):
        world.advance(CYCLE)
        requests, counts = requests_of_one_pull(env)
        assert (requests, counts) == (1, {"list": 1, "detail": 0, "followups": 0})
    # ... and a change still arrives on the next cycle.
    world.reply_as_reporter(newest, "Mohon segera.")
    world.advance(CYCLE)
    summary = pull_account(env.app, PEMPROV)
    assert summary.changed == 1 and summary.followups_new == 1


def test_a_tie_group_is_read_again_only_while_it_can_change(make_env: Any) -> None:
    world = SandboxWorld(seed=22)
    seed_world(world, complaints=500)
    env = make_env(world, page_size=100)
    pull_account(env.app, PEMPROV)
    # A bulk disposition: 250 complaints changed within one second, the newest second.
    tied = world.visible_ids("18")[:250]
    assert len(tied) == 250
    for cid in tied:
        world.touch(cid)
    pull_account(env.app, PEMPROV)
    cursor = mirror.get_cursor(env.app.db, PEMPROV)
    assert cursor is not None and cursor == world.complaint(tied[0]).updated_at
    per_cycle = []
    for _ in range(5):
        world.advance(CYCLE)
        per_cycle.append(requests_of_one_pull(env)[0])
    # Cycles within the lookback re-read all 250 (any may still change in that second);
    # once a full re-read happened a lookback after it, one request a cycle.
    assert per_cycle[0] > 500
    assert per_cycle[-2:] == [1, 1]
    assert mirror.get_cursor(env.app.db, PEMPROV) == cursor


def test_a_change_within_the_settling_window_is_not_missed(make_env: Any) -> None:
    world = SandboxWorld(seed=23)
    seed_world(world, complaints=30)
    env = make_env(world)
    cid = world.add_complaint("Jalan rusak", "Isi", created_by="18")
    pull_account(env.app, PEMPROV)
    # The same second changes again later without a newer stamp (one-second stamps).
    world.verify(cid)
    world.advance(CYCLE)
    pull_account(env.app, PEMPROV)
    status = env.app.db.execute(
        "SELECT status_name FROM remote_complaints WHERE account = ? AND remote_id = ?",
        [PEMPROV, str(cid)],
    ).fetchone()[0]
    assert status == "Terverifikasi"


def test_a_quiet_account_that_was_emptied_is_still_reported_within_the_hour(
    make_env: Any,
) -> None:
    world = SandboxWorld(seed=24)
    seed_world(world, complaints=60)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    world.advance(timedelta(hours=2))
    pull_account(env.app, PEMPROV)  # settles the cursor, makes the hourly probe
    world.advance(CYCLE)
    assert requests_of_one_pull(env)[0] == 1  # no probe within the hour
    held = mirror.complaint_count(env.app.db, PEMPROV)
    # The same credentials now see an empty instansi, on a server whose clock is on.
    empty = SandboxWorld(seed=24)
    empty.set_time(world.now() + timedelta(hours=1, minutes=1))
    with SandboxServer(empty) as server:
        env.settings = settings_for(env.tmp_path, server.base_url)
        env.world = empty
        env.reopen()
        try:
            pull_account(env.app, PEMPROV)
        except DataSafetyError as exc:
            assert "lists 0 complaints" in str(exc)
        else:
            raise AssertionError("an emptied account went unreported for over an hour")
    assert mirror.complaint_count(env.app.db, PEMPROV) == held
