"""Benchmark of the public availability search (issue 15): a 4-night search over an office with
200 properties x 365 nights answers in under 150 ms median.

    .venv/bin/python bench/search_bench.py                       # SQLite file in a temporary directory
    .venv/bin/python bench/search_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/<db>

The PostgreSQL database's schema is DROPPED and rebuilt from the migrations: give it a database of
its own. The data goes in with bulk inserts (as bench/run.py's big tables do, no use case per row):
one office, 200 properties with an active contract, 3 room categories each (rooms, an apartment, a
house: 6 units), 365 nights of rates (weekend minimum stays, no arrival on Sundays, a closed week
here and there), two mandatory costs, a cover photo, reviews for half of them, and bookings of
several sources at about 35 % occupancy, a few of them running holds and holds that ran out.

Measured through the Flask test client (the whole request: routing, the ETag's query, the search,
the template or JSON): GET /search and GET /search.json for 2 guests, 4 nights from a random
arrival in the coming year, in turn each round, plus the score-sorted JSON. Prints a Markdown table;
--profile prints cProfile's top functions of the JSON search.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import os
import platform
import pstats
import random
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
from services.core import clock  # noqa: E402
from services.models import (Booking, ChannelConnection, ExtraCost, NightRate, Occupancy, Office, Photo,  # noqa: E402
                             Property, Review, RoomCategory, Unit, User)

TARGET_MS = 150.0
PROPERTIES = 200
NIGHTS = 365
OCCUPANCY = 0.35
SEED = 20261128
# (name, kind, max guests, units, weekday price)
CATEGORIES = [("Doppelzimmer", "room", 2, 3, Decimal("79.00")), ("Ferienwohnung", "apartment", 4, 2, Decimal("119.00")),
              ("Ferienhaus", "house", 6, 1, Decimal("189.00"))]
STAYS = [1, 2, 2, 3, 3, 4, 5, 7, 7, 10]
SOURCES = ["own", "own", "booking", "booking", "tourist_office", "e_domizil", "hold", "expired_hold"]


def build_schema(app, postgres: bool) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if postgres:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
        db.session.remove()


def seed(session, rng: random.Random, postgres: bool) -> dict:
    """Everything by bulk INSERTs with ids chosen here (an empty database)."""
    now = clock.now()
    today = clock.today("Europe/Berlin")
    ins = lambda model, rows: rows and session.execute(sa.insert(model), rows)  # noqa: E731
    ins(Office, [{"id": 1, "name": "Tourist-Info Bench", "embed_origins": "https://www.bench.example"}])
    ins(User, [{"id": 1, "email": "host@bench.example", "name": "Bench Host", "password_hash": "x", "role": "host",
                "office_id": None, "locale": "de", "active": True, "created_at": now}])
    props, cats, units, rates, costs, photos, conns, reviews = [], [], [], [], [], [], [], []
    cat_id = unit_id = 0
    unit_cat = {}
    for p in range(1, PROPERTIES + 1):
        props.append({"id": p, "slug": f"bench-{p}", "name": f"Gasthof {p:03d}", "owner_id": 1, "office_id": 1,
                      "city": rng.choice(["Berchtesgaden", "Schönau", "Ramsau", "Bischofswiesen"]),
                      "contract_active_since": now, "created_at": now, "inventory_version": 1})
        closed_from = rng.randrange(0, NIGHTS - 7) if p % 4 == 0 else None
        for pos, (name, kind, guests, n_units, price) in enumerate(CATEGORIES):
            cat_id += 1
            cats.append({"id": cat_id, "property_id": p, "name": name, "kind": kind, "max_guests": guests, "position": pos})
            for i in range(n_units):
                unit_id += 1
                units.append({"id": unit_id, "category_id": cat_id, "name": f"{name} {i + 1}", "position": i})
                unit_cat[unit_id] = (p, cat_id)
            base = price + Decimal(rng.randrange(-10, 25))
            for k in range(NIGHTS):
                night = today + dt.timedelta(days=k)
                weekend = night.weekday() in (4, 5)
                rates.append({"category_id": cat_id, "night": night, "quota": n_units,
                              "price": base + (Decimal("15.00") if weekend else 0), "min_stay": 2 if weekend else 1,
                              "closed": closed_from is not None and closed_from <= k < closed_from + 7 and pos == 2,
                              "closed_to_arrival": night.weekday() == 6, "closed_to_departure": False})
        costs += [{"property_id": p, "name": "Endreinigung", "amount": Decimal("35.00"), "per": "stay"},
                  {"property_id": p, "name": "Kurtaxe", "amount": Decimal("2.80"), "per": "night"}]
        photos.append({"id": p, "property_id": p, "position": 0, "is_cover": True, "original_key": f"o/{p}.webp",
                       "web_key": f"w/{p}.webp", "thumb_key": f"t/{p}.webp", "width": 2048, "height": 1536,
                       "source_format": "JPEG", "size_bytes": 1000, "created_at": now})
        if p % 2:
            conns.append({"id": p, "property_id": p, "channel": "holidaycheck", "scope": "reviews", "active": True,
                          "key_hash": "", "webhook_secret": "x", "created_at": now, "updated_at": now})
            for r in range(rng.randrange(2, 12)):
                reviews.append({"property_id": p, "connection_id": p, "partner_review_id": f"HC-{p}-{r}",
                                "written_on": today - dt.timedelta(days=10 + 20 * r), "author": "Gast",
                                "overall": Decimal(rng.randrange(30, 60)) / 10, "scale_min": Decimal(1),
                                "scale_max": Decimal(6), "status": "published", "text": "", "language": "de",
                                "received_at": now, "updated_at": now})
    for model, rows in ((Property, props), (RoomCategory, cats), (Unit, units), (ExtraCost, costs), (Photo, photos),
                        (ChannelConnection, conns), (Review, reviews)):
        ins(model, rows)
    for i in range(0, len(rates), 20000):
        ins(NightRate, rates[i:i + 20000])
    # Bookings: each unit filled to about OCCUPANCY with stays of 1-10 nights.
    bookings, occupancy = [], []
    mean_gap = statistics.mean(STAYS) * (1 - OCCUPANCY) / OCCUPANCY
    end = today + dt.timedelta(days=NIGHTS)
    for uid, (pid, cid) in unit_cat.items():
        day = today + dt.timedelta(days=rng.randrange(0, 5))
        while True:
            nights = rng.choice(STAYS)
            if day + dt.timedelta(days=nights) > end:
                break
            source = rng.choice(SOURCES)
            hold = source in ("hold", "expired_hold")
            bid = len(bookings) + 1
            bookings.append({
                "id": bid, "property_id": pid, "category_id": cid, "source": "booking" if hold else source,
                "status": "pending" if hold else "confirmed", "arrival": day,
                "departure": day + dt.timedelta(days=nights), "units": 1, "guests": 2, "guest_name": f"Gast {bid}",
                "created_at": now, "updated_at": now, "payment_mode": "on_arrival", "risk_free": False,
                "hold_expires_at": (now + dt.timedelta(days=30) if source == "hold"
                                    else now - dt.timedelta(hours=1) if source == "expired_hold" else None)})
            occupancy += [{"booking_id": bid, "unit_id": uid, "category_id": cid, "night": day + dt.timedelta(days=k)}
                          for k in range(nights)]
            day += dt.timedelta(days=nights + max(1, round(rng.expovariate(1 / mean_gap))))
    for i in range(0, len(bookings), 10000):
        ins(Booking, bookings[i:i + 10000])
    for i in range(0, len(occupancy), 20000):
        ins(Occupancy, occupancy[i:i + 20000])
    session.commit()
    if postgres:
        for table, column in (("office", "id"), ("user_account", "id"), ("property", "id"), ("room_category", "id"),
                              ("unit", "id"), ("photo", "id"), ("channel_connection", "id"), ("booking", "id")):
            session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                    f"(SELECT max({column}) FROM {table}))"))
        session.commit()
        session.execute(sa.text("ANALYZE"))
        session.commit()
    return {"properties": len(props), "categories": len(cats), "units": len(units), "night rates": len(rates),
            "bookings": len(bookings), "occupancy rows": len(occupancy), "reviews": len(reviews)}


def measure(fns: list, runs: int, warmup: int) -> list[list[float]]:
    """Each function called in turn each round (load drift hits all alike); times in ms."""
    for i in range(warmup):
        for fn in fns:
            fn(i)
    times: list[list[float]] = [[] for _ in fns]
    for i in range(warmup, warmup + runs):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn(i)
            out.append((time.perf_counter() - t0) * 1000)
    return times


def p90(values: list[float]) -> float:
    s = sorted(values)
    return s[max(0, -(-len(s) * 9 // 10) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL (its schema is dropped); default: SQLite")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    rng = random.Random(SEED)
    url = args.database_url or "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="portal-search-bench-"), "bench.sqlite3")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    postgres = url.startswith("postgresql")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "k" * 32, "RATELIMIT_ENABLED": False})
    print(f"search bench: building the schema on {'PostgreSQL' if postgres else 'SQLite'} ...", file=sys.stderr)
    build_schema(app, postgres)
    t0 = time.perf_counter()
    with app.app_context():
        sizes = seed(db.session, rng, postgres)
        db.session.remove()
    print(f"search bench: data in {time.perf_counter() - t0:.1f} s: {sizes}", file=sys.stderr)

    client = app.test_client()
    today = clock.today("Europe/Berlin")
    arrivals = [today + dt.timedelta(days=rng.randrange(1, NIGHTS - 10)) for _ in range(args.runs + args.warmup)]

    def query(i: int, extra: str = "") -> str:
        a = arrivals[i]
        return f"?office=1&arrival={a}&departure={a + dt.timedelta(days=4)}&guests=2&lang=en{extra}"

    found = []

    def html(i):
        resp = client.get("/search" + query(i))
        assert resp.status_code == 200, resp.status_code
        assert resp.get_data(as_text=True).count('class="search-result"') <= 10

    def as_json(i):
        resp = client.get("/search.json" + query(i))
        assert resp.status_code == 200, resp.status_code
        found.append(resp.json["total"])

    def by_score(i):
        resp = client.get("/search.json" + query(i, "&sort=score"))
        assert resp.status_code == 200, resp.status_code

    html_t, json_t, score_t = measure([html, as_json, by_score], args.runs, args.warmup)
    with app.app_context():
        version = db.session.scalar(sa.text("SHOW server_version" if postgres else "select sqlite_version()"))
        db.session.remove()
    print(f"\n## Public search benchmark ({'PostgreSQL' if postgres else 'SQLite'} {version})\n")
    print(f"- {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
          f"{platform.python_version()}, nproc {os.cpu_count()}, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- data: {', '.join(f'{v} {k}' for k, v in sizes.items())}")
    print(f"- {args.runs} random arrivals, 4 nights, 2 guests; properties found per search: median "
          f"{statistics.median(found):.0f} (10 shown per page)\n")
    print("| request | median ms | p90 ms | target |")
    print("|---|---:|---:|---|")
    for label, times in (("GET /search (HTML)", html_t), ("GET /search.json", json_t),
                         ("GET /search.json?sort=score", score_t)):
        med = statistics.median(times)
        verdict = "ok" if med < TARGET_MS else "MISSED"
        print(f"| {label} | {med:.1f} | {p90(times):.1f} | < {TARGET_MS:.0f} ms median: {verdict} |")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for i in range(20):
            as_json(i)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())


if __name__ == "__main__":
    main()
