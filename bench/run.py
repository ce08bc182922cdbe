"""Benchmarks for the performance requirements (not timed tests; results go in the README).

    .venv/bin/python bench/run.py             # SQLite in a temporary directory
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_bench .venv/bin/python bench/run.py
    make bench

Targets (issue): the calendar page for 30 units x 31 days renders in under 100 ms median;
a bulk edit of 365 nights x 5 categories completes in under 300 ms median, also with three channel
connections switched on (issue 11: each run then merges its nights into their availability events).

The database is built from the migrations (never from the models), a realistic property is
created through the services (5 categories x 6 units, a year of rates, mandatory costs,
bookings from several sources at about 40 % occupancy, taken with services.availability.inventory.take),
and everything is measured through the Flask test client logged in as the host, next to a
cheap page of the same app in the same run as the baseline. Prints a Markdown table and
writes it to bench/results/latest-<db>.md (gitignored).

Options: --runs N (timed runs per metric, default 50), --warmup N (default 5),
--profile (cProfile of the calendar page and of the bulk edit, top functions printed),
--pg-database NAME (another database set aside for benchmarks than test_bench).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import os
import platform
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from services.accounts import users  # noqa: E402
from services.availability import calendar, inventory, rates  # noqa: E402
from services.channels import connections  # noqa: E402
from services.core import clock  # noqa: E402
from services.properties import registry  # noqa: E402
from services.core.errors import Conflict  # noqa: E402
from services.models import Booking, NightRate, Occupancy, Property, User  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_bench"
PASSWORD = "bench-password"
CALENDAR_TARGET_MS = 100.0
BULK_TARGET_MS = 300.0
OCCUPANCY = 0.40
CONNECTIONS = ("booking", "e-domizil", "tourist-office")  # switched on, with webhook addresses, for the last bulk edits
SEED = 20261121

# (name, max guests, weekday price): the room categories of the benchmarked property.
CATEGORIES = [
    ("Einzelzimmer", 1, Decimal("59.00")),
    ("Doppelzimmer", 2, Decimal("89.00")),
    ("Doppelzimmer Balkon", 2, Decimal("99.00")),
    ("Familienzimmer", 4, Decimal("129.00")),
    ("Ferienwohnung", 4, Decimal("149.00")),
]
# Where bookings come from, with weights; "hold" is a channel booking still pending.
SOURCES = [("own", 35), ("booking", 20), ("tourist_office", 12), ("slevomat", 8), ("e_domizil", 8),
           ("api", 5), ("ical", 7), ("hold", 5)]
STAYS = [1, 2, 2, 3, 3, 3, 4, 5, 7, 7, 10]  # nights, drawn uniformly
GUESTS = ["Schneider", "Wagner", "Becker", "Hoffmann", "Klein", "Novák", "Dvořák", "Müller", "Schmidt",
          "Fischer", "Weber", "Meyer", "Schulz", "Koch", "Richter", "Svoboda", "Bauer", "Wolf"]


# -- database and data ---------------------------------------------------------------------

def database_url(tmp: str, pg_url: str = PG_URL) -> tuple[str, str]:
    """(URL, kind). PostgreSQL only on the dedicated bench database (`--pg-database`): its schema is dropped."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix):]
        if url != pg_url:
            sys.exit(f"bench: refusing DATABASE_URL={url!r}; the benchmark drops the schema and runs only on {pg_url}")
        return pg_url, "postgresql"
    return "sqlite:///" + os.path.join(tmp, "bench.sqlite3"), "sqlite"


def build_schema(app, kind: str) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if kind == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        db.session.remove()


