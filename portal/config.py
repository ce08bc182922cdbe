"""Settings from the environment."""
from __future__ import annotations

import datetime as dt
import os
import secrets


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "portal.sqlite3")
    # Accept the usual postgres:// spellings and use the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        # A database host that drops packets would hold a worker past gunicorn's timeout (its
        # client then gets no answer at all); this way it answers 503 (portal.errors).
        url += ("&" if "?" in url else "?") + "connect_timeout=5"
    return url


MIN_SECRET_BYTES = 32
SECRET_FILE = "secret_key"


def _instance_secret(instance_path: str) -> str:
    """The key `make run` wrote into the instance folder (development only), or ""."""
    try:
        with open(os.path.join(instance_path, SECRET_FILE), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def check_secret_key(config: dict, debug: bool) -> None:
    """Refuse to run with a missing or short SECRET_KEY: anyone could forge a session with it.

    In debug mode and tests a missing key is replaced by a random one per process."""
    key = config.get("SECRET_KEY") or ""
    if len(key.encode()) >= MIN_SECRET_BYTES or (config.get("TESTING") and key):
        return
    if debug or config.get("TESTING"):
        config["SECRET_KEY"] = secrets.token_hex(32)
        return
    raise RuntimeError(
        "SECRET_KEY is missing or shorter than 32 bytes; it signs sessions and CSRF tokens. Make one with\n"
        "  export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
        "and set the same value on every app server and the worker.")


def from_env(instance_path: str) -> dict:
    return {
        # No default: create_app refuses to start without one (outside debug and tests).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        # No pre-ping: it costs a round trip on every request (a third of a cached availability
        # answer). A connection that died with the server is detected on first use, the pool is
        # dropped, and the request, which cannot have committed anything, runs once more on a
        # fresh connection (portal.errors.RetryOnDisconnect); recycling bounds a connection's age.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_recycle": 1800},
        # R80: the session ends after 30 minutes without a request.
        "SESSION_TIMEOUT": dt.timedelta(minutes=int(os.environ.get("SESSION_TIMEOUT_MINUTES", "30"))),
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=int(os.environ.get("SESSION_TIMEOUT_MINUTES", "30"))),
        # However active, a session ends this long after its login.
        "SESSION_MAX_AGE": dt.timedelta(hours=float(os.environ.get("SESSION_MAX_AGE_HOURS", "12"))),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (Werkzeug's
        # ProxyFix): login throttling counts per client address, not per proxy.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        "LANGUAGES": ["de", "en", "cs"],
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # Uploaded files (photos): a folder now, an object store later (services/core/storage.py).
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or os.path.join(instance_path, "uploads"),
        # E-mails to hosts go out through SMTP when MAIL_SERVER is set; otherwise they stay
        # in the portal's message log (account e-mails: MAIL_FOLDER).
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "") == "1",
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "portal@localhost"),
        # Without MAIL_SERVER, account e-mails (invitations, password links) are written here as
        # .eml files instead (never into the message log), so that a developer can open the link.
        "MAIL_FOLDER": os.environ.get("MAIL_FOLDER") or os.path.join(instance_path, "mail"),
        # The portal's address as users reach it (https://portal.example), for the links in
        # e-mails; unset, the request's own address (fine for `make run`, not behind a proxy
        # that passes any Host header on).
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", ""),
        # API rate limits, per key; shared through Redis when several app servers run. Logins
        # are throttled in the database (services/accounts/users.py), shared without Redis.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600/minute"),
        "SEARCH_RATE_LIMIT": os.environ.get("SEARCH_RATE_LIMIT", "60/minute"),  # the public search, per address
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") == "1",
    }
