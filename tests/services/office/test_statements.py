"""services.office.statements: commission statements per property and month (R23, issue 15).

The bookings are made in April 2030 through inventory.take (which writes the room-night ledger);
the statement of May 2030 is read and sent on 12 June 2030."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory
from services.bookings import cancelling
from services.core import clock, storage
from services.core.errors import Conflict, Forbidden
from services.models import AuditEntry, Booking, MailMessage, RoomNight, Statement, StatementLine
from services.office import contracts, statements
from tests.factories import make_property, make_user, new_booking
from tests.fake_smtp import fake_smtp

MAY = dt.date(2030, 5, 1)
JUNE = dt.date(2030, 6, 1)
SETUP = dt.datetime(2030, 4, 10, 8, 0, tzinfo=dt.timezone.utc)
SEND = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)
D = Decimal


def fake_pdf(view) -> bytes:
    return f"PDF {view.prop.slug} {view.month_key} {view.totals.commission}".encode()


@pytest.fixture
def files(tmp_path):
    before = storage._storage  # the app's (tests that follow use it): put back afterwards
    storage.configure(storage.FolderStorage(str(tmp_path)))
    yield storage.current()
    storage.configure(before)


@pytest.fixture
def world(session):
    """A property (3 units at 100.00 a night, April to July 2030) with commission rates:
    Booking.com 15 %, Slevomat 12.5 %, none for the office's own site; its office's staff."""
    clock.set_now(SETUP)
    prop = make_property(session, units=3, price="100.00", start=dt.date(2030, 4, 10), days=120)
    staff = make_user(session, "staff", prop.office)
    contracts.set_rates(session, staff, prop, {"booking": "15", "slevomat": "12.5"})
    return prop, staff


def book(session, prop, arrival, nights=2, source="booking", guest="Guest", units=1, **fields):
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, guest=guest, units=units)
    for k, v in fields.items():
        setattr(b, k, v)
    session.add(b)
    inventory.take(session, b)
    session.commit()
    return b


def cancel(session, b, via="channel", **fields):
    """As services.bookings.cancelling does it (status, nights released, room-nights cancelled)."""
    assert cancelling.cancel_stay(session, b, via)
    for k, v in fields.items():
        setattr(b, k, v)
    session.commit()


def line_of(view, booking, kind="booking"):
    found = [ln for ln in view.lines if ln.booking_id == booking.id and ln.kind == kind]
    assert len(found) <= 1
    return found[0] if found else None


def draft(session, prop, staff, month=MAY):
    clock.set_now(SEND)
    return statements.statement(session, staff, prop, month)


def test_online_booking_commission_at_the_channels_rate(session, world):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=3)
    line = line_of(draft(session, prop, staff), b)
    assert (line.state, line.room_nights, line.amount, line.commissionable) == ("sold", 3, D("300.00"), D("300.00"))
    assert (line.rate, line.commission) == (D("15.00"), D("45.00"))


def test_commission_rounds_half_up_to_the_cent_per_line(session, world):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=1, source="slevomat")
    session.execute(sa.update(RoomNight).where(RoomNight.booking_id == b.id).values(commissionable=D("10.20")))
    session.commit()
    line = line_of(draft(session, prop, staff), b)
    assert line.commission == D("1.28")  # 12.5 % of 10.20 = 1.275


def test_own_booking_listed_at_zero(session, world):
    """R2: own bookings are free of charge; iCal blocks are no bookings of the portal."""
    prop, staff = world
    own = book(session, prop, dt.date(2030, 5, 3), source="own")
    block = book(session, prop, dt.date(2030, 5, 20), source="ical")
    view = draft(session, prop, staff)
    line = line_of(view, own)
    assert (line.state, line.rate, line.commission, line.amount) == ("own", None, D("0.00"), D("200.00"))
    assert line_of(view, block) is None
    assert view.by_channel["own"].commission == 0


def test_cancelled_through_the_office_listed_at_zero(session, world):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10))
    other = book(session, prop, dt.date(2030, 5, 12))
    cancel(session, b, via="office")
    cancel(session, other, via="channel")
    view = draft(session, prop, staff)
    assert (line_of(view, b).state, line_of(view, b).commission) == ("cancelled_office", D("0.00"))
    assert (line_of(view, other).state, line_of(view, other).commission) == ("cancelled", D("0.00"))
    assert view.totals.commission == 0


def test_not_honoured_commission_kept_and_extra_cost_on_the_arrival_month(session, world):
    """R12: the commission stays due on the whole stay; the replacement's extra cost goes on
    the statement of the arrival's month only (the stay runs 30 May to 2 June)."""
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 30), nights=3)
    cancel(session, b, via="double_booking", commission_kept=True, replacement_extra_cost=D("55.50"))
    may, june = draft(session, prop, staff), draft(session, prop, staff, JUNE)
    line = line_of(may, b)
    assert (line.state, line.room_nights, line.commissionable, line.commission, line.extra_cost) == (
        "not_honoured", 2, D("200.00"), D("30.00"), D("55.50"))
    line = line_of(june, b)
    assert (line.room_nights, line.commission, line.extra_cost) == (1, D("15.00"), D("0.00"))
    assert may.totals.due == D("85.50")


