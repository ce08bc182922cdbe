"""Service tests run without the app: the domain on a plain SQLAlchemy session over the test
database (tests/conftest.py's `engine`), as a worker or a script would use it."""
from __future__ import annotations

import os

import pytest
from sqlalchemy.orm import Session

from services.core.i18n import set_catalog_dir
from tests.conftest import app_session

# What create_app does for the domain besides the engine (tests/conftest.py's `engine` is set up
# with configure_engine): e-mails are worded from the compiled catalogs.
set_catalog_dir(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "portal", "translations"))


@pytest.fixture
def session(request, engine):
    """A plain `sqlalchemy.orm.Session`. A test that drives the app as well (its CLI, say)
    gets the app's session instead: on SQLite a second connection would wait for the write
    lock the test's open transaction holds."""
    if "app" in request.fixturenames:
        with app_session(request.getfixturevalue("app")) as s:
            yield s
        return
    with Session(engine) as s:
        yield s
