"""The schema comes only from migrations, and they produce exactly what the models declare."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db
from services.models import Base


def test_migrations_match_the_models(app):
    # The session's database was built by `flask db upgrade` (tests/conftest.py).
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_no_create_all_in_production_code():
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    offenders = [str(p) for d in ("portal", "services") for p in (root / d).rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []
