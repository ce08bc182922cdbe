"""Cancellations through the office on the pages (R20, R21, R32): the host's report on the booking
detail, the office's queue, the fee on a cancelled booking, the channel request's delivery."""
from __future__ import annotations

import sqlalchemy as sa

from services.models import Booking, CancellationReport, ChannelConnection, MailMessage, Occupancy, Office
from tests.web.conftest import HTMX, PASSWORD, csrf_from, d, field_errors, login, new_client, snapshot


def _detail(w):
    return f"/p/{w.A.slug}/bookings/{w.A.online_id}"


def _report(client, w, **over):
    data = {"guest_told_on": d(0).isoformat(), "told_by": "phone", "note": "Guest broke a leg"}
    data.update(over)
    return client.post(f"{_detail(w)}/report-cancellation", data=data, headers=HTMX)


def _staff(app, account):
    c = new_client(app)
    login(c, account)
    return c


def _the_report(db_session, w):
    with db_session() as s:
        return s.scalar(sa.select(CancellationReport).where(CancellationReport.booking_id == w.A.online_id))


def test_host_reports_a_guests_cancellation_and_the_booking_waits_for_the_office(host, world, db_session):
    with db_session() as s:
        s.get(Office, world.offices[1]).email = "info@eins.example"
        s.commit()
    page = host.get(_detail(world)).get_data(as_text=True)
    assert "The guest cancelled with you? Report it to the tourist office" in page
    assert "Send cancellation request" in page
    resp = _report(host, world)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == _detail(world)
    page = host.get(_detail(world)).get_data(as_text=True)
    assert "waiting for the tourist office" in page
    assert "Send cancellation request" not in page and "Report it to the tourist office" not in page
    r = _the_report(db_session, world)
    assert r.status == "waiting" and r.told_by == "phone" and r.guest_told_on == d(0)
    with db_session() as s:
        [mail] = s.scalars(sa.select(MailMessage).where(MailMessage.kind == "office")).all()
        assert mail.recipient == "info@eins.example" and world.A.online_guest in mail.body
    # A second report of the same booking: 409 with the reason.
    again = _report(host, world)
    assert again.status_code == 409
    assert "reported already" in again.get_data(as_text=True)


def test_bad_report_is_422_next_to_the_field_and_writes_nothing(app, host, world):
    before = snapshot(app)
    resp = _report(host, world, guest_told_on=d(1).isoformat())
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<html" not in body
    assert field_errors(body, "guest_told_on") == ["The date cannot be in the future."]
    resp = _report(host, world, told_by="pigeon")
    assert resp.status_code == 422 and field_errors(resp.get_data(as_text=True), "told_by")
    resp = _report(host, world, guest_told_on="")
    assert resp.status_code == 422 and field_errors(resp.get_data(as_text=True), "guest_told_on")
    assert snapshot(app) == before


def test_an_own_booking_is_not_reported(host, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/report-cancellation",
                     data={"guest_told_on": d(0).isoformat(), "told_by": "phone"}, headers=HTMX)
    assert resp.status_code == 409
    page = host.get(f"/p/{world.A.slug}/bookings/{world.A.own_id}").get_data(as_text=True)
    assert "Report it to the tourist office" not in page


def test_the_office_queue_cancel_free_of_charge_once(app, host, world, db_session):
    empty = _staff(app, world.staff1)
    page = empty.get("/office/cancellations").get_data(as_text=True)
    assert "No reported cancellations are waiting." in page and 'href="/office/cancellations"' in page
    _report(host, world)
    r = _the_report(db_session, world)
    staff = _staff(app, world.staff1)
    page = staff.get("/office/cancellations").get_data(as_text=True)
    assert world.A.online_guest in page and world.A.name in page and "Guest broke a leg" in page
    assert f'id="c{r.id}-fee"' in page and "hx-confirm" in page
    # Another office's staff see nothing of it and cannot cancel it; a host has no queue.
    other = _staff(app, world.staff2)
    assert world.A.online_guest not in other.get("/office/cancellations").get_data(as_text=True)
    assert other.post(f"/office/cancellations/{r.id}/cancel", data={f"c{r.id}-fee": "0"}, headers=HTMX).status_code == 404
    assert host.get("/office/cancellations").status_code == 403
    # A fee above the total: 422 next to the field, nothing cancelled.
    resp = staff.post(f"/office/cancellations/{r.id}/cancel", data={f"c{r.id}-fee": "999"}, headers=HTMX)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), f"c{r.id}-fee") == ["Enter an amount from 0 to the total price."]
    resp = staff.post(f"/office/cancellations/{r.id}/cancel",
                      data={f"c{r.id}-fee": "20,50", f"c{r.id}-fee_note": "late"}, headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/office/cancellations"
    with db_session() as s:
        b = s.get(Booking, world.A.online_id)
        assert b.status == "cancelled" and b.cancelled_via == "office" and str(b.cancellation_fee) == "20.50"
        assert not s.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == b.id))
    # The double click: 409, never a second release.
    assert staff.post(f"/office/cancellations/{r.id}/cancel", data={f"c{r.id}-fee": "0"}, headers=HTMX).status_code == 409
    assert "No reported cancellations are waiting." in staff.get("/office/cancellations").get_data(as_text=True)
    # The host's booking shows the fee and its note.
    page = host.get(_detail(world)).get_data(as_text=True)
    assert "by the tourist office, free of charge" in page and "€20.50" in page and "late" in page


