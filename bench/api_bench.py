"""Throughput under gunicorn with PostgreSQL, the figures of issue 16: POST /reservations (holds on
random stays), GET /availability on random 60-night ranges (cache misses) and on one range
(cache hits), each as a ratio to a trivial endpoint (/healthz) of the same app in the same run,
and the calendar page (30 units x 31 nights, logged in as the host) as its time over /healthz's.
Runs are interleaved (each round measures every endpoint in turn); medians of the rounds.
The database is never ANALYZEd: the plans must not depend on statistics.

    .venv/bin/python bench/api_bench.py [--seconds 10] [--runs 3] [--workers 4] [--connections 8]

Needs PostgreSQL (DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/bench_api,
created if missing and rebuilt from the migrations) and wrk (apt-get install wrk). Load goes
only to 127.0.0.1. Prints a Markdown table and writes bench/results/api-latest.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database, free_port  # noqa: E402
EXTRA_ENV = dict(kv.split("=", 1) for kv in os.environ.get("BENCH_EXTRA_ENV", "").split() if kv)
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_api"

POST_LUA = r"""
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() + id * 7919)
end
request = function()
  counter = counter + 1
  local offset = math.random(1, 330)
  local arrival = os.date("!%Y-%m-%d", os.time() + offset * 86400)
  local departure = os.date("!%Y-%m-%d", os.time() + (offset + 2) * 86400)
  local category = CATEGORIES[math.random(1, #CATEGORIES)]
  local body = string.format(
    '{"external_id":"bench-%d-%d-%d","room_category_id":%d,"arrival":"%s","departure":"%s","guest":{"name":"Bench Guest"},"status":"pending"}',
    id, counter, math.random(1, 1000000000), category, arrival, departure)
  return wrk.format("POST", "/api/v1/reservations", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer KEY"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("STATUS non2xx=%d\n", summary.errors.status))
end
"""

MISS_LUA = r"""
function init(args)
  math.randomseed(os.time() + math.random(1, 100000))
end
request = function()
  local offset = math.random(1, 300)
  local from = os.date("!%Y-%m-%d", os.time() + offset * 86400)
  local to = os.date("!%Y-%m-%d", os.time() + (offset + 60) * 86400)
  return wrk.format("GET", "/api/v1/availability?from=" .. from .. "&to=" .. to, {["Authorization"] = "Bearer KEY"})
end
"""

HEADER_LUA = r"""
wrk.headers["Authorization"] = "Bearer KEY"
"""


def host_cookie(base: str) -> str:
    """Log in as the bench host (the login form with its CSRF token); the session cookie."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": "bench@example.com", "password": "bench-password"})
    opener.open(base + "/login", data=form.encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)






def prepare(url: str) -> tuple[str, list[int]]:
    """Rebuild the schema, create a 30-unit property with a year of rates, return (key, category ids)."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from services.channels import connections
    from services.core import clock
    from services.models import NightRate, Property, RoomCategory, Unit
    from services.accounts.users import create_user
    from services.properties.registry import ensure_office

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "k" * 32})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade()
        s = db.session
        office = ensure_office(s, "Bench office")
        host = create_user(s, "bench@example.com", "Bench Host", "bench-password", "host")
        now = clock.now()
        prop = Property(slug="bench", name="Bench", owner_id=host.id, office_id=office.id,
                        contract_active_since=now, created_at=now)
        s.add(prop)
        s.flush()
        today = clock.today(prop.timezone)
        cat_ids = []
        for c in range(5):
            cat = RoomCategory(property_id=prop.id, name=f"Category {c}", max_guests=2, position=c)
            s.add(cat)
            s.flush()
            cat_ids.append(cat.id)
            s.add_all(Unit(category_id=cat.id, name=f"Room {c}{i}", position=i) for i in range(6))
            s.execute(NightRate.__table__.insert(), [
                {"category_id": cat.id, "night": today + dt.timedelta(days=i), "quota": 6, "price": Decimal("90.00"),
                 "min_stay": 1, "closed": False, "closed_to_arrival": False, "closed_to_departure": False}
                for i in range(366)])
        s.commit()
        _, key = connections.switch_on(s, None, prop, "api")  # the default 60-minute hold
        db.engine.dispose()  # no ANALYZE: a fresh database has no statistics on this machine kind
    return key, cat_ids


CONNECTIONS = 8


def wrk(url: str, seconds: int, script: str | None, connections: int | None = None) -> tuple[float, str]:
    cmd = ["wrk", "-t", "2", "-c", str(connections or CONNECTIONS), "-d", f"{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread when > 1)")
    args = ap.parse_args()
    global CONNECTIONS
    CONNECTIONS = args.connections
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql"):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL=postgresql+psycopg://...")
    ensure_database(url)
    key, cat_ids = prepare(url)
    tmp = Path(tempfile.mkdtemp(prefix="api-bench-"))
    (tmp / "post.lua").write_text("CATEGORIES = {" + ",".join(map(str, cat_ids)) + "}\n" + POST_LUA.replace("KEY", key))
    (tmp / "get.lua").write_text(HEADER_LUA.replace("KEY", key))
    (tmp / "miss.lua").write_text(MISS_LUA.replace("KEY", key))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "API_RATE_LIMIT": "100000000/minute", "SECRET_KEY": "bench-" + "k" * 32, **EXTRA_ENV}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "--threads", str(args.threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "portal:create_app()"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        today = dt.date.today()
        (tmp / "calendar.lua").write_text(f'wrk.headers["Cookie"] = "{host_cookie(base)}"\n')
        targets = {
            "GET /healthz (trivial)": (base + "/healthz", None),
            "POST /api/v1/reservations, holds on random stays of one property":
                (base + "/api/v1/reservations", str(tmp / "post.lua")),
            "GET /api/v1/availability, random 60-night ranges (cache misses)":
                (base + "/api/v1/availability", str(tmp / "miss.lua")),
            "GET /api/v1/availability, repeated range (cache hits)":
                (f"{base}/api/v1/availability?from={today + dt.timedelta(days=1)}&to={today + dt.timedelta(days=32)}", str(tmp / "get.lua")),
            "GET /login (a trivial page)": (base + "/login", None),
            "calendar page, 30 units x 31 nights (logged in as the host)":
                (base + "/p/bench/calendar", str(tmp / "calendar.lua")),
        }
        for target, script in targets.values():
            wrk(target, 2, script)  # warm-up
        results: dict[str, list[float]] = {name: [] for name in targets}
        notes = ""
        for _ in range(args.runs):
            for name, (target, script) in targets.items():
                rps, out = wrk(target, args.seconds, script)
                results[name].append(rps)
                if "POST" in name:
                    notes = out.split("STATUS", 1)[-1].strip() if "STATUS" in out else ""
    finally:
        server.terminate()
        server.wait(10)
    base_rps = statistics.median(results["GET /healthz (trivial)"])
    lines = [
        f"Throughput, gunicorn {args.workers} workers x {args.threads} threads, PostgreSQL (never ANALYZEd), "
        f"wrk 2 threads x {args.connections} connections, {args.runs} interleaved runs x {args.seconds} s; "
        f"{os.cpu_count()} cores, load average at the end {open('/proc/loadavg').read().split()[:3]}, "
        f"Python {platform.python_version()}, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        "| endpoint | median req/s | runs | ratio to /healthz | goal (issue 16) |",
        "|---|---:|---|---:|---|",
    ]
    goals = {"POST": ("≥", 0.15), "cache misses": ("≥", 0.25), "cache hits": ("≥", 0.7)}
    for name, values in results.items():
        ratio = statistics.median(values) / base_rps
        if name.startswith("calendar"):
            # Server time of the page over a trivial page's (GET /login, as in bench/run.py).
            times = statistics.median(results["GET /login (a trivial page)"]) / statistics.median(values)
            lines.append(f"| {name} | {statistics.median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} | "
                         f"{ratio:.3f} (page time {times:.1f}x GET /login's) | ≤ 8x {'✅' if times <= 8 else '❌'} |")
            continue
        goal = next(((op, g) for k, (op, g) in goals.items() if k in name), None)
        mark = f"{goal[0]} {goal[1]} {'✅' if ratio >= goal[1] else '❌'}" if goal else ""
        lines.append(f"| {name} | {statistics.median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} | {ratio:.2f} | {mark} |")
    lines += ["", f"POST outcomes in the last run (holds for random dates; 409 when nights are gone): {notes}"]
    text = "\n".join(lines)
    print(text)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "api-latest.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
