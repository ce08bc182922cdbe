from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField, URLField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.web.labels import INVENTORY_MODE_LABELS, PAYMENT_LABELS
from services.core.inputs import EMAIL

PAYMENT = [SelectChoice(mode, _(label.text)) for mode, label in PAYMENT_LABELS.items()]
INVENTORY = [SelectChoice(mode, _(label.text)) for mode, label in INVENTORY_MODE_LABELS.items()]


class ConnectionForm(FlaskForm):
    hold_minutes = IntegerField(_("Hold time for unpaid orders (minutes)"), default=60,
                                validators=[DataRequired(message=_("Enter minutes from 1 to 1440.")), NumberRange(min=1, max=1440)])
    webhook_url = URLField(_("Your booking partner's address for notifications (optional)"), validators=[Optional(), Length(max=500)])
    payment_mode = SelectField(_("Payment"), choices=PAYMENT)
    # R32: where a request to cancel goes without a webhook (checked by connections.set_contact_email).
    # Checked here too, so that a bad address is refused before the other settings are saved.
    contact_email = StringField(_("Channel's contact e-mail (optional)"), validators=[
        Optional(), Regexp(EMAIL, message=_("Enter a valid e-mail address.")), Length(max=254)])
    # Checked by the service (connections._check_inventory_mode); left out, it stays as it is.
    inventory_mode = RadioField(_("How this channel books"), choices=INVENTORY, validate_choice=False)


class ReviewPartnerForm(FlaskForm):
    """A review partner's module (scope reviews): no hold time, payment or inventory mode."""
    webhook_url = URLField(_("Your review partner's address for notifications (optional)"),
                           validators=[Optional(), Length(max=500)])


class FeedForm(FlaskForm):
    category_id = SelectField(_("Room category"), coerce=int)
    name = StringField(_("Name"), validators=[DataRequired(message=_("Enter a name, e.g. Airbnb.")), Length(max=80)])
    url = URLField(_("Calendar address (.ics)"), validators=[DataRequired(message=_("Enter the calendar's full http:// or https:// address (.ics).")), Length(max=1000)])
