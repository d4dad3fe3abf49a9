"""The portal's server time on a large store, each page against a bare SQL query.

    .venv/bin/python scripts/bench_web.py [--tickets 100000] [--runs 60] [--with-writer]
        [--keep DIR]  # build the store in DIR once, reuse it on later runs (while tuning)

Builds the synthetic store of ``scripts/bench.py`` (100,000 linked tickets with
dispositions, follow-ups and replies), scans its deadlines, adds an account per role and
then times each request's *server time*: a middleware around ``app.wsgi_app`` starts the
clock when the WSGI call begins and stops it once the response body is consumed (and
closed), so it holds the whole server-side handling of a request (session, CSRF, queries,
template, headers) and nothing of the caller. Requests are sent by Flask's test client,
which adds its own 0.15-0.3 ms per request (building the environ, the cookie jar, parsing
the answer); that wall time is printed too (``client_median_ms``, ``client_p95_ms``) so
nothing is hidden, but the figure and the ratio are the server time. The pages:

- home: the admin's home page (counts and the work list) and a liaison's;
- list, first page: ``/aduan?opd=DINKES&terlambat=1`` (a filtered list);
- list, deep page: the same filter 200 pages (10,000 rows) in, by its keyset cursor;
- search: ``/aduan?cari=<Tracking ID>`` of random linked complaints;
- the floor: the list with no row to show, and a static file (Flask's own cost);
- complaint: ``/aduan/<ref>`` of random complaints (journalled: it shows text);
- intake POST: a valid form recorded (ticket + outbox row) and redirected.

Each against a bare ``sqlite3`` query of the same rows in the same run: the list page's own
SELECT (same columns, joins, WHERE, ORDER BY); the complaint's row, follow-ups, status
history, deadlines and outbox, and the access-journal row the page commits (the reads
alone are printed beside it); the home's late and near-due counts (and, as a reference
line, the same counts by grouping every open deadline, as before ``ticket_due``); an INSERT
of one ticket. ``--with-writer`` runs a second process that writes to the same store all
the time (small transactions, like the daemon) and measures again: what one daemon and
one portal on one database cost each other.

Each page and its bare query are timed in turn, request after query, so both see the same
load of the (shared) machine; the bare query is then timed again alone, many times in a
row (its fastest: the ratio's denominator). Prints one JSON line per measurement: the
server time's median and p95 in ms; the bare query's median, alone and in turn; the page's
median over the bare median and p95 over the bare p95 (``ratio``, ``p95_ratio``,
``ratio_in_turn``, ``p95_ratio_in_turn``); and the test client's wall time beside them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

# The trigger the synthetic store drops (its rows need no outbox); put back for the intake.
TICKET_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS local_ticket_created AFTER INSERT ON local_tickets
BEGIN
    INSERT INTO local_changes (table_name, row_id, op) VALUES ('local_tickets', NEW.id, 'insert');
    INSERT INTO outbox (kind, ticket_id, subject_id)
        SELECT 'create_complaint', NEW.id, NEW.id WHERE NEW.origin = 'local';
END
"""
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm: templates compiled, pages cached by SQLite
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


