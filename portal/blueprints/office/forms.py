from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
import wtforms
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


class ContactForm(FlaskForm):
    """Where a host in trouble reaches the office (shown on every host page)."""
    email = EmailField(_("E-mail"), validators=[Length(max=254)])
    phone = StringField(_("Phone"), validators=[Length(max=40)])
    opening_hours = StringField(_("Opening hours"), validators=[Length(max=300)])


class TermsForm(FlaskForm):
    """Terms besides the fee tiers (those are rows read by portal.web.terms_editor): the deposit
    rule and a free text. Strings: the service parses and words the errors."""
    deposit_percent = StringField(_("Deposit (percent of the total)"), validators=[Length(max=10)])
    deposit_days = StringField(_("Due days after booking"), validators=[Length(max=10)])
    text = TextAreaField(_("Further terms (free text)"), validators=[Length(max=20000)])


def terms_form_of(terms) -> TermsForm:
    """The deposit rule and text of saved terms (or none) as the form shows them."""
    def text(value):
        return "" if value is None else str(value)
    return TermsForm(formdata=None, deposit_percent=text(terms and terms.deposit_percent),
                     deposit_days=text(terms and terms.deposit_days), text=terms.text if terms else "")


def rates_form(contract=None, post: bool = False):
    """One percentage per channel a commission can be set for (services.office.contracts.RATE_CHANNELS),
    labelled in the reader's language; `post`: read from the request, else the contract's rates."""
    from portal.web.i18n import tr
    from services.channels.connections import SOURCE_LABELS
    from services.office.contracts import RATE_CHANNELS, rate_for

    class RatesForm(FlaskForm):
        pass

    for channel in RATE_CHANNELS:
        setattr(RatesForm, channel, StringField(tr(SOURCE_LABELS[channel]), validators=[Length(max=10)]))
    if post:
        return RatesForm()
    values = {ch: "" if rate_for(contract, ch) is None else str(rate_for(contract, ch)) for ch in RATE_CHANNELS}
    return RatesForm(formdata=None, **values)


class HomeFilterForm(wtforms.Form):
    """The office home's filters (GET, no CSRF): search, contract state, office (admins), order."""
    q = wtforms.SearchField(_("Host, property or town"), validators=[Length(max=100)])
    contract = wtforms.SelectField(_("Brokerage contract"), choices=[
        wtforms.SelectChoice(value, label) for value, label in (
            ("", _("all")), ("invited", _("invited")), ("active", _("active")), ("suspended", _("suspended")),
            ("ended", _("ended")), ("none", _("no contract")))], validate_choice=False)
    office = wtforms.SelectField(_("Office"), choices=[wtforms.SelectChoice("", _("all offices"))], validate_choice=False)
    attention = wtforms.BooleanField(_("Needs attention only"))
    sort = wtforms.SelectField(_("Order"), choices=[
        wtforms.SelectChoice("name", _("by name")), wtforms.SelectChoice("signals", _("most signals first")),
        wtforms.SelectChoice("maintained", _("calendar least recently maintained"))], validate_choice=False)
