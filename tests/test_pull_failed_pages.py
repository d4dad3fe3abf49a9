"""A pull whose page runs out of retries while the next page is downloading (issue #10):
nothing after the failed page is committed, the cursor stays before it, the failure is
shown until a later pull covers the range, and the next clean pull is complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lapor_sync.app import pull_account
from lapor_sync.cli import cli
from lapor_sync.daemon.health import HealthCheck
from lapor_sync.daemon.jobs import default_jobs
from lapor_sync.daemon.service import sync_once
from lapor_sync.daemon.status import status_lines
from lapor_sync.errors import RetryableRemoteError
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.sandbox.testing import mirror_differences
from lapor_sync.store import mirror, pull_gaps
from lapor_sync.timeutil import to_db

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
    assert health(env).status == 503 and len(failed_pull_lines(env)) == 3

    world.faults.clear()
    pull_account(env.app, PEMPROV)
    assert mirror_differences(env.app.db, world, PEMPROV, "18") == []
    assert health(env).status == 200 and failed_pull_lines(env) == []


def health(env: Any) -> Any:
    return HealthCheck(
        env.settings.store.path,
        [j for j in default_jobs(env.settings) if j.name == "pull"],
        [PEMPROV],
        window_factor=1,
        started_at=env.world.now(),
        clock=env.world_clock,
    ).report()


def failed_pull_lines(env: Any) -> list[str]:
    """The failed-pull block of ``lapor-sync status``: its line, the note and the reason."""
    lines = status_lines(env.settings, env.world.now())
    starts = [n for n, line in enumerate(lines) if "FAILED PULL" in line]
    return [line for n in starts for line in lines[n : n + 3]]


def test_a_failed_pull_shows_in_status_and_healthz_until_a_later_pull_covers_its_range(
    make_env: Any,
) -> None:
    world = SandboxWorld(seed=9)
    seed_world(world, complaints=220)
    env = make_env(world, page_size=PAGE)
    pages = pages_of(world)
    stamp = {i: world.complaint(i).updated_at for i in world.visible_ids("18")}
    assert health(env).status == 200

    # page 2 fails for good while page 3 downloads: the feed after page 1 stays unread
    world.faults.fail("detail", "503", target=pages[1][-2])
    for _ in range(2):  # the daemon tries again; the gap is extended, not repeated
        with pytest.raises(RetryableRemoteError):
            pull_account(env.app, PEMPROV)
    (gap,) = pull_gaps.open_gaps(env.app.db, PEMPROV)
    assert gap.failures == 2
    assert gap.covered_to == to_db(stamp[pages[0][-1]])
    assert gap.listed_to == to_db(stamp[pages[2][-1]])
    report = health(env)
    assert report.status == 503
    (reason,) = report.body["reasons"]
    assert reason.startswith(f"pull ({PEMPROV}): 2 pulls since ")
    assert f"updated_at from {gap.covered_to} to the end of the feed" in reason
    assert "unavailable or overloaded (detail, HTTP 503)" in reason
    assert report.body["accounts"][PEMPROV]["failed_pulls"][0]["failures"] == 2
    shown = failed_pull_lines(env)
    assert len(shown) == 3 and "2x" in shown[0] and gap.covered_to in shown[0]
    assert "reason:" in shown[2] and "HTTP 503" in shown[2]

    # a later pull that gets past the gap's end, then fails further on: that gap is
    # covered; a new one starts where this run stopped
    world.faults.clear()
    world.faults.fail("followups", "503", target=pages[4][-2])
    with pytest.raises(RetryableRemoteError):
        pull_account(env.app, PEMPROV)
    (gap,) = pull_gaps.open_gaps(env.app.db, PEMPROV)
    assert gap.failures == 1 and gap.covered_to == to_db(stamp[pages[3][-1]])
    assert "(followups, HTTP 503)" in health(env).body["reasons"][0]

    world.faults.clear()
    pull_account(env.app, PEMPROV)
    assert pull_gaps.open_gaps(env.app.db, PEMPROV) == []
    assert health(env).status == 200
    assert failed_pull_lines(env) == []
    assert mirror_differences(env.app.db, world, PEMPROV, "18") == []
    closed = env.app.db.execute("SELECT count(*) FROM pull_gaps WHERE closed_at IS NOT NULL")
    assert closed.fetchone()[0] == 2


KILLED_PULL = """
import os, signal, sys
from lapor_sync.app import open_app, pull_account
from lapor_sync.config import load_settings

