"""Statement pages for staff and hosts.

Staff: /office/statements?month=YYYY-MM (every property of the office for a month, draft or sent,
with send / re-send), /office/p/<slug>/statements/<YYYY-MM> (.csv, .pdf) and POST .../send.
Hosts (read-only): /p/<slug>/statements (the months) and /p/<slug>/statements/<YYYY-MM> (.csv, .pdf).
"""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, make_response, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BaseConverter, ValidationError

from portal.blueprints.statements import bp
from portal.blueprints.statements.formats import csv_bytes, note_label, pdf_bytes, state_label
from portal.extensions import db
from portal.web.i18n import fmt_date
from portal.web.labels import source_label
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.core import clock
from services.office import statements


class MonthConverter(BaseConverter):
    """<ym:month>: "2030-05" as the first day of that month; anything else is a 404."""

    regex = r"\d{4}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        month = statements.parse_month(value)
        if month is None:
            raise ValidationError()
        return month

    def to_url(self, value) -> str:
        return value.strftime("%Y-%m") if isinstance(value, dt.date) else str(value)


bp.record_once(lambda state: state.app.url_map.converters.setdefault("ym", MonthConverter))


def _month_label(month: dt.date) -> str:
    return fmt_date(month, "month")


def _ctx(**ctx) -> dict:
    return {"state_label": state_label, "note_label": note_label, "channel_label": source_label,
            "month_label": _month_label, **ctx}


def _download(data: bytes, name: str, mimetype: str):
    resp = make_response(data)
    resp.headers["Content-Type"] = mimetype
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _show(prop, month, fmt: str | None, area: str):
    view = statements.statement(db.session, current_user, prop, month)
    if fmt == "csv":
        locale = str(get_locale() or "de")
        return _download(csv_bytes(view, locale), statements.file_name(prop, month, "csv"), "text/csv; charset=utf-8")
    if fmt == "pdf":
        return _download(pdf_bytes(view, **_ctx(area=area)), statements.file_name(prop, month, "pdf"),
                         "application/pdf")
    return render("statements/statement.html", **_ctx(layout="page", view=view, prop=prop, area=area))


def _staff_property(slug: str):
    access.require_staff(current_user)
    return access.property_for(db.session, current_user, slug)


def _last_month(prop=None) -> dt.date:
    today = clock.today(prop.timezone) if prop else clock.now().date()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


# -- staff ---------------------------------------------------------------------------------------

@bp.route("/office/statements")
@login_required
def office_month():
    """Every property of the office with its statement of a month (default: the last one)."""
    access.require_staff(current_user)
    month = statements.parse_month(request.args.get("month", "")) if request.args.get("month") else _last_month()
    if month is None:
        abort(404)
    views = statements.office_month(db.session, current_user, month)
    prev = (month - dt.timedelta(days=1)).replace(day=1)
    return render("statements/office.html", **_ctx(views=views, month=month, prev=prev,
                                                   next=statements.next_month(month)))


@bp.route("/office/p/<slug>/statements/<ym:month>")
@login_required
def staff_show(slug, month):
    """One property's statement of one month (draft or sent), with send / re-send."""
    return _show(_staff_property(slug), month, None, "office")


@bp.route("/office/p/<slug>/statements/<ym:month>.<any(csv, pdf):fmt>")
@login_required
def staff_file(slug, month, fmt):
    return _show(_staff_property(slug), month, fmt, "office")


@bp.post("/office/p/<slug>/statements/<ym:month>/send")
@login_required
def send(slug, month):
    """Freeze (the first time) and e-mail the statement with its PDF to the host; sending a sent
    statement again mails it again, unchanged."""
    prop = _staff_property(slug)
    owner_locale = prop.owner.locale if prop.owner else "de"
    view = statements.send(db.session, current_user, prop, month,
                           lambda v: pdf_bytes(v, locale=owner_locale, **_ctx(area="office")))
    again = view.statement.last_mailed_at != view.statement.sent_at
    flash((_("Statement of %(month)s sent again to %(property)s.", month=_month_label(month), property=prop.name)
           if again else _("Statement of %(month)s sent to %(property)s.", month=_month_label(month),
                              property=prop.name)), "success")
    if request.form.get("back") == "list":
        return hx_redirect(url_for("statements.office_month", month=f"{month:%Y-%m}"))
    return hx_redirect(url_for("statements.staff_show", slug=prop.slug, month=month))


# -- hosts -----------------------------------------------------------------------------------------

@bp.route("/p/<slug>/statements")
@login_required
def host_index(slug):
    """The property's months, newest first: sent statements and drafts."""
    prop = access.property_for(db.session, current_user, slug)
    months = statements.months(db.session, current_user, prop)
    return render("statements/months.html", **_ctx(prop=prop, months=months))


@bp.route("/p/<slug>/statements/<ym:month>")
@login_required
def host_show(slug, month):
    return _show(access.property_for(db.session, current_user, slug), month, None, "host")


@bp.route("/p/<slug>/statements/<ym:month>.<any(csv, pdf):fmt>")
@login_required
def host_file(slug, month, fmt):
    return _show(access.property_for(db.session, current_user, slug), month, fmt, "host")
