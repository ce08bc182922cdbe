"""Growth (issue 16): does the work grow linearly, or better, with what is asked?

    .venv/bin/python bench/growth_bench.py                       # SQLite only
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_bench .venv/bin/python bench/growth_bench.py
    ... bench/growth_bench.py --pg-database test_p4              # another database set aside for benchmarks

Two series, each through Flask's test client, in process, next to a trivial request of the same
app in the same rounds (GET /login for the page, as bench/run.py; GET /healthz for the API, as
bench/api_bench.py); the ratio is the column to compare between machines and loads:

- the calendar page (host logged in), 31 nights, for properties of 10, 30 and 100 units
  (5 categories x 2, 6, 20 units), rates and bookings (about 40 % occupancy, every source)
  over the window and the months around it;
- GET /api/v1/availability (a channel's key) for 31, 92 and 366 nights of one property with one
  category of 30 units and a year of rates and bookings; the answer cache is emptied before
  each timed request, so every one is a miss (the work the range asks for).

SQLite always (a temporary file); PostgreSQL as well when DATABASE_URL names the database set
aside for benchmarks (its schema is dropped and rebuilt from the migrations; ANALYZE runs after
the bulk load, as it does after `flask db upgrade`). Prints Markdown tables and writes them to
bench/results/growth-latest.md.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sqlalchemy as sa  # noqa: E402

import run as bench  # noqa: E402  (bench/run.py: schema, data builders, timing helpers)
from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from services.accounts import users  # noqa: E402
from services.availability import rates  # noqa: E402
from services.channels import connections  # noqa: E402
from services.core import clock  # noqa: E402
from services.models import Booking, Occupancy, Property  # noqa: E402
from services.properties import registry  # noqa: E402

UNITS = (10, 30, 100)  # calendar: 5 categories x 2, 6, 20 units
NIGHTS = (31, 92, 366)  # availability ranges
PLAN_DAYS = 31
CALENDAR_HISTORY = 120  # nights of rates and bookings around the calendar's window
YEAR = 400  # nights of rates and bookings of the availability property (a year and a bit)


def pg_url(name: str) -> str | None:
    """The PostgreSQL URL to use, or None: DATABASE_URL must name the benchmark database."""
    if not os.environ.get("DATABASE_URL"):
        return None
    allowed = bench.PG_URL.rsplit("/", 1)[0] + "/" + name
    return bench.database_url(tempfile.gettempdir(), allowed)[0]


def one_category_property(session, host, office, units: int, first: dt.date, days: int) -> Property:
    """A property with one category of `units` units, a year of rates (weekend prices, minimum
    stay at weekends, no arrival on Sundays) and a mandatory cost."""
    now = clock.now()
    prop = Property(slug="growth-api", name="Hotel Growth", owner_id=host.id, office_id=office.id,
                    street="Hauptstraße 1", postcode="83471", city="Berchtesgaden", country="DE",
                    email=host.email, contract_active_since=now, created_at=now)
    session.add(prop)
    session.commit()
    name, guests, price = bench.CATEGORIES[1]
    cat = registry.add_category(session, host, prop, name, guests, ", ".join(f"Zimmer {i + 1:03d}" for i in range(units)))
    last = first + dt.timedelta(days=days - 1)
    rates.bulk_edit(session, host, prop, [cat], first, last, set(range(7)),
                    rates.RateChange(price=price, quota=units, min_stay=1))
    rates.bulk_edit(session, host, prop, [cat], first, last, {4, 5}, rates.RateChange(price=price + 15, min_stay=2))
    rates.bulk_edit(session, host, prop, [cat], first, last, {6}, rates.RateChange(closed_to_arrival=True))
    registry.add_extra_cost(session, host, prop, "Endreinigung", "25.00", "stay", None)
    session.refresh(prop)
    return prop


def build(app, kind: str, rng: random.Random) -> dict:
    """The data of both series; returns what the requests need."""
    bench.build_schema(app, kind)
    with app.app_context():
        s = db.session
        office = registry.ensure_office(s, "Tourist-Info Growth")
        host = users.create_user(s, "host@growth.example", "Growth Host", bench.PASSWORD, "host")
        s.commit()
        today = clock.today("Europe/Berlin")
        slugs = {}
        for units in UNITS:
            prop = bench.make_property(s, host, office, f"growth-{units}", units // 5, today, CALENDAR_HISTORY)
            bench.book(s, prop, host, today, CALENDAR_HISTORY, rng)
            slugs[units] = prop.slug
        api_prop = one_category_property(s, host, office, 30, today, YEAR)
        bench.book(s, api_prop, host, today, YEAR, rng)
        _, key = connections.switch_on(s, None, api_prop, "api")
        counts = {"bookings": s.scalar(sa.select(sa.func.count(Booking.id))),
                  "occupied unit-nights": s.scalar(sa.select(sa.func.count(Occupancy.id)))}
        s.commit()
        if kind == "postgresql":
            s.execute(sa.text("ANALYZE"))
            s.commit()
        db.session.remove()
    return {"today": today, "slugs": slugs, "key": key, "counts": counts}


def measure(app, data: dict, runs: int, warmup: int) -> dict:
    """Medians and p90 (ms) of each request, the trivial one measured in the same rounds."""
    from portal.blueprints.api.cache import AVAILABILITY_CACHE

    host = app.test_client()
    bench.check(host.post("/login", data={"email": "host@growth.example", "password": bench.PASSWORD}), 302)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {data['key']}"}
    start = data["today"] + dt.timedelta(days=20)
    first = data["today"] + dt.timedelta(days=1)

    anon = app.test_client()

    def login_page(_i=0):  # the calendar's trivial page, as in bench/run.py
        bench.check(anon.get("/login"))

    def healthz(_i=0):  # the API's trivial request, as in bench/api_bench.py
        bench.check(api.get("/healthz"))

    def calendar(units):
        url = f"/p/{data['slugs'][units]}/calendar?start={start.isoformat()}&days={PLAN_DAYS}"

        def run(_i=0):
            body = bench.check(host.get(url)).data
            assert body.count(b'class="unit-row"') == units, units
        return run

    def availability(nights):
        url = f"/api/v1/availability?from={first.isoformat()}&to={(first + dt.timedelta(days=nights)).isoformat()}"

        def run(_i=0):
            AVAILABILITY_CACHE.clear()  # every timed request is a miss (emptying a dict: nothing next to a request)
            got = bench.check(api.get(url, headers=auth)).get_json()
            assert len(got["room_categories"][0]["nights"]) == nights, nights
        return run

    gc.collect()
    gc.freeze()  # as the app's start-up does: the data built above is never scanned again
    cal = bench.measure_interleaved([login_page] + [calendar(u) for u in UNITS], runs, warmup)
    avail = bench.measure_interleaved([healthz] + [availability(n) for n in NIGHTS], runs, warmup)
    gc.unfreeze()
    return {"calendar": cal, "availability": avail}


def table(title: str, what: str, sizes: tuple, per: str, results: dict[str, list[list[float]]], trivial: str) -> list[str]:
    """One Markdown table: a row per size, per database the median, its ratio to the trivial
    request, the cost per unit of work, and how time grew against the work since the smallest."""
    kinds = list(results)
    head = f"| {what} | " + " | ".join(
        f"{k} median ms (p90) | × trivial | ms per {per} | time growth / work growth" for k in kinds) + " |"
    lines = [f"### {title}", "", head, "|---|" + "---:|---:|---:|---|" * len(kinds)]
    for i, size in enumerate(sizes):
        cells = []
        for k in kinds:
            base_times, *series = results[k]
            base = statistics.median(base_times)
            med = statistics.median(series[i])
            smallest = statistics.median(series[0])
            growth = "—" if i == 0 else f"×{med / smallest:.2f} / ×{size / sizes[0]:.1f}"
            cells.append(f"{med:.1f} ({bench.p90(series[i]):.1f}) | {med / base:.1f} | {med / size:.3f} | {growth}")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    marg = []
    for k in kinds:
        _, *series = results[k]
        meds = [statistics.median(s) for s in series]
        steps = ", ".join(f"{sizes[j]}→{sizes[j + 1]}: {(meds[j + 1] - meds[j]) / (sizes[j + 1] - sizes[j]):.3f} ms"
                          for j in range(len(sizes) - 1))
        marg.append(f"{k}: each added {per} cost {steps}")
        base = statistics.median(results[k][0])
        marg[-1] += f" (trivial request, {trivial}: {base:.2f} ms median)"
    return lines + [""] + [f"- {m}" for m in marg] + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--pg-database", default="test_bench",
                    help="the PostgreSQL database set aside for benchmarks (its schema is dropped); DATABASE_URL must name it")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="portal-growth-")
    targets = [] if args.no_sqlite else [("SQLite", "sqlite", "sqlite:///" + os.path.join(tmp, "growth.sqlite3"))]
    url = pg_url(args.pg_database)
    if url:
        targets.append(("PostgreSQL", "postgresql", url))
    calendar_results, availability_results, notes = {}, {}, []
    load_before = bench.loadavg()
    for label, kind, db_url in targets:
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-" + "k" * 32,
                          "API_RATE_LIMIT": "100000000/minute"})
        print(f"growth: building the data on {kind} ...", file=sys.stderr)
        t0 = time.perf_counter()
        data = build(app, kind, random.Random(bench.SEED))
        print(f"growth: built in {time.perf_counter() - t0:.1f} s; measuring ...", file=sys.stderr)
        load = bench.loadavg()
        got = measure(app, data, max(10, args.runs), args.warmup)
        calendar_results[label] = got["calendar"]
        availability_results[label] = got["availability"]
        notes.append(f"- {label}: {data['counts']['bookings']} bookings, {data['counts']['occupied unit-nights']} "
                     f"occupied unit-nights in the database; load average before / after measuring: {load} / {bench.loadavg()}")
        with app.app_context():
            db.engine.dispose()

    lines = ["## Growth (bench/growth_bench.py)", ""]
    lines += [f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; nproc "
              f"{len(os.sched_getaffinity(0))}; Python {sys.version.split()[0]}, SQLAlchemy {sa.__version__}; "
              f"load average at start: {load_before}",
              f"- {max(10, args.runs)} timed rounds after {args.warmup} warm-ups; each round requests the trivial page "
              "(the calendar's: GET /login as in bench/run.py; the API's: GET /healthz as in bench/api_bench.py) and every "
              "size in turn, so load drift hits all alike; Flask test client in process",
              *notes, ""]
    lines += table(f"Calendar page, {PLAN_DAYS} nights (5 categories, bookings at about 40 %)", "units", UNITS, "unit",
                   calendar_results, "GET /login")
    lines += table("GET /api/v1/availability, one category of 30 units, a year of rates and bookings, cache misses",
                   "nights", NIGHTS, "night", availability_results, "GET /healthz")
    lines += ["Time growth below work growth (e.g. ×4 for ×10 the units) means the fixed cost of a request "
              "(session, key, template, queries) still dominates; above it would mean a cost per unit or "
              "night that rises with size (a query or loop growing faster than the work)."]
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    out = os.path.join(ROOT, "bench", "results", "growth-latest.md")
    with open(out, "w") as f:
        f.write(report)
    print(f"growth: written to {os.path.relpath(out, ROOT)}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
