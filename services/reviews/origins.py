"""The websites that may frame a tourist office's public review blocks (CSP frame-ancestors).

Each origin is scheme://host[:port]: https, or http for a local test host (localhost,
127.0.0.1); no path, query, user or wildcard. Only the office's staff set them; the history
keeps each change."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from services.accounts import access
from services.core import audit
from services.core.db import use_case
from services.core.errors import Forbidden, Invalid
from services.core.i18n import _l
from services.models import User

MAX_ORIGINS = 20
LOCAL_HOSTS = ("localhost", "127.0.0.1")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def parse_origin(text: str) -> str | None:
    """The origin in its canonical form ("https://www.example.de", "https://example.de:8443"), or None."""
    if not text.isascii() or any(c in text for c in "\"';,*\\ \t"):
        return None
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("https", "http") or not _HOST.match(host):
        return None
    if parts.scheme.lower() == "http" and host not in LOCAL_HOSTS:
        return None
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if port is not None and not 0 < port < 65536:
        return None
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def parse_origins(text: str) -> list[str]:
    """Origins separated by spaces or lines; Invalid naming the first one that is none."""
    found: list[str] = []
    for word in (text or "").split():
        origin = parse_origin(word)
        if origin is None:
            raise Invalid({"origins": _l("“%(origin)s” is no website address of the form https://www.example.de (no path).", origin=word[:100])})
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        raise Invalid({"origins": _l("At most %(num)s websites.", num=MAX_ORIGINS)})
    return found


def set_embed_origins(session: Session, actor: User, text: str) -> list[str]:
    """Staff of an office: the websites that may show its review blocks."""
    access.require_staff(actor)
    if actor.office is None:
        raise Forbidden(_l("Only staff of a tourist office can set its websites."))
    origins = parse_origins(text)
    with use_case(session):
        office = actor.office
        old = office.embed_origins
        office.embed_origins = " ".join(origins)
        if office.embed_origins != old:
            audit.record(session, actor, None, "embed_origins_changed", old=old, new=office.embed_origins)
    return origins
