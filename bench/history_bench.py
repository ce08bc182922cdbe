"""History (issue 16): does a property's past cost its present? Ten years of bookings against one month.

    .venv/bin/python bench/history_bench.py                  # SQLite (a temporary file) and PostgreSQL
    .venv/bin/python bench/history_bench.py --no-pg          # SQLite only
    .venv/bin/python bench/history_bench.py --pg-database NAME   # another database than bench_history

Two properties of the same shape in one database (5 categories x 6 units = 30 units, rates and
bookings at about 40 % over the month before today and the 120 nights after it, taken through
services.availability.inventory.take with the same random stays): "short" has that month of history
only; "long" also has ten years before it, written with multi-row inserts as a data load would:
about 50,000 bookings (stays of 1-3 nights, every source), their occupied room-nights (with
occupancy.category_id), their sold room-nights (the ledger) and ten years of rates. Thirty units
hold at most 109,500 room-nights in ten years, so the long history has about 100,000 of them, not the
300,000 the issue names (that would take 27 years or 82 units); per category it is 20,000
occupied rows against a few hundred in the range asked.

ANALYZE never runs: the schema comes from the migrations (not through `flask db upgrade`, which
would ANALYZE), and the run checks that PostgreSQL has no statistics for occupancy and booking
before measuring (this machine kind runs no autovacuum). Measured through Flask's test client in
process, in interleaved rounds next to GET /healthz of the same app:

- the calendar page (the host logged in), 30 units x 31 nights from today;
- GET /api/v1/availability for 60 nights from tomorrow (a channel's key per property), the answer
  cache emptied before each request, so every one is a miss.

Goal: long / short <= 1.2 for both. Prints a Markdown table; writes bench/results/history-latest.md.
The PostgreSQL database (default bench_history) is created if missing; its schema is dropped.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sqlalchemy as sa  # noqa: E402

import common  # noqa: E402  (bench/common.py: the benchmark database)
import run as bench  # noqa: E402  (bench/run.py: schema, data builders, timing helpers)
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from services.accounts import users  # noqa: E402
from services.channels import connections  # noqa: E402
from services.core import clock  # noqa: E402
from services.models import Booking, NightRate, Occupancy, RoomNight  # noqa: E402
from services.properties import registry  # noqa: E402

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"
YEARS = 10
RECENT = 31  # nights of history both properties have (rates and bookings)
AHEAD = 120  # nights of rates and bookings after today
PLAN_DAYS = 31
AVAILABILITY_NIGHTS = 60
HISTORY_STAYS = (1, 1, 2, 2, 2, 3, 3)  # nights; mostly full with a night free now and then
HISTORY_SOURCES = ("own", "booking", "booking", "tourist_office", "slevomat", "e_domizil", "api", "ical")
CHUNK = 5000


def ensure_database(name: str) -> str:
    """The URL of the benchmark database, created if missing (it is set aside for this run)."""
    return common.ensure_database(PG_BASE + name)


def history(session, prop, start: dt.date, end: dt.date, rng: random.Random) -> dict:
    """Bookings back to back (a night free now and then) on every unit over [start, end), with
    their occupancy rows, sold room-nights and the nights' rates: multi-row inserts."""
    now = clock.now()
    counts = {"bookings": 0, "room-nights": 0}
    rates = []
    for cat in prop.categories:
        rates += [{"category_id": cat.id, "night": start + dt.timedelta(days=i), "quota": len(cat.units),
                   "price": Decimal("79.00"), "min_stay": 1, "closed": False, "closed_to_arrival": False,
                   "closed_to_departure": False} for i in range((end - start).days)]
    for k in range(0, len(rates), CHUNK):
        session.execute(sa.insert(NightRate), rates[k:k + CHUNK])
    for cat in prop.categories:
        stays = []  # (unit id, arrival, nights)
        for unit in cat.units:
            day = start + dt.timedelta(days=rng.randrange(0, 3))
            while True:
                nights = rng.choice(HISTORY_STAYS)
                if day + dt.timedelta(days=nights) > end:
                    break
                stays.append((unit.id, day, nights))
                day += dt.timedelta(days=nights + (1 if rng.random() < 0.1 else 0))
        for k in range(0, len(stays), CHUNK):
            part = stays[k:k + CHUNK]
            rows = []
            for i, (_uid, arrival, nights) in enumerate(part):
                booked = dt.datetime.combine(arrival, dt.time(12), dt.timezone.utc) - dt.timedelta(days=20)
                rows.append({"property_id": prop.id, "category_id": cat.id,
                             "source": HISTORY_SOURCES[(k + i) % len(HISTORY_SOURCES)], "status": "confirmed",
                             "arrival": arrival, "departure": arrival + dt.timedelta(days=nights), "units": 1,
                             "guests": 2, "guest_name": f"{rng.choice(bench.GUESTS)} {counts['bookings'] + i + 1}",
                             "total_price": Decimal("79.00") * nights, "created_at": min(booked, now),
                             "updated_at": min(booked, now)})
            ids = list(session.scalars(sa.insert(Booking).returning(Booking.id, sort_by_parameter_order=True), rows))
            occupied, sold = [], []
            for bid, (uid, arrival, nights) in zip(ids, part):
                for n in range(nights):
                    night = arrival + dt.timedelta(days=n)
                    occupied.append({"booking_id": bid, "unit_id": uid, "category_id": cat.id, "night": night})
                    sold.append({"booking_id": bid, "night": night, "unit_id": uid, "price": Decimal("79.00"),
                                 "commissionable": Decimal("79.00"), "state": "sold", "changed_at": now})
            for j in range(0, len(occupied), CHUNK):
                session.execute(sa.insert(Occupancy), occupied[j:j + CHUNK])
                session.execute(sa.insert(RoomNight), sold[j:j + CHUNK])
            counts["bookings"] += len(part)
            counts["room-nights"] += len(occupied)
        session.commit()
    return counts


