"""The occupancy plan: a window of nights x categories, night editing, bulk editing, why a night
cannot be booked, undo of the last calendar edit, gap nights."""
import datetime as dt
from urllib.parse import parse_qs, urlsplit

from flask import abort, flash, get_template_attribute, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from htmx_flask import request
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from portal.blueprints.calendar import bp, window
from portal.blueprints.calendar.forms import BulkForm, NightForm
from portal.extensions import db
from portal.web.forms import apply_errors, parse_date
from portal.web.history import details as _history_details
from portal.web.i18n import fmt_date, tr
from portal.web.render import is_fragment_request, render
from services.accounts import access
from services.availability import calendar, explain, gaps, inventory, rates, undo
from services.availability.pricing import final_price
from services.core import clock
from services.core.errors import Conflict, Invalid, NotFound
from services.properties import registry


def _window(prop) -> window.Window:
    """The nights the query asks for (portal/blueprints/calendar/window.py)."""
    return window.from_request(request.args, request.cookies, clock.today(prop.timezone))


def _plan(prop, win: window.Window):
    return calendar.build(db.session, prop, win.start, win.end)


def _bulk_form(prop, win: window.Window) -> BulkForm:
    """The bulk form as it opens: every category, the window's nights from today on."""
    form = BulkForm(formdata=None, start=max(win.start, win.today), end=max(win.last, win.today))
    form.categories.choices = [(c.id, c.name) for c in prop.categories]
    form.categories.data = [c.id for c in prop.categories]
    return form


@bp.route("/p/<slug>/calendar")
@login_required
def plan(slug):
    """The plan of a window of nights (from yesterday by default); htmx navigation swaps only the plan."""
    prop = access.property_for(db.session, current_user, slug)
    win = _window(prop)
    return render("calendar/page.html", "plan", prop=prop, plan=_plan(prop, win), win=win,
                  setup=None if is_fragment_request() else registry.first_steps(db.session, current_user, prop))


REFUSED = object()  # what _rate_edit returns when the edit was refused


def _rate_edit(form, edit) -> tuple:
    """Run a night or bulk edit (`edit(confirm_price)`), the form's "Save anyway" passed on. On a
    refusal the messages go next to the fields: (REFUSED, whether to ask about an unusual price)."""
    try:
        return edit(form.confirm_price.data == "1"), False
    except rates.UnusualPrice as e:
        apply_errors(form, e)
        return REFUSED, True
    except Invalid as e:
        apply_errors(form, e)
    except Conflict as e:
        form.quota.errors = list(form.quota.errors) + [tr(e.message)]
    return REFUSED, False


def _back_to(prop, day: dt.date) -> str:
    """The plan's window that holds `day` (where the editor's Close and a save without htmx lead)."""
    win = window.window_for(day, request.args, request.cookies, clock.today(prop.timezone))
    return url_for("calendar.plan", slug=prop.slug, **win.args())


