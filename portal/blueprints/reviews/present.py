"""The reviews' figures in the reader's language: scores, the block's summary, the chart."""
from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

from portal.web.i18n import fmt_date, format_locale, gettext, ngettext, tr
from services.core.i18n import _l
from services.reviews.display import Block, Figures

# The partner's sub-scores (HolidayCheck's); any other name is shown as the partner sent it.
SUB_SCORE_LABELS = {"room": _l("Room"), "service": _l("Service"), "location": _l("Location"),
                    "food": _l("Food"), "hotel": _l("Hotel")}


def score(value: Decimal | None) -> str:
    """A score with one decimal the reader's way ("5,3" / "5.3"); a dash for none."""
    if value is None:
        return "–"
    rounded = Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_UP)  # 5.25 -> 5.3, as people round
    return format_decimal(rounded, format="0.0", locale=format_locale())


def scale(value: Decimal | None) -> str:
    """A scale's end without needless decimals ("6", "10", "5,5")."""
    return "–" if value is None else format_decimal(value, format="0.##", locale=format_locale())


def sub_score_order(name: str) -> tuple:
    """The partner's sub-scores in its own order, any other name after them by name."""
    names = list(SUB_SCORE_LABELS)
    return (names.index(name), "") if name in names else (len(names), name)


def review_sub_scores(review) -> list[tuple[str, str]]:
    """(label, score) of a review's sub-scores in the partner's order; a value that is no
    number is left out (the partner's data, not ours to guess)."""
    out = []
    for name in sorted(review.sub_scores or {}, key=sub_score_order):
        value = review.sub_scores[name]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((sub_score_label(name), score(value)))
    return out


def sub_score_label(name: str) -> str:
    label = SUB_SCORE_LABELS.get(name)
    return tr(label) if label is not None else name


def summary(b: Block) -> str:
    """ "5.3 / 6, 27 reviews" (the count and average over all reviews, R62)."""
    reviews = ngettext("%(num)s review", "%(num)s reviews", b.count)
    if b.average is None:
        return reviews
    return gettext("%(average)s / %(best)s, %(reviews)s", average=score(b.average), best=scale(b.scale_max),
                   reviews=reviews)


def percent(rate: Decimal | None) -> str:
    if rate is None:
        return "–"
    return format_decimal(rate * 100, format="0", locale=format_locale()) + "\u00a0%"


@dataclasses.dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # "Mar 2026: 5.3 (4 reviews)"
    month: str
    average: str
    count: int


@dataclasses.dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    left: float
    baseline: float
    top: float
    low: str  # the scale's ends, written the reader's way
    high: str
    first: str
    last: str


def chart(f: Figures, scale_min: Decimal | None, scale_max: Decimal | None) -> Chart | None:
    """Bars of the monthly average over the last 24 months (a month without reviews: no bar),
    from the scale's lowest (the axis) to its best score; None without any review in the time."""
    if not any(m.count for m in f.months) or scale_min is None or scale_max is None:
        return None
    width, height, left, top, bottom = 400, 150, 28, 10, 128
    slot = (width - left) / len(f.months)
    span = float(scale_max - scale_min) or 1.0
    bars = []
    for i, m in enumerate(f.months):
        month = fmt_date(m.month, "LLL yyyy")
        if m.average is None:
            continue
        h = max(2.0, (float(m.average - scale_min) / span) * (bottom - top))
        bars.append(Bar(x=round(left + i * slot + slot * 0.15, 1), y=round(bottom - h, 1), width=round(slot * 0.7, 1),
                        height=round(h, 1), month=month, average=score(m.average), count=m.count,
                        label=f"{month}: {score(m.average)} ({ngettext('%(num)s review', '%(num)s reviews', m.count)})"))
    return Chart(width=width, height=height, bars=bars, left=left, baseline=bottom, top=top, low=scale(scale_min),
                 high=scale(scale_max), first=fmt_date(f.months[0].month, "LLL yyyy"),
                 last=fmt_date(f.months[-1].month, "LLL yyyy"))


def helpers() -> dict:
    """What the templates of both pages call."""
    return {"score": score, "scale": scale, "sub_score_label": sub_score_label, "review_summary": summary,
            "percent": percent, "review_sub_scores": review_sub_scores}
