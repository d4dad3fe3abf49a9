"""``scripts/bench.py --section notify``: the daily digests and delivery, measured.

- digests: one per OPD for 40 OPDs over a store of ``--large`` (100,000) tickets, each with
  an open or met follow-up deadline spread around today — the decision (the overdue rows,
  grouping, composing both parts and the JSON) against a bare ``SELECT`` of the same
  deadline rows;
- delivery: ``--messages`` digest-sized messages through the outbox (claim, send, mark)
  to an aiosmtpd server on loopback, as messages per second;
- memory: the peak RSS of the notify job's first pass over that store (every batch and
  digest decided and committed, as the daemon's first pass after an upgrade would), in a
  process of its own so the bench's own filling does not count; the process's RSS before
  the pass is printed beside it (interpreter, imports, the open store).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time as clock
import tomllib
from datetime import datetime, time, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

OPDS = 40


def _settings(tmp: Path, smtp_port: int):  # type: ignore[no-untyped-def]
    from lapor_sync.config.loader import settings_from_dict

    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    data["store"] = {"path": str(tmp / "bench.db")}
    data["opd"] = [
        {
            "code": f"OPD{i:02d}",
            "name": f"Dinas Nomor {i}",
            "institution_id": str(18100 + i),
            "account": "pemprov-lampung",
            "liaison": f"Penghubung Dinas {i}",
            "email": f"penghubung-{i:02d}@lampungprov.go.id",
        }
        for i in range(1, OPDS + 1)
    ]
    notify = data["notify"]
    notify["enabled"] = True
    notify["recipients"] = {}
    notify["smtp"]["port"] = smtp_port
    return settings_from_dict(data, config_path=tmp / "config.toml", env={})


def _fill(db, tickets: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    from lapor_sync.timeutil import to_db

    rng = random.Random(11)
    t_rows, d_rows = [], []
    for i in range(1, tickets + 1):
        received = now - timedelta(days=rng.uniform(1, 120))
        code = f"OPD{(i % OPDS) + 1:02d}"
        t_rows.append(
            (
                i,
                f"LPG-2026-{i:06d}",
                "whatsapp",
                "Pelapor",
                "judul",
                "isi",
                code,
                to_db(received),
                "in_progress",
            )
        )
        disposed = received + timedelta(days=1)
        due = now + timedelta(days=rng.uniform(-20, 10))
        met = to_db(due - timedelta(days=1)) if rng.random() < 0.7 else None
        d_rows.append((i, "followup", to_db(disposed), to_db(due), met, "bench", to_db(now)))
    conn = db.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO local_tickets (id, ref, channel, reporter_name, title, content, opd_code, "
        "received_at, status) VALUES (?,?,?,?,?,?,?,?,?)",
        t_rows,
    )
    conn.executemany(
        "INSERT INTO deadlines (ticket_id, stage, started_at, due_at, met_at, fingerprint, "
        "computed_at) VALUES (?,?,?,?,?,?,?)",
        d_rows,
    )
    conn.execute("DELETE FROM outbox")  # the insert trigger queued pushes: not wanted here
    conn.execute("COMMIT")


_FIRST_PASS = """
import json, resource, sys
from datetime import datetime
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from bench_notify import _settings
from lapor_sync.notify.decision import commit
from lapor_sync.notify.run import decide
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries the forking parent's peak into ru_maxrss
    # across exec, VmHWM is this process's own high-water mark.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

settings = _settings(Path(sys.argv[3]), 25)
db = open_database(settings.store.path)
before = peak_mb()
now = datetime.fromisoformat(sys.argv[4])
decisions = decide(db, settings, now, force=True)
queued = commit(db, settings, decisions, now)
print(json.dumps({"before_mb": round(before, 1), "peak_mb": round(peak_mb(), 1),
                  "queued": queued}))
"""


def _first_pass_memory(db, tmp: Path, now: datetime) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Peak RSS of one first notify pass over a copy of ``db``, in a fresh process (the
    copy: what that pass commits must not change the figures measured here after it)."""
    import sqlite3

    tmp.mkdir()
    copy = sqlite3.connect(tmp / "bench.db")
    db.conn.backup(copy)
    copy.close()
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_PASS, str(ROOT), str(HERE), str(tmp), now.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _small(row):  # type: ignore[no-untyped-def]
    """A batch-sized message: the digest cut to its first three items."""
    from dataclasses import replace

    text = "\n".join(row.body_text.splitlines()[:12]) + "\n"
    cut = row.body_html.split("</tr>")
    html = "</tr>".join(cut[:4]) + "</tr></table></body></html>\n"
    return replace(row, body_text=text, body_html=html)


