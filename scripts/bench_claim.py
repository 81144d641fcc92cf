#!/usr/bin/env python3
"""Benchmark the dialer's claim (``claim_contact``) on a million contacts.

Contacts are laid out as ``switchboard import`` leaves them: the file's lines in runs
of 100k, each run inserted in phone order (so ids follow the phones, ``line_no`` the
file), one ``imports`` row per file. Built with plain SQL into a store the Store
migrated, so the layout is the same whatever the dialer's code.

Scenarios (each its own database in ``--dir``, built once and reused):
- ``mixed``: 1M new contacts, 60 % in the campaign's zone, the rest in five Russian
  zones, all inside calling hours.
- ``zones``: the list sorted by zone, its first 400k contacts in Vladivostok where it is
  22:00 (closed), the rest in Moscow (open).
- ``hidden``: 500k contacts already called (done) and a running import of 500k more
  (invisible): nothing may be called, the claim must find that out.

Each sample claims one contact and is timed twice: through the Store
(``store.submit(...).result()``, what the server waits for: the writer's batching and
its commit as well) and on the writer thread (the claim alone). Baseline, measured on
the same database: the claim as one plain query (every rule in one WHERE, the open
zones as an IN list, ORDER BY due time then file order, LIMIT 1), the first thing one
writes; SQLite then sorts every candidate. Between samples the
claimed contact is marked done, untimed, as a finished call would: locks never pile
up. The databases are built by the code being measured and reused: build them with
the old code to measure a migration (``open_and_migrate_s``). Output: lines, then one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from ari_app.campaigns.repository import save_campaign  # noqa: E402
from ari_app.campaigns.settings import CampaignSettings  # noqa: E402
from ari_app.store import Store  # noqa: E402
from ari_app.campaigns.repository import VISIBLE  # noqa: E402
from ari_app.core.campaign import zones_open  # noqa: E402
from ari_app.store.campaign_dialing import ZonesCache, claim_contact  # noqa: E402

RUN = 100_000  # the importer's sorted runs
NOON = datetime(2024, 6, 3, 9, 0, tzinfo=timezone.utc).timestamp()  # 12:00 Moscow, 19:00 Vladivostok
LATE = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc).timestamp()  # 15:00 Moscow, 22:00 Vladivostok
OTHER_ZONES = ["Europe/Kaliningrad", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Novosibirsk",
               "Asia/Vladivostok"]


def _zones_mixed(n: int, rng: random.Random) -> list[str | None]:
    return [None if rng.random() < 0.6 else rng.choice(OTHER_ZONES) for _ in range(n)]


def _zones_sorted(n: int, rng: random.Random) -> list[str | None]:
    closed = n * 2 // 5
    return ["Asia/Vladivostok"] * closed + ["Europe/Moscow"] * (n - closed)


def _insert_file(conn: sqlite3.Connection, campaign_id: int, state: str, zones: list[str | None],
                 phones: list[int], status: str) -> None:
    """One import of ``len(zones)`` lines, inserted run by run in phone order."""
    import_id = conn.execute("INSERT INTO imports (campaign_id, file, state, pid) VALUES (?, 'list.csv', ?, ?)",
                             (campaign_id, state, os.getpid())).lastrowid
    for start in range(0, len(zones), RUN):
        run = [(f"+7916{phones[i]:07d}", i + 2, zones[i]) for i in range(start, min(start + RUN, len(zones)))]
        run.sort()
        conn.executemany("INSERT INTO contacts (campaign_id, phone, line_no, timezone, status, import_id,"
                         " imported_from) VALUES (?, ?, ?, ?, ?, ?, 'list.csv')",
                         [(campaign_id, phone, line, zone, status, import_id) for phone, line, zone in run])
        conn.commit()
    if state == "done":
        conn.execute("UPDATE imports SET state = 'done', finished_at = ? WHERE id = ?", (time.time(), import_id))
        conn.commit()


def build(path: Path, scenario: str, contacts: int) -> None:
    """Create the scenario's database (migrated by the Store, filled with plain SQL)."""
    with Store(path) as store:
        campaign_id = store.submit(lambda db: save_campaign(
            db, CampaignSettings(name="bench", timezone="Europe/Moscow"))).result(30)
    rng = random.Random(6)
    phones = rng.sample(range(10_000_000), contacts)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    if scenario == "mixed":
        _insert_file(conn, campaign_id, "done", _zones_mixed(contacts, rng), phones, "new")
    elif scenario == "zones":
        _insert_file(conn, campaign_id, "done", _zones_sorted(contacts, rng), phones, "new")
    else:
        half = contacts // 2
        _insert_file(conn, campaign_id, "done", _zones_mixed(half, rng), phones[:half], "done")
        _insert_file(conn, campaign_id, "running", _zones_mixed(contacts - half, rng), phones[half:], "new")
    conn.close()


