"""A deal site's flash sale (issue 16): many channels' carts hold stays of one property at once.

    .venv/bin/python bench/flash_sale.py [--clients 40] [--stays 1000] [--workers 4]

gunicorn with `--workers` sync workers over PostgreSQL (FLASH_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/bench_flash; created if missing, rebuilt from the
migrations, never the suite's). Two properties, each category 20 units with 60 nights of rates
(quota 20): "one category" has one, "four categories" has four. Per scenario, `--clients`
client threads (http.client, one connection per request: gunicorn's sync workers close it)
try to hold `--stays` random stays (1-7 nights) per category through POST /api/v1/reservations
(status pending), then confirm half of the holds they won. /healthz with the same clients first,
as the trivial request of the same run.

Then, in SQL with services.availability.inventory's own predicates: no night over
min(quota, units) (holds + confirmed), no unit twice on a night, and every refused stay (409)
has a night that is full at the end (nothing is released during the run, so a refusal with room
on every night would be a lost sale). Prints a Markdown table with the load average and writes
bench/results/flash-latest.md. Exits 1 on a violated invariant or any 5xx.

`--compare` runs everything twice on a rebuilt database, first with the locks of the code before
issue 16 (a gunicorn config wraps inventory.touch so that every writer locks the property row
first), then as the code is: the ratio four categories / one category is the figure to compare.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import queue
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, free_port  # noqa: E402
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_flash"
UNITS, NIGHTS, FIRST = 20, 60, 1  # per category; the sale's nights start tomorrow




def prepare(url: str) -> dict[str, dict]:
    """Rebuild the schema; two properties (1 and 4 categories); {scenario: {key, categories, property}}."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from services.accounts.users import create_user
    from services.channels import connections
    from services.core import clock
    from services.models import NightRate, Property, RoomCategory, Unit
    from services.properties.registry import ensure_office

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "k" * 32})
    seeded = {}
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade()
        s = db.session
        office = ensure_office(s, "Bench office")
        now = clock.now()
        for scenario, categories in (("one category", 1), ("four categories", 4)):
            host = create_user(s, f"flash-{categories}@example.com", "Flash Host", "bench-password", "host")
            prop = Property(slug=f"flash-{categories}", name=f"Flash {categories}", owner_id=host.id,
                            office_id=office.id, contract_active_since=now, created_at=now)
            s.add(prop)
            s.flush()
            today = clock.today(prop.timezone)
            ids = []
            for c in range(categories):
                cat = RoomCategory(property_id=prop.id, name=f"Category {c}", max_guests=2, position=c)
                s.add(cat)
                s.flush()
                ids.append(cat.id)
                s.add_all(Unit(category_id=cat.id, name=f"Room {c}{i:02d}", position=i) for i in range(UNITS))
                s.execute(NightRate.__table__.insert(), [
                    {"category_id": cat.id, "night": today + dt.timedelta(days=FIRST + i), "quota": UNITS,
                     "price": Decimal("79.00"), "min_stay": 1, "closed": False, "closed_to_arrival": False,
                     "closed_to_departure": False} for i in range(NIGHTS)])
            s.commit()
            _, key = connections.switch_on(s, None, prop, "slevomat", hold_minutes=60)
            seeded[scenario] = {"key": key, "categories": ids, "property": prop.id, "today": today}
        with db.engine.connect() as conn:  # planner statistics, as autovacuum (or flask db upgrade) keeps them
            conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    return seeded


