"""bench/faults.py for 10 seconds: gunicorn with 4 workers on PostgreSQL under mixed traffic,
a worker SIGKILLed, every backend terminated, new connections refused for 2 s. Nothing may be
half-written or answered against the database, and no answer may be gunicorn's bare 500."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import database_url, is_postgres

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.postgres_only,
              pytest.mark.skipif(not is_postgres(), reason="gunicorn and faults on PostgreSQL only")]


def faults_database() -> str:
    """The suite's database name + "_faults": the benchmark rebuilds it, and it refuses
    connections for a while, so it is never the suite's own."""
    url = urlsplit(database_url())
    return url._replace(path=url.path + "_faults").geturl()


def test_ten_seconds_of_load_and_faults_leave_no_violation_and_no_bare_500(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faults.py"), "--seconds", "10", "--threads", "6",
         "--database-url", faults_database(), "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = run.stdout + run.stderr
    assert "Integrity violations: 0" in report, report
    assert "bare 500 pages: 0" in report, report
    assert "SIGKILL worker [" in report and "pg_terminate_backend x" in report, report
    assert "ALLOW_CONNECTIONS true" in report, report
    assert run.returncode == 0, report
