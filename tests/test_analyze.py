"""Planner statistics (services/core/analyze.py): `flask db upgrade` ANALYZEs every table, the
worker the tables a bulk load changed. PostgreSQL only, in a schema of their own, so that the rest
of the run keeps a database where ANALYZE never ran (tests/services/availability/test_plans.py)."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from services.core import analyze
from tests.conftest import BASE_CONFIG, app_session, is_postgres
from tests.factories import make_property

pytestmark = [pytest.mark.postgres_only, pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's statistics")]

SCHEMA = "analyze_test"


@pytest.fixture
def scratch(engine):
    """An app over an empty schema of the test database (its own search_path)."""
    from portal import create_app

    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    app = create_app({**BASE_CONFIG, "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={SCHEMA}"}}})
    try:
        yield app
    finally:
        from portal.extensions import db

        with app.app_context():
            db.engine.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _last_analyze(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = :s"),
                                 {"s": SCHEMA}).all())


def test_db_upgrade_analyzes_every_table_and_the_worker_those_a_bulk_load_changed(scratch, engine):
    runner = scratch.test_cli_runner()
    assert not _last_analyze(engine)  # nothing there yet
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "ANALYZE" in result.output
    after_upgrade = _last_analyze(engine)
    tables = set(analyze._ours())
    assert tables <= set(after_upgrade)
    assert all(after_upgrade[t] is not None for t in tables), {t for t in tables if after_upgrade[t] is None}

    # A bulk load: a year of rates for 3 categories (over 1,000 rows of night_rate).
    with app_session(scratch) as s:
        make_property(s, categories=3, days=365)
        s.execute(sa.text("SELECT pg_stat_force_next_flush()"))  # the counters now, not within a second
        s.commit()
    from portal.extensions import db

    with scratch.app_context():
        for _ in range(50):  # the counters reach the shared statistics once the session is idle
            if "night_rate" in analyze.changed(db.engine):
                break
            time.sleep(0.1)
        assert "night_rate" in analyze.changed(db.engine)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    after_worker = _last_analyze(engine)
    assert after_worker["night_rate"] > after_upgrade["night_rate"]
    assert after_worker["photo"] == after_upgrade["photo"]  # unchanged tables wait for the 6-hourly round
    with scratch.app_context():
        assert "night_rate" not in analyze.changed(db.engine)