def make_property(session, host: User, office, slug: str, units_per_category: int, first: dt.date, days: int) -> Property:
    now = clock.now()
    prop = Property(slug=slug, name=f"Hotel {slug}", owner_id=host.id, office_id=office.id, street="Hauptstraße 1",
                    postcode="83471", city="Berchtesgaden", country="DE", email=host.email,
                    contract_active_since=now, created_at=now)
    session.add(prop)
    session.commit()
    cats = []
    for pos, (name, guests, _price) in enumerate(CATEGORIES):
        unit_names = ", ".join(f"Zimmer {pos + 1}{i + 1:02d}" for i in range(units_per_category))
        cats.append(registry.add_category(session, host, prop, name, guests, unit_names))
    # A year of rates: weekend surcharge and minimum stay, a closed week, some arrival restrictions.
    # Written as the host would: one bulk edit per pattern.
    last = first + dt.timedelta(days=days - 1)
    every_day = set(range(7))
    for cat, (_name, _guests, price) in zip(cats, CATEGORIES):
        rates.bulk_edit(session, host, prop, [cat], first, last, every_day,
                        rates.RateChange(price=price, quota=units_per_category, min_stay=1))
        rates.bulk_edit(session, host, prop, [cat], first, last, {4, 5},
                        rates.RateChange(price=price + Decimal("15.00"), min_stay=2))
    rates.bulk_edit(session, host, prop, cats, first, last, {6}, rates.RateChange(closed_to_arrival=True))
    closed = first + dt.timedelta(days=days - 40)
    rates.bulk_edit(session, host, prop, cats[-1:], closed, closed + dt.timedelta(days=6), every_day,
                    rates.RateChange(closed=True))
    registry.add_extra_cost(session, host, prop, "Endreinigung", "25.00", "stay", None)
    registry.add_extra_cost(session, host, prop, "Bettwäsche", "8.50", "stay", None)
    registry.add_extra_cost(session, host, prop, "Haustier", "5.00", "night", cats[-1].id)
    session.refresh(prop)
    return prop


def book(session, prop: Property, host: User, first: dt.date, days: int, rng: random.Random) -> dict:
    """Fill every unit to about OCCUPANCY with stays of 1-10 nights from mixed sources.

    Each stay is taken by services.availability.inventory.take on a chosen unit (as the plan's click-to-book
    does). A channel booking that the offer refuses (no arrival on Sundays, minimum stay at
    weekends, a closed week) is entered as an own booking instead, as a host would on the phone.
    """
    now = clock.now()
    sources, weights = zip(*SOURCES)
    mean_gap = statistics.mean(STAYS) * (1 - OCCUPANCY) / OCCUPANCY
    stats = {"bookings": 0, "nights": 0, "refused": 0}
    end = first + dt.timedelta(days=days)
    for cat in prop.categories:
        for unit in cat.units:
            day = first + dt.timedelta(days=rng.randrange(0, 4))
            while True:
                nights = rng.choice(STAYS)
                if day + dt.timedelta(days=nights) > end:
                    break
                source = rng.choices(sources, weights)[0]
                for attempt in (source, "own"):
                    b = Booking(
                        property_id=prop.id, category_id=cat.id, source="api" if attempt == "hold" else attempt,
                        status="pending" if attempt == "hold" else "confirmed", arrival=day,
                        departure=day + dt.timedelta(days=nights), units=1, guests=1,
                        guest_name=f"{rng.choice(GUESTS)} {stats['bookings'] + 1}",
                        created_by_id=host.id if attempt == "own" else None, created_at=now, updated_at=now,
                        hold_expires_at=now + dt.timedelta(days=30) if attempt == "hold" else None,
                    )
                    try:
                        with session.begin_nested():
                            session.add(b)
                            inventory.take(session, b, [unit.id])
                    except Conflict:
                        stats["refused"] += 1
                        continue
                    stats["bookings"] += 1
                    stats["nights"] += nights
                    break
                # An exponential gap after each stay keeps the average near OCCUPANCY.
                gap = max(1, round(rng.expovariate(1 / mean_gap)))
                day += dt.timedelta(days=nights + gap)
            session.commit()
    return stats


