"""services.accounts.tokens: one-time links to set a password (invitations 72 hours, resets 2 hours),
stored hashed, spent once (also when two requests race), with their e-mails of kind "account"
that no message log shows and whose body is wiped once delivered."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from services.accounts import tokens, users
from services.bookings import notify
from services.channels import outbox
from services.core import clock
from services.core.errors import Invalid
from services.models import AccountToken, AuditEntry, MailMessage, User
from tests.conftest import is_postgres
from tests.factories import make_office, make_property, make_user
from tests.fake_smtp import fake_smtp

T0 = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
BASE = "https://portal.example/password/set/"


def _secret_of(mail: MailMessage) -> str:
    start = mail.body.index(BASE) + len(BASE)
    return mail.body[start:].split()[0]


def _invited(session, **kw) -> tuple[User, str]:
    clock.set_now(kw.pop("at", T0))
    user = make_user(session, "host", **kw)
    secret = tokens.issue(session, user, "invite")
    session.commit()
    return user, secret


def test_only_the_hash_is_stored_and_the_secret_is_long(session):
    user, secret = _invited(session)
    assert len(secret) >= 43  # 32 random bytes
    row = session.scalar(sa.select(AccountToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in row.token_hash
    # No column of any table holds the secret.
    for table in ("account_token", "user_account", "audit_entry"):
        for r in session.execute(sa.text(f"SELECT * FROM {table}")):
            assert not any(secret in str(v) for v in r)
    assert tokens.peek(session, secret).email == user.email


@pytest.mark.parametrize("purpose,hours", [("invite", 72), ("reset", 2)])
def test_a_link_works_until_its_validity_ends(session, purpose, hours):
    clock.set_now(T0)
    user = make_user(session, "host")
    secret = tokens.issue(session, user, purpose)
    session.commit()
    clock.set_now(T0 + dt.timedelta(hours=hours) - dt.timedelta(seconds=1))
    assert tokens.peek(session, secret) is not None
    clock.set_now(T0 + dt.timedelta(hours=hours))
    assert tokens.peek(session, secret) is None
    with pytest.raises(tokens.LinkUnusable) as refused:
        tokens.redeem(session, secret, "a-new-password", "a-new-password")
    assert str(refused.value) == "This link has expired or was used already. Ask for a new one."
    assert refused.value.status == 410


def test_the_invitation_is_valid_72_hours_and_a_reset_2():
    assert tokens.INVITATION_VALID == dt.timedelta(hours=72) and tokens.RESET_VALID == dt.timedelta(hours=2)


def test_redeeming_sets_the_password_once(session):
    user, secret = _invited(session)
    user.must_change_password = True
    generation = user.session_generation
    session.commit()
    done = tokens.redeem(session, secret, "my-own-password", "my-own-password")
    assert done.id == user.id
    session.expire_all()
    user = session.get(User, user.id)
    assert check_password_hash(user.password_hash, "my-own-password")
    assert not user.must_change_password and user.session_generation == generation + 1  # other sessions end
    assert users.authenticate(session, user.email, "my-own-password").id == user.id
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password_set"))
    assert entry.actor_id == user.id and user.email in entry.summary
    # Single use: the same link again, with any password, is refused and changes nothing.
    assert tokens.peek(session, secret) is None
    with pytest.raises(tokens.LinkUnusable):
        tokens.redeem(session, secret, "someone-elses-pw", "someone-elses-pw")
    session.expire_all()
    assert check_password_hash(session.get(User, user.id).password_hash, "my-own-password")


@pytest.mark.parametrize("password,repeat,field,message", [
    ("short", "short", "new", "The password needs at least 8 characters."),
    ("long-enough-1", "long-enough-2", "repeat", "The two new passwords differ."),
])
def test_a_refused_password_leaves_the_link_working(session, password, repeat, field, message):
    user, secret = _invited(session)
    with pytest.raises(Invalid) as refused:
        tokens.redeem(session, secret, password, repeat)
    assert str(refused.value.errors[field]) == message
    session.rollback()
    assert tokens.peek(session, secret) is not None


def test_unknown_and_odd_secrets_are_refused(session):
    _invited(session)
    for secret in ("", "x", "A" * 43, "A" * 5000):
        assert tokens.peek(session, secret) is None
        with pytest.raises(tokens.LinkUnusable):
            tokens.redeem(session, secret, "a-new-password", "a-new-password")


def test_a_new_link_replaces_the_older_ones_of_its_purpose(session):
    user, first = _invited(session)
    reset = tokens.issue(session, user, "reset")
    second = tokens.issue(session, user, "invite")
    session.commit()
    assert tokens.peek(session, first) is None
    assert tokens.peek(session, second) is not None and tokens.peek(session, reset) is not None
    # Setting the password through one spends every other link of the account.
    tokens.redeem(session, second, "my-own-password", "my-own-password")
    assert tokens.peek(session, reset) is None


def test_an_inactive_account_link_does_not_work(session):
    user, secret = _invited(session)
    user.active = False
    session.commit()
    assert tokens.peek(session, secret) is None


@pytest.mark.skipif(not is_postgres(), reason="two connections racing for one row: PostgreSQL's row locks")
@pytest.mark.postgres_only
def test_two_requests_racing_with_one_link_set_the_password_once(session, engine, monkeypatch):
    user, secret = _invited(session)
    user_id = user.id
    session.close()
    # Both requests pass the check before either spends the link: each waits here for the other.
    both_checked = threading.Barrier(2, timeout=10)
    real_hash = tokens.generate_password_hash

    def hash_after_both_checked(password):
        both_checked.wait()
        return real_hash(password, method="pbkdf2:sha256:1000")

    monkeypatch.setattr(tokens, "generate_password_hash", hash_after_both_checked)
    outcomes = {}

    def attempt(password):
        with Session(engine) as s:
            try:
                tokens.redeem(s, secret, password, password)
                outcomes[password] = "set"
            except tokens.LinkUnusable:
                outcomes[password] = "refused"

    threads = [threading.Thread(target=attempt, args=(p,)) for p in ("password-one", "password-two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes.values()) == ["refused", "set"]
    winner = next(p for p, o in outcomes.items() if o == "set")
    with Session(engine) as s:
        assert check_password_hash(s.get(User, user_id).password_hash, winner)
        assert s.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "password_set")) == 1


# -- "forgot password" -----------------------------------------------------------------------------

def _mails(session) -> list[MailMessage]:
    return list(session.scalars(sa.select(MailMessage).order_by(MailMessage.id)))


def test_a_reset_goes_to_a_known_address_only(session):
    clock.set_now(T0)
    user = make_user(session, "host", email="hanna@example.com", name="Hanna Host")
    tokens.request_reset(session, "nobody@example.com", BASE)
    assert _mails(session) == [] and session.scalar(sa.select(sa.func.count(AccountToken.id))) == 0
    tokens.request_reset(session, " Hanna@Example.com ", BASE)
    [mail] = _mails(session)
    assert (mail.recipient, mail.kind, mail.property_id) == ("hanna@example.com", "account", None)
    assert "Hanna Host" in mail.body and "2 Stunden" in mail.body  # the host's language: German
    secret = _secret_of(mail)
    assert tokens.peek(session, secret).email == user.email
    tokens.redeem(session, secret, "a-new-password", "a-new-password")
    assert users.authenticate(session, user.email, "a-new-password") is not None


def test_at_most_three_reset_mails_per_account_and_hour(session):
    clock.set_now(T0)
    make_user(session, "host", email="hanna@example.com")
    for minute in range(5):
        clock.set_now(T0 + dt.timedelta(minutes=minute))
        tokens.request_reset(session, "hanna@example.com", BASE)
    assert len(_mails(session)) == tokens.RESETS_PER_HOUR == 3
    clock.set_now(T0 + dt.timedelta(minutes=61))
    tokens.request_reset(session, "hanna@example.com", BASE)
    assert len(_mails(session)) == 4
    # Only the newest link works.
    mails = _mails(session)
    assert [tokens.peek(session, _secret_of(m)) is not None for m in mails] == [False, False, False, True]


def test_an_inactive_account_gets_no_reset_mail(session):
    user = make_user(session, "host", email="gone@example.com")
    user.active = False
    session.commit()
    tokens.request_reset(session, "gone@example.com", BASE)
    assert _mails(session) == []


# -- account e-mails: not in the message log, wiped once delivered ----------------------------------

def _mail(session, prop, kind: str, subject: str) -> MailMessage:
    now = clock.now()
    m = MailMessage(property_id=prop.id if kind != "account" else None, recipient="x@example.com", subject=subject,
                    body=f"body of {subject}", created_at=now, next_attempt_at=now, kind=kind)
    session.add(m)
    session.commit()
    return m


def test_the_message_log_shows_only_the_hosts_mails(session):
    prop = make_property(session)
    for kind in ("host", "office", "channel", "account"):
        _mail(session, prop, kind, f"{kind} mail")
    # Even an account mail that named the property stays out.
    session.add(MailMessage(property_id=prop.id, recipient="x@example.com", subject="account of prop", body="link",
                            created_at=clock.now(), next_attempt_at=clock.now(), kind="account"))
    session.commit()
    assert [m.subject for m in notify.messages(session, prop.owner, prop)] == ["host mail"]


def test_without_a_mail_server_account_mails_are_written_as_eml_files(session, tmp_path):
    prop = make_property(session)
    host_mail = _mail(session, prop, "host", "host mail")
    user, _ = _invited(session, at=clock.now())
    tokens.invite(session, user, BASE, "Tourist-Info Eins", "Haus Seeblick")
    session.commit()
    invitation = session.scalar(sa.select(MailMessage).where(MailMessage.kind == "account"))
    secret = _secret_of(invitation)
    folder = tmp_path / "mail"
    result = outbox.deliver_mail(session, None, folder=str(folder))
    assert (result.sent, result.failed) == (1, 0)
    [name] = os.listdir(folder)
    assert name.endswith(f"-{invitation.id}.eml")
    text = (folder / name).read_bytes().decode()
    assert f"To: {user.email}" in text and BASE + secret in text.replace("=\n", "")
    assert (folder / name).stat().st_mode & 0o077 == 0  # the owner's only
    session.expire_all()
    invitation = session.get(MailMessage, invitation.id)
    assert invitation.sent_at is not None and invitation.body == ""  # no copy of the link stays
    host_mail = session.get(MailMessage, host_mail.id)
    assert host_mail.sent_at is None and host_mail.body == "body of host mail"  # stays in the log
    # Nothing is written twice.
    assert outbox.deliver_mail(session, None, folder=str(folder)).sent == 0 and len(os.listdir(folder)) == 1
    # The link still works: the mail's body was the only copy of the secret besides the file.
    assert tokens.peek(session, secret) is not None


def test_an_account_mail_sent_through_smtp_is_wiped_too(session, monkeypatch):
    sent = fake_smtp(monkeypatch)
    prop = make_property(session)
    host_mail = _mail(session, prop, "host", "host mail")
    account = _mail(session, prop, "account", "account mail")
    result = outbox.deliver_mail(session, outbox.SMTPSettings("smtp.example"))
    assert result.sent == 2 and len(sent) == 2
    assert "body of account mail" in sent[1].get_content()
    session.expire_all()
    assert session.get(MailMessage, account.id).body == ""
    assert session.get(MailMessage, host_mail.id).body == "body of host mail"


# -- admins belong to no office ----------------------------------------------------------------------

def test_an_admin_belongs_to_no_office(session):
    office = make_office(session)
    with pytest.raises(Invalid) as refused:
        users.create_user(session, "root@example.com", "Root", "long-enough-pw", "admin", office)
    assert "office" in refused.value.errors
    session.rollback()
    admin = users.create_user(session, "root@example.com", "Root", "long-enough-pw", "admin")
    assert admin.office_id is None


def test_an_account_without_a_password_cannot_log_in(session):
    user = users.create_user(session, "new@example.com", "New Host", None, "host")
    session.commit()
    for guess in ("", "!unusable", user.password_hash, user.password_hash.split("$")[1]):
        assert users.authenticate(session, "new@example.com", guess) is None
