"""Invitations and "forgot password" through the browser: the one-time link's page (no cache, no
referrer), single use, expiry; the same answer for known and unknown addresses; the per-address
limit (429); account e-mails out of the message log and written as .eml files without MAIL_SERVER."""
from __future__ import annotations

import datetime as dt
import os
import re

import sqlalchemy as sa

from services.accounts import tokens
from services.core import clock
from services.models import AccountToken, MailMessage, Office, User
from tests.test_cli import run
from tests.web.conftest import NOW, english, field_errors, login, new_client

LINK = re.compile(r"http://localhost/password/set/([A-Za-z0-9_-]+)")


def _links(db_session, email: str) -> list[str]:
    """The secrets of the account e-mails to `email`, oldest first."""
    with db_session() as s:
        bodies = s.scalars(sa.select(MailMessage.body).where(MailMessage.recipient == email,
                                                             MailMessage.kind == "account").order_by(MailMessage.id))
        return [LINK.search(b).group(1) for b in bodies]


def _register(app, world) -> object:
    staff = new_client(app)
    login(staff, world.staff1)
    resp = staff.post("/office/hosts", data={"host_name": "Nora Neumann", "email": "nora@example.com",
                                             "property_name": "Haus Seeblick", "slug": "haus-seeblick"})
    assert resp.status_code == 200
    return staff