def test_risk_free_resale_and_platform_payout(session, world):
    """R55: a room-night paid by the platform bears commission on its commissionable amount; R54:
    a resold one shows what the new guest paid but bears none here (the new guest's booking,
    which took the night, does: never twice); searching ones count 0."""
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=3, risk_free=True)
    cancel(session, b)
    rows = session.scalars(sa.select(RoomNight).where(RoomNight.booking_id == b.id).order_by(RoomNight.night)).all()
    assert [r.state for r in rows] == ["searching"] * 3
    rows[0].state, rows[0].amount_paid = "resold", D("120.00")
    rows[1].state, rows[1].amount_paid = "paid_by_platform", D("100.00")
    session.commit()
    line = line_of(draft(session, prop, staff), b)
    assert (line.state, line.commissionable, line.commission) == ("resold_and_paid", D("100.00"), D("15.00"))
    assert (line.resold_amount, line.platform_payout, line.amount) == (D("120.00"), D("100.00"), D("0.00"))

    still = book(session, prop, dt.date(2030, 5, 20), nights=1, risk_free=True, guest="Searching")
    cancel(session, still)
    assert line_of(draft(session, prop, staff), still).state == "searching"
    assert line_of(draft(session, prop, staff), still).commission == 0


def test_partial_cancellation_counts_the_kept_room_nights(session, world):
    """R57: two rooms booked, one cancelled: commission on the kept one only."""
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=2, units=2)
    first = session.scalars(sa.select(RoomNight).where(RoomNight.booking_id == b.id).order_by(RoomNight.unit_id)).all()
    for r in first[:2]:
        r.state = "cancelled"
    session.commit()
    line = line_of(draft(session, prop, staff), b)
    assert (line.state, line.room_nights, line.commissionable, line.commission) == (
        "partly_cancelled", 4, D("200.00"), D("30.00"))


def test_a_stay_over_two_months_is_split_by_nights(session, world):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 29), nights=5)  # 29, 30, 31 May; 1, 2 June
    may, june = line_of(draft(session, prop, staff), b), line_of(draft(session, prop, staff, JUNE), b)
    assert (may.room_nights, may.commission, june.room_nights, june.commission) == (3, D("45.00"), 2, D("30.00"))


def test_missing_rate_is_zero_with_a_note(session, world):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), source="tourist_office")
    line = line_of(draft(session, prop, staff), b)
    assert (line.rate, line.commission, line.note) == (None, D("0.00"), statements.NO_RATE)


def test_holds_and_replaced_bookings_are_not_listed(session, world):
    prop, staff = world
    hold = book(session, prop, dt.date(2030, 5, 10), status="pending",
                hold_expires_at=SETUP + dt.timedelta(hours=1))
    old = book(session, prop, dt.date(2030, 5, 12), guest="Replaced")
    old.status = "modified"
    session.commit()
    view = draft(session, prop, staff)
    assert line_of(view, hold) is None and line_of(view, old) is None


def test_ended_contract_rates_still_apply(session, world):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10))
    contracts.change(session, staff, prop, "end")
    assert line_of(draft(session, prop, staff), b).commission == D("30.00")