class ServerTimer:
    """WSGI middleware: the server time of each request, in ms, appended to ``times``.

    The clock stops after the body has been read to the end and closed (inside the timed
    region), so a lazily produced body is counted; the caller gets the same bytes back.
    """

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        self.times: list[float] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start = time.perf_counter()
        result = self.inner(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self.times.append((time.perf_counter() - start) * 1000)
        return [body]


def timed_server(
    timer: ServerTimer, fn: Callable[[], Any], runs: int
) -> tuple[list[float], list[float]]:
    """(server times, client wall times) of ``runs`` calls of ``fn``; each call's server time
    is that of the *last* request it made (the intake GETs its form first, then POSTs)."""
    fn()  # warm
    server, client = [], []
    for _ in range(runs):
        before = len(timer.times)
        start = time.perf_counter()
        fn()
        client.append((time.perf_counter() - start) * 1000)
        assert len(timer.times) > before, "no request went through the timed application"
        server.append(timer.times[-1])
    return server, client


def paired(
    timer: ServerTimer, page: Callable[[], Any], bare: Callable[[], Any], runs: int
) -> tuple[tuple[list[float], list[float]], list[float], list[float]]:
    """(page server and client times, bare times in a row, bare times in turn).

    The page and its bare query are first timed in turn, request after query, so both
    see the same load of the shared machine; then the bare query ``runs`` times in a row
    (caches hot: the fastest it gets, and the ratio's denominator, as in earlier runs).
    In turn, the bare query finds the CPU caches holding the page's work, not its own
    data, and takes longer: printed beside it (``ratio_in_turn``), not instead of it.
    """
    page()
    bare()
    server, client, in_turn = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        page()
        client.append((time.perf_counter() - start) * 1000)
        server.append(timer.times[-1])
        start = time.perf_counter()
        bare()
        in_turn.append((time.perf_counter() - start) * 1000)
    return (server, client), timed(bare, runs), in_turn


def p95_of(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def figures(
    name: str,
    times: list[float] | tuple[list[float], list[float]],
    bare: list[float] | None,
    in_turn: list[float] | None = None,
    **extra: Any,
) -> None:
    client: list[float] | None = None
    if isinstance(times, tuple):
        times, client = times
    row: dict[str, Any] = {
        "measure": name,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95_of(times), 2),
        **extra,
    }
    if client is not None:
        row["client_median_ms"] = round(statistics.median(client), 2)
        row["client_p95_ms"] = round(p95_of(client), 2)
    for key, values in (("", bare), ("_in_turn", in_turn)):
        if values:
            median, p95 = statistics.median(values), p95_of(values)
            row[f"bare{key}_median_ms"] = round(median, 3)
            row[f"bare{key}_p95_ms"] = round(p95, 3)
            row[f"ratio{key}"] = round(statistics.median(times) / median, 1) if median else None
            row[f"p95_ratio{key}"] = round(p95_of(times) / p95, 1) if p95 else None
    print(json.dumps(row), flush=True)


def writer(path: str, stop: Any) -> None:
    """A daemon-like writer: small transactions on the same store until ``stop`` is set."""
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    i = 0
    while not stop.is_set():
        i += 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE remote_complaints SET last_pulled_at = datetime('now') WHERE rowid = ?",
            [1 + i % 1000],
        )
        conn.execute(
            "INSERT INTO events (at, kind, detail) VALUES (datetime('now'), 'pulled_changed', '{}')"
        )
        conn.execute("COMMIT")
        time.sleep(0.002)
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--with-writer", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="build the store in this folder, or reuse the one an earlier run left there",
    )
    args = parser.parse_args()

    from bench import build_large_store, write_config

    from lapor_sync.config import load_settings
    from lapor_sync.logs import configure_logging
    from lapor_sync.sla.deadlines import scan
    from lapor_sync.store import users
    from lapor_sync.store.db import open_database
    from lapor_sync.store.users import Role, add_user
    from lapor_sync.timeutil import now_wib
    from lapor_sync.web import create_app

    configure_logging(fmt="console", level="warning")
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-web-"))
    tmp.mkdir(parents=True, exist_ok=True)
    settings = load_settings(write_config(tmp), env={})
    started = time.perf_counter()
    users.set_hasher(__import__("argon2").PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    reused = args.keep is not None and Path(settings.store.path).exists()
    if not reused:
        build_large_store(settings.store.path, args.tickets)
    db = open_database(settings.store.path)
    db.conn.execute(TICKET_TRIGGER)
    scan(db, settings, settings.calendar(), now_wib())
    if not reused:
        for name, role, opds in (("admin", Role.ADMIN, ()), ("dinkes", Role.LIAISON, ("DINKES",))):
            add_user(db, name, role, opds, "kata-sandi-bench-1", now_wib())
    rows = db.execute("SELECT count(*) FROM local_tickets").fetchone()[0]
    deadlines = db.execute("SELECT count(*) FROM deadlines").fetchone()[0]
    db.close()
    print(
        json.dumps(
            {
                "store": str(settings.store.path),
                "tickets": rows,
                "deadline_rows": deadlines,
                "build_s": round(time.perf_counter() - started, 1),
                "reused": reused,
            }
        ),
        flush=True,
    )

    app = create_app(settings)
    timer = ServerTimer(app.wsgi_app)
    app.wsgi_app = timer  # type: ignore[method-assign]
    clients = {}
    for name in ("admin", "dinkes"):
        client = app.test_client()
        token = TOKEN_RE.search(client.get("/masuk").text).group(1)  # type: ignore[union-attr]
        reply = client.post(
            "/masuk", data={"csrf_token": token, "name": name, "password": "kata-sandi-bench-1"}
        )
        assert reply.status_code == 302, reply.status_code
        clients[name] = client

    bare = sqlite3.connect(str(settings.store.path), isolation_level=None)
    bare.execute("PRAGMA synchronous=FULL")  # as the portal's own connections (store/db.py)
    rng = random.Random(5)
    refs = [r[0] for r in bare.execute("SELECT ref FROM local_tickets ORDER BY random() LIMIT 500")]
    now = now_wib().isoformat(timespec="seconds")

    from lapor_sync.store.portal_queries import _FROM, _JOINS, _LIST_COLUMNS, _SEARCH_IDS

    def bare_list(after: tuple[str, int] | None) -> list[Any]:
        """The page's own SELECT (same columns, joins, WHERE, ORDER BY), without the app."""
        cond = "AND (t.received_at, t.id) < (:a, :b)" if after else ""
        return bare.execute(
            f"SELECT {_LIST_COLUMNS} {_FROM} WHERE t.opd_code = 'DINKES' AND EXISTS (SELECT 1 "
            "FROM deadlines d WHERE d.ticket_id = t.id AND +d.met_at IS NULL AND +d.due_at < "
            f":now) {cond} ORDER BY t.received_at DESC, t.id DESC LIMIT 51",
            {"now": now, "a": (after or ("", 0))[0], "b": (after or ("", 0))[1]},
        ).fetchall()

    tracking_ids = [r[0] for r in bare.execute(
        "SELECT tracking_id FROM links WHERE tracking_id IS NOT NULL ORDER BY random() LIMIT 200"
    )]  # fmt: skip

    def bare_search(tracking: str) -> list[Any]:
        """The list's SELECT for a search by Tracking ID (its three indexed lookups first)."""
        return bare.execute(
            f"SELECT {_LIST_COLUMNS} FROM ({_SEARCH_IDS}) AS found CROSS JOIN local_tickets t "
            f"ON t.id = found.id {_JOINS} WHERE 1 ORDER BY t.received_at DESC, t.id DESC LIMIT 51",
            {"now": now, "search": tracking},
        ).fetchall()

    late_dinkes = bare.execute(
        "SELECT count(*) FROM local_tickets t WHERE t.opd_code = 'DINKES' AND EXISTS "
        "(SELECT 1 FROM deadlines d WHERE d.ticket_id = t.id AND +d.met_at IS NULL AND "
        "+d.due_at < ?)", [now],
    ).fetchone()[0]  # fmt: skip
    offset = min(10_000, int(late_dinkes * 0.9))
    # The cursor 200 pages in (the 10,000th row of the filtered list), or 90% in if shorter.
    deep_row = bare.execute(
        "SELECT t.received_at, t.id FROM local_tickets t WHERE t.opd_code = 'DINKES' AND EXISTS "
        "(SELECT 1 FROM deadlines d WHERE d.ticket_id = t.id AND +d.met_at IS NULL AND "
        "+d.due_at < ?) ORDER BY t.received_at DESC, t.id DESC LIMIT 1 OFFSET ?",
        [now, offset],
    ).fetchone()
    deep = "/aduan?" + urlencode(
        {"opd": "DINKES", "terlambat": "1", "setelah": f"{deep_row[0]}|{deep_row[1]}"}
    )

    def bare_complaint_reads() -> None:
        ref = rng.choice(refs)
        (tid,) = bare.execute("SELECT id FROM local_tickets WHERE ref = ?", [ref]).fetchone()
        bare.execute("SELECT * FROM local_tickets WHERE id = ?", [tid]).fetchall()
        bare.execute(
            "SELECT * FROM remote_followups WHERE account = 'pemprov-lampung' AND complaint_id = ?",
            [str(tid)],
        ).fetchall()
        bare.execute(
            "SELECT * FROM remote_status_history WHERE account = 'pemprov-lampung' AND "
            "complaint_id = ?", [str(tid)],
        ).fetchall()  # fmt: skip
        bare.execute("SELECT * FROM deadlines WHERE ticket_id = ?", [tid]).fetchall()
        bare.execute("SELECT * FROM outbox WHERE ticket_id = ?", [tid]).fetchall()

    def bare_complaint() -> None:
        """The reads, and the one access-journal row the page must commit (it shows text)."""
        bare_complaint_reads()
        bare.execute("BEGIN IMMEDIATE")
        bare.execute(
            "INSERT INTO access_journal (at, user_name, role, ticket_ref, view, shown, address) "
            "VALUES (?, 'bench', 'admin', ?, 'bench', 'content', NULL)", [now, refs[0]],
        )  # fmt: skip
        bare.execute("COMMIT")

    with app.app_context():
        from lapor_sync.web.pages import near_due_horizon

        far = near_due_horizon(now_wib()).isoformat(timespec="seconds")

    def bare_home(opd: str | None) -> None:
        # The home's late and near-due counts as home_counts reads them: two index range
        # counts of ticket_due (an OPD's, for a liaison).
        scope, params = ("u.opd_code = ?", [opd]) if opd else ("1", [])
        bare.execute(
            f"SELECT (SELECT count(*) FROM ticket_due u WHERE u.first_open_due < ? AND {scope}), "
            "(SELECT count(*) FROM ticket_due u WHERE u.first_open_due >= ? "
            f"AND u.first_open_due <= ? AND {scope})",
            [now, *params, now, far, *params],
        ).fetchone()

    def grouped_home(opd: str | None) -> None:
        # The same two counts by grouping every open deadline per ticket (before ticket_due,
        # migration 0015): printed as a reference line.
        join, scope, params = (
            ("", "1", [])
            if opd is None
            else ("JOIN local_tickets t ON t.id = d.ticket_id ", "t.opd_code = ?", [opd])
        )
        bare.execute(
            "SELECT sum(first_due < ?), sum(first_due >= ?) FROM (SELECT min(d.due_at) AS "
            f"first_due FROM deadlines d INDEXED BY deadlines_open_ticket {join}"
            f"WHERE d.met_at IS NULL AND d.due_at <= ? AND {scope} GROUP BY d.ticket_id)",
            [now, now, far, *params],
        ).fetchone()

    intake_seq = [rows]  # a reused store (--keep) already holds the earlier runs' phones

    def intake() -> None:
        intake_seq[0] += 1
        client = clients["admin"]
        token = TOKEN_RE.search(client.get("/pengaduan-baru").text).group(1)  # type: ignore[union-attr]
        reply = client.post("/pengaduan-baru", data={
            "csrf_token": token, "channel": "sms", "title": f"Jalan rusak {intake_seq[0]}",
            "content": "Berlubang.", "opd": "BMBK", "phone": f"0812{intake_seq[0]:08d}",
        })  # fmt: skip
        assert reply.status_code == 302, reply.status_code

    def intake_get() -> None:
        clients["admin"].get("/pengaduan-baru")

    def bare_insert() -> None:
        bare.execute("BEGIN IMMEDIATE")
        bare.execute(
            "INSERT INTO local_tickets (ref, origin, channel, title, content, received_at) "
            "VALUES (NULL, 'local', 'sms', 't', 'c', ?)", [now],
        )  # fmt: skip
        bare.execute("ROLLBACK")

    def get(client: str, url: str) -> Callable[[], None]:
        def run() -> None:
            reply = clients[client].get(url)
            assert reply.status_code == 200, (url, reply.status_code)

        return run

    def complaint() -> None:
        get("admin", f"/aduan/{rng.choice(refs)}")()

    def first_bare() -> None:
        bare_list(None)

    def deep_bare() -> None:
        bare_list((deep_row[0], deep_row[1]))

    def measure(label: str) -> None:
        runs = args.runs
        figures(
            f"home admin{label}",
            *paired(timer, get("admin", "/"), lambda: bare_home(None), max(5, runs // 6)),
        )
        figures(
            f"home liaison{label}",
            *paired(timer, get("dinkes", "/"), lambda: bare_home("DINKES"), max(5, runs // 6)),
        )
        for who, opd in (("admin", None), ("liaison", "DINKES")):
            figures(
                f"home {who} counts by the old GROUP BY (reference){label}",
                timed(lambda opd=opd: grouped_home(opd), max(5, runs // 6)),
                None,
            )
        figures(
            f"list first page{label}",
            *paired(timer, get("admin", "/aduan?opd=DINKES&terlambat=1"), first_bare, runs),
        )
        figures(
            f"list first page, liaison (DINKES){label}",
            *paired(timer, get("dinkes", "/aduan?opd=DINKES&terlambat=1"), first_bare, runs),
        )
        figures(
            f"list deep page{label}",
            *paired(timer, get("admin", deep), deep_bare, runs),
            rows_before=offset,
            of=late_dinkes,
        )
        # The floor under every page: the list with no row to show (session, user, CSRF
        # token, menu, filter form, headers), and a static file (Flask alone).
        for who in ("admin", "dinkes"):
            figures(
                f"list, no row (floor), {who}{label}",
                timed_server(timer, get(who, "/aduan?cari=TIDAK-ADA"), runs),
                None,
            )
        figures(
            f"static file (Flask alone){label}",
            timed_server(timer, get("admin", "/static/portal.css"), runs),
            None,
        )
        figures(
            f"search by Tracking ID{label}",
            *paired(
                timer,
                lambda: get("admin", f"/aduan?cari={rng.choice(tracking_ids)}")(),
                lambda: bare_search(rng.choice(tracking_ids)),
                runs,
            ),
        )
        reads = statistics.median(timed(bare_complaint_reads, runs))
        figures(
            f"complaint page{label}",
            *paired(timer, complaint, bare_complaint, runs),
            bare_reads_median_ms=round(reads, 3),
            note="bare = the page's reads + its access-journal commit (synchronous=FULL)",
        )
        form = statistics.median(timed(intake_get, runs))
        server, client = timed_server(timer, intake, runs)
        figures(
            f"intake POST{label}",
            (server, [t - form for t in client]),
            timed(bare_insert, runs),
            note="server time of the POST alone; the client's wall time has the form GET's "
            "median subtracted",
        )

    measure("")
    if args.with_writer:
        stop = multiprocessing.Event()
        proc = multiprocessing.Process(target=writer, args=(str(settings.store.path), stop))
        proc.start()
        time.sleep(1)
        try:
            measure(" + writer")
        finally:
            stop.set()
            proc.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
