"""Forms of the double-booking pages (CSRF on every one)."""
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from services.bookings.rehousing import MAX_NOTE


class NoteForm(FlaskForm):
    """R13 (1) a call recorded, (2) a replacement offered, (3) the hand-over: with a note."""

    note = TextAreaField(_("Note"), validators=[Optional(), Length(max=MAX_NOTE)])


class NewDatesForm(FlaskForm):
    """R13 (1): the guest agreed to other dates."""

    arrival = DateField(_("New arrival"), validators=[DataRequired(message=_("Enter a date."))])
    departure = DateField(_("New departure"), validators=[DataRequired(message=_("Enter a date."))])


class ConfirmForm(FlaskForm):
    """A button that changes something and asks first (the guest cancels, a replacement accepted)."""
