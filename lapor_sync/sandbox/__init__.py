"""A LAPOR! server on loopback for tests, benchmarks, demos and training.

    world = SandboxWorld(seed=1)
    seed_world(world, complaints=200)
    with SandboxServer(world) as server:
        ...  # talk to server.base_url with the credentials in masters.ACCOUNTS

Modules: ``masters`` (fixed accounts, institutions, statuses), ``records`` (the in-memory
records), ``index`` (listing order), ``world`` (state, clock, control API), ``process``
(the simulated LAPOR! process), ``seed`` and ``texts`` (generated data), ``faults`` and
``stats`` (fault injection, counters), ``render`` and ``api`` (the wire contract),
``server`` (HTTP), ``control`` (the ``/_sandbox`` interface).
"""

from lapor_sync.sandbox.faults import GARBAGE_KINDS, REQUEST_KINDS, FaultSpec
from lapor_sync.sandbox.masters import ACCOUNTS, Account
from lapor_sync.sandbox.process import SimulationSettings
from lapor_sync.sandbox.seed import seed_world
from lapor_sync.sandbox.server import SandboxServer
from lapor_sync.sandbox.world import SandboxWorld, UnknownComplaintError

__all__ = [
    "ACCOUNTS",
    "GARBAGE_KINDS",
    "REQUEST_KINDS",
    "Account",
    "FaultSpec",
    "SandboxServer",
    "SandboxWorld",
    "SimulationSettings",
    "UnknownComplaintError",
    "seed_world",
]