def _night_context(slug, cat_id, night):
    prop = access.property_for(db.session, current_user, slug)
    cat = inventory.category_of(db.session, prop.id, cat_id)
    day = parse_date(night) or abort(404)
    figures = inventory.nights_for(db.session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    return prop, cat, day, figures


@bp.route("/p/<slug>/calendar/night/<id:cat_id>/<night>", methods=["GET", "POST"])
@login_required
def night(slug, cat_id, night):
    """Edit one night of one category: price, quota, minimum and maximum stay, closed, no arrival/departure."""
    prop, cat, day, figures = _night_context(slug, cat_id, night)
    rate = rates.night_rate(db.session, cat, day)
    if request.method == "GET":
        form = NightForm(formdata=None, obj=rate, quota=rate.quota if rate else len(cat.units))
    else:
        form = NightForm()
    status, confirm = 200, False
    if form.validate_on_submit():
        change = rates.RateChange(
            price=form.price.data, quota=form.quota.data, min_stay=form.min_stay.data or 1,
            max_stay=form.max_stay.data, clear_max_stay=form.max_stay.data is None,  # empty: no limit
            closed=form.closed.data, closed_to_arrival=form.closed_to_arrival.data,
            closed_to_departure=form.closed_to_departure.data,
        )
        done, confirm = _rate_edit(form, lambda confirm_price: rates.set_night(
            db.session, current_user, prop, cat, day, change, confirm_price=confirm_price))
        if done is not REFUSED:
            if not is_fragment_request():
                return redirect(_back_to(prop, day))
            figures = inventory.nights_for(db.session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
            shown = _plan(prop, _shown_window(prop))
            row = next((r for r in shown.rows if r.category.id == cat.id), None)
            return render("calendar/night.html", "saved", prop=prop, cat=cat, day=day, n=figures, plan=shown, row=row,
                          final=final_price(prop, cat.id, figures.price),
                          message=_("%(category)s, %(night)s saved.", category=cat.name, night=fmt_date(day, "medium")))
    if form.is_submitted():
        status = 422
    return render("calendar/night.html", "editor", status=status, prop=prop, cat=cat, day=day, form=form,
                  back=_back_to(prop, day), n=figures, final=final_price(prop, cat.id, figures.price), confirm_price=confirm)


@bp.route("/p/<slug>/calendar/bulk", methods=["GET", "POST"])
@login_required
def bulk(slug):
    """Set price, quota, minimum or maximum stay or open/close over a range of nights and weekdays."""
    prop = access.property_for(db.session, current_user, slug)
    form = BulkForm()
    form.categories.choices = [(c.id, c.name) for c in prop.categories]
    win = _window(prop)
    status, confirm = 200, False
    if request.method == "GET":
        form = _bulk_form(prop, win)
    elif form.validate_on_submit():
        flag = lambda v: None if v == "" else v == "1"  # noqa: E731
        change = rates.RateChange(
            price=form.price.data, quota=form.quota.data, min_stay=form.min_stay.data,
            max_stay=form.max_stay.data, clear_max_stay=form.clear_max_stay.data,
            closed=flag(form.closed.data), closed_to_arrival=flag(form.closed_to_arrival.data),
            closed_to_departure=flag(form.closed_to_departure.data),
        )
        cats = [c for c in prop.categories if c.id in set(form.categories.data or [])]
        count, confirm = _rate_edit(form, lambda confirm_price: rates.bulk_edit(
            db.session, current_user, prop, cats, form.start.data, form.end.data, set(form.weekdays.data or []), change,
            confirm_price=confirm_price))
        if count is not REFUSED:
            message = ngettext("%(num)s night updated.", "%(num)s nights updated.", count)
            if not is_fragment_request():
                return redirect(url_for("calendar.plan", slug=slug, **win.args()))
            return render("calendar/page.html", "bulk_saved", prop=prop, plan=_plan(prop, win), win=win, bulk=form,
                          message=message, setup=registry.first_steps(db.session, current_user, prop))
    if form.is_submitted():
        status = 422
    block = "bulk_panel" if request.method == "GET" else "bulk_form"  # a POST answers into #bulk
    return render("calendar/bulk.html", block, status=status, prop=prop, bulk=form, win=win,
                  confirm_price=confirm)


# "Why can't this be booked?" (services.availability.explain).


@bp.route("/p/<slug>/calendar/why/<id:cat_id>/<night>", methods=["GET", "POST"])
@login_required
def why(slug, cat_id, night):
    """Why a category-night offers nothing online, the bookings in the way, and one-click fixes
    (a POST of `action`, through rates.set_night: checked and recorded in the history)."""
    prop = access.property_for(db.session, current_user, slug)
    cat = inventory.category_of(db.session, prop.id, cat_id)
    day = parse_date(night) or abort(404)
    status, error, message = 200, None, None
    if request.method == "POST":
        try:
            done = explain.apply_fix(db.session, current_user, prop, cat, day, request.form.get("action", ""))
        except Conflict as e:
            status, error = 409, tr(e.message)
        except Invalid as e:
            status, error = 422, " ".join(tr(m) for m in e.errors.values())
        else:
            if not is_fragment_request():
                return redirect(url_for("calendar.why", slug=slug, cat_id=cat.id, night=day.isoformat()), 303)
            message = (_("%(category)s, %(night)s saved.", category=cat.name, night=fmt_date(day, "medium")) if done
                       else _("Nothing to change: this was done already."))
    figures = inventory.nights_for(db.session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    reasons = explain.why_unavailable(db.session, prop, cat, day)
    return render("calendar/why.html", "fixed" if message else "why", status=status, prop=prop, cat=cat, day=day,
                  n=figures, reasons=reasons, error=error, message=message, back=_back_to(prop, day),
                  final=final_price(prop, cat.id, figures.price), today=clock.today(prop.timezone))


# Undo of the last calendar edit and the gap nights' one-click fix (services.availability.undo,
# services.availability.gaps).


def _shown_window(prop) -> window.Window:
    """The window of the page the htmx request came from (its URL names it), else this request's."""
    current = request.headers.get("HX-Current-URL", "")
    args = {k: v[-1] for k, v in parse_qs(urlsplit(current).query).items()} if current else request.args
    return window.from_request(args, request.cookies, clock.today(prop.timezone))


def _oob_flash(message, category: str) -> Markup:
    """A message for the page's flash area (_macros.html's oob_flash), `message` escaped unless Markup."""
    return Markup(get_template_attribute("_macros.html", "oob_flash")(message, category))


def _plan_and_flash(prop, message, category: str = "success", status: int = 200):
    """An htmx answer: the plan out of band (the window on screen) and a message in the flash area."""
    win = _shown_window(prop)
    plan_html = render_template("calendar/_plan.html", prop=prop, plan=_plan(prop, win), win=win, oob=True)
    return Markup(plan_html) + _oob_flash(message, category), status


@bp.app_template_global()
def undo_offer(prop) -> Markup:
    """An "Undo" button for the current user's last calendar edit of `prop`, while it may be undone
    (shown with the message after a night edit, a bulk edit or a gap fix)."""
    try:
        entry_id = undo.last_undoable(db.session, current_user, prop)
    except SQLAlchemyError:  # the change is saved; a failed look-up only costs the offer
        return Markup("")
    if entry_id is None:
        return Markup("")
    url = url_for("calendar.undo", slug=prop.slug, entry_id=entry_id)
    return Markup(' <button type="button" class="btn small undo" hx-post="{}" hx-swap="none">{}</button>').format(
        url, _("Undo"))


@bp.route("/p/<slug>/calendar/undo/<id:entry_id>", methods=["POST"], endpoint="undo")
@login_required
def undo_edit(slug, entry_id):
    """Undo a calendar edit of the last 10 minutes (from the message after it, or from the history)."""
    prop = access.property_for(db.session, current_user, slug)
    try:
        entry = undo.undo(db.session, current_user, prop, entry_id)
    except NotFound:
        abort(404)
    except Conflict as e:
        if not is_fragment_request():
            flash(tr(e.message), "error")
            return redirect(url_for("properties.history", slug=slug), 303)
        return _oob_flash(tr(e.message), "error"), 409
    message = _("Undone: %(change)s", change=_history_details(entry.action, entry.summary, prop.currency))
    if not is_fragment_request():
        flash(message, "success")
        return redirect(url_for("properties.history", slug=slug), 303)
    return _plan_and_flash(prop, message)


@bp.route("/p/<slug>/calendar/gap/<id:cat_id>/<night>", methods=["POST"])
@login_required
def gap_fix(slug, cat_id, night):
    """Lower the minimum stay of a gap (free nights too few for it) to the gap's length, in one click."""
    prop = access.property_for(db.session, current_user, slug)
    day = parse_date(night) or abort(404)
    try:
        entry = gaps.fix(db.session, current_user, prop, cat_id, day)
    except (Conflict, Invalid) as e:
        text = tr(e.message) if isinstance(e, Conflict) else " ".join(tr(m) for m in e.errors.values())
        if not is_fragment_request():
            flash(text, "error")
            return redirect(_back_to(prop, day), 303)
        return _oob_flash(text, "error"), 409
    message = _("Gap closed: %(change)s", change=_history_details(entry.action, entry.summary, prop.currency))
    if not is_fragment_request():
        flash(message, "success")
        return redirect(_back_to(prop, day), 303)
    return _plan_and_flash(prop, Markup.escape(message) + undo_offer(prop))
