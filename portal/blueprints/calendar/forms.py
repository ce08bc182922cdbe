from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.web.forms import LocalDecimalField as DecimalField

# SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (a DeprecationWarning on every
# form built) and 3.4 removes them.
WEEKDAYS = [SelectChoice(i, label) for i, label in enumerate(
    [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")])]
KEEP_SET_CLEAR = [SelectChoice("", _("keep")), SelectChoice("1", _("yes")), SelectChoice("0", _("no"))]


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NightForm(FlaskForm):
    price = DecimalField(_("Price per night"), places=2, validators=[Optional(), NumberRange(min=0)])
    quota = IntegerField(_("Quota (units for sale)"), validators=[Optional(), NumberRange(min=0)])
    min_stay = IntegerField(_("Minimum stay (nights)"), default=1, validators=[Optional(), NumberRange(min=1, max=365)])
    closed = BooleanField(_("Closed"))
    closed_to_arrival = BooleanField(_("No arrival"))
    closed_to_departure = BooleanField(_("No departure"))


class BulkForm(FlaskForm):
    categories = MultiCheckbox(_("Room categories"), coerce=int)
    start = DateField(_("From"), validators=[DataRequired(message=_("Enter a date."))])
    end = DateField(_("Until (inclusive)"), validators=[DataRequired(message=_("Enter a date."))])
    weekdays = MultiCheckbox(_("Weekdays"), coerce=int, choices=WEEKDAYS, default=[0, 1, 2, 3, 4, 5, 6])
    price = DecimalField(_("Price per night"), places=2, validators=[Optional(), NumberRange(min=0)])
    quota = IntegerField(_("Quota"), validators=[Optional(), NumberRange(min=0)])
    min_stay = IntegerField(_("Minimum stay"), validators=[Optional(), NumberRange(min=1, max=365)])
    closed = SelectField(_("Open / closed"), choices=[SelectChoice("", _("keep")), SelectChoice("0", _("open")),
                                                         SelectChoice("1", _("close"))])
    closed_to_arrival = SelectField(_("No arrival"), choices=KEEP_SET_CLEAR)
    closed_to_departure = SelectField(_("No departure"), choices=KEEP_SET_CLEAR)
