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


def test_upgrade_keeps_existing_data_and_ical_addresses(tmp_path):
    """0002 rebuilds tables on SQLite (batch mode) while other rows reference them; existing
    iCal export URLs keep working (the plain token becomes its hash)."""
    import hashlib

    from flask_migrate import downgrade, upgrade

    from portal import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as c:
            c.exec_driver_sql("INSERT INTO office (id, name, email) VALUES (1, 'o', '')")
            c.exec_driver_sql("INSERT INTO user_account (id, email, name, password_hash, role, locale, active, created_at)"
                              " VALUES (1, 'a@b.c', 'n', 'x', 'host', 'de', 1, '2026-01-01 00:00:00')")
            c.exec_driver_sql("INSERT INTO property (id, slug, name, owner_id, office_id, street, postcode, city, country,"
                              " phone, email, timezone, currency, inventory_version, created_at) VALUES (1, 'p', 'P', 1, 1,"
                              " '', '', '', 'DE', '', '', 'Europe/Berlin', 'EUR', 0, '2026-01-01 00:00:00')")
            c.exec_driver_sql("INSERT INTO room_category (id, property_id, name, max_guests, position, ical_token)"
                              " VALUES (1, 1, 'c', 2, 0, 'tok123')")
            c.exec_driver_sql("INSERT INTO unit (id, category_id, name, position) VALUES (1, 1, 'Room 1', 0)")
        upgrade()
        with db.engine.connect() as c:
            assert c.exec_driver_sql("SELECT ical_token_hash FROM room_category").scalar() == \
                hashlib.sha256(b"tok123").hexdigest()
            assert c.exec_driver_sql("SELECT session_generation FROM user_account").scalar() == 0
            assert c.exec_driver_sql("SELECT count(*) FROM unit").scalar() == 1
        downgrade(revision="0001")
        upgrade()
    with app.app_context():
        db.engine.dispose()