def test_an_invited_host_sets_a_password_once_and_is_signed_in(app, world, db_session):
    _register(app, world)
    [secret] = _links(db_session, "nora@example.com")
    with db_session() as s:
        mail = s.scalar(sa.select(MailMessage).where(MailMessage.kind == "account"))
        assert mail.property_id is None and "72 Stunden" in mail.body and "Tourist-Info Eins" in mail.subject
        assert s.scalar(sa.select(AccountToken.token_hash)) != secret  # stored hashed
    with db_session() as s:
        s.execute(sa.update(User).where(User.email == "nora@example.com").values(locale="en"))
        s.commit()
    host = new_client(app)
    english(host)
    page = host.get(f"/password/set/{secret}")
    assert page.status_code == 200 and "nora@example.com" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    # No password works before one is set.
    assert host.post("/login", data={"email": "nora@example.com", "password": ""}).status_code == 422

    short = host.post(f"/password/set/{secret}", data={"new": "short", "repeat": "short"})
    assert short.status_code == 422
    assert "The password needs at least 8 characters." in field_errors(short.get_data(as_text=True), "new")
    differ = host.post(f"/password/set/{secret}", data={"new": "noras-own-pass", "repeat": "noras-other-pass"})
    assert differ.status_code == 422 and "The two new passwords differ." in field_errors(
        differ.get_data(as_text=True), "repeat")

    done = host.post(f"/password/set/{secret}", data={"new": "noras-own-pass", "repeat": "noras-own-pass"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert done.headers["Referrer-Policy"] == "no-referrer"
    home = host.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Your password is set" in home and "No property is open to you yet" in home  # signed in, contract pending

    # Single use: the link now shows why it does not work, with the way to a new one.
    for again, message in (
            (host.get(f"/password/set/{secret}"), "This link has expired or was used already. Ask for a new one."),
            (new_client(app).post(f"/password/set/{secret}", data={"new": "taken-over-pw", "repeat": "taken-over-pw"}),
             "Dieser Link ist abgelaufen oder wurde bereits verwendet. Fordern Sie einen neuen an.")):  # German default
        body = again.get_data(as_text=True)
        assert again.status_code == 410 and again.headers["Cache-Control"] == "no-store"
        assert message in body
        assert 'href="/password/forgot"' in body and "nora@example.com" not in body
    assert login(new_client(app), User(email="nora@example.com"), "noras-own-pass")


def test_an_invitation_expires_after_72_hours(app, world, db_session):
    _register(app, world)
    [secret] = _links(db_session, "nora@example.com")
    clock.set_now(NOW + dt.timedelta(hours=71, minutes=59))
    assert new_client(app).get(f"/password/set/{secret}").status_code == 200
    clock.set_now(NOW + dt.timedelta(hours=72))
    browser = new_client(app)
    assert browser.get(f"/password/set/{secret}").status_code == 410
    assert browser.post(f"/password/set/{secret}", data={"new": "noras-own-pass", "repeat": "noras-own-pass"}
                        ).status_code == 410


def test_staff_send_an_invitation_again_and_the_old_link_stops(app, world, db_session):
    staff = _register(app, world)
    with db_session() as s:
        nora = s.scalar(sa.select(User.id).where(User.email == "nora@example.com"))
    resp = staff.post(f"/office/users/{nora}/invite")
    assert resp.status_code == 303 and resp.headers["Location"] == "/office"
    assert "Invitation sent again to nora@example.com." in staff.get("/office").get_data(as_text=True)
    old, new = _links(db_session, "nora@example.com")
    browser = new_client(app)
    assert browser.get(f"/password/set/{old}").status_code == 410
    assert browser.get(f"/password/set/{new}").status_code == 200
    # Staff of another office may not; an admin may.
    other = new_client(app)
    login(other, world.staff2)
    assert other.post(f"/office/users/{nora}/invite").status_code == 403
    admin = new_client(app)
    login(admin, world.admin)
    assert admin.post(f"/office/users/{nora}/invite").status_code == 303
    assert len(_links(db_session, "nora@example.com")) == 3


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(app, world, db_session):
    login_page = new_client(app).get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in login_page
    answers = []
    for email in ("host-a@example.com", "nobody@example.com"):
        browser = new_client(app)
        english(browser)
        resp = browser.post("/password/forgot", data={"email": email})
        body = resp.get_data(as_text=True)
        answers.append((resp.status_code, body[body.index("<main"):body.index("</main>")]))  # not the CSRF tokens
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and "If an account exists for this address, we have sent a link" in answers[0][1]
    assert "It works once, for 2 hours." in answers[0][1]
    [secret] = _links(db_session, "host-a@example.com")
    assert _links(db_session, "nobody@example.com") == []

    # The reset link lets host A choose a new password; the old one is gone, and so is every session.
    old_session = new_client(app)
    login(old_session, world.host_a)
    browser = new_client(app)
    assert browser.post(f"/password/set/{secret}", data={"new": "annas-new-pass", "repeat": "annas-new-pass"}
                        ).status_code == 302
    assert browser.get(f"/p/{world.A.slug}/calendar").status_code == 200
    assert old_session.get(f"/p/{world.A.slug}/calendar").headers["Location"].startswith("/login")
    assert new_client(app).post("/login", data={"email": world.host_a.email, "password": "secret-password"}
                                ).status_code == 422


def test_a_reset_link_works_for_2_hours(app, world, db_session):
    new_client(app).post("/password/forgot", data={"email": world.staff1.email})
    [secret] = _links(db_session, world.staff1.email)
    clock.set_now(NOW + dt.timedelta(hours=2))
    assert new_client(app).get(f"/password/set/{secret}").status_code == 410


def test_forgot_password_is_limited_per_address(app, world, db_session):
    browser = new_client(app)
    english(browser)
    for n in range(5):
        assert browser.post("/password/forgot", data={"email": f"someone{n}@example.com"}).status_code == 200
    refused = browser.post("/password/forgot", data={"email": world.host_a.email})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 429 and refused.headers["Cache-Control"] == "no-store"
    assert "Too many requests for a new password from your connection" in body
    assert "Retry-After" in refused.headers
    # An Authorization header (which the API's limit is keyed by) does not open a new allowance.
    assert browser.post("/password/forgot", data={"email": world.host_a.email},
                        headers={"Authorization": "Bearer hp_abcdefabcdef_secret"}).status_code == 429
    assert _links(db_session, world.host_a.email) == []  # the refused request sent nothing
    # Reading the page is not limited, and another address is not affected.
    assert browser.get("/password/forgot").status_code == 200
    assert new_client(app).post("/password/forgot", data={"email": world.host_a.email}).status_code == 200
    assert len(_links(db_session, world.host_a.email)) == 1


def test_one_account_gets_at_most_three_reset_mails_an_hour(app, world, db_session):
    answers = {new_client(app).post("/password/forgot", data={"email": world.host_a.email}).status_code
               for _ in range(5)}
    assert answers == {200}
    assert len(_links(db_session, world.host_a.email)) == tokens.RESETS_PER_HOUR


def test_account_mails_are_not_in_the_message_log(app, world, db_session, host):
    with db_session() as s:
        prop_id = world.A.id
        s.add(MailMessage(property_id=prop_id, recipient=world.host_a.email, subject="Secret account mail",
                          body="a link", created_at=NOW, next_attempt_at=NOW, kind="account"))
        s.add(MailMessage(property_id=prop_id, recipient="office@example.com", subject="To the office only",
                          body="office", created_at=NOW, next_attempt_at=NOW, kind="office"))
        s.add(MailMessage(property_id=prop_id, recipient=world.host_a.email, subject="Booking news",
                          body="host", created_at=NOW, next_attempt_at=NOW, kind="host"))
        s.commit()
    new_client(app).post("/password/forgot", data={"email": world.host_a.email})
    page = host.get(f"/p/{world.A.slug}/messages").get_data(as_text=True)
    assert "Booking news" in page
    assert "Secret account mail" not in page and "To the office only" not in page and "new password" not in page


def test_without_mail_server_the_worker_writes_account_mails_to_the_folder(app, world, db_session):
    _register(app, world)
    [secret] = _links(db_session, "nora@example.com")
    folder = app.config["MAIL_FOLDER"]
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    result = run(app, "outbox", "deliver")
    assert result.exit_code == 0, result.output
    [name] = set(os.listdir(folder)) - before
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        text = f.read().replace("=\n", "")
    assert "To: nora@example.com" in text and f"/password/set/{secret}" in text
    with db_session() as s:
        mail = s.scalar(sa.select(MailMessage).where(MailMessage.kind == "account"))
        assert mail.sent_at is not None and mail.body == ""
    assert new_client(app).get(f"/password/set/{secret}").status_code == 200


def test_make_run_says_where_account_mails_go(app, db_session, monkeypatch):
    """`make run` starts `flask serve`, which names the folder when there is no MAIL_SERVER."""
    import werkzeug.serving

    class Server:
        port = 5000

        def serve_forever(self):
            raise KeyboardInterrupt

    monkeypatch.setattr(werkzeug.serving, "make_server", lambda *a, **kw: Server())
    result = run(app, "serve")
    assert result.exit_code == 0, result.output
    assert f"written to {app.config['MAIL_FOLDER']}/" in result.output


def test_an_admin_is_created_without_an_office(app, db_session):
    refused = run(app, "user", "create", "--email", "root@example.com", "--name", "Root", "--role", "admin",
                  "--office", "Tourist-Info Neustadt", "--password", "long-enough-pw")
    assert refused.exit_code == 1 and "office: Admins belong to no tourist office" in refused.output
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(User.id))) == 0
        assert s.scalar(sa.select(sa.func.count(Office.id))) == 0
    done = run(app, "user", "create", "--email", "root@example.com", "--name", "Root", "--role", "admin",
               "--password", "long-enough-pw")
    assert done.exit_code == 0, done.output
    with db_session() as s:
        assert s.scalar(sa.select(User.office_id).where(User.email == "root@example.com")) is None


def test_links_in_mails_use_the_public_address_not_the_request_host(make_app, world, db_session):
    app = make_app(PUBLIC_URL="https://portal.example/")
    forged = new_client(app).post("/password/forgot", data={"email": world.host_a.email},
                                  headers={"Host": "evil.example"})
    assert forged.status_code == 200
    with db_session() as s:
        body = s.scalar(sa.select(MailMessage.body).where(MailMessage.kind == "account"))
    assert "https://portal.example/password/set/" in body and "evil.example" not in body
