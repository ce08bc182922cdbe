"""Load and faults: gunicorn with 4 workers on PostgreSQL under mixed traffic while a worker is
SIGKILLed, every database backend is terminated (twice) and the database refuses new
connections for 2 seconds; then an invariant check in SQL.

    .venv/bin/python bench/faults.py [--seconds 60] [--threads 8] [--workers 4]
                                     [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_faults]

The database (also FAULTS_DATABASE_URL) is the benchmark's own: created if missing, its schema
dropped and rebuilt with `flask --app portal db upgrade`, then seeded with a host, a property
of 3 categories (one with a quota below its units), 60 nights of rates and an API key whose
holds last one minute. Traffic goes only to 127.0.0.1: channel API threads read
availability, place holds, confirm and cancel them, read reservations; HTML threads log in as
the host and read the calendar and enter own bookings through the form (with its CSRF token).

Afterwards the remaining holds are cancelled through the API (as a channel reconciling its
carts would), gunicorn is stopped and the database is checked: no (unit, night) twice, no
night over its units or its quota, every booking's rows match its status, every reservation
answered 2xx present exactly once and in the state last answered, every hold confirmed,
cancelled or expired. Prints throughput, p50/p95/p99 per endpoint and the 5xx by cause, writes
bench/results/faults-latest.md, and exits 1 on any integrity violation or bare 500 page.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent  # flask and gunicorn of the same virtualenv

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_faults"
PROTECTED = {"postgres", "template0", "template1", "test"}  # never rebuilt by this script
HOST_EMAIL, HOST_PASSWORD = "faults-host@example.com", "faults-password-1"
SLUG = "faults"
CATEGORIES = [("Doppelzimmer", 4, 4), ("Familienzimmer", 4, 2), ("Suite", 2, 2)]  # name, units, quota
NIGHTS_OF_RATES = 60
WINDOW = (1, 45)  # stays start this many days from today
REFUSAL_SECONDS = 2.0
MAX_REQUESTS_PER_THREAD = 200_000


# -- the database ---------------------------------------------------------------------------------

def libpq(url: str, dbname: str | None = None) -> str:
    """psycopg's spelling of a SQLAlchemy URL, optionally for another database."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if dbname is not None:
        parts = parts._replace(path="/" + dbname)
    return parts.geturl()


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_connection(url: str):
    """Autocommit, to the server's `postgres` database: it still answers while ours refuses."""
    import psycopg

    return psycopg.connect(libpq(url, "postgres"), autocommit=True, connect_timeout=5)


def ensure_database(url: str) -> None:
    with admin_connection(url) as conn:
        name = db_name(url)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # after an interrupted run


