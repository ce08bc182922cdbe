"""The one place that reads the time, so that tests can move it."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

_fixed: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return _fixed if _fixed is not None else dt.datetime.now(dt.timezone.utc)


def set_now(value: dt.datetime | None) -> None:
    """Freeze the clock at `value` (aware), or let it run again with None. For tests."""
    global _fixed
    if value is not None and value.tzinfo is None:
        raise ValueError("set_now needs an aware datetime")
    _fixed = value


def today(timezone: str) -> dt.date:
    """Today's date where the property is."""
    return now().astimezone(ZoneInfo(timezone)).date()
