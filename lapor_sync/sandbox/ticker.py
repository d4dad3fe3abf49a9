"""``ClockTicker``: runs a world's simulated clock alongside real time (demos, training).

Every ``tick`` real seconds it advances the world by the real time elapsed times
``speed``, so the simulated process (arrivals, verification, replies, closure) unfolds
while people watch. Tests never need it: they move the clock themselves.

Invariant: the simulated clock moves only forward and by ``speed`` × monotonic real time;
wall-clock jumps on the host do not affect it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from lapor_sync.sandbox.world import SandboxWorld


class ClockTicker:
    def __init__(self, world: SandboxWorld, speed: float, tick: float = 0.25) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.world, self.speed, self.tick = world, speed, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ClockTicker:
        if self._thread is None and self.speed > 0:
            self._thread = threading.Thread(target=self._run, name="lapor-sandbox-clock",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.tick):
            current = time.monotonic()
            self.world.advance(timedelta(seconds=(current - last) * self.speed))
            last = current
