"""The cells of the occupancy plan (category nights and unit rows), written in Python.

A month of 30 units is about 1000 cells; through Jinja each cost ten times what an f-string
does, and together they were half of the page's time (bench/run.py). The markup is the one
the template had; tests/web and tests/browser read it. Everything from the database or the
user is escaped here.
"""
from __future__ import annotations

import datetime as dt

from babel.dates import format_date
from markupsafe import Markup, escape

from portal.web.i18n import DATE_SKELETONS, fmt_date, format_locale, gettext, money, ngettext, request_memo, short_money
from portal.web.labels import source_label
from services.core.i18n import _l


class _Dates(dict):
    """Dates in one format for this request: each formatted on its first use, then looked up;
    the reader's locale is looked up once (fmt_date's output: a Babel style or CLDR pattern)."""

    def __init__(self, format: str):
        super().__init__()
        self.format = format
        self.locale = format_locale()

    def __missing__(self, day: dt.date) -> str:
        if type(day) is dt.date and self.format not in DATE_SKELETONS:
            text = format_date(day, self.format, locale=self.locale)
        else:
            text = fmt_date(day, self.format)
        self[day] = text
        return text


def dates(format: str = "short") -> _Dates:
    """This request's dates in `format` (fmt_date's), formatted once each: a month of bars starts and
    ends on the same 32 dates, and each fmt_date call costs a locale look-up (babel is slow)."""
    memo = request_memo()
    key = ("dates", format)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _Dates(format)
    return found


def weekday_names() -> list[str]:
    """The reader's shortest weekday names, Monday first ("Mo", "Di" ... / "Mo", "Tu" ...): the
    plan's column heads (babel's EEEEEE), seven look-ups instead of a date format per column."""
    memo = request_memo()
    names = memo.get("weekday_names")
    if names is None:
        days = format_locale().days["format"]["short"]
        names = memo["weekday_names"] = [days[i] for i in range(7)]
    return names


def _bar_label(memo: dict, kind: str, source: str) -> str:
    key = ("bar-label", kind, source)
    label = memo.get(key)
    if label is None:
        label = memo[key] = (
            gettext("temporarily unconfirmed reservation from %(channel)s", channel=source_label(source))
            if kind == "hold" else source_label(kind))
    return label


def unit_cells(row, today: dt.date, book_base: str, detail_base: str) -> Markup:
    """The cells of one unit's row: a link to book each free night from today, a bar per booking."""
    unit_id = row.unit.id
    name = escape(row.unit.name)
    book_base, detail_base = escape(book_base), escape(detail_base)
    memo = request_memo()  # bar titles repeat labels and dates across the rows
    short = dates("short")
    out = []
    for c in row.cells:
        if type(c) is dt.date:
            iso = c.isoformat()
            if c < today:
                out.append(f'<td class="free past" data-unit="{unit_id}" data-unit-name="{name}" data-night="{iso}"></td>')
            else:
                out.append(f'<td class="free" data-unit="{unit_id}" data-unit-name="{name}" data-night="{iso}">'
                           f'<a href="{book_base}?unit_id={unit_id}&amp;arrival={iso}" aria-label="{name} {iso}"></a></td>')
            continue
        b, kind = c.booking, c.kind
        key = ("bar", kind, b.source, b.arrival, b.departure)
        if key not in memo:
            memo[key] = escape(f"{_bar_label(memo, kind, b.source)} · {short[b.arrival]}–{short[b.departure]}")
        classes = f"bar k-{kind}" + (" cont-l" if c.continues_before else "") + (" cont-r" if c.continues_after else "")
        guest = escape(b.guest_name)
        title = f"{guest} · {memo[key]}"
        first = f' data-night="{c.first.isoformat()}"' if c.first else ""
        # The name is cut with an ellipsis in a narrow bar: title (hover) and aria-label (focus) keep it whole.
        out.append(f'<td colspan="{c.span}" class="{classes}"{first}><a href="{detail_base}{b.id}" hx-get="{detail_base}{b.id}" '
                   f'title="{title}" aria-label="{title}">{guest}</a></td>')
    return Markup("".join(out))


def overbooked_cells(row, detail_base: str) -> Markup:
    """An "overbooked" lane of a category (services.availability.calendar): the nights bookings
    have without a room, as red bars linking to the booking; nothing to book in between."""
    detail_base = escape(detail_base)
    short = dates("short")
    out = []
    for c in row.cells:
        if type(c) is dt.date:
            out.append(f'<td class="ob-none" data-night="{c.isoformat()}"></td>')
            continue
        b = c.booking
        guest = escape(b.guest_name)
        title = escape(gettext("%(guest)s: no room on these nights (overbooked, %(channel)s, %(stay)s)",
                               guest=b.guest_name, channel=source_label(b.source),
                               stay=f"{short[b.arrival]}–{short[b.departure]}"))
        classes = "bar ob" + (" cont-l" if c.continues_before else "") + (" cont-r" if c.continues_after else "")
        out.append(f'<td colspan="{c.span}" class="{classes}" data-night="{c.first.isoformat()}" '
                   f'data-booking="{b.id}"><a href="{detail_base}{b.id}" hx-get="{detail_base}{b.id}" '
                   f'title="{title}" aria-label="{title}">{guest}</a></td>')
    return Markup("".join(out))


CELL_TITLE = _l("free %(free)s of %(units)s · quota %(quota)s · available online %(available)s")
FINAL_PRICE = _l("final price")


