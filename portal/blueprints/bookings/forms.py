from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import Form, SearchField, SelectChoice
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from portal.web.forms import LocalDecimalField
from services.channels.connections import SOURCE_LABELS
from services.core.inputs import EMAIL


class OwnBookingForm(FlaskForm):
    category_id = SelectField(_("Room category"), coerce=int)
    unit_id = SelectField(_("Unit"), coerce=int)
    arrival = DateField(_("Arrival"), validators=[DataRequired(message=_("Enter a date."))])
    departure = DateField(_("Departure"), validators=[DataRequired(message=_("Enter a date."))])
    # InputRequired, not DataRequired: "0" is input (too small), not a missing number.
    units = IntegerField(_("Units"), default=1, validators=[InputRequired(message=_("Enter a number.")), NumberRange(min=1)])
    guests = IntegerField(_("Guests"), default=2, validators=[InputRequired(message=_("Enter a number.")), NumberRange(min=1)])
    guest_name = StringField(_("Guest name"), validators=[DataRequired(message=_("Enter the guest's name.")), Length(max=120)])
    guest_email = EmailField(_("E-mail"), validators=[
        # Regexp, not wtforms' Email(): that one needs the email_validator package, which the
        # portal does not install (every booking with an e-mail address was a 500).
        Optional(), Regexp(EMAIL, message=_("Enter a valid e-mail address.")), Length(max=254)])
    guest_phone = StringField(_("Phone"), validators=[Optional(), Length(max=40)])
    notes = TextAreaField(_("Notes"), validators=[Optional(), Length(max=2000)])

    def set_choices(self, prop):
        """Every unit of the property, each marked with its category (data-category): the
        category select (data-filters) shows only its own units when scripts run; without
        them the labels name the category and the use case refuses a unit of another one."""
        self.category_id.choices = [SelectChoice(c.id, c.name, render_kw={"data-max-guests": str(c.max_guests)})
                                    for c in prop.categories]
        self.unit_id.choices = [SelectChoice(0, _("any free unit"))] + [
            SelectChoice(u.id, f"{c.name} – {u.name}", render_kw={"data-category": str(c.id)})
            for c in prop.categories for u in c.units
        ]

    def set_defaults(self, prop, category_id=None, unit=None):
        """Valid defaults for a new booking: the unit's category (or the one asked for, or the
        first), one unit, and no more guests than the category takes."""
        cats = {c.id: c for c in prop.categories}
        cat = unit.category if unit is not None else cats.get(category_id) or next(iter(cats.values()), None)
        self.unit_id.data = unit.id if unit is not None else 0
        self.category_id.data = cat.id if cat is not None else None
        self.units.data = 1
        if cat is not None:
            self.guests.data = min(self.guests.default, cat.max_guests)


class FilterForm(Form):
    """The bookings list's filters (GET, no CSRF): search, source, status, arrival range, risk-free."""

    q = SearchField(_("Guest or booking number"), validators=[Optional(), Length(max=100)])
    source = SelectField(_("Source"), choices=[SelectChoice("", _("all sources"))] + [
        SelectChoice(k, _(v.text)) for k, v in SOURCE_LABELS.items()], validators=[Optional()])
    status = SelectField(_("Status"), choices=[
        SelectChoice("", _("all")), SelectChoice("confirmed", _("confirmed")),
        SelectChoice("pending", _("temporarily unconfirmed")), SelectChoice("cancelled", _("cancelled")),
        SelectChoice("expired", _("expired")), SelectChoice("modified", _("modified"))], validators=[Optional()])
    arrival_from = DateField(_("Arrival from"), validators=[Optional()])
    arrival_to = DateField(_("Arrival until"), validators=[Optional()])
    risk_free = SelectField(_("Risk-free"), choices=[
        SelectChoice("", _("all")), SelectChoice("1", _("only risk-free")), SelectChoice("0", _("not risk-free"))],
        validators=[Optional()])
    sort = SelectField(_("Order"), choices=[
        SelectChoice("created", _("newest first")), SelectChoice("arrival", _("by arrival"))], validators=[Optional()])


class ModifyForm(FlaskForm):
    arrival = DateField(_("New arrival"), validators=[DataRequired(message=_("Enter a date."))])
    departure = DateField(_("New departure"), validators=[DataRequired(message=_("Enter a date."))])
    category_id = SelectField(_("Room category"), coerce=int)


class CancelRequestForm(FlaskForm):
    note = TextAreaField(_("Message to the channel (optional)"), validators=[Optional(), Length(max=1000)])


class DepositForm(FlaskForm):
    deposit_amount = LocalDecimalField(_("Deposit"), places=2, validators=[Optional(), NumberRange(min=0)])
    deposit_due = DateField(_("Due on"), validators=[Optional()])
