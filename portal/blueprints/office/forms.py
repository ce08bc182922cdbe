from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class HostForm(FlaskForm):
    host_name = StringField(_("Host's name"), validators=[DataRequired(message=_("Enter a name.")), Length(max=120)])
    email = EmailField(_("Host's e-mail"), validators=[DataRequired(message=_("Enter a valid e-mail address.")), Length(max=254)])
    property_name = StringField(_("Property name"), validators=[DataRequired(message=_("Enter the property's name.")), Length(max=120)])
    slug = StringField(_("Short address (slug)"), validators=[DataRequired(message=_("Use lower-case letters, digits and dashes only.")), Length(max=60)])


class EmbedOriginsForm(FlaskForm):
    """The websites that may show the office's public review blocks (one per line)."""
    origins = TextAreaField(_("Websites that may show the review blocks"), validators=[Length(max=4000)])