def _patterns() -> tuple[str, str]:
    """The cell title as a translated pattern (placeholders kept), and the words "final price"."""
    keep = {name: f"%({name})s" for name in ("free", "units", "quota", "available")}
    return gettext(CELL_TITLE.text, **keep), gettext(FINAL_PRICE.text)


def _price_text(price) -> str:
    return short_money(price) if price is not None else "–"


def night_cell(n, final, cat_id: int, today: dt.date, night_base: str, currency: str, oob: bool = False,
               _texts: tuple | None = None, gap=None, resale_blocked: bool = False) -> Markup:
    """One night of a room category: free/total, price, restriction marks; a link to edit it from today.

    `_texts` (title pattern, "final price", price text, final-price text) spares a month of
    cells the same look-ups; the night editor's out-of-band update passes none."""
    title_pattern, final_label, price_text, final_text = _texts or (
        *_patterns(), _price_text(n.price), money(final, currency))
    iso = n.night.isoformat()
    past = n.night < today
    # The past is only shown; a night without a price is not for sale (its own legend entry), not "full".
    state = ("" if past else " closed" if n.closed else " unpriced" if n.price is None
             else " full" if n.available == 0 else "")
    title = title_pattern % {"free": n.free, "units": n.units, "quota": n.quota, "available": n.available}
    if final is not None:
        title += f" · {final_label} {final_text}"
    marks = (("✕" if n.closed else "") + ("→|" if n.closed_to_arrival else "") + ("|→" if n.closed_to_departure else "")
             + (f"≥{n.min_stay}" if n.min_stay > 1 else "") + (f"≤{n.max_stay}" if n.max_stay is not None else ""))
    url = f"{escape(night_base)}{cat_id}/{iso}"
    if not past and n.available == 0:  # a night offering nothing says why (calendar.why: fixes, the editor's link)
        url = url.replace("/calendar/night/", "/calendar/why/", 1)
        title += " · " + gettext("not bookable online: open it to see why")
    opening, closing = ('<span class="ro">', "</span>") if past else (f'<a href="{url}" hx-get="{url}">', "</a>")
    swap = 'hx-swap-oob="true" ' if oob else ""
    gap_attrs, fix = _gap(gap, cat_id, iso, night_base) if gap is not None and not past else ("", "")
    if gap_attrs:
        title += " · " + gap_attrs[1]
        state += " gap"
        closing += fix
    count = f"{n.free}/{n.units}"
    if n.unplaced:  # notify mode, iCal: more sold than the category has (the "overbooked" lane)
        count = f"{n.balance}/{n.units}" if n.balance < 0 else count
        state += " overbooked"
        title += " · " + ngettext("overbooked: %(num)s unit sold without a room", "overbooked: %(num)s units sold without a room",
                                  n.unplaced)
    if resale_blocked and not past:  # R53: a searched risk-free room-night meets a restriction here
        state += " resale-blocked"
        title += " · " + gettext("A risk-free room-night is searched here: lift the restriction to be sure of payment")
    return Markup(
        f'<td id="n-{cat_id}-{iso}" {swap}class="night{state}{" past" if past else ""}" '
        f'title="{escape(title)}" data-cat="{cat_id}" data-night="{iso}"{gap_attrs[0] if gap_attrs else ""}>{opening}<span class="free-count">{count}</span>'
        f'<span class="price">{escape(price_text)}</span><span class="marks">{marks}</span>{closing}</td>')


def _gap(gap, cat_id: int, iso: str, night_base: str) -> tuple[tuple[str, str], str]:
    """A gap night (services.availability.gaps): its data attribute and words; its first night
    also gets the one-click fix (POST, CSRF by htmx) that lowers the minimum stay to the gap's length."""
    text = ngettext("Gap: %(num)s night, minimum stay %(min_stay)s", "Gap: %(num)s nights, minimum stay %(min_stay)s",
                    gap.length, min_stay=gap.min_stay)
    fix = ""
    if gap.first.isoformat() == iso:
        label = escape(ngettext("Lower the minimum stay of these nights to %(num)s night",
                                "Lower the minimum stay of these nights to %(num)s nights", gap.length))
        url = f"{escape(night_base).replace('/calendar/night/', '/calendar/gap/', 1)}{cat_id}/{iso}"
        fix = (f'<button type="button" class="gap-fix" hx-post="{url}" hx-swap="none" title="{label}" '
               f'aria-label="{label}">≥{gap.length}</button>')
    return (f' data-gap="{gap.length}" aria-description="{escape(text)}"', text), fix


def night_cells(row, today: dt.date, night_base: str, currency: str, oob: bool = False) -> Markup:
    """A room category's nights for the window; prices repeat night after night, so each
    value is formatted once (babel is slow). `oob`: each cell replaces its namesake on the page
    (after a night edit, whose neighbours may have become or stopped being a gap)."""
    pattern, final_label = _patterns()
    prices: dict = {}
    finals: dict = {}
    gaps = getattr(row, "gaps", {})  # nights that can never sell (services.availability.gaps)
    blocked = getattr(row, "resale_blocked", set())  # R53 (services.availability.calendar)
    out = []
    for n, final in zip(row.nights, row.finals):
        if n.price not in prices:
            prices[n.price] = _price_text(n.price)
        if final not in finals:
            finals[final] = money(final, currency)
        out.append(night_cell(n, final, row.category.id, today, night_base, currency, oob=oob,
                              _texts=(pattern, final_label, prices[n.price], finals[final]), gap=gaps.get(n.night),
                              resale_blocked=n.night in blocked))
    return Markup("".join(out))