def section_notify(args: argparse.Namespace) -> dict[str, object]:
    from lapor_sync.logs import configure_logging
    from lapor_sync.notify.decision import commit, rows_of
    from lapor_sync.notify.deliver import RetryPolicy, deliver_due
    from lapor_sync.notify.opd import batch_decisions, digest_decisions
    from lapor_sync.notify.run import decide
    from lapor_sync.notify.smtp import SmtpChannel
    from lapor_sync.store import notify_outbox as box
    from lapor_sync.store.db import open_database
    from lapor_sync.timeutil import WIB, to_db, wib_date
    from tests.smtp_server import SmtpServer

    configure_logging(fmt="console", level="warning")
    now = datetime(2026, 12, 2, 7, 30, tzinfo=WIB)
    with tempfile.TemporaryDirectory() as tmp, SmtpServer() as smtp:
        settings = _settings(Path(tmp), smtp.port)
        db = open_database(settings.store.path)
        _fill(db, args.large, now)
        memory = _first_pass_memory(db, Path(tmp) / "memory", now)
        cpu0, wall0 = clock.process_time(), clock.perf_counter()
        decisions = digest_decisions(db, settings, now, force=True)
        rows = [row for d in decisions for row in rows_of(settings, d)]
        digest_wall, digest_cpu = clock.perf_counter() - wall0, clock.process_time() - cpu0
        # The overdue list's horizon: the end of the last near-due working day.
        last_day = settings.calendar().add_working_days(
            wib_date(now), settings.deadlines.near_due_days
        )
        horizon = to_db(datetime.combine(last_day, time(23, 59, 59), tzinfo=WIB))
        wall0 = clock.perf_counter()
        bare_rows = db.execute(
            "SELECT d.ticket_id, d.stage, d.due_at, t.ref, t.opd_code FROM deadlines d "
            "JOIN local_tickets t ON t.id = d.ticket_id "
            "WHERE d.met_at IS NULL AND d.due_at <= ?",
            [horizon],
        ).fetchall()
        bare = clock.perf_counter() - wall0
        items = sum(row.body_text.count("\n* ") for row in rows)
        messages = getattr(args, "messages", 200)
        channel = SmtpChannel(settings.notify.smtp, clock=lambda: now)
        rates = {}
        for label, sample in (("digest", rows[0]), ("small", _small(rows[0]))):
            box.enqueue(
                db,
                [
                    box.NewNotification(
                        f"bench:{label}:{i}",
                        "opd_digest",
                        "email",
                        sample.subject,
                        sample.body_text,
                        sample.body_html,
                        sample.recipients,
                    )
                    for i in range(messages)
                ],
                now,
            )
            wall0 = clock.perf_counter()
            summary = deliver_due(
                db, {"email": channel}, policy=RetryPolicy(), clock=lambda: now, limit=messages
            )
            rates[label] = (
                summary.sent,
                round(summary.sent / (clock.perf_counter() - wall0), 1),
                len(sample.body_text) + len(sample.body_html),
            )
        # The every-minute cost: the first batches announce every open item; after that a
        # pass (batches, digests, alerts, weekly) that finds nothing new.
        commit(db, settings, decisions, now)
        later = now + timedelta(minutes=16)
        wall0 = clock.perf_counter()
        batches = batch_decisions(db, settings, later)
        announced = commit(db, settings, batches, later)
        first_batches = clock.perf_counter() - wall0
        wall0 = clock.perf_counter()
        idle = decide(db, settings, later + timedelta(minutes=16))
        idle_pass = clock.perf_counter() - wall0
        db.close()
    return {
        "first_batches_s": round(first_batches, 3),
        "first_batch_items": sum(len(d.opened) for d in batches),
        "first_batch_rows": announced,
        "idle_pass_s": round(idle_pass, 3),
        "idle_pass_messages": len(idle),
        "tickets": args.large,
        "opds": OPDS,
        "first_pass_rss_before_mb": memory["before_mb"],
        "first_pass_peak_rss_mb": memory["peak_mb"],
        "first_pass_queued": memory["queued"],
        "digests": len(rows),
        "digest_items": items,
        "bare_rows": len(bare_rows),
        "digests_s": round(digest_wall, 3),
        "bare_select_s": round(bare, 3),
        "digests_over_bare": round(digest_wall / bare, 1) if bare else None,
        "digest_cpu_ms_per_opd": round(digest_cpu / OPDS * 1000, 2),
        "messages_sent": rates["digest"][0] + rates["small"][0],
        "received": len(smtp.received),
        "digest_message_bytes": rates["digest"][2],
        "digest_messages_per_s": rates["digest"][1],
        "small_message_bytes": rates["small"][2],
        "small_messages_per_s": rates["small"][1],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=200)
    print(section_notify(parser.parse_args()))
