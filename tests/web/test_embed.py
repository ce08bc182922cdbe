"""The public review block for the tourist office's website, GET /embed/<slug>/reviews: no
login and no session, only properties with an active contract, the same rules as the host's
page, framing only by the office's origins, cached (ETag, 304), escaped, cheap."""
from __future__ import annotations

import datetime as dt
import re

from services.core import clock
from services.models import Office, Property, Review
from tests.web.conftest import NOW, login, new_client
from tests.web.test_reviews_pages import CUTOFF, add_review, ago, review_partner, seed


def url(w, key="A", **query) -> str:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/embed/{w.props[key].slug}/reviews" + (f"?{q}" if q else "")


def ids(html: str) -> list[str]:
    return re.findall(r'data-review-id="([^"]+)"', html)


def set_origins(db_session, office_id: int, origins: str) -> None:
    with db_session() as s:
        s.get(Office, office_id).embed_origins = origins
        s.commit()


def test_shows_the_block_by_the_rules(client, world, db_session):
    with db_session() as s:
        conn = review_partner(s, world.A.id)
        recent = [add_review(s, world.A.id, conn, ago(i + 1), overall="6.0").partner_review_id for i in range(11)]
        add_review(s, world.A.id, conn, CUTOFF - dt.timedelta(days=1), overall="1.0", partner_id="OLD")
        add_review(s, world.A.id, conn, CUTOFF, partner_id="EDGE")
        add_review(s, world.A.id, conn, ago(0), status="pending", partner_id="PENDING")
        add_review(s, world.A.id, conn, ago(0), status="archived", partner_id="ARCHIVED")
        s.commit()
    resp = client.get(url(world, lang="en"))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert ids(html) == recent[:10]  # newest 10; never pending, archived or older than 24 months
    assert "5.5 / 6, 13 reviews" in html  # over all 13 published (R62)
    assert '<html lang="en">' in html and "Guest reviews" in html
    # Standalone: no portal navigation, no login, no forms, its own stylesheet.
    assert "main-nav" not in html and "<form" not in html and "portal.css" not in html and "embed.css" in html


def test_two_published_show_nothing_three_show(client, world, db_session):
    seed(db_session, world.A.id, 2)
    html = client.get(url(world, lang="en")).get_data(as_text=True)
    assert ids(html) == [] and "No reviews to show yet." in html
    with db_session() as s:
        conn = s.query(Review).filter_by(property_id=world.A.id).first().connection_id
        add_review(s, world.A.id, conn, ago(50))
        s.commit()
    assert len(ids(client.get(url(world, lang="en")).get_data(as_text=True))) == 3


def test_partner_totals_preferred(client, world, db_session):
    seed(db_session, world.A.id, 3, count=27, average="5.3")
    assert "5.3 / 6, 27 reviews" in client.get(url(world, lang="en")).get_data(as_text=True)


def test_inactive_contract_and_unknown_slug_are_404(client, world, db_session):
    seed(db_session, world.C.id, 3)
    resp = client.get(url(world, "C"))
    assert resp.status_code == 404 and resp.headers["Cache-Control"] == "no-store"  # it may open tomorrow
    assert "data-review-id" not in resp.get_data(as_text=True)
    assert client.get("/embed/no-such-house/reviews").status_code == 404
    with db_session() as s:  # the contract ends: the block goes with it
        s.get(Property, world.A.id).contract_active_since = None
        s.commit()
    assert client.get(url(world)).status_code == 404


def test_language_by_query_german_by_default(client, world, db_session):
    seed(db_session, world.A.id, 3, overall="5.25")
    de = client.get(url(world)).get_data(as_text=True)
    assert '<html lang="de">' in de and "5,3 / 6" in de
    cs = client.get(url(world, lang="cs")).get_data(as_text=True)
    assert '<html lang="cs">' in cs and "5,3 / 6" in cs
    assert '<html lang="de">' in client.get(url(world, lang="xx")).get_data(as_text=True)
    en = client.get(url(world, lang="en")).get_data(as_text=True)
    assert "5.3 / 6" in en


def test_no_session_cookie_even_for_a_logged_in_browser(client, world, db_session):
    seed(db_session, world.A.id, 3)
    anon = new_client(client.application)
    resp = anon.get(url(world))
    assert "Set-Cookie" not in resp.headers and "Cookie" not in resp.headers.get("Vary", "")
    login(client, world.host_a)
    resp = client.get(url(world))
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    assert "Cookie" not in resp.headers.get("Vary", "")