def rebuild(url: str, env: dict) -> None:
    import psycopg

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    subprocess.run([str(BIN / "flask"), "--app", "portal", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)


def seed(url: str) -> dict:
    """The host, the property, its rates and an API key (holds of 1 minute)."""
    import sqlalchemy as sa

    from portal import create_app
    from portal.extensions import db
    from services.channels import connections
    from services.core import clock
    from services.models import NightRate, Property, RoomCategory, Unit
    from services.accounts.users import create_user
    from services.properties.registry import ensure_office

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x" * 32})
    with app.app_context():
        s = db.session
        office = ensure_office(s, "Faults office")
        host = create_user(s, HOST_EMAIL, "Faults Host", HOST_PASSWORD, "host")
        now = clock.now()
        prop = Property(slug=SLUG, name="Pension Störfall", owner_id=host.id, office_id=office.id,
                        contract_active_since=now, created_at=now)
        s.add(prop)
        s.flush()
        today = clock.today(prop.timezone)
        cats = []
        for pos, (name, units, quota) in enumerate(CATEGORIES):
            cat = RoomCategory(property_id=prop.id, name=name, max_guests=2, position=pos)
            s.add(cat)
            s.flush()
            cats.append(cat.id)
            s.add_all(Unit(category_id=cat.id, name=f"{name} {i + 1}", position=i) for i in range(units))
            s.execute(sa.insert(NightRate), [
                {"category_id": cat.id, "night": today + dt.timedelta(days=i), "quota": quota,
                 "price": Decimal("80.00"), "min_stay": 1, "closed": False, "closed_to_arrival": False,
                 "closed_to_departure": False} for i in range(NIGHTS_OF_RATES)])
        s.commit()
        conn, key = connections.switch_on(s, None, prop, "api", hold_minutes=1)
        out = {"key": key, "categories": cats, "property_id": prop.id, "connection_id": conn.id,
               "today": today}
        db.session.remove()
        db.engine.dispose()
    return out


# -- HTTP -------------------------------------------------------------------------------------------

class Answer:
    __slots__ = ("status", "headers", "body", "ms")

    def __init__(self, status, headers, body, ms):
        self.status, self.headers, self.body, self.ms = status, headers, body, ms

    def json(self):
        return json.loads(self.body)


def call(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> Answer:
    """One request on a new connection (gunicorn's sync workers close after each answer).
    Raises OSError / http.client.HTTPException when no answer came."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status, resp.headers, data, (time.perf_counter() - start) * 1000)
    finally:
        conn.close()


def cause(answer: Answer) -> str:
    """Why a 5xx: the app's styled page or JSON error, or gunicorn's bare page."""
    text = answer.body.decode("utf-8", "replace")
    ctype = answer.headers.get("Content-Type", "")
    if ctype.startswith("application/json"):
        try:
            code = answer.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "?"
        return f"{answer.status} JSON ({code})"
    if "portal.css" in text:
        return f"{answer.status} styled page"
    if "Internal Server Error" in text:
        return f"{answer.status} bare page (gunicorn)"
    return f"{answer.status} other"


class Stats:
    """Every answer, by endpoint; 5xx by cause; requests that got no answer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.status: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.causes: collections.Counter = collections.Counter()
        self.no_answer: collections.Counter = collections.Counter()
        self.samples: dict[str, str] = {}

    def record(self, label: str, answer: Answer | None, error: BaseException | None = None) -> None:
        with self.lock:
            if answer is None:
                self.no_answer[f"{label}: {type(error).__name__}"] += 1
                return
            self.latency[label].append(answer.ms)
            self.status[label][answer.status] += 1
            if answer.status >= 500:
                why = cause(answer)
                self.causes[why] += 1
                self.samples.setdefault(why, answer.body[:300].decode("utf-8", "replace"))


class Ledger:
    """What the server answered 2xx, to hold the database to it afterwards."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created: dict[str, int] = {}       # external_id -> reservation id (answered 201/200)
        self.last: dict[int, str] = {}          # reservation id -> status of the last 2xx answer to a change
        self.uncertain: set[int] = set()        # a change of it got no answer: either outcome is right
        self.own: set[str] = set()              # guest names of own bookings answered 303


# -- traffic ----------------------------------------------------------------------------------------

class ApiChannel(threading.Thread):
    """A channel: availability, holds, confirmations, cancellations, reads of its reservations."""

    def __init__(self, n, port, seeded, stats, ledger, stop):
        super().__init__(daemon=True, name=f"api-{n}")
        self.n, self.port, self.seeded, self.stats, self.ledger, self.stop = n, port, seeded, stats, ledger, stop
        self.rng = random.Random(1000 + n)
        self.auth = {"Authorization": f"Bearer {seeded['key']}"}
        self.mine: list[int] = []  # reservations this thread made and still may change
        self.count = 0

    def request(self, label, method, path, body=None):
        headers = dict(self.auth)
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body).encode()
        try:
            answer = call(self.port, method, path, headers, body)
        except (OSError, http.client.HTTPException) as e:
            self.stats.record(label, None, e)
            return None
        self.stats.record(label, answer)
        return answer

    def stay(self):
        today = self.seeded["today"]
        arrival = today + dt.timedelta(days=self.rng.randint(*WINDOW))
        return arrival, arrival + dt.timedelta(days=self.rng.choice([1, 1, 2, 2, 3]))

    def run(self):
        while not self.stop.is_set() and self.count < MAX_REQUESTS_PER_THREAD:
            self.count += 1
            r = self.rng.random()
            if r < 0.05:  # the baseline: a trivial answer of the same servers at the same time
                self.request("GET /healthz (trivial, no database)", "GET", "/healthz")
            elif r < 0.40:
                self.availability()
            elif r < 0.65 or not self.mine:
                self.hold()
            elif r < 0.80:
                self.change("confirm")
            elif r < 0.92:
                self.change("cancel")
            else:
                rid = self.rng.choice(self.mine)
                self.request("GET /api/v1/reservations/{id}", "GET", f"/api/v1/reservations/{rid}")

    def availability(self):
        today = self.seeded["today"]
        if self.rng.random() < 0.5:  # the ranges channels poll over and over (cache hits)
            start = today + dt.timedelta(days=1 + 7 * self.rng.randint(0, 3))
            end = start + dt.timedelta(days=14)
        else:
            start, _ = self.stay()
            end = start + dt.timedelta(days=self.rng.randint(1, 14))
        self.request("GET /api/v1/availability", "GET",
                     "/api/v1/availability?" + urlencode({"from": start.isoformat(), "to": end.isoformat()}))

    def hold(self):
        arrival, departure = self.stay()
        external_id = f"faults-{self.n}-{self.count}"
        status = "confirmed" if self.rng.random() < 0.1 else "pending"
        answer = self.request("POST /api/v1/reservations", "POST", "/api/v1/reservations", {
            "external_id": external_id, "room_category_id": self.rng.choice(self.seeded["categories"]),
            "arrival": arrival.isoformat(), "departure": departure.isoformat(), "guests": 2,
            "guest": {"name": f"Gast {self.n}-{self.count}"}, "status": status})
        if answer is not None and answer.status in (200, 201):
            rid = answer.json()["id"]
            with self.ledger.lock:
                self.ledger.created[external_id] = rid
                self.ledger.last[rid] = answer.json()["status"]
            self.mine.append(rid)

    def change(self, action):
        rid = self.rng.choice(self.mine)
        answer = self.request(f"POST /api/v1/reservations/{{id}}/{action}", "POST",
                              f"/api/v1/reservations/{rid}/{action}")
        with self.ledger.lock:
            if answer is None or answer.status >= 500:
                self.ledger.uncertain.add(rid)  # no answer, or "unavailable": it may or may not have happened
            elif answer.status == 200:
                self.ledger.last[rid] = answer.json()["status"]
        if answer is not None and answer.status in (200, 409) and action == "cancel":
            self.mine.remove(rid)


class Host(threading.Thread):
    """The host in a browser: the calendar, and own bookings entered through the form."""

    def __init__(self, n, port, seeded, stats, ledger, stop):
        super().__init__(daemon=True, name=f"html-{n}")
        self.n, self.port, self.seeded, self.stats, self.ledger, self.stop = n, port, seeded, stats, ledger, stop
        self.rng = random.Random(2000 + n)
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.count = 0

    def request(self, label, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            answer = call(self.port, method, path, headers, body)
        except (OSError, http.client.HTTPException) as e:
            if label:
                self.stats.record(label, None, e)
            return None
        if label:
            self.stats.record(label, answer)
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer

    def login(self) -> None:
        page = self.request(None, "GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.body).group(1).decode()
        answer = self.request(None, "POST", "/login", {"email": HOST_EMAIL, "password": HOST_PASSWORD,
                                                        "csrf_token": token})
        assert answer.status == 302, f"login failed: {answer.status}"
        form = self.request(None, "GET", f"/p/{SLUG}/bookings/new")
        self.token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', form.body).group(1).decode()

    def run(self):
        while not self.stop.is_set() and self.count < MAX_REQUESTS_PER_THREAD:
            self.count += 1
            if self.rng.random() < 0.4:
                self.request("GET /p/<slug>/calendar (HTML)", "GET", f"/p/{SLUG}/calendar")
            else:
                self.own_booking()

    def own_booking(self):
        today = self.seeded["today"]
        arrival = today + dt.timedelta(days=self.rng.randint(*WINDOW))
        departure = arrival + dt.timedelta(days=self.rng.choice([1, 2, 3]))
        name = f"Eigen {self.n}-{self.count}"
        answer = self.request("POST /p/<slug>/bookings/new (HTML form)", "POST", f"/p/{SLUG}/bookings/new", {
            "csrf_token": self.token, "category_id": self.rng.choice(self.seeded["categories"]), "unit_id": 0,
            "arrival": arrival.isoformat(), "departure": departure.isoformat(), "units": 1, "guests": 2,
            "guest_name": name, "guest_email": "", "guest_phone": "", "notes": ""})
        if answer is not None and answer.status == 303:
            with self.ledger.lock:
                self.ledger.own.add(name)


# -- faults -----------------------------------------------------------------------------------------

def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry))
    return pids


def terminate_backends(url: str) -> int:
    with admin_connection(url) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (db_name(url),)).fetchall())


def allow_connections(url: str, allow: bool) -> None:
    with admin_connection(url) as conn:
        conn.execute(f'ALTER DATABASE "{db_name(url)}" ALLOW_CONNECTIONS {"true" if allow else "false"}')


def inject_faults(url: str, master: int, seconds: float, stop: threading.Event, log: list) -> None:
    """At 30 % of the run a worker is SIGKILLed, at 45 % and 80 % every backend is terminated,
    at 60 % the database refuses new connections for REFUSAL_SECONDS (its open ones terminated)."""
    start = time.monotonic()
    plan = [(0.30, "kill a worker"), (0.45, "terminate backends"), (0.60, "refuse connections"),
            (0.80, "terminate backends")]
    for at, what in plan:
        if stop.wait(max(0.0, start + at * seconds - time.monotonic())):
            return
        stamp = time.monotonic() - start
        if what == "kill a worker":
            pids = worker_pids(master)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
            log.append(f"{stamp:5.1f} s: SIGKILL worker {pids[:1]} (of {len(pids)})")
        elif what == "terminate backends":
            log.append(f"{stamp:5.1f} s: pg_terminate_backend x {terminate_backends(url)}")
        else:
            try:
                allow_connections(url, False)
                n = terminate_backends(url)
                log.append(f"{stamp:5.1f} s: ALLOW_CONNECTIONS false, {n} backends terminated, "
                           f"{REFUSAL_SECONDS:.0f} s")
                stop.wait(REFUSAL_SECONDS)
            finally:
                allow_connections(url, True)
            log.append(f"{time.monotonic() - start:5.1f} s: ALLOW_CONNECTIONS true")


# -- after the run ------------------------------------------------------------------------------------

def settle(port: int, seeded: dict) -> int:
    """Cancel every hold still pending, as a channel reconciling its carts would."""
    auth = {"Authorization": f"Bearer {seeded['key']}"}
    pending, cursor = [], None
    for _ in range(10_000):
        query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        for _ in range(20):
            answer = call(port, "GET", "/api/v1/reservations?" + urlencode(query), auth)
            if answer.status == 200:
                break
            time.sleep(0.5)
        page = answer.json()
        pending += [r["id"] for r in page["reservations"] if r["status"] == "pending"]
        cursor = page["next"]
        if not cursor:
            break
    for rid in pending:
        for _ in range(5):
            answer = call(port, "POST", f"/api/v1/reservations/{rid}/cancel", auth)
            if answer.status == 200:
                break
            time.sleep(0.2)
    return len(pending)


def check(url: str, seeded: dict, ledger: Ledger) -> list[str]:
    """The invariants, in SQL; the rules (what occupies a night, what counts against the quota)
    are services.availability.inventory's own predicates."""
    import sqlalchemy as sa

    from services.availability import inventory
    from services.core import clock
    from services.models import Booking, NightRate, Occupancy, Unit

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    now = clock.now()
    problems = []
    with engine.connect() as db:
        for unit, night, n in db.execute(
                sa.select(Occupancy.unit_id, Occupancy.night, sa.func.count())
                .group_by(Occupancy.unit_id, Occupancy.night).having(sa.func.count() > 1)):
            problems.append(f"unit {unit} taken {n} times on {night}")
        live = (sa.select(Occupancy.night, Unit.category_id, Booking.source)
                .join(Booking, Booking.id == Occupancy.booking_id).join(Unit, Unit.id == Occupancy.unit_id)
                .where(inventory.occupying(now))).subquery()
        units = dict(db.execute(sa.select(Unit.category_id, sa.func.count()).group_by(Unit.category_id)).all())
        for cat, night, taken, online, quota in db.execute(
                sa.select(live.c.category_id, live.c.night, sa.func.count(),
                          sa.func.count().filter(live.c.source.not_in(inventory.QUOTA_FREE_SOURCES)),
                          NightRate.quota)
                .outerjoin(NightRate, sa.and_(NightRate.category_id == live.c.category_id,
                                              NightRate.night == live.c.night))
                .group_by(live.c.category_id, live.c.night, NightRate.quota)):
            if taken > units.get(cat, 0):
                problems.append(f"category {cat} on {night}: {taken} units taken of {units.get(cat, 0)}")
            if quota is not None and online > quota:
                problems.append(f"category {cat} on {night}: {online} sold online over a quota of {quota}")
        rows = sa.select(sa.func.count()).where(Occupancy.booking_id == Booking.id).scalar_subquery()
        nights = Booking.departure - Booking.arrival
        for bid, status, have, want in db.execute(
                sa.select(Booking.id, Booking.status, rows, Booking.units * nights)
                .where(Booking.property_id == seeded["property_id"],
                       sa.or_(sa.and_(inventory.occupying(now), rows != Booking.units * nights),
                              sa.and_(Booking.status.in_(("cancelled", "modified")), rows != 0)))):
            problems.append(f"booking {bid} ({status}) holds {have} unit-nights, should hold "
                            f"{want if status in ('confirmed', 'pending') else 0}")
        for bid, in db.execute(sa.select(Booking.id).where(Booking.status == "pending", Booking.hold_expires_at > now)):
            problems.append(f"hold {bid} still pending after the run (neither confirmed, cancelled nor expired)")
        by_external = collections.defaultdict(list)
        for bid, ext, status in db.execute(sa.select(Booking.id, Booking.external_id, Booking.status)
                                           .where(Booking.connection_id == seeded["connection_id"])):
            by_external[ext].append((bid, status))
        status_of = {bid: status for found in by_external.values() for bid, status in found}
        for ext, rid in ledger.created.items():
            found = by_external.get(ext, [])
            if [bid for bid, _ in found] != [rid]:
                problems.append(f"reservation {ext} answered as #{rid}, in the database: {found}")
        for rid, said in ledger.last.items():
            if rid in ledger.uncertain or rid not in status_of:
                continue
            actual = status_of[rid]
            # A hold answered "pending" may since have expired, or been cancelled by settle().
            if actual != said and not (said == "pending" and actual in ("expired", "cancelled")):
                problems.append(f"reservation #{rid} answered {said!r}, in the database {actual!r}")
        names = collections.Counter(db.execute(
            sa.select(Booking.guest_name).where(Booking.source == "own", Booking.property_id == seeded["property_id"])
        ).scalars())
        for name in ledger.own:
            if names[name] != 1:
                problems.append(f"own booking {name!r} answered 303, {names[name]} in the database")
    engine.dispose()
    return problems


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def report(args, stats: Stats, elapsed: float, faults: list[str], settled: int, problems: list[str]) -> str:
    total = sum(len(v) for v in stats.latency.values())
    ok = sum(n for c in stats.status.values() for s, n in c.items() if s < 400)
    bare = sum(n for why, n in stats.causes.items() if "bare" in why)
    lines = [
        f"Faults under load: gunicorn {args.workers} workers, PostgreSQL, {args.threads} client threads, "
        f"{elapsed:.0f} s; {os.cpu_count()} cores, Python {platform.python_version()}, {dt.date.today().isoformat()}",
        "",
        f"Throughput: {total / elapsed:.0f} answers/s ({ok / elapsed:.0f}/s 2xx/3xx); {total} answers, "
        f"{sum(stats.no_answer.values())} requests without an answer",
        "",
        "| endpoint | answers | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label in sorted(stats.latency):
        values = stats.latency[label]
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(stats.status[label].items()))
        lines.append(f"| {label} | {len(values)} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} | "
                     f"{percentile(values, 99):.1f} | {statuses} |")
    lines += ["", "5xx by cause: " + (", ".join(f"{why}: {n}" for why, n in sorted(stats.causes.items())) or "none"),
              f"bare 500 pages: {bare}",
              "Requests without an answer: " + (", ".join(f"{k}: {n}" for k, n in sorted(stats.no_answer.items()))
                                                 or "none"),
              "", "Faults: " + "; ".join(faults), f"Holds still pending after the run, cancelled: {settled}",
              f"Integrity violations: {len(problems)}"]
    lines += [f"  - {p}" for p in problems[:50]]
    for why, sample in sorted(stats.samples.items()):
        if "bare" in why or "other" in why:
            lines.append(f"Sample of {why}: {sample!r}")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            sys.exit("gunicorn did not start")
        try:
            if call(port, "GET", "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("gunicorn did not answer")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threads", type=int, default=8, help="client threads; a quarter of them (at least 1) are HTML hosts")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--database-url", default=os.environ.get("FAULTS_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--results", default=str(ROOT / "bench" / "results"), help="where the report and gunicorn's log go")
    args = ap.parse_args(argv)
    url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    if not url.startswith("postgresql+psycopg://"):
        sys.exit("This benchmark runs on PostgreSQL: --database-url postgresql+psycopg://...")
    if db_name(url) in PROTECTED:
        sys.exit(f"Refusing to rebuild the database {db_name(url)!r}: give the benchmark a database of its own.")

    import secrets

    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
           "API_RATE_LIMIT": "100000000/minute", "PYTHONUNBUFFERED": "1"}
    env.pop("FLASK_DEBUG", None)
    ensure_database(url)
    rebuild(url, env)
    seeded = seed(url)
    out_dir = Path(args.results)
    out_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server_log = open(out_dir / "faults-gunicorn.log", "w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--timeout", "30",
         "--graceful-timeout", "5", "--log-level", "warning", "portal:create_app()"],
        cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    stats, ledger, stop, fault_log = Stats(), Ledger(), threading.Event(), []
    try:
        wait_until_up(port, server)
        html = max(1, args.threads // 4)
        threads = [Host(i, port, seeded, stats, ledger, stop) for i in range(html)]
        for t in threads:
            t.login()
        threads += [ApiChannel(i, port, seeded, stats, ledger, stop) for i in range(args.threads - html)]
        faults = threading.Thread(target=inject_faults, args=(url, server.pid, args.seconds, stop, fault_log),
                                  daemon=True)
        started = time.monotonic()
        for t in threads:
            t.start()
        faults.start()
        stop.wait(args.seconds)
        stop.set()
        for t in threads:
            t.join(35)
        faults.join(REFUSAL_SECONDS + 10)
        elapsed = time.monotonic() - started
        allow_connections(url, True)
        settled = settle(port, seeded)
    finally:
        stop.set()
        try:
            allow_connections(url, True)  # whatever happened, the database takes connections again
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
            server_log.close()
    problems = check(url, seeded, ledger)
    text = report(args, stats, elapsed, fault_log, settled, problems)
    print(text)
    (out_dir / "faults-latest.md").write_text(text + "\n")
    bare = sum(n for why, n in stats.causes.items() if "bare" in why)
    return 1 if problems or bare else 0


if __name__ == "__main__":
    sys.exit(main())
