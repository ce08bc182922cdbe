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
        # No pre-ping: it costs a round trip on every request (a third of a cached availability
        # answer). A connection that died with the server is detected on first use, and
        # SQLAlchemy then drops the whole pool; recycling bounds how old a connection gets.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_recycle": 1800},
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
        # E-mails to hosts go out through SMTP when MAIL_SERVER is set; otherwise they stay
        # in the portal's message log.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") == "1",
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "portal@localhost"),
        # Rate limits: per API key (and per address for logins); shared through Redis when
        # several app servers run.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600/minute"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "20/minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") == "1",
    }
