from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.web.forms import LocalDecimalField as DecimalField
from portal.web.labels import CATEGORY_KIND_LABELS


class PropertyForm(FlaskForm):
    name = StringField(_("Name"), validators=[DataRequired(message=_("Enter the property's name.")), Length(max=120)])
    street = StringField(_("Street"), validators=[Optional(), Length(max=120)])
    postcode = StringField(_("Postcode"), validators=[Optional(), Length(max=12)])
    city = StringField(_("City"), validators=[Optional(), Length(max=80)])
    country = StringField(_("Country"), validators=[Optional(), Length(max=2)])
    phone = StringField(_("Phone"), validators=[Optional(), Length(max=40)])
    email = EmailField(_("E-mail"), validators=[Optional(), Length(max=254)])


class CategoryForm(FlaskForm):
    name = StringField(_("Name"), validators=[DataRequired(message=_("Enter a name, e.g. Double room.")), Length(max=80)])
    max_guests = IntegerField(_("Max. guests"), default=2, validators=[InputRequired(message=_("Enter a number.")), NumberRange(min=1, max=30)])
    unit_names = TextAreaField(_("Units (one per line or comma)"), validators=[DataRequired(message=_("Name at least one unit, e.g. Room 12."))])
    kind = SelectField(_("Type"), default="room", choices=[SelectChoice(k, v) for k, v in CATEGORY_KIND_LABELS.items()])


class ExtraCostForm(FlaskForm):
    name = StringField(_("Name"), validators=[DataRequired(message=_("Enter a name, e.g. Final cleaning.")), Length(max=80)])
    amount = DecimalField(_("Amount"), places=2, validators=[InputRequired(message=_("Enter an amount.")), NumberRange(min=0)])
    per = SelectField(_("Charged"), choices=[SelectChoice("stay", _("per stay")), SelectChoice("night", _("per night"))])
    category_id = SelectField(_("For"), coerce=int)


class KindForm(FlaskForm):
    """A room category's type, set in place next to its name."""

    kind = SelectField(_("Type"), choices=[SelectChoice(k, v) for k, v in CATEGORY_KIND_LABELS.items()])


class RenameForm(FlaskForm):
    """A room category's or a unit's new name (the use case checks the length for each)."""

    name = StringField(_("Name"), validators=[DataRequired(message=_("Enter a name.")), Length(max=80)])


class DeleteForm(FlaskForm):
    """The confirmation step of a deletion: only its CSRF token."""