def build(app, kind: str) -> dict:
    bench.build_schema(app, kind)  # the migrations through flask_migrate.upgrade: no ANALYZE
    with app.app_context():
        s = db.session
        office = registry.ensure_office(s, "Tourist-Info History")
        host = users.create_user(s, "host@history.example", "History Host", bench.PASSWORD, "host")
        s.commit()
        today = clock.today("Europe/Berlin")
        first = today - dt.timedelta(days=RECENT)
        out = {"today": today, "props": {}}
        for label in ("short", "long"):
            # Rates cannot be set on past nights: the recent month is built as the host did, a month ago.
            clock.set_now(dt.datetime.combine(first - dt.timedelta(days=1), dt.time(10), dt.timezone.utc))
            prop = bench.make_property(s, host, office, f"history-{label}", 6, first, RECENT + AHEAD)
            recent = bench.book(s, prop, host, first, RECENT + AHEAD, random.Random(bench.SEED))  # the same stays
            clock.set_now(None)
            past = {"bookings": 0, "room-nights": 0}
            if label == "long":
                past = history(s, prop, first - dt.timedelta(days=365 * YEARS), first, random.Random(bench.SEED + 1))
            _, key = connections.switch_on(s, None, prop, "api")
            s.commit()
            out["props"][label] = {"slug": prop.slug, "key": key, "recent": recent, "past": past}
        out["totals"] = {"bookings": s.scalar(sa.select(sa.func.count(Booking.id))),
                         "occupancy rows": s.scalar(sa.select(sa.func.count(Occupancy.id)))}
        if kind == "postgresql":
            out["analyzed"] = s.execute(sa.text(
                "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
                "AND tablename IN ('occupancy', 'booking', 'room_night', 'night_rate')")).scalar()
            out["last_analyze"] = s.execute(sa.text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)")).scalar()
            assert out["analyzed"] == 0 and out["last_analyze"] == 0, "ANALYZE ran: the benchmark needs no statistics"
        s.commit()
        db.session.remove()
    return out