def _figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 3)}


_PLAIN = (
    "SELECT c.id FROM contacts c JOIN campaigns k ON k.id = c.campaign_id"
    " WHERE k.status = 'active' AND c.status IN ('new', 'retry')"
    " AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= :now)"
    " AND (c.locked_by IS NULL OR c.locked_until <= :now)"
    " AND (c.entered_by IS NULL OR c.entered_by != :operator)"
    " AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = c.phone)"
    f" AND {VISIBLE} AND COALESCE(c.timezone, k.timezone) IN (SELECT value FROM json_each(:zones))"
    " ORDER BY c.next_attempt_at IS NULL, c.next_attempt_at, c.import_id, c.line_no LIMIT 1"
)


def plain_claims(path: Path, now: float, samples: int) -> dict[str, float]:
    """The baseline: the plain query's time (a read: the lock it would take is not timed)."""
    conn = sqlite3.connect(path)
    try:
        zones = [row[0] for row in conn.execute("SELECT DISTINCT COALESCE(c.timezone, k.timezone) FROM contacts c"
                                                " JOIN campaigns k ON k.id = c.campaign_id")]
        hours = CampaignSettings("x").hours
        params = {"now": now, "operator": "anna", "zones": json.dumps(sorted(zones_open(zones, hours, now)))}
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            conn.execute(_PLAIN, params).fetchone()
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return _figures(times)


def measure(path: Path, now: float, claims: int, synchronous: str) -> dict[str, Any]:
    """Claims timed through the Store and on the writer; the first (zones list) apart.
    Also whether the contacts came in the order of the file's lines (the first claim
    excepted: it is timed apart, and not marked done)."""
    cache = ZonesCache(ttl=1e9)
    on_writer: list[float] = []
    through: list[float] = []
    lines: list[int] = []  # the claimed contacts' lines in the file
    started = time.perf_counter()
    with Store(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        migrated = time.perf_counter() - started

        def claim(db: Any) -> Any:
            t0 = time.perf_counter()
            claimed = claim_contact(db, "anna", now, zones_cache=cache)
            on_writer.append(time.perf_counter() - t0)
            return claimed

        t0 = time.perf_counter()
        store.submit(claim).result(60)  # loads the zone list: not a steady-state claim
        first = time.perf_counter() - t0
        on_writer.clear()
        for _ in range(claims):
            t0 = time.perf_counter()
            claimed = store.submit(claim).result(60)
            through.append(time.perf_counter() - t0)
            if claimed is not None:
                lines.append(store.submit(lambda db, cid=claimed.id: db.execute(
                    "UPDATE contacts SET status = 'done', locked_by = NULL, locked_until = NULL WHERE id = ?"
                    " RETURNING line_no", [cid]).fetchone()[0]).result(60))
    return {"open_and_migrate_s": round(migrated, 2), "first_claim_ms": round(first * 1000, 2),
            "claimed": len(lines), "lines": [lines[0], lines[-1]] if lines else [],
            "in_file_order": lines == sorted(lines),
            "through_store": _figures(through), "on_writer": _figures(on_writer)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"contacts": args.contacts, "claims": args.claims, "python": sys.version.split()[0],
                           "sqlite": sqlite3.sqlite_version, "synchronous": args.synchronous, "results": {}}
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    for scenario in args.scenarios:
        path = directory / f"claim-{scenario}-{args.contacts}.sqlite3"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, scenario, args.contacts)
            print(f"{scenario}: built in {time.perf_counter() - t0:.1f} s", flush=True)
        if args.copy:  # measure on a copy: the claims change the contacts
            work = directory / f"work-{scenario}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)
            work.write_bytes(path.read_bytes())
            path = work
        now = LATE if scenario == "zones" else NOON
        figures = measure(path, now, args.claims, args.synchronous)
        figures["plain_query"] = plain_claims(path, now, args.plain_samples)
        figures["plain_vs_claim"] = round(figures["plain_query"]["median_ms"]
                                          / max(figures["on_writer"]["median_ms"], 1e-6), 1)
        out["results"][scenario] = figures
        print(f"{scenario}: {figures}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--dir", default="/tmp/bench_claim", help="where the scenario databases are kept")
    parser.add_argument("--no-copy", dest="copy", action="store_false",
                        help="claim in the built database itself (it is changed)")
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL",
                        help="the Store's commits (FULL: the server's, an fsync per claim)")
    parser.add_argument("--plain-samples", type=int, default=20, help="runs of the plain-query baseline")
    parser.add_argument("scenarios", nargs="*", default=["mixed", "zones", "hidden"])
    args = parser.parse_args(argv)
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
