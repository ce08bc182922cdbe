from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from services.properties import EMAIL


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
        self.category_id.choices = [(c.id, c.name) for c in prop.categories]
        self.unit_id.choices = [(0, _("any free unit"))] + [
            (u.id, f"{c.name} – {u.name}") for c in prop.categories for u in c.units
        ]