def test_totals_are_the_sums_of_the_rows_and_of_the_bookings(session, world):
    prop, staff = world
    bookings = [book(session, prop, dt.date(2030, 5, 2 + 3 * i), nights=2, source=src, guest=f"G{i}")
                for i, src in enumerate(["booking", "slevomat", "own", "booking", "tourist_office"])]
    view = draft(session, prop, staff)
    assert view.currency == "EUR"
    for name in statements.AMOUNTS:
        assert getattr(view.totals, name) == sum((getattr(ln, name) for ln in view.lines), D(0))
        assert getattr(view.totals, name) == sum((getattr(t, name) for t in view.by_channel.values()), D(0))
    # The bookings behind the rows: their room-nights' commissionable amounts at their channel's rate.
    rates = {"booking": D("15"), "slevomat": D("12.5")}
    expected = D(0)
    for b in bookings:
        comm = session.scalar(sa.select(sa.func.sum(RoomNight.commissionable)).where(RoomNight.booking_id == b.id))
        expected += statements.commission_of(D(comm), rates.get(b.source))
    assert view.totals.commission == expected == D("85.00")
    assert view.by_channel["booking"].commission == D("60.00") and view.by_channel["slevomat"].lines == 1


def test_only_ended_months_can_be_sent(session, world, files):
    prop, staff = world
    clock.set_now(SEND)
    with pytest.raises(Conflict):
        statements.send(session, staff, prop, JUNE, fake_pdf)
    assert session.scalar(sa.select(sa.func.count()).select_from(Statement)) == 0


def test_only_staff_of_the_office_send(session, world, files):
    prop, staff = world
    clock.set_now(SEND)
    other = make_user(session, "staff")
    for actor in (prop.owner, other):
        with pytest.raises(Forbidden):
            statements.send(session, actor, prop, MAY, fake_pdf)
    with pytest.raises(Forbidden):
        statements.statement(session, other, prop, MAY)


def test_send_freezes_mails_the_pdf_and_resend_never_recomputes(session, world, files):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=3)
    clock.set_now(SEND)
    view = statements.send(session, staff, prop, MAY, fake_pdf)
    assert view.sent and view.totals.commission == D("45.00")
    stmt = session.scalar(sa.select(Statement))
    assert (stmt.status, stmt.sent_by_id, stmt.total_commission, stmt.sent_at) == ("sent", staff.id, D("45.00"), SEND)
    mail = session.scalar(sa.select(MailMessage))
    assert (mail.kind, mail.recipient, mail.attachment_name) == ("host", prop.owner.email,
                                                                 f"statement-{prop.slug}-2030-05.pdf")
    assert files.get(mail.attachment_key) == f"PDF {prop.slug} 2030-05 45.00".encode()
    assert "45,00" in mail.body  # the host's language (German) words the amount

    # A later change: the sent statement stays as it was; sending again mails the same figures.
    cancel(session, b, via="office")
    later = SEND + dt.timedelta(days=1)
    clock.set_now(later)
    again = statements.statement(session, staff, prop, MAY)
    assert again.sent and line_of(again, b).commission == D("45.00") and again.totals.commission == D("45.00")
    statements.send(session, staff, prop, MAY, fake_pdf)
    stmt = session.scalar(sa.select(Statement))
    assert (stmt.last_mailed_at, stmt.sent_at, stmt.total_commission) == (later, SEND, D("45.00"))
    assert session.scalar(sa.select(sa.func.count()).select_from(StatementLine)) == 1
    mails = session.scalars(sa.select(MailMessage).order_by(MailMessage.id)).all()
    assert len(mails) == 2 and files.get(mails[1].attachment_key).endswith(b" 45.00")
    assert session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()[-2:] == [
        "statement_sent", "statement_resent"]


def test_a_change_after_sending_is_corrected_on_the_next_month_once(session, world, files):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=3)
    kept = book(session, prop, dt.date(2030, 5, 20), nights=2, guest="Kept")
    clock.set_now(SEND)
    statements.send(session, staff, prop, MAY, fake_pdf)
    clock.set_now(SEND + dt.timedelta(hours=1))
    cancel(session, b, via="office")  # the office cancels after the statement went out

    june = statements.statement(session, staff, prop, JUNE)
    fix = line_of(june, b, kind="correction")
    assert (fix.month, fix.commission, fix.amount, fix.room_nights, fix.note) == (
        MAY, D("-45.00"), D("-300.00"), 0, "cancelled_office")
    assert line_of(june, kept, kind="correction") is None
    assert june.totals.commission == D("-45.00")

    clock.set_now(dt.datetime(2030, 7, 2, 8, tzinfo=dt.timezone.utc))
    statements.send(session, staff, prop, JUNE, fake_pdf)
    july = statements.statement(session, staff, prop, dt.date(2030, 7, 1))
    assert [ln for ln in july.lines if ln.kind == "correction"] == []  # never twice