def month_occupancy(session, prop: Property, start: dt.date, end: dt.date) -> tuple[int, float, dict]:
    unit_ids = [u.id for c in prop.categories for u in c.units]
    rows = session.execute(
        sa.select(Booking.source, Booking.status, sa.func.count(Occupancy.id), sa.func.count(sa.distinct(Booking.id)))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(Occupancy.unit_id.in_(unit_ids), Occupancy.night >= start, Occupancy.night < end)
        .group_by(Booking.source, Booking.status)
    ).all()
    occupied = sum(r[2] for r in rows)
    by_source = {("hold" if st == "pending" else src): n for src, st, _, n in rows}
    bookings = sum(r[3] for r in rows)
    return bookings, occupied / (len(unit_ids) * (end - start).days), by_source


# -- measuring -----------------------------------------------------------------------------

def measure(fn, runs: int, warmup: int) -> list[float]:
    """Times of `runs` calls after `warmup` untimed ones; fn gets the call's index (0, 1, ...)."""
    for i in range(warmup):
        fn(i)
    gc.collect()
    times = []
    for i in range(warmup, warmup + runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def measure_interleaved(fns: list, runs: int, warmup: int) -> list[list[float]]:
    """Like measure, for several functions called in turn each round: load drift hits all alike."""
    for i in range(warmup):
        for fn in fns:
            fn(i)
    gc.collect()
    times: list[list[float]] = [[] for _ in fns]
    for i in range(warmup, warmup + runs):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn(i)
            out.append((time.perf_counter() - t0) * 1000)
    return times


def assert_price(app, cat_ids: list[int], night: dt.date, price: Decimal) -> None:
    """The last run of a bulk-edit series did write: every category has its price on the last night."""
    with app.app_context():
        found = set(db.session.scalars(
            sa.select(NightRate.price).where(NightRate.category_id.in_(cat_ids), NightRate.night == night)))
        db.session.remove()
    if found != {price}:
        raise SystemExit(f"bench: bulk edit did not write: prices {found} on {night}, expected {price}")


def assert_events(app, prop_id: int, n: int, cat_ids: list[int], first: dt.date, last: dt.date) -> None:
    """The bulk edits with connections did push: one open availability_changed event per
    connection, naming every category over the edited range."""
    from services.models import ChannelConnection, OutboxEvent

    with app.app_context():
        rows = list(db.session.scalars(
            sa.select(OutboxEvent).join(ChannelConnection, ChannelConnection.id == OutboxEvent.connection_id)
            .where(ChannelConnection.property_id == prop_id, OutboxEvent.event == "availability_changed")))
        db.session.remove()
    want = {str(c): [[first.isoformat(), last.isoformat()]] for c in cat_ids}
    if len(rows) != n or any(r.pending_nights != want for r in rows):
        raise SystemExit(f"bench: expected {n} merged availability_changed events, found "
                         f"{[(r.connection_id, r.pending_nights) for r in rows]}")


@contextlib.contextmanager
def full_collections():
    """Count CPython's full (generation 2) garbage collections and their pause, in ms."""
    pauses: list[float] = []
    started = [0.0]

    def callback(phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(callback)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(callback)


def p90(values: list[float]) -> float:
    s = sorted(values)
    return s[max(0, -(-len(s) * 9 // 10) - 1)]  # nearest rank


def check(resp, status: int = 200):
    if resp.status_code != status:
        raise SystemExit(f"bench: unexpected {resp.status_code} from {resp.request.path}: {resp.get_data(as_text=True)[:500]}")
    return resp


@contextlib.contextmanager
def counting(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def profile(label: str, fn, runs: int = 20) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for i in range(runs):
        fn(i)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    return f"\n### profile: {label} ({runs} runs)\n" + out.getvalue()


def machine_info(app, kind: str, load_before: str) -> list[str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
            if names:
                cpu = names[0]
    with app.app_context():
        if kind == "postgresql":
            version = db.session.scalar(sa.text("SHOW server_version"))
            dbinfo = f"PostgreSQL {version} (psycopg), 127.0.0.1"
        else:
            version = db.session.scalar(sa.text("select sqlite_version()"))
            dbinfo = f"SQLite {version}, file in a temp dir, WAL"
        db.session.remove()
    return [
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: nproc {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}, {cpu}, {platform.system()} {platform.release()}",
        f"- python: {platform.python_implementation()} {platform.python_version()}, SQLAlchemy {sa.__version__}",
        f"- database: {dbinfo}",
        f"- load average (1/5/15 min) before / after the measurements: {load_before} / {loadavg()} "
        "(other processes on the machine slow everything down alike; compare the × baseline column)",
    ]


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--pg-database", default="test_bench",
                    help="the PostgreSQL database set aside for benchmarks (its schema is dropped); "
                         "DATABASE_URL must name it")
    args = ap.parse_args()
    runs = max(30, args.runs)
    rng = random.Random(SEED)

    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    url, kind = database_url(tmp, PG_URL.rsplit("/", 1)[0] + "/" + args.pg_database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-" + "k" * 32})
    print(f"bench: building the database from the migrations on {kind} ...", file=sys.stderr)
    build_schema(app, kind)

    # -- the data: a 30-unit property and a 10-unit one (for the query count) -------------
    t_setup = time.perf_counter()
    with app.app_context():
        session = db.session
        office = registry.ensure_office(session, "Tourist-Info Bench")
        host = users.create_user(session, "host@bench.example", "Bench Host", PASSWORD, "host")
        session.commit()
        today = clock.today("Europe/Berlin")
        first = today  # rates can only be set from today on
        days = 400  # a year and a bit, so that the bulk edit's 365 nights are all priced already
        # The benchmarked month: the next month with 31 days, wholly in the future.
        month = (first + dt.timedelta(days=32)).replace(day=1)
        while calendar.month_bounds(month)[1] - month != dt.timedelta(days=31):
            month = (month + dt.timedelta(days=32)).replace(day=1)
        m_start, m_end = calendar.month_bounds(month)
        big = make_property(session, host, office, "bench-30", 6, first, days)
        small = make_property(session, host, office, "bench-10", 2, first, days)
        stats_big = book(session, big, host, first, days, rng)
        book(session, small, host, first, days, rng)
        big_id, small_id, slug, host_id = big.id, small.id, big.slug, host.id
        cat_ids = [c.id for c in big.categories]
        n_units = sum(len(c.units) for c in big.categories)
        m_bookings, m_occ, m_sources = month_occupancy(session, big, m_start, m_end)
        totals = {
            "bookings": session.scalar(sa.select(sa.func.count(Booking.id))),
            "occupancy rows": session.scalar(sa.select(sa.func.count(Occupancy.id))),
            "night rates": session.scalar(sa.select(sa.func.count(NightRate.category_id))),
        }
        if kind == "postgresql":
            session.execute(sa.text("ANALYZE"))
            session.commit()
        db.session.remove()
    setup_s = time.perf_counter() - t_setup
    print(f"bench: data built in {setup_s:.1f} s", file=sys.stderr)

    month_q = month.strftime("%Y-%m")
    cal_url = f"/p/{slug}/calendar?month={month_q}"
    host_client = app.test_client()
    check(host_client.post("/login", data={"email": "host@bench.example", "password": PASSWORD}), 302)
    anon = app.test_client()

    # Sanity: the page shows every unit and the whole month, the fragment only the plan.
    page = check(host_client.get(cal_url)).get_data(as_text=True)
    frag = check(host_client.get(cal_url, headers={"HX-Request": "true"})).get_data(as_text=True)
    assert page.count('class="unit-row"') == n_units == 30, page.count('class="unit-row"')
    assert page.count('class="day') == 31 and "<html" in page.lower() and 'class="bar ' in page
    assert frag.lstrip().startswith("<div id=\"plan\"") and "<html" not in frag.lower()
    check(anon.get("/login"))

    results = []  # (metric, times, target or None)
    load_before = loadavg()

    def get(client, path, headers=None):
        def run(_i=0):
            check(client.get(path, headers=headers))
        return run

    # Baseline, page and fragment in turn each round, so that load drift affects all alike.
    with full_collections() as gc_pauses:
        base_t, page_t, frag_t = measure_interleaved(
            [get(anon, "/login"), get(host_client, cal_url), get(host_client, cal_url, {"HX-Request": "true"})],
            runs, args.warmup)
    results.append((f"calendar page, {n_units} units x 31 days (GET, full page)", page_t, CALENDAR_TARGET_MS))
    results.append(("calendar fragment, same month (GET, HX-Request)", frag_t, CALENDAR_TARGET_MS))
    results.append(("baseline: GET /login, anonymous", base_t, None))

    def build_only(i=0):
        # The plan's data alone (no HTTP, no template), in a fresh session as a request has.
        with app.app_context():
            prop = db.session.get(Property, big_id)
            t0 = time.perf_counter()
            calendar.build(db.session, prop, m_start, m_end)
            build_only.inner.append((time.perf_counter() - t0) * 1000)
            db.session.remove()
    build_only.inner = []
    measure(build_only, runs, args.warmup)
    results.append(("of which services.availability.calendar.build (no HTTP, no template)", build_only.inner[args.warmup:], None))

    # -- bulk edit: 365 nights x 5 categories; the price alternates so every run writes -------
    b_start, b_end = today, today + dt.timedelta(days=364)
    prices = [Decimal("95.00"), Decimal("97.50")]

    def bulk_service(change_for):
        def run(i=0):
            with app.app_context():
                s = db.session
                actor = s.get(User, host_id)
                prop = s.get(Property, big_id)
                cats = list(prop.categories)
                t0 = time.perf_counter()
                n = rates.bulk_edit(s, actor, prop, cats, b_start, b_end, set(range(7)), change_for(i))
                run.inner.append((time.perf_counter() - t0) * 1000)
                assert n == 365 * 5, n
                db.session.remove()
        run.inner = []
        return run

    svc = bulk_service(lambda i: rates.RateChange(price=prices[i % 2]))
    measure(svc, runs, args.warmup)
    svc_t = svc.inner[args.warmup:]
    svc_all = bulk_service(lambda i: rates.RateChange(price=prices[i % 2], quota=6, min_stay=1 + i % 2))
    measure(svc_all, runs, args.warmup)
    svc_all_t = svc_all.inner[args.warmup:]
    last_price = prices[(args.warmup + runs - 1) % 2]
    assert_price(app, cat_ids, b_end, last_price)

    def form(i):
        return {"categories": [str(c) for c in cat_ids], "start": b_start.isoformat(), "end": b_end.isoformat(),
                "weekdays": [str(d) for d in range(7)], "price": str(prices[i % 2]), "quota": "", "min_stay": "",
                "closed": "", "closed_to_arrival": "", "closed_to_departure": ""}

    bulk_url = f"/p/{slug}/calendar/bulk?month={month_q}"

    def post_plain(i=0):
        check(host_client.post(bulk_url, data=form(i)), 302)

    def post_htmx(i=0):
        r = check(host_client.post(bulk_url, data=form(i), headers={"HX-Request": "true"}))
        assert b"1825" in r.data and b'hx-swap-oob="true"' in r.data

    post_t = measure(post_plain, runs, args.warmup)
    post_hx_t = measure(post_htmx, runs, args.warmup)
    assert_price(app, cat_ids, b_end, last_price)
    results.append(("bulk edit 365 nights x 5 categories, price (services.availability.rates.bulk_edit)", svc_t, BULK_TARGET_MS))
    results.append(("bulk edit, price + quota + min stay (services.availability.rates.bulk_edit)", svc_all_t, BULK_TARGET_MS))
    results.append(("bulk edit via HTTP POST (form, 302 redirect)", post_t, BULK_TARGET_MS))
    results.append(("bulk edit via HTTP POST (htmx: form + refreshed plan)", post_hx_t, BULK_TARGET_MS))

    # -- the same bulk edit with three channel connections switched on (issue 11): each run also
    # merges its 365 x 5 category-nights into every connection's open availability_changed event
    # (no worker runs meanwhile, so every run after the first merges into the events already there).
    with app.app_context():
        prop = db.session.get(Property, big_id)
        for channel in CONNECTIONS:
            connections.switch_on(db.session, None, prop, channel, webhook_url=f"https://{channel}.example/hook")
        db.session.remove()
    svc_conn = bulk_service(lambda i: rates.RateChange(price=prices[i % 2]))
    measure(svc_conn, runs, args.warmup)
    post_conn_t = measure(post_plain, runs, args.warmup)
    assert_price(app, cat_ids, b_end, last_price)
    assert_events(app, big_id, len(CONNECTIONS), cat_ids, b_start, b_end)
    results.append((f"bulk edit, price, {len(CONNECTIONS)} channel connections (one merged availability_changed event each)",
                    svc_conn.inner[args.warmup:], BULK_TARGET_MS))
    results.append((f"bulk edit via HTTP POST (form, 302 redirect), {len(CONNECTIONS)} channel connections",
                    post_conn_t, BULK_TARGET_MS))

    # -- SQL statements per calendar render: 10 vs 30 units --------------------------------
    counts = {}
    for pid in (small_id, big_id):
        with app.app_context():
            engine = db.engine
            prop = db.session.get(Property, pid)
            units, pslug = sum(len(c.units) for c in prop.categories), prop.slug
            db.session.expire_all()
            with counting(engine) as st:
                calendar.build(db.session, prop, m_start, m_end)
            build_n = len(st)
            db.session.remove()
        # Outside any app context, so that the request has its own session as in production.
        with counting(engine) as st:
            check(host_client.get(f"/p/{pslug}/calendar?month={month_q}"))
        counts[units] = (build_n, len(st))

    # -- report -----------------------------------------------------------------------------
    base_median = statistics.median(base_t)
    lines = [f"## Benchmark results ({kind})", ""]
    lines += machine_info(app, kind, load_before)
    lines += [
        f"- data: 5 categories x 6 units = {n_units} units, {days} nights of rates, 3 mandatory costs; "
        f"{totals['bookings']} bookings / {totals['occupancy rows']} occupied unit-nights / "
        f"{totals['night rates']} night rates in the database (two properties)",
        f"- benchmarked month {month_q}: {m_bookings} bookings touching it, occupancy {m_occ:.0%} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(m_sources.items(), key=lambda kv: -kv[1]))})",
        f"- {runs} timed runs per metric after {args.warmup} warm-up runs; Flask test client in process, "
        f"logged in as the host; baseline, page and fragment measured in turn each round",
        "",
        "| metric | median ms | p90 ms | × baseline | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for metric, times, target in results:
        med = statistics.median(times)
        verdict = "—" if target is None else ("pass" if med < target else "FAIL")
        lines.append(f"| {metric} | {med:.1f} | {p90(times):.1f} | {med / base_median:.1f} | "
                     f"{'—' if target is None else f'< {target:.0f} ms median'} | {verdict} |")
    lines += [
        "",
        "| SQL statements per calendar render | 10 units | 30 units |",
        "|---|---:|---:|",
        f"| services.availability.calendar.build | {counts[10][0]} | {counts[30][0]} |",
        f"| GET calendar page (whole request) | {counts[10][1]} | {counts[30][1]} |",
        "",
        f"Setup (migrations excluded, data through the services) took {setup_s:.1f} s; "
        f"{stats_big['refused']} generated channel bookings were refused by take() (restrictions) "
        "and entered as own bookings instead.",
        "",
        f"p90 and median differ mostly by CPython's full garbage collections: {len(gc_pauses)} of them "
        f"during the {3 * (runs + args.warmup)} GET requests above, "
        f"{statistics.median(gc_pauses) if gc_pauses else 0:.0f} ms each (median); a request that "
        "triggers one waits for it.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    out = os.path.join(ROOT, "bench", "results", f"latest-{kind}.md")
    with open(out, "w") as f:
        f.write(report)
    print(f"bench: written to {os.path.relpath(out, ROOT)}", file=sys.stderr)

    if args.profile:
        print(profile("calendar page", get(host_client, cal_url)))
        print(profile("bulk edit (service)", bulk_service(lambda i: rates.RateChange(price=prices[i % 2]))))

    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