lists = []

def on_request(endpoint, outcome, seconds):
    # The third listing is made once page 1 is committed (at most two pages are open):
    # the kill lands with a committed cursor and the rest of the feed unread.
    if endpoint == "list":
        lists.append(outcome)
        if len(lists) == 3:
            os.kill(os.getpid(), signal.SIGKILL)

app = open_app(load_settings(sys.argv[1], env={}), sleep=lambda s: None, on_request=on_request)
pull_account(app, sys.argv[2])
"""


def killed_pull(make_env: Any) -> tuple[Any, int, Any]:
    """A pull subprocess SIGKILLed after its first page: (env, its run id, its cursor)."""
    world = SandboxWorld(seed=10)
    seed_world(world, complaints=220)
    env = make_env(world, page_size=PAGE)
    env.app.close()
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", KILLED_PULL, str(env.tmp_path / "config.toml"), PEMPROV],
        cwd=root,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    app = env.reopen()
    running = app.db.execute("SELECT id FROM runs WHERE job = 'pull' AND outcome = 'running'")
    (killed_run,) = [r[0] for r in running.fetchall()]
    cursor = mirror.get_cursor(app.db, PEMPROV)
    assert cursor is not None  # page 1 was committed before the kill
    assert 0 < len(mirrored(env)) < len(world.visible_ids("18"))
    assert pull_gaps.open_gaps(app.db, PEMPROV) == []  # the killed process wrote none
    return env, killed_run, cursor


def test_a_pull_killed_with_sigkill_leaves_a_trace_once_its_run_is_closed(
    make_env: Any,
) -> None:
    env, killed_run, cursor = killed_pull(make_env)
    world, app = env.world, env.app
    app.close()
    sync_once(env.settings, jobs=[])  # a restart closes the interrupted run
    app = env.reopen()
    (gap,) = pull_gaps.open_gaps(app.db, PEMPROV)
    assert gap.run_id == killed_run
    assert gap.covered_to == to_db(cursor)
    assert "interrupted" in gap.reason
    report = health(env)
    assert report.status == 503
    (reason,) = report.body["reasons"]
    assert reason.startswith(f"pull ({PEMPROV}): the pull of ")
    assert f"updated_at from {gap.covered_to} to the end of the feed" in reason
    shown = failed_pull_lines(env)
    assert len(shown) == 3 and gap.covered_to in shown[0]

    pull_account(app, PEMPROV)
    assert pull_gaps.open_gaps(app.db, PEMPROV) == []
    assert health(env).status == 200
    assert failed_pull_lines(env) == []
    assert mirror_differences(app.db, world, PEMPROV, "18") == []


def test_the_pull_command_closes_a_killed_run_as_the_daemon_does(make_env: Any) -> None:
    """``lapor-sync pull`` after a kill -9: the killed run is closed and leaves its trace,
    which stays shown while this pull fails too, and a clean pull covers it."""
    env, killed_run, cursor = killed_pull(make_env)
    env.app.close()
    config = str(env.tmp_path / "config.toml")
    good = Path(config).read_text(encoding="utf-8")
    # this pull fails at once, before listing anything (refused credentials: no retry waits)
    Path(config).write_text(good.replace("sandbox-key-pemprov", "sandbox-key-x"), "utf-8")
    failed = CliRunner().invoke(cli, ["--config", config, "--log-level", "error", "pull"])
    assert failed.exit_code == 1, failed.output
    app = env.reopen()
    outcome = app.db.execute("SELECT outcome, error FROM runs WHERE id = ?", [killed_run])
    state, error = outcome.fetchone()
    assert state == "failed" and "interrupted" in error
    (gap,) = pull_gaps.open_gaps(app.db, PEMPROV)
    # one gap from the committed cursor: the killed pull's, extended by this failed one
    assert gap.failures == 2 and gap.covered_to == to_db(cursor)
    assert health(env).status == 503 and len(failed_pull_lines(env)) == 3
    app.close()

    Path(config).write_text(good, encoding="utf-8")
    done = CliRunner().invoke(cli, ["--config", config, "--log-level", "error", "pull"])
    assert done.exit_code == 0, done.output
    app = env.reopen()
    assert pull_gaps.open_gaps(app.db, PEMPROV) == []
    assert health(env).status == 200
    assert mirror_differences(app.db, env.world, PEMPROV, "18") == []
