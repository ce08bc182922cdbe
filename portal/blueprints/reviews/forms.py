"""Forms of the reviews pages (CSRF on every one). The use cases check the texts (services.reviews)."""
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import TextAreaField


class ReplyForm(FlaskForm):
    """R64: the host's public reply to a review (a new one, or the reply edited)."""

    reply = TextAreaField(_("Your reply"))


class ReportForm(FlaskForm):
    """R64: a review reported as inappropriate."""

    reason = TextAreaField(_("Why is the review inappropriate?"))