def test_decline_needs_a_reason(app, host, world, db_session):
    _report(host, world)
    r = _the_report(db_session, world)
    staff = _staff(app, world.staff1)
    resp = staff.post(f"/office/cancellations/{r.id}/decline", data={f"d{r.id}-note": ""}, headers=HTMX)
    assert resp.status_code == 422 and field_errors(resp.get_data(as_text=True), f"d{r.id}-note") == ["Enter the reason."]
    resp = staff.post(f"/office/cancellations/{r.id}/decline", data={f"d{r.id}-note": "Not cancelled on the channel"},
                      headers=HTMX)
    assert resp.status_code == 204
    assert _the_report(db_session, world).status == "declined"
    with db_session() as s:
        assert s.get(Booking, world.A.online_id).status == "confirmed"
    assert "Report it to the tourist office" in host.get(_detail(world)).get_data(as_text=True)


def test_the_fee_of_a_cancelled_own_booking_is_edited_on_its_page(host, world, db_session):
    url = f"/p/{world.A.slug}/bookings/{world.A.own_id}"
    assert host.post(f"{url}/cancel", headers=HTMX).status_code == 204
    page = host.get(url).get_data(as_text=True)
    assert "Cancellation fee" in page and "by you" in page
    resp = host.post(f"{url}/cancellation-fee", data={"cancellation_fee": "500", "cancellation_fee_note": ""}, headers=HTMX)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "cancellation_fee") == ["Enter an amount from 0 to the total price."]
    resp = host.post(f"{url}/cancellation-fee", data={"cancellation_fee": "abc"}, headers=HTMX)
    assert resp.status_code == 422 and field_errors(resp.get_data(as_text=True), "cancellation_fee")
    resp = host.post(f"{url}/cancellation-fee", data={"cancellation_fee": "45", "cancellation_fee_note": "as agreed"},
                     headers=HTMX)
    assert resp.status_code == 204
    page = host.get(url).get_data(as_text=True)
    assert "€45.00" in page and "as agreed" in page
    # An active booking has no fee to set.
    active = f"/p/{world.A.slug}/bookings/{world.A.online_id}/cancellation-fee"
    assert host.post(active, data={"cancellation_fee": "1"}, headers=HTMX).status_code == 409


def test_channel_request_shows_its_delivery_or_is_refused_without_an_address(host, world, db_session):
    url = f"{_detail(world)}/request-cancellation"
    resp = host.post(url, data={"note": "Guest called"}, headers=HTMX)
    assert resp.status_code == 204
    page = host.get(_detail(world)).get_data(as_text=True)
    assert "Queued, not delivered yet." in page and "by e-mail to partner@slevomat.example" in page
    with db_session() as s:
        mail = s.scalar(sa.select(MailMessage).where(MailMessage.kind == "channel"))
        mail.sent_at = mail.created_at  # as the mail worker records it
        s.get(ChannelConnection, s.get(Booking, world.A.online_id).connection_id).contact_email = ""
        s.commit()
    page = host.get(_detail(world)).get_data(as_text=True)
    assert "Delivered to the channel on" in page
    # Without a webhook or a contact the request is refused, saying what to do.
    resp = host.post(url, data={"note": "again"}, headers=HTMX)
    assert resp.status_code == 409 and "contact e-mail" in resp.get_data(as_text=True)


def test_the_connection_page_saves_the_channels_contact(host, world, db_session):
    page = host.get(f"/p/{world.A.slug}/modules").get_data(as_text=True)
    assert 'name="slevomat-contact_email"' in page
    data = {"slevomat-hold_minutes": "60", "slevomat-webhook_url": "", "slevomat-payment_mode": "on_arrival",
            "slevomat-inventory_mode": "request", "slevomat-contact_email": "no address"}
    resp = host.post(f"/p/{world.A.slug}/modules/slevomat/on", data=data, headers=HTMX)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "slevomat-contact_email") == ["Enter a valid e-mail address."]
    data["slevomat-contact_email"] = "sales@slevomat.example"
    assert host.post(f"/p/{world.A.slug}/modules/slevomat/on", data=data, headers=HTMX).status_code == 204
    with db_session() as s:
        conn = s.scalar(sa.select(ChannelConnection).where(ChannelConnection.property_id == world.A.id))
        assert conn.contact_email == "sales@slevomat.example"


def test_report_without_csrf_token_is_refused(csrf_app, world):
    c = new_client(csrf_app)
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"email": world.host_a.email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    before = snapshot(csrf_app)
    resp = c.post(f"{_detail(world)}/report-cancellation", data={"guest_told_on": d(0).isoformat(), "told_by": "phone"})
    assert resp.status_code == 400
    assert snapshot(csrf_app) == before