def measure(app, data: dict, runs: int, warmup: int) -> dict:
    from portal.blueprints.api.cache import AVAILABILITY_CACHE

    host = app.test_client()
    bench.check(host.post("/login", data={"email": "host@history.example", "password": bench.PASSWORD}), 302)
    anon = app.test_client()
    today = data["today"]
    first = today + dt.timedelta(days=1)
    last = first + dt.timedelta(days=AVAILABILITY_NIGHTS)

    def trivial(_i=0):
        bench.check(anon.get("/healthz"))

    def calendar(label):
        url = f"/p/{data['props'][label]['slug']}/calendar?start={today.isoformat()}&days={PLAN_DAYS}"

        def run(_i=0):
            body = bench.check(host.get(url)).data
            assert body.count(b'class="unit-row"') == 30, label
        return run

    def availability(label):
        url = f"/api/v1/availability?from={first.isoformat()}&to={last.isoformat()}"
        auth = {"Authorization": f"Bearer {data['props'][label]['key']}"}
        api = app.test_client()

        def run(_i=0):
            AVAILABILITY_CACHE.clear()  # every timed request is a miss
            got = bench.check(api.get(url, headers=auth)).get_json()
            cats = got.get("room_categories") or got.get("categories")
            assert len(cats) == 5 and len(cats[0]["nights"]) == AVAILABILITY_NIGHTS, label
        return run

    gc.collect()
    gc.freeze()
    names = ["GET /healthz (trivial)", "calendar page, short history", "calendar page, long history",
             "GET /api/v1/availability 60 nights, short history", "GET /api/v1/availability 60 nights, long history"]
    times = bench.measure_interleaved([trivial, calendar("short"), calendar("long"), availability("short"),
                                       availability("long")], runs, warmup)
    gc.unfreeze()
    return dict(zip(names, times))


def table(label: str, got: dict[str, list[float]], load: str) -> list[str]:
    med = {k: statistics.median(v) for k, v in got.items()}
    base = med["GET /healthz (trivial)"]
    lines = [f"### {label} (load average while measuring: {load})", "",
             "| request | median ms | p90 ms | × trivial |", "|---|---:|---:|---:|"]
    for k, v in got.items():
        lines.append(f"| {k} | {med[k]:.1f} | {bench.p90(v):.1f} | {med[k] / base:.1f} |")
    lines += ["", "| long / short history | ratio of medians | goal |", "|---|---:|---:|"]
    for what in ("calendar page", "GET /api/v1/availability 60 nights"):
        short, long_ = med[f"{what}, short history"], med[f"{what}, long history"]
        lines.append(f"| {what} | **{long_ / short:.2f}** | <= 1.2 |")
    return lines + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--pg-database", default="bench_history",
                    help="the PostgreSQL database set aside for this benchmark (created if missing; "
                         "its schema is dropped)")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="portal-history-")
    targets = [] if args.no_sqlite else [("SQLite", "sqlite", "sqlite:///" + os.path.join(tmp, "history.sqlite3"))]
    if not args.no_pg:
        targets.append(("PostgreSQL", "postgresql", ensure_database(args.pg_database)))
    load_before = bench.loadavg()
    sections, notes = [], []
    for label, kind, url in targets:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-" + "k" * 32,
                          "API_RATE_LIMIT": "100000000/minute"})
        print(f"history: building the data on {kind} ...", file=sys.stderr)
        t0 = time.perf_counter()
        data = build(app, kind)
        built = time.perf_counter() - t0
        print(f"history: built in {built:.0f} s; measuring ...", file=sys.stderr)
        load = bench.loadavg()
        got = measure(app, data, max(10, args.runs), args.warmup)
        load = f"{load} before, {bench.loadavg()} after"
        sections += table(label, got, load)
        p = data["props"]
        notes.append(f"- {label}: built in {built:.0f} s; long history {p['long']['past']['bookings']} bookings and "
                     f"{p['long']['past']['room-nights']} occupied room-nights over {YEARS} years before the recent "
                     f"month; both properties {p['short']['recent']['bookings']} recent bookings taken through "
                     f"inventory.take; in the database {data['totals']['bookings']} bookings, "
                     f"{data['totals']['occupancy rows']} occupancy rows"
                     + ("; tables with statistics: 0 (ANALYZE never ran)" if kind == "postgresql" else ""))
        with app.app_context():
            db.engine.dispose()

    lines = ["## History (bench/history_bench.py)", "",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; nproc {len(os.sched_getaffinity(0))}; "
             f"Python {sys.version.split()[0]}, SQLAlchemy {sa.__version__}; load average at start: {load_before}",
             f"- {max(10, args.runs)} timed rounds after {args.warmup} warm-ups, each round every request in turn "
             "(Flask test client in process); availability answers never from the cache",
             *notes, ""]
    report = "\n".join(lines + sections)
    print(report)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    out = os.path.join(ROOT, "bench", "results", "history-latest.md")
    with open(out, "w") as f:
        f.write(report)
    print(f"history: written to {os.path.relpath(out, ROOT)}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
