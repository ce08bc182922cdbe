"""The occupancy plan: a month of categories x nights, night editing, bulk editing."""
import datetime as dt

from flask import abort, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.calendar import bp
from portal.blueprints.calendar.forms import BulkForm, NightForm
from portal.extensions import db
from portal.web.forms import apply_errors, parse_date, parse_month
from portal.web.i18n import fmt_date, tr
from portal.web.render import is_fragment_request, render
from services.accounts import access
from services.availability import calendar, inventory, rates
from services.core import clock
from services.availability.pricing import final_price
from services.core.errors import Conflict, Invalid


def _plan(prop, month: dt.date):
    start, end = calendar.month_bounds(month)
    return calendar.build(db.session, prop, start, end)


@bp.route("/p/<slug>/calendar")
@login_required
def plan(slug):
    """The month plan; htmx navigation swaps only the plan."""
    prop = access.property_for(db.session, current_user, slug)
    month = parse_month(request.args.get("month"), clock.today(prop.timezone))
    p = _plan(prop, month)
    bulk = BulkForm(formdata=None, start=max(p.start, p.today), end=p.end - dt.timedelta(days=1))
    bulk.categories.choices = [(c.id, c.name) for c in prop.categories]
    bulk.categories.data = [c.id for c in prop.categories]
    return render("calendar/page.html", "plan", prop=prop, plan=p, bulk=bulk)


def _night_context(slug, cat_id, night):
    prop = access.property_for(db.session, current_user, slug)
    cat = inventory.category_of(db.session, prop.id, cat_id)
    day = parse_date(night) or abort(404)
    figures = inventory.nights_for(db.session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    return prop, cat, day, figures


@bp.route("/p/<slug>/calendar/night/<id:cat_id>/<night>", methods=["GET", "POST"])
@login_required
def night(slug, cat_id, night):
    """Edit one night of one category: price, quota, minimum stay, closed, no arrival/departure."""
    prop, cat, day, figures = _night_context(slug, cat_id, night)
    rate = rates.night_rate(db.session, cat, day)
    if request.method == "GET":
        form = NightForm(formdata=None, obj=rate, quota=rate.quota if rate else len(cat.units))
    else:
        form = NightForm()
    status = 200
    if form.validate_on_submit():
        change = rates.RateChange(
            price=form.price.data, quota=form.quota.data, min_stay=form.min_stay.data or 1,
            closed=form.closed.data, closed_to_arrival=form.closed_to_arrival.data,
            closed_to_departure=form.closed_to_departure.data,
        )
        try:
            rates.set_night(db.session, current_user, prop, cat, day, change)
        except Invalid as e:
            apply_errors(form, e)
        except Conflict as e:
            form.quota.errors = list(form.quota.errors) + [tr(e.message)]
        else:
            if not is_fragment_request():
                return redirect(url_for("calendar.plan", slug=slug, month=day.strftime("%Y-%m")))
            figures = inventory.nights_for(db.session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
            return render("calendar/night.html", "saved", prop=prop, cat=cat, day=day, n=figures,
                          final=final_price(prop, cat.id, figures.price),
                          message=_("%(category)s, %(night)s saved.", category=cat.name, night=fmt_date(day, "medium")))
    if form.is_submitted():
        status = 422
    return render("calendar/night.html", "editor", status=status, prop=prop, cat=cat, day=day, form=form,
                  n=figures, final=final_price(prop, cat.id, figures.price))


@bp.route("/p/<slug>/calendar/bulk", methods=["GET", "POST"])
@login_required
def bulk(slug):
    """Set price, quota, minimum stay or open/close over a range of nights and weekdays."""
    prop = access.property_for(db.session, current_user, slug)
    form = BulkForm()
    form.categories.choices = [(c.id, c.name) for c in prop.categories]
    month = parse_month(request.args.get("month"), clock.today(prop.timezone))
    status = 200
    if request.method == "GET":
        today = clock.today(prop.timezone)
        form = BulkForm(formdata=None, start=today, end=today + dt.timedelta(days=30))
        form.categories.choices = [(c.id, c.name) for c in prop.categories]
        form.categories.data = [c.id for c in prop.categories]
    elif form.validate_on_submit():
        flag = lambda v: None if v == "" else v == "1"  # noqa: E731
        change = rates.RateChange(
            price=form.price.data, quota=form.quota.data, min_stay=form.min_stay.data,
            closed=flag(form.closed.data), closed_to_arrival=flag(form.closed_to_arrival.data),
            closed_to_departure=flag(form.closed_to_departure.data),
        )
        cats = [c for c in prop.categories if c.id in set(form.categories.data or [])]
        try:
            count = rates.bulk_edit(db.session, current_user, prop, cats, form.start.data, form.end.data,
                                    set(form.weekdays.data or []), change)
        except Invalid as e:
            apply_errors(form, e)
        except Conflict as e:
            form.quota.errors = list(form.quota.errors) + [tr(e.message)]
        else:
            message = ngettext("%(num)s night updated.", "%(num)s nights updated.", count)
            if not is_fragment_request():
                return redirect(url_for("calendar.plan", slug=slug, month=month.strftime("%Y-%m")))
            return render("calendar/page.html", "bulk_saved", prop=prop, plan=_plan(prop, month), bulk=form,
                          message=message)
    if form.is_submitted():
        status = 422
    return render("calendar/bulk.html", "bulk_form", status=status, prop=prop, bulk=form, month=month)