def request(port: int, method: str, path: str, key: str | None = None, body: dict | None = None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        status = r.status
    except (OSError, http.client.HTTPException):
        data, status = b"", 0
    finally:
        conn.close()
    return status, time.perf_counter() - start, data


def run_clients(port: int, jobs: list, clients: int) -> tuple[list, float]:
    """Each job is (method, path, key, body, tag); returns [(tag, status, seconds, data)], wall time."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    out: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client():
        barrier.wait()
        while True:
            try:
                method, path, key, body, tag = todo.get_nowait()
            except queue.Empty:
                return
            status, seconds, data = request(port, method, path, key, body)
            with lock:
                out.append((tag, status, seconds, data))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, time.perf_counter() - start


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def check(url: str, seeded: dict, refused: list[tuple[int, dt.date, dt.date]]) -> dict:
    """The invariants in SQL (inventory's own predicates); figures for the table."""
    import sqlalchemy as sa

    from services.availability import inventory
    from services.core import clock
    from services.models import Booking, NightRate, Occupancy, Unit

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    now = clock.now()
    problems = []
    cats = seeded["categories"]
    with engine.connect() as db:
        for unit, night, n in db.execute(
                sa.select(Occupancy.unit_id, Occupancy.night, sa.func.count()).where(Occupancy.category_id.in_(cats))
                .group_by(Occupancy.unit_id, Occupancy.night).having(sa.func.count() > 1)):
            problems.append(f"unit {unit} taken {n} times on {night}")
        units = dict(db.execute(sa.select(Unit.category_id, sa.func.count()).where(Unit.category_id.in_(cats))
                                .group_by(Unit.category_id)).all())
        quota = {(c, n): q for c, n, q in db.execute(
            sa.select(NightRate.category_id, NightRate.night, NightRate.quota).where(NightRate.category_id.in_(cats)))}
        taken = {(c, n): k for c, n, k in db.execute(
            sa.select(Booking.category_id, Occupancy.night, sa.func.count())
            .join(Booking, Booking.id == Occupancy.booking_id)
            .where(Booking.category_id.in_(cats), inventory.occupying(now))
            .group_by(Booking.category_id, Occupancy.night))}
        over = [(c, n, k) for (c, n), k in taken.items() if k > min(quota.get((c, n), 0), units[c])]
        problems += [f"category {c} on {n}: {k} taken over min(quota, units)" for c, n, k in over]
        full = {key for key, k in taken.items() if k >= min(quota.get(key, 0), units[key[0]])}
        lost = [(c, a, b) for c, a, b in refused
                if not any((c, a + dt.timedelta(days=i)) in full for i in range((b - a).days))]
        problems += [f"category {c} {a}..{b} refused with room on every night" for c, a, b in lost[:5]]
        statuses = dict(db.execute(sa.select(Booking.status, sa.func.count()).where(Booking.category_id.in_(cats))
                                   .group_by(Booking.status)).all())
    engine.dispose()
    capacity = sum(min(quota.get((c, n), 0), units[c]) for c in cats
                   for n in (seeded["today"] + dt.timedelta(days=FIRST + i) for i in range(NIGHTS)))
    return {"problems": problems, "over": len(over), "lost": len(lost), "sold": sum(taken.values()),
            "capacity": capacity, "full_nights": len(full), "statuses": statuses}


def scenario(port: int, url: str, name: str, seeded: dict, stays: int, clients: int, rng: random.Random) -> dict:
    today = seeded["today"]
    jobs = []
    for cat in seeded["categories"]:
        for i in range(stays):
            nights = rng.randint(1, 7)
            arrival = today + dt.timedelta(days=FIRST + rng.randint(0, NIGHTS - nights))
            body = {"external_id": f"flash-{cat}-{i}", "room_category_id": cat, "arrival": arrival.isoformat(),
                    "departure": (arrival + dt.timedelta(days=nights)).isoformat(), "units": 1, "guests": 2,
                    "guest": {"name": "Flash Guest", "email": "guest@example.cz"}, "status": "pending"}
            jobs.append(("POST", "/api/v1/reservations", seeded["key"], body, (cat, arrival, nights)))
    rng.shuffle(jobs)
    load_before = load()
    holds, hold_wall = run_clients(port, jobs, clients)
    won = [json.loads(data)["id"] for _tag, status, _s, data in holds if status == 201]
    refused = [(cat, arrival, arrival + dt.timedelta(days=n)) for (cat, arrival, n), status, _s, _d in holds
               if status == 409]
    to_confirm = rng.sample(won, len(won) // 2)
    confirms, confirm_wall = run_clients(
        port, [("POST", f"/api/v1/reservations/{rid}/confirm", seeded["key"], None, rid) for rid in to_confirm], clients)
    load_after = load()
    figures = check(url, seeded, refused)
    codes: dict[int, int] = {}
    for _tag, status, _s, _d in holds + confirms:
        codes[status] = codes.get(status, 0) + 1
    return {
        "name": name, "categories": len(seeded["categories"]), "requests": len(holds), "won": len(won),
        "refused": len(refused), "confirmed": sum(1 for *_x, status, _s, _d in confirms if status == 200),
        "confirm_requests": len(confirms), "hold_wall": hold_wall, "confirm_wall": confirm_wall,
        "hold_rps": len(holds) / hold_wall, "confirm_rps": len(confirms) / confirm_wall if confirms else 0.0,
        "hold_lat": [s for _t, _st, s, _d in holds], "confirm_lat": [s for _t, _st, s, _d in confirms],
        "codes": codes, "fivexx": sum(n for code, n in codes.items() if code >= 500 or code == 0),
        "load": f"{load_before} → {load_after}", **figures,
    }


PROPERTY_LOCK = """
# gunicorn config: the locks before issue 16, for comparison (bench/flash_sale.py --compare):
# every booking writer locks and bumps the property row first (one extra indexed read here).
def post_worker_init(worker):
    import sqlalchemy as sa
    from services.availability import inventory
    from services.models import RoomCategory
    real = inventory.touch

    def touch(session, property_id=None, category_ids=()):
        ids = list(category_ids)
        if property_id is None and ids:
            property_id = session.scalar(sa.select(RoomCategory.property_id).where(RoomCategory.id == ids[0]))
        real(session, property_id, ids)

    inventory.touch = touch
"""


def run(url: str, args, locks: str) -> tuple[float, list, list]:
    """One server, both scenarios on a freshly built database: (trivial req/s, its latencies, results)."""
    seeded = prepare(url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "API_RATE_LIMIT": "100000000/minute", "SECRET_KEY": "bench-" + "k" * 32}
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--backlog", "512",
           "--timeout", "120", "--log-level", "warning"]
    if locks == "property":
        config = Path(tempfile.mkdtemp(prefix="flash-")) / "property_lock.py"
        config.write_text(PROPERTY_LOCK)
        cmd += ["-c", str(config)]
    server = subprocess.Popen(cmd + ["portal:create_app()"], cwd=ROOT, env=env)
    rng = random.Random(args.seed)  # the same stays in every run
    results = []
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        run_clients(port, [("GET", "/healthz", None, None, 0)] * 200, args.clients)  # warm-up of every worker
        trivial, trivial_wall = run_clients(port, [("GET", "/healthz", None, None, 0)] * 2000, args.clients)
        for name in ("one category", "four categories"):
            r = scenario(port, url, name, seeded[name], args.stays, args.clients, rng)
            r["locks"] = locks
            results.append(r)
    finally:
        server.terminate()
        server.wait(10)
    return len(trivial) / trivial_wall, [s for *_x, s, _d in trivial], results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--stays", type=int, default=1000, help="stays tried per category")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--compare", action="store_true",
                    help="first run with the locks before issue 16 (the property row first), then as the code is")
    args = ap.parse_args()
    url = os.environ.get("FLASH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql"):
        sys.exit("This benchmark runs on PostgreSQL: set FLASH_DATABASE_URL=postgresql+psycopg://...")
    ensure_database(url)
    runs = [run(url, args, locks) for locks in (["property", "category"] if args.compare else ["category"])]
    lines = [
        f"Flash sale: gunicorn {args.workers} sync workers, PostgreSQL, {args.clients} client threads (http.client) on "
        f"the same machine; {args.stays} random stays (1-7 nights) per category of {UNITS} units over {NIGHTS} nights, "
        f"then half of the won holds confirmed; {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        "| locks | scenario | holds tried | won | refused (409) | room-nights sold / capacity | over-booked nights | "
        "refused with room | 5xx | holds req/s (× trivial) | hold p50 / p95 / p99 ms | confirms | confirm p50 / p95 / p99 ms "
        "| load average (before → after) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    label = {"property": "property row (before)", "category": "category rows"}
    for trivial_rps, _lat, results in runs:
        for r in results:
            lines.append(
                f"| {label[r['locks']]} | {r['name']} | {r['requests']} | {r['won']} | {r['refused']} "
                f"| {r['sold']} / {r['capacity']} | {r['over']} | {r['lost']} | {r['fivexx']} "
                f"| {r['hold_rps']:.0f} ({r['hold_rps'] / trivial_rps:.3f}) "
                f"| {pct(r['hold_lat'], 50):.0f} / {pct(r['hold_lat'], 95):.0f} / {pct(r['hold_lat'], 99):.0f} "
                f"| {r['confirmed']}/{r['confirm_requests']} ({r['confirm_rps']:.0f} req/s) "
                f"| {pct(r['confirm_lat'], 50):.0f} / {pct(r['confirm_lat'], 95):.0f} / {pct(r['confirm_lat'], 99):.0f} "
                f"| {r['load']} |")
    lines.append("")
    for trivial_rps, lat, results in runs:
        one, four = results
        lines.append(f"- {label[one['locks']]}: trivial request (GET /healthz, same clients) {trivial_rps:.0f} req/s, "
                     f"p50 {pct(lat, 50):.0f} ms; holds per second, four categories / one category: "
                     f"**{four['hold_rps'] / one['hold_rps']:.2f}**, confirms {four['confirm_rps'] / one['confirm_rps']:.2f} "
                     f"(each category gets the same {args.stays} stays). Status codes: "
                     + "; ".join(f"{r['name']}: " + ", ".join(f"{c}: {n}" for c, n in sorted(r["codes"].items()))
                                 for r in results))
    problems = [p for _t, _l, results in runs for r in results for p in r["problems"]]
    if problems:
        lines += ["", "**Invariants violated:**", *[f"- {p}" for p in problems[:20]]]
    text = "\n".join(lines)
    print(text)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "flash-latest.md").write_text(text + "\n")
    if problems or any(r["fivexx"] for _t, _l, results in runs for r in results):
        sys.exit(1)




if __name__ == "__main__":
    main()
