"""What the benchmarks that start servers on PostgreSQL share: their database, created if
missing, and a free local port."""
from __future__ import annotations

import socket


def ensure_database(url: str) -> str:
    """Create the database of `url` (postgresql+psycopg://.../name) unless it exists; returns `url`."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
