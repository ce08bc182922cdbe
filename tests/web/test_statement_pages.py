"""Commission statement pages (R23, issue 15): staff's month list, a statement's page, CSV and
PDF, sending; hosts read their own. The world's property A has an own booking (Gustav) and a
Slevomat booking (Olga, 160.00 over two nights) in June 2030; Slevomat's rate is set to 10 %."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from services.availability import inventory
from services.bookings import cancelling
from services.core import clock, storage
from services.models import Booking, MailMessage, Office, Property, Statement, StatementLine, User
from services.office import contracts
from tests.web.conftest import HTMX, NOW, login, make_property, new_booking, new_client

JULY_2 = dt.datetime(2030, 7, 2, 8, 0, tzinfo=dt.timezone.utc)
JUNE = "2030-06"


@pytest.fixture
def rated(world, db_session):
    """Property A's contract charges 10 % on Slevomat bookings."""
    with db_session() as s:
        staff = s.get(User, world.staff1.id)
        prop = s.get(Property, world.A.id)
        contracts.set_rates(s, staff, prop, {"slevomat": "10"})
    return world


def _as(app, user):
    c = new_client(app)
    login(c, user)
    return c


def _pdf_text(data: bytes) -> str:
    """The PDF's words, whitespace collapsed (a long name wraps in its cell)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_host_sees_own_statement_with_lines_and_totals(app, host, rated):
    resp = host.get(f"/p/{rated.A.slug}/statements")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "June 2030" in page and f"/p/{rated.A.slug}/statements/{JUNE}" in page
    resp = host.get(f"/p/{rated.A.slug}/statements/{JUNE}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert rated.A.online_guest in page and rated.A.own_guest in page
    assert "own booking: no commission" in page and "draft" in page
    assert "€16.00" in page  # 10 % of 160.00
    assert "Send to the host" not in page  # hosts read only
    assert f'href="/p/{rated.A.slug}/statements"' in page  # the host's navigation links here


@pytest.mark.parametrize("who, url, status", [
    ("host_b", "/p/haus-a/statements/2030-06", 403),
    ("host_b", "/p/haus-a/statements/2030-06.csv", 403),
    ("host_a", "/office/statements?month=2030-06", 403),
    ("host_a", "/office/p/haus-a/statements/2030-06", 403),
    ("staff2", "/office/p/haus-a/statements/2030-06", 403),
    ("staff2", "/office/p/haus-a/statements/2030-06.pdf", 403),
    ("staff2", "/p/haus-a/statements", 403),
    ("staff1", "/office/p/haus-a/statements/2030-13", 404),
    ("staff1", "/office/p/nowhere/statements/2030-06", 404),
])
def test_isolation(app, rated, who, url, status):
    assert _as(app, getattr(rated, who)).get(url).status_code == status


def test_other_office_cannot_send(app, rated, db_session):
    clock.set_now(JULY_2)
    assert _as(app, rated.staff2).post(f"/office/p/haus-a/statements/{JUNE}/send").status_code == 403
    assert _as(app, rated.host_a).post(f"/office/p/haus-a/statements/{JUNE}/send").status_code == 403
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Statement)) == 0


def test_office_list_shows_its_properties_only(app, rated):
    page = _as(app, rated.staff1).get(f"/office/statements?month={JUNE}").get_data(as_text=True)
    assert rated.A.name in page and rated.B.name in page
    assert "€16.00" in page and "draft" in page
    assert "Send</button>" not in page  # June has not ended on 12 June
    assert 'href="/office/statements"' in page  # the office navigation
    other = _as(app, rated.staff2).get(f"/office/statements?month={JUNE}").get_data(as_text=True)
    assert rated.A.name not in other and rated.B.name not in other


def test_csv_english_comma_and_point(app, host, rated):
    resp = host.get(f"/p/{rated.A.slug}/statements/{JUNE}.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    data = resp.get_data()
    assert not data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=","))
    head, body = rows[0], rows[1:]
    assert head[0] == "Month" and "Commission" in head and len(body) == 2
    by_guest = {r[head.index("Guest")]: r for r in body}
    online = by_guest[rated.A.online_guest]
    assert online[head.index("Commission")] == "16.00" and online[head.index("Rate (%)")] == "10.00"
    assert Decimal(online[head.index("Commissionable")]) == Decimal("160.00")
    assert by_guest[rated.A.own_guest][head.index("Commission")] == "0.00"


def test_csv_german_semicolon_decimal_comma_and_bom(app, rated, db_session):
    with db_session() as s:
        s.get(User, rated.host_a.id).locale = "de"
        s.commit()
    data = _as(app, rated.host_a).get(f"/p/{rated.A.slug}/statements/{JUNE}.csv").get_data()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    head = rows[0]
    assert len(head) == 18 and all(len(r) == 18 for r in rows)
    online = next(r for r in rows[1:] if r[4] == rated.A.online_guest)
    assert online[12] == "16,00" and online[9] == "160,00"
    assert Decimal(online[12].replace(",", ".")) == Decimal("16.00")


def test_pdf_holds_the_totals(app, host, rated):
    resp = host.get(f"/p/{rated.A.slug}/statements/{JUNE}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = _pdf_text(resp.get_data())
    assert "Commission statement June 2030" in text
    assert "€16.00" in text and rated.A.online_guest in text


def test_send_freezes_mails_the_pdf_and_later_changes_become_corrections(app, rated, db_session):
    url = f"/office/p/{rated.A.slug}/statements/{JUNE}/send"
    assert _as(app, rated.staff1).post(url).status_code == 409  # June has not ended yet
    clock.set_now(JULY_2)
    staff = _as(app, rated.staff1)
    resp = staff.post(url, headers=HTMX, data={"back": "list"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/office/statements?month={JUNE}"
    with db_session() as s:
        st = s.scalar(sa.select(Statement))
        assert (st.status, st.total_commission, st.sent_by_id) == ("sent", Decimal("16.00"), rated.staff1.id)
        mail = s.scalar(sa.select(MailMessage).where(MailMessage.attachment_key.is_not(None)))
        assert mail.kind == "host" and mail.attachment_name == f"statement-{rated.A.slug}-{JUNE}.pdf"
        pdf = storage.current().get(mail.attachment_key)
        assert "€16.00" in _pdf_text(pdf)  # the host reads English
        # The office cancels Olga's booking after the statement went out.
        clock.set_now(JULY_2 + dt.timedelta(minutes=10))  # within the session
        assert cancelling.cancel_stay(s, s.get(Booking, rated.A.online_id), "office")
        s.commit()
    page = staff.get(f"/office/p/{rated.A.slug}/statements/{JUNE}").get_data(as_text=True)
    assert "€16.00" in page and "Send again" in page and "sent" in page  # frozen
    july = staff.get(f"/office/p/{rated.A.slug}/statements/2030-07").get_data(as_text=True)
    assert "Correction of June 2030" in july and "-€16.00" in july.replace("−", "-")

    resp = staff.post(url)  # sent again: mailed again, never recomputed
    assert resp.status_code == 303
    history = _as(app, rated.host_a).get(f"/p/{rated.A.slug}/history").get_data(as_text=True)
    assert "Commission statement sent" in history and "Commission statement sent again" in history
    assert "2030-06: €16.00" in history
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(StatementLine)) == 2
        assert s.scalar(sa.select(Statement.total_commission)) == Decimal("16.00")
        assert s.scalar(sa.select(sa.func.count()).select_from(MailMessage)
                        .where(MailMessage.attachment_key.is_not(None))) == 2


def test_statement_page_fits_a_phone_and_prints(app, host, rated):
    page = host.get(f"/p/{rated.A.slug}/statements/{JUNE}").get_data(as_text=True)
    assert 'class="list stack statement-lines"' in page and 'data-label="Commission"' in page
    assert "css/print.css" in page and 'class="actions no-print"' in page


def test_page_queries_do_not_grow_with_bookings(app, rated, db_session, count_queries):
    staff = _as(app, rated.staff1)

    def add(n):
        with db_session() as s:
            prop = s.get(Property, rated.A.id)
            for i in range(n):
                b = new_booking(prop, arrival=NOW.date() + dt.timedelta(days=10 + i % 5), nights=1,
                                source="own", guest=f"Extra {i}")
                s.add(b)
                inventory.take(s, b)
            s.commit()

    def count(url):
        with count_queries() as q:
            assert staff.get(url).status_code == 200
        return len(q)

    add(1)
    few = (count(f"/office/p/{rated.A.slug}/statements/{JUNE}"), count(f"/office/statements?month={JUNE}"))
    add(6)
    many = (count(f"/office/p/{rated.A.slug}/statements/{JUNE}"), count(f"/office/statements?month={JUNE}"))
    assert few == many
    with db_session() as s:  # more properties in the office: the list's queries stay the same
        for i in range(3):
            prop = make_property(s, office=s.get(Office, rated.offices[1]), units=1, days=30)
            b = new_booking(prop, arrival=NOW.date() + dt.timedelta(days=2), source="own", guest=f"More {i}")
            s.add(b)
            inventory.take(s, b)
        s.commit()
    assert count(f"/office/statements?month={JUNE}") == many[1]


def test_the_pdf_fetches_nothing_from_the_network(app):
    from portal.blueprints.statements import formats

    with app.test_request_context("/"):
        fetcher = formats._fetcher()
        css = fetcher.fetch(formats.PDF_BASE + "static/css/print.css")
        assert b".statement" in css.read()
        css.close()
        for url in ("https://example.org/x.css", formats.PDF_BASE + "static/../config.py", "file:///etc/passwd"):
            with pytest.raises(ValueError):
                fetcher.fetch(url)
