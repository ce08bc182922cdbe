"""Login, logout, keeping the session alive, password and language."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from htmx_flask import request

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LanguageForm, LoginForm, PasswordForm
from portal.extensions import db, limiter
from portal.web import apply_errors, render
from services import clock, properties
from services.errors import Invalid


def _safe_next(target: str | None) -> str:
    # Only local paths: never an open redirect to another site. Browsers read "/\\evil.example"
    # as "//evil.example", and drop tabs and newlines, so neither may pass either.
    if (target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc
            and "\\" not in target and not any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = properties.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_("E-mail or password is not right."))
        else:
            session.clear()
            login_user(user)
            session["seen"] = clock.now().timestamp()
            return redirect(_safe_next(request.args.get("next")))
    return render("auth/login.html", form=form, status=422 if form.errors or form.form_errors else 200)


@bp.post("/logout")
def logout():
    locale = str(get_locale())  # the message and the login page stay in the user's language
    logout_user()
    session.clear()
    session["locale"] = locale
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/ping")
@login_required
def ping():
    """Keep the session alive ("stay logged in"); the before_request hook did the work."""
    return "", 204


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Password change and language."""
    form = PasswordForm(prefix="pw")
    lang = LanguageForm(prefix="lang", locale=current_user.locale)
    status = 200
    if form.validate_on_submit():
        try:
            properties.change_password(db.session, current_user, form.current.data, form.new.data, form.repeat.data)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.account"))
        except Invalid as e:
            apply_errors(form, e)
    if form.is_submitted():
        status = 422
    return render("auth/account.html", form=form, lang=lang, status=status)


@bp.post("/language")
def language():
    """Pick the UI language; it sticks to the account (or the browser session before login)."""
    lang = LanguageForm(prefix="lang")
    if lang.validate_on_submit():
        session["locale"] = lang.locale.data
        if current_user.is_authenticated:
            properties.set_locale(db.session, current_user, lang.locale.data)
    return redirect(_safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path))
