"""Settings from the environment."""
from __future__ import annotations

import datetime as dt
import os


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "portal.sqlite3")
    # Accept the usual postgres:// spellings and use the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_env(instance_path: str) -> dict:
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # R80: the session ends after 30 minutes without a request.
        "SESSION_TIMEOUT": dt.timedelta(minutes=int(os.environ.get("SESSION_TIMEOUT_MINUTES", "30"))),
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=int(os.environ.get("SESSION_TIMEOUT_MINUTES", "30"))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        "LANGUAGES": ["de", "en", "cs"],
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }
