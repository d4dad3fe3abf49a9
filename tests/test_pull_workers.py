"""The pull's download threads are kept between runs (sync/workers.py): no new threads per
pass, none left once the App is closed, and a run still ends only after its downloads."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from lapor_sync.app import pull_account
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.sync.workers import PullWorkers

PEMPROV = "pemprov-lampung"


def _pull_threads(account: str) -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(f"pull-{account}")}


def test_later_pulls_reuse_the_accounts_threads_and_close_ends_them(make_env: Any) -> None:
    world = SandboxWorld(seed=5)
    seed_world(world, complaints=40)
    env = make_env(world, page_size=10)
    first = pull_account(env.app, PEMPROV)
    assert first.new > 0  # details were downloaded, on the account's threads
    started = _pull_threads(PEMPROV)
    assert 0 < len(started) <= env.settings.http.concurrency
    for _ in range(3):
        world.advance(timedelta(hours=1))
        for cid in world.visible_ids("18")[:4]:
            world.reply_as_reporter(cid, "Mohon ditindaklanjuti.")
        assert pull_account(env.app, PEMPROV).changed == 4
    # ThreadPoolExecutor numbers its threads: a thread started anew would be a new name.
    assert _pull_threads(PEMPROV) == started
    env.app.close()
    assert _pull_threads(PEMPROV) == set()
    env.app = env.reopen()  # the fixture closes it again


def test_a_run_ends_only_when_every_download_it_started_has_finished() -> None:
    workers = PullWorkers(2, "pull-test")
    started, go = threading.Event(), threading.Event()
    finished: list[str] = []

    def download(name: str) -> str:
        started.set()
        go.wait()
        finished.append(name)
        return name

    try:
        with workers.scope() as pool:
            future = pool.submit(download, "detail")
            started.wait()
            go.set()  # the download can finish now; the run leaves right away
        # Leaving the scope waited for the download, which nothing here collected.
        assert finished == ["detail"] and future.done()
    finally:
        go.set()
        workers.close()


def test_two_runs_wait_only_for_their_own_downloads() -> None:
    workers = PullWorkers(2, "pull-test")
    hold = threading.Event()
    try:
        with workers.scope() as other:
            slow = other.submit(hold.wait)
            with workers.scope() as run:
                quick = run.submit(lambda: "done")
            # The inner run ended although the other run's download is still waiting.
            assert quick.result() == "done" and not slow.done()
            hold.set()
        assert slow.done()
    finally:
        hold.set()
        workers.close()


def test_the_first_run_starts_every_thread_before_its_first_download() -> None:
    # Started one by one as downloads arrive, each new thread waited for the GIL held by
    # busy ones; started together before the first download, none of them waits.
    workers = PullWorkers(3, "pull-prestart")
    try:
        assert _pull_threads("prestart") == set()  # nothing until a run needs them
        with workers.scope() as run:
            assert len(_pull_threads("prestart")) == 3
            assert run.submit(lambda: "done").result() == "done"
        with workers.scope():
            assert len(_pull_threads("prestart")) == 3  # the same threads, none added
    finally:
        workers.close()
    assert _pull_threads("prestart") == set()
