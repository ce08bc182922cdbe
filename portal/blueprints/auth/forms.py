from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired


class LoginForm(FlaskForm):
    email = EmailField(_("E-mail"), validators=[DataRequired()])
    password = PasswordField(_("Password"), validators=[DataRequired()])


class PasswordForm(FlaskForm):
    current = PasswordField(_("Current password"), validators=[DataRequired()])
    new = PasswordField(_("New password"), validators=[DataRequired()])
    repeat = PasswordField(_("Repeat new password"), validators=[DataRequired()])


class LanguageForm(FlaskForm):
    locale = SelectField(_("Language"), choices=[SelectChoice("de", "Deutsch"), SelectChoice("en", "English"),
                                                     SelectChoice("cs", "Čeština")])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_("E-mail"), validators=[DataRequired()])


class SetPasswordForm(FlaskForm):
    new = PasswordField(_("New password"), validators=[DataRequired()])
    repeat = PasswordField(_("Repeat new password"), validators=[DataRequired()])
