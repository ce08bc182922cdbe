"""One-time links: accepting an invitation (first password) and "forgot password".

The secret travels in the URL of the set-password page, so that page sends no Referer
(Referrer-Policy: no-referrer) and, like every page with account data, is never cached
(portal.security: Cache-Control: no-store). "Forgot password" answers the same whatever the
address, and is limited per client address here and per account in the service."""
from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import ForgotPasswordForm, SetPasswordForm
from portal.blueprints.auth.routes import start_session
from portal.extensions import db, limiter
from portal.web.forms import apply_errors
from portal.web.render import render
from services.accounts import tokens, users
from services.core.errors import Invalid

# Per client address, on the POST only (the page itself may be read any number of times).
FORGOT_LIMIT = "5/minute;20/hour"


def link_base() -> str:
    """The absolute address of the set-password page without its secret (for the e-mails).

    From PUBLIC_URL when it is set: otherwise the request's Host header names the site, and
    a "forgot password" request sent with a forged Host would mail the account's owner a link
    that hands the secret to the forger's server."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for("auth.set_password", secret="-")[:-1]
    return url_for("auth.set_password", secret="-", _external=True)[:-1]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(FORGOT_LIMIT, methods=["POST"],
               key_func=lambda: "forgot:" + get_remote_address())  # never by an (invented) API key header
def forgot_password():
    """Ask for a link to set a new password: the same answer whether the address has an account or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        tokens.request_reset(db.session, form.email.data, link_base())
        return render("auth/forgot_password.html", form=form, sent=True,
                      reset_hours=int(tokens.RESET_VALID.total_seconds() // 3600))
    return render("auth/forgot_password.html", form=form, sent=False, status=422 if form.is_submitted() else 200)


@bp.errorhandler(429)
def too_many_requests(e):
    """The address asked for too many links (only the forgot-password form is limited here)."""
    # (Flask-Limiter adds Retry-After, RATELIMIT_HEADERS_ENABLED.)
    return render("auth/forgot_password.html", form=ForgotPasswordForm(formdata=None), sent=False, throttled=True,
                  status=429)


@bp.route("/password/set/<secret>", methods=["GET", "POST"])
def set_password(secret):
    """Choose a password through an invitation or reset link; then signed in and on the home page."""
    form = SetPasswordForm()
    link = tokens.peek(db.session, secret)
    status = 200
    if link is None:
        status = 410
    elif form.validate_on_submit():
        try:
            user = tokens.redeem(db.session, secret, form.new.data, form.repeat.data)
        except tokens.LinkUnusable:
            link, status = None, 410
        except Invalid as e:
            apply_errors(form, e)
            status = 422
        else:
            start_session(user)
            flash(_("Your password is set. Welcome, %(name)s!", name=user.name), "success")
            return _no_referrer(redirect(url_for("main.home")))
    elif form.is_submitted():
        status = 422
    return _no_referrer(render("auth/set_password.html", form=form, link=link, min_password=users.MIN_PASSWORD,
                               status=status))


def _no_referrer(resp):
    """The secret is in this page's URL: no request from it (or its redirect) may carry it on."""
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
