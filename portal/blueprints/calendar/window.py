"""The plan's window of nights: which nights the URL asks for, and the links that move it.

A host opens the plan on yesterday (the guest who left this morning is still in sight) and
sees 31 nights on a desktop, 7 on a phone. The URL may name the first night (`start`) and the
number of nights (`days`, 1..62); old links name a month (`month=YYYY-MM`: its first night).
Without `days` the count is what portal.js last measured for this browser (the `plan_days`
cookie, 7 below 601 px), so a phone's first paint of the plan has 7 columns already.
Prev/next move by one window; links keep `days` only when the URL named it, so a link sent
from a desktop to a phone opens with the phone's count.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_interval

from portal.web.forms import parse_date, parse_month
from portal.web.i18n import format_locale
from services.core.errors import Invalid
from services.core.i18n import _l
from services.core.inputs import whole

DEFAULT_DAYS = 31
PHONE_DAYS = 7
MAX_DAYS = 62
COOKIE = "plan_days"

BAD_START = _l("Choose a valid date for the first night (YYYY-MM-DD).")
BAD_DAYS = _l("The number of nights must be a whole number from 1 to 62.")


@dataclass(frozen=True)
class Window:
    start: dt.date
    days: int
    today: dt.date
    explicit_days: bool = False  # the URL named `days`: links keep it

    @property
    def end(self) -> dt.date:
        """The day after the last night (exclusive, as calendar.build takes it)."""
        return self.start + dt.timedelta(days=self.days)

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def default_start(self) -> dt.date:
        return self.today - dt.timedelta(days=1)

    def args(self, start: dt.date | None = None) -> dict:
        """Query arguments of the window starting on `start` (this one's by default), the days kept
        when the URL named them; the window that opens by default has no `start`."""
        start = self.start if start is None else start
        out = {} if start == self.default_start else {"start": start.isoformat()}
        if self.explicit_days:
            out["days"] = self.days
        return out

    @property
    def prev_args(self) -> dict:
        return self.args(self.start - dt.timedelta(days=self.days))

    @property
    def next_args(self) -> dict:
        return self.args(self.end)

    @property
    def today_args(self) -> dict:
        return self.args(self.default_start)

    @property
    def query(self) -> str:
        """This window as a query string (portal.js sends the bulk form with it)."""
        return "&".join(f"{k}={v}" for k, v in {"start": self.start.isoformat(), **self.args()}.items())

    def heading(self) -> str:
        """The range in the reader's language: "26. Nov. – 26. Dez. 2026", "Nov 26 – Dec 26, 2026"."""
        return format_interval(self.start, self.last, "yMMMd", locale=format_locale())


def _days(args, cookies) -> tuple[int, bool]:
    raw = args.get("days")
    if raw is not None and raw != "":
        n = whole(raw.strip())
        if n is None:
            raise Invalid({"days": BAD_DAYS})
        return min(max(n, 1), MAX_DAYS), True
    n = whole(cookies.get(COOKIE))  # a cookie is the browser's word: a bad one is ignored
    return (min(max(n, 1), MAX_DAYS) if n else DEFAULT_DAYS), False


def _safe(day: dt.date | None) -> dt.date | None:
    """A first night that has a window before and after it (no overflow at year 1 or 9999)."""
    return day if day is not None and dt.MINYEAR < day.year < dt.MAXYEAR else None


def from_request(args, cookies, today: dt.date) -> Window:
    """The window the query asks for. A bad `start` or `days` raises Invalid (422, the message
    shown); a bad `month` is a 404 as before; a `days` beyond 1..62 is clamped."""
    days, explicit = _days(args, cookies)
    raw_start = args.get("start")
    if raw_start:
        start = _safe(parse_date(raw_start.strip()))
        if start is None:
            raise Invalid({"start": BAD_START})
    elif args.get("month"):
        start = parse_month(args.get("month"), today)
    else:
        start = today - dt.timedelta(days=1)
    return Window(start, days, today, explicit)


def containing(day: dt.date, today: dt.date, days: int) -> dt.date:
    """The first night of the window that holds `day` among those prev/next reach from the
    default window (yesterday + k * days): where a save without JavaScript returns to."""
    origin = today - dt.timedelta(days=1)
    return origin + dt.timedelta(days=((day - origin).days // days) * days)


def window_for(day: dt.date, args, cookies, today: dt.date) -> Window:
    """The window holding `day`, with the count this browser uses (the URL's `days` if named)."""
    days, explicit = _days(args, cookies)
    return Window(containing(day, today, days), days, today, explicit)
