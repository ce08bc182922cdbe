"""The guide for hosts (Pflegeanleitung, R5): one template per language, German by default,
printable without the portal's navigation, with the office's contact."""
from __future__ import annotations

import os

import pytest

from services.models import Office, User
from tests.web.conftest import login

CSS = os.path.join(os.path.dirname(__file__), "..", "..", "portal", "static", "css", "print.css")


def _contact(db_session, world):
    with db_session() as s:
        office = s.get(Office, world.offices[1])
        office.email, office.phone, office.opening_hours = "info@eins.example", "+49 8821 180 700", "Mo–Fr 9–17 Uhr"
        s.commit()


def _locale(db_session, user_id, locale):
    with db_session() as s:
        s.get(User, user_id).locale = locale
        s.commit()


@pytest.mark.parametrize("locale, title, words", [
    ("de", "Pflegeanleitung für Gastgeber", ["Eigenbelegungen", "Provision", "Ersatzunterkunft",
                                             "Geben Sie die Nächte nie selbst frei", "2048 × 1536",
                                             "mindestens 3", "Vorübergehend unbestätigte Reservierung"]),
    ("en", "Guide for hosts", ["Own bookings", "commission", "replacement accommodation",
                               "Never free the nights yourself", "2048 × 1536", "at least 3",
                               "Temporarily unconfirmed reservation"]),
    ("cs", "Příručka pro ubytovatele", ["Vlastní rezervace", "provize", "náhradní ubytování",
                                        "Nikdy noci neuvolňujte sami", "2048 × 1536", "alespoň 3",
                                        "Dočasně nepotvrzená rezervace"]),
    ("", "Pflegeanleitung für Gastgeber", ["Eigenbelegungen"]),  # no language chosen: German
])
def test_the_guide_in_each_language_with_the_offices_contact(client, world, db_session, locale, title, words):
    _contact(db_session, world)
    _locale(db_session, world.host_a.id, locale)
    login(client, world.host_a)
    resp = client.get("/guide")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    main = body[body.index("<main>"):body.index("</main>")]
    assert f"<h1>{title}</h1>" in main
    for w in words:
        assert w in main, w
    assert f'lang="{locale or "de"}"' in main
    # The office's contact, in the guide itself (printed with it), twice: at the top and the end.
    assert main.count('href="mailto:info@eins.example"') == 2
    assert main.count('href="tel:+498821180700"') == 2
    assert "Mo–Fr 9–17 Uhr" in main and "Tourist-Info Eins" in main
    hours = {"en": "Opening hours", "cs": "Otevírací doba"}.get(locale, "Öffnungszeiten")  # the reader's language
    assert main.count(f"{hours}: Mo–Fr 9–17 Uhr") == 2


def test_other_languages_do_not_leak_into_the_guide(client, world, db_session):
    _locale(db_session, world.host_a.id, "cs")
    login(client, world.host_a)
    main = client.get("/guide").get_data(as_text=True)
    assert "Příručka pro ubytovatele" in main and "Pflegeanleitung" not in main and "Guide for hosts</h1>" not in main


def test_the_guide_is_printable_without_the_portals_navigation(host, world):
    body = host.get("/guide").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in body
    assert 'class="card guide"' in body and body.count("<section>") >= 8
    with open(CSS, encoding="utf-8") as f:
        css = f.read()
    hidden = css[:css.index("{ display: none !important; }")]
    for selector in ("header.top", "#flash", ".banner.assist", "footer.office-contact", ".double-booking-banner"):
        assert selector in hidden, selector
    assert ".guide h2" in css and "break-after: avoid" in css
    served = host.get("/static/css/print.css")
    assert served.status_code == 200
    served.close()


def test_the_navigation_links_the_guide(host, world):
    body = host.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    header = body[body.index('<header class="top"'):body.index("</header>")]
    assert 'href="/guide"' in header


def test_staff_read_it_with_their_own_offices_contact_and_admins_without_one(app, client, world, db_session):
    from tests.web.conftest import new_client

    _contact(db_session, world)
    login(client, world.staff1)
    assert 'href="mailto:info@eins.example"' in client.get("/guide").get_data(as_text=True)
    admin = new_client(app)
    login(admin, world.admin)
    body = admin.get("/guide").get_data(as_text=True)
    assert "mailto:" not in body and "Contact the tourist office with which you signed" in body


def test_the_guide_needs_a_login(client, world):
    resp = client.get("/guide")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