def test_framing_only_by_the_configured_origins(client, world, db_session):
    seed(db_session, world.A.id, 3)
    resp = client.get(url(world))
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and resp.headers["X-Frame-Options"] == "DENY"
    set_origins(db_session, world.offices[1], "https://www.tourist-eins.de https://eins.example:8443")
    resp = client.get(url(world))
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors https://www.tourist-eins.de https://eins.example:8443" in csp
    assert "'none'" not in csp.split("frame-ancestors")[1].split(";")[0]
    assert "X-Frame-Options" not in resp.headers  # it cannot name other origins; no DENY contradicting the CSP
    assert "script-src 'self'" in csp and "default-src 'self'" in csp  # the rest of the policy stays strict
    # Another office's origins do not open the frame, nor do they leak into other pages.
    set_origins(db_session, world.offices[2], "https://zwei.example")
    assert "zwei.example" not in client.get(url(world)).headers["Content-Security-Policy"]
    login(client, world.host_a)
    page = client.get(f"/p/{world.A.slug}/reviews")
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_cached_with_etag_and_last_modified(client, world, db_session):
    seed(db_session, world.A.id, 3)
    first = client.get(url(world))
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    assert etag and first.headers["Last-Modified"]
    again = client.get(url(world), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=300"
    # Another language is another page.
    assert client.get(url(world, lang="en"), headers={"If-None-Match": etag}).status_code == 200
    # A review that changes (archived by the partner) changes the tag.
    with db_session() as s:
        r = s.query(Review).filter_by(property_id=world.A.id).first()
        r.status, r.updated_at = "archived", NOW + dt.timedelta(minutes=5)
        s.commit()
    changed = client.get(url(world), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # So does the next day (a review may pass its 24 months).
    etag2 = changed.headers["ETag"]
    clock.set_now(NOW + dt.timedelta(days=1))
    assert client.get(url(world), headers={"If-None-Match": etag2}).status_code == 200


def test_escaped(client, world, db_session):
    with db_session() as s:
        conn = review_partner(s, world.A.id)
        for i in range(3):
            add_review(s, world.A.id, conn, ago(i + 1), text='<script>alert("x")</script>', author="<b>Eve</b>",
                       reply="</p><script>bad()</script>", partner_id=f'"><script>{i}</script>')
        s.commit()
    html = client.get(url(world)).get_data(as_text=True)
    assert "<script" not in html and "<b>Eve" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert len(ids(html)) == 3  # the attribute is escaped too


def test_cheap_constant_queries(client, world, db_session, count_queries):
    seed(db_session, world.A.id, 3)
    client.get(url(world))
    with count_queries() as few:
        etag = client.get(url(world)).headers["ETag"]
    with count_queries() as not_modified:
        assert client.get(url(world), headers={"If-None-Match": etag}).status_code == 304
    with db_session() as s:
        conn = s.query(Review).filter_by(property_id=world.A.id).first().connection_id
        for i in range(30):
            add_review(s, world.A.id, conn, ago(20 + i * 30), status=("published", "pending", "archived")[i % 3])
        s.commit()
    with count_queries() as many:
        assert client.get(url(world)).status_code == 200
    assert len(many) == len(few) <= 5, (few, many)  # BEGIN, the property, the stamp, reviews, totals
    assert len(not_modified) <= 3, not_modified  # BEGIN, the property, the stamp


# -- the office's websites ---------------------------------------------------------------------

def test_staff_set_the_websites_and_the_frame_follows(client, world, db_session):
    seed(db_session, world.A.id, 3)
    login(client, world.staff1)
    page = client.get("/office/embed").get_data(as_text=True)
    assert "Websites that may show the review blocks" in page and f"/embed/{world.A.slug}/reviews" in page
    assert f"/embed/{world.C.slug}/reviews" not in page  # no active contract: no block
    resp = client.post("/office/embed", data={"origins": "https://WWW.Tourist-Eins.de\nhttp://localhost:8000  https://www.tourist-eins.de/"})
    assert resp.status_code in (204, 303)
    with db_session() as s:
        from services.models import AuditEntry
        assert s.get(Office, world.offices[1]).embed_origins == "https://www.tourist-eins.de http://localhost:8000"
        entry = s.query(AuditEntry).filter_by(action="embed_origins_changed").one()
        assert entry.actor_id == world.staff1.id
    csp = new_client(client.application).get(url(world)).headers["Content-Security-Policy"]
    assert "frame-ancestors https://www.tourist-eins.de http://localhost:8000;" in csp + ";"
    # Emptied: nobody may frame it.
    client.post("/office/embed", data={"origins": ""})
    assert "frame-ancestors 'none'" in new_client(client.application).get(url(world)).headers["Content-Security-Policy"]


def test_bad_websites_are_refused_with_the_field(client, world, db_session):
    login(client, world.staff1)
    for bad in ("http://www.example.de", "https://www.example.de/reviews", "www.example.de", "https://*.example.de",
                "https://user@example.de", "https://example.de?x=1", "javascript:alert(1)", "https://exa mple.de",
                "https://example.de;script-src", "'self'", "https://example.de:99999", "ftp://example.de"):
        resp = client.post("/office/embed", data={"origins": f"https://ok.example {bad}"})
        assert resp.status_code == 422, bad
        html = resp.get_data(as_text=True)
        assert 'aria-invalid="true"' in html and "is no website address" in html, bad
    with db_session() as s:
        assert s.get(Office, world.offices[1]).embed_origins == ""


def test_only_staff_set_the_websites(client, world):
    login(client, world.host_a)
    assert client.get("/office/embed").status_code == 403
    assert client.post("/office/embed", data={"origins": "https://evil.example"}).status_code == 403