def test_a_late_r12_extra_cost_becomes_a_correction(session, world, files):
    prop, staff = world
    b = book(session, prop, dt.date(2030, 5, 10), nights=2)
    clock.set_now(SEND)
    statements.send(session, staff, prop, MAY, fake_pdf)
    clock.set_now(SEND + dt.timedelta(hours=1))
    cancel(session, b, via="double_booking", commission_kept=True, replacement_extra_cost=D("40.00"))
    fix = line_of(statements.statement(session, staff, prop, JUNE), b, kind="correction")
    assert (fix.commission, fix.extra_cost) == (D("0.00"), D("40.00"))


def test_a_booking_made_after_sending_is_corrected_too(session, world, files):
    prop, staff = world
    clock.set_now(SEND)
    statements.send(session, staff, prop, MAY, fake_pdf)
    clock.set_now(SETUP)  # a late channel booking, for May
    late = book(session, prop, dt.date(2030, 5, 25), nights=1)
    session.execute(sa.update(Booking).where(Booking.id == late.id).values(updated_at=SEND + dt.timedelta(hours=2)))
    session.commit()
    fix = line_of(draft(session, prop, staff, JUNE), late, kind="correction")
    assert (fix.commission, fix.room_nights) == (D("15.00"), 1)


def _count_draft(session, prop, staff, count_queries, n):
    for i in range(n):
        book(session, prop, dt.date(2030, 5, 1 + i % 28), nights=1, source="booking", guest=f"N{i}")
    clock.set_now(SEND)
    session.expire_all()
    with count_queries() as q:
        view = statements.statement(session, staff, prop, JUNE)
        statements.office_month(session, staff, JUNE)
    return len(q), view


def test_queries_do_not_grow_with_bookings(session, world, files, count_queries):
    prop, staff = world
    clock.set_now(SETUP)
    book(session, prop, dt.date(2030, 5, 5))
    clock.set_now(SEND)
    statements.send(session, staff, prop, MAY, fake_pdf)  # so that corrections are looked for
    clock.set_now(SEND + dt.timedelta(hours=1))
    few, _ = _count_draft(session, prop, staff, count_queries, 1)
    clock.set_now(SEND + dt.timedelta(hours=2))
    many, view = _count_draft(session, prop, staff, count_queries, 12)
    assert few == many
    assert len([ln for ln in view.lines if ln.kind == "correction"]) == 13


def test_the_worker_sends_the_pdf_as_an_attachment(session, world, files, monkeypatch):
    """services.channels.outbox.deliver_mail attaches the stored file (an SMTP stand-in records it)."""
    from services.channels import outbox

    sent = fake_smtp(monkeypatch)
    prop, staff = world
    book(session, prop, dt.date(2030, 5, 10))
    clock.set_now(SEND)
    statements.send(session, staff, prop, MAY, fake_pdf)
    assert outbox.deliver_mail(session, outbox.SMTPSettings("smtp.example")).sent == 1
    (msg,) = sent
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == f"statement-{prop.slug}-2030-05.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_content() == f"PDF {prop.slug} 2030-05 30.00".encode()
    assert "30,00" in msg.get_body(("plain",)).get_content()


def test_a_lost_attachment_holds_back_only_its_own_mail(session, world, files, monkeypatch):
    from services.channels import outbox

    sent = []
    monkeypatch.setattr(outbox.smtplib, "SMTP", lambda *a, **kw: type("S", (), {
        "__enter__": lambda self: self, "__exit__": lambda self, *e: False,
        "send_message": lambda self, m: sent.append(m)})())
    prop, staff = world
    clock.set_now(SEND)
    statements.send(session, staff, prop, MAY, fake_pdf)
    mail = session.scalar(sa.select(MailMessage))
    files.delete(mail.attachment_key)
    result = outbox.deliver_mail(session, outbox.SMTPSettings("smtp.example"))
    assert (result.sent, result.failed, sent) == (0, 1, [])
    session.expire_all()
    assert session.get(MailMessage, mail.id).sent_at is None and "FileNotFoundError" in session.get(
        MailMessage, mail.id).last_error
