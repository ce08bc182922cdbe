"""Planner statistics on PostgreSQL: ANALYZE after migrations, after bulk loads, and now and then.

This machine kind runs PostgreSQL without autovacuum, so nothing else gathers them. The hot
reads do not need them (issue 16: their plans are range scans of ix_occupancy_category_id_night
by construction, tests/services/availability/test_plans.py), but every other plan is better
with them. `flask db upgrade` analyzes every table (a database freshly migrated or restored has
none); the worker (`flask worker`) analyzes the tables much changed since their last ANALYZE
after each round (bulk loads: an iCal import, data brought in, a restore) and every table once
every `EVERY`. Cheap: ANALYZE reads a sample of at most 30,000 rows per table.

SQLite: nothing. Its queries are written for a planner without statistics; sqlite_stat1 would
only bring plans that no test has seen.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.models import Base

EVERY = dt.timedelta(hours=6)
# autovacuum's defaults: a table is due once 50 rows plus 10 % of it changed since its last ANALYZE
THRESHOLD, SCALE = 50, 0.1


def _ours() -> set[str]:
    return {t.name for t in Base.metadata.sorted_tables}


def analyze(engine: sa.engine.Engine, tables: list[str] | None = None) -> list[str]:
    """ANALYZE these tables of the app (default: all of them); returns those analyzed."""
    if engine.dialect.name != "postgresql":
        return []
    names = sorted(_ours() if tables is None else set(tables) & _ours())
    if names:
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            conn.exec_driver_sql("ANALYZE " + ", ".join(quote(n) for n in names))
    return names


def changed(engine: sa.engine.Engine) -> list[str]:
    """The app's tables changed by more than 50 rows + 10 % since their last ANALYZE (or, never
    analyzed, since they were created). PostgreSQL's activity counters, one cheap query."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        names = conn.execute(sa.text(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
            "AND n_mod_since_analyze > :threshold + :scale * n_live_tup"
        ), {"threshold": THRESHOLD, "scale": SCALE}).scalars().all()
    return sorted(set(names) & _ours())


def analyze_changed(engine: sa.engine.Engine) -> list[str]:
    """ANALYZE the tables `changed` names; returns them."""
    return analyze(engine, changed(engine)) if engine.dialect.name == "postgresql" else []
