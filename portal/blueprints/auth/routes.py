"""Login, logout, keeping the session alive, password and language."""
from urllib.parse import urlsplit

from flask import flash, redirect, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from htmx_flask import request

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LanguageForm, LoginForm, PasswordForm
from portal.extensions import db
from portal.web.forms import apply_errors
from portal.web.i18n import tr
from portal.web.render import render
from services.accounts import users
from services.core import clock
from services.core.errors import Invalid, TooManyAttempts


def _safe_next(target: str | None) -> str:
    # Only local paths: never an open redirect to another site. Browsers read "/\\evil.example"
    # as "//evil.example", and drop tabs and newlines, so neither may pass either.
    if (target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc
            and "\\" not in target and not any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return target
    return url_for("main.home")


def start_session(user) -> None:
    """A fresh session (no fixation) bound to the user's current session generation."""
    session.clear()
    login_user(user)
    now = clock.now().timestamp()
    session["seen"] = session["login_at"] = now
    session["gen"] = user.session_generation


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password; failures are throttled (services.accounts.users)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    wait = None
    if form.validate_on_submit():
        try:
            user = users.sign_in(db.session, form.email.data, form.password.data, request.remote_addr or "")
        except TooManyAttempts as e:
            form.form_errors.append(tr(e.message))
            wait = e.details["seconds"]
        except Invalid as e:
            apply_errors(form, e)
        else:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
    status = 429 if wait else 422 if form.errors or form.form_errors else 200
    resp = render("auth/login.html", form=form, status=status)
    if wait:
        resp.headers["Retry-After"] = str(wait)
    return resp


@bp.post("/logout")
def logout():
    """Log out: every session of this account ends, copies of the cookie included."""
    locale = str(get_locale())  # the message and the login page stay in the user's language
    if current_user.is_authenticated:
        users.sign_out(db.session, current_user)
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
            users.change_password(db.session, current_user, form.current.data, form.new.data, form.repeat.data)
            session["gen"] = current_user.session_generation  # this browser stays; every other session ends
            flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("auth.account"))
        except Invalid as e:
            apply_errors(form, e)
    if form.is_submitted():
        status = 422
    return render("auth/account.html", form=form, lang=lang, status=status)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every session of this account, this browser's too (e.g. after a lost phone)."""
    users.sign_out(db.session, current_user)
    logout_user()
    session.clear()
    flash(_("You have been signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """Pick the UI language; it sticks to the account (or the browser session before login)."""
    lang = LanguageForm(prefix="lang")
    if lang.validate_on_submit():
        session["locale"] = lang.locale.data
        if current_user.is_authenticated:
            users.set_locale(db.session, current_user, lang.locale.data)
    return redirect(_safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path))
