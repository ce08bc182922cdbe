from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from portal.web.forms import LocalDecimalField as DecimalField
from portal.web.i18n import tr
from services.core import inputs

# SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (a DeprecationWarning on every
# form built) and 3.4 removes them.
WEEKDAYS = [SelectChoice(i, label) for i, label in enumerate(
    [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")])]
KEEP_SET_CLEAR = [SelectChoice("", _("keep")), SelectChoice("1", _("yes")), SelectChoice("0", _("no"))]


class PriceField(DecimalField):
    """A price: more than two decimal places is refused (services.core.inputs.more_than_cents),
    and a refused value is shown back as typed, not rounded to what would have been saved."""

    def pre_validate(self, form):
        if inputs.more_than_cents(self.data):
            raise StopValidation(tr(inputs.TWO_DECIMALS))

    def _value(self):
        if self.errors and self.raw_data:
            return self.raw_data[0]
        return super()._value()


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NightForm(FlaskForm):
    price = PriceField(_("Price per night"), places=2, validators=[Optional(), NumberRange(min=0)])
    # "Save anyway": the confirmation step's button sends 1 when the price is far from the usual
    # ones. Not a HiddenField: hidden_tag() would render it, and its "" would come first.
    confirm_price = StringField(default="")
    quota = IntegerField(_("Quota (units for sale)"), validators=[Optional(), NumberRange(min=0)])
    min_stay = IntegerField(_("Minimum stay (nights)"), default=1, validators=[Optional(), NumberRange(min=1, max=365)])
    max_stay = IntegerField(_("Maximum stay (nights)"), validators=[Optional(), NumberRange(min=1, max=365)])
    closed = BooleanField(_("Closed"))
    closed_to_arrival = BooleanField(_("No arrival"))
    closed_to_departure = BooleanField(_("No departure"))


class BulkForm(FlaskForm):
    categories = MultiCheckbox(_("Room categories"), coerce=int)
    start = DateField(_("From"), validators=[DataRequired(message=_("Enter a date."))])
    end = DateField(_("Until (inclusive)"), validators=[DataRequired(message=_("Enter a date."))])
    weekdays = MultiCheckbox(_("Weekdays"), coerce=int, choices=WEEKDAYS, default=[0, 1, 2, 3, 4, 5, 6])
    price = PriceField(_("Price per night"), places=2, validators=[Optional(), NumberRange(min=0)])
    confirm_price = StringField(default="")
    quota = IntegerField(_("Quota"), validators=[Optional(), NumberRange(min=0)])
    min_stay = IntegerField(_("Minimum stay"), validators=[Optional(), NumberRange(min=1, max=365)])
    max_stay = IntegerField(_("Maximum stay"), validators=[Optional(), NumberRange(min=1, max=365)])
    clear_max_stay = BooleanField(_("Remove the maximum stay"))
    closed = SelectField(_("Open / closed"), choices=[SelectChoice("", _("keep")), SelectChoice("0", _("open")),
                                                         SelectChoice("1", _("close"))])
    closed_to_arrival = SelectField(_("No arrival"), choices=KEEP_SET_CLEAR)
    closed_to_departure = SelectField(_("No departure"), choices=KEEP_SET_CLEAR)
