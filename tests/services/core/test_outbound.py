"""services.core.outbound: the iCal import and webhooks reach public addresses only (SSRF), checked
when the URL is saved and again after resolving the name; no redirects, capped size and time,
and the host sees a reason, never what the address answered.

The suite runs with OUTBOUND_ALLOW_PRIVATE=1 (tests/conftest.py): receivers live on
127.0.0.1. Tests here switch it off with `deny_private` to act as production does."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from services.channels import connections, ical, outbox
from services.core import outbound
from services.core.errors import Invalid
from services.models import ChannelConnection, IcalFeed, OutboxEvent
from tests.factories import make_property
from tests.services.channels.test_ical import _ics
from tests.services.channels.test_outbox import _modified_booking
from tests.localhttp import LocalServer, QuietHandler

MARKER = "TOP-SECRET-7f3a9c"  # what an internal service would answer; must never reach a host

# Every spelling of a loopback, private, link-local, metadata, multicast or reserved address.
NOT_PUBLIC = [
    "http://127.0.0.1:5432/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://localhost/cal.ics",
    "http://LocalHost./cal.ics",
    "http://calendar.localhost/cal.ics",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.7/",
    "http://172.16.5.4/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://239.255.255.250:1900/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "https://user:pw@127.0.0.1:8443/x",
]


@pytest.fixture
def deny_private(monkeypatch):
    """As in production: OUTBOUND_ALLOW_PRIVATE unset."""
    monkeypatch.delenv(outbound.ALLOW_PRIVATE_ENV, raising=False)


@pytest.fixture
def fake_dns(monkeypatch):
    """Names that resolve to the given addresses (what a hostile DNS server can answer);
    other names resolve as usual. Counts the look-ups."""
    names: dict[str, list[str]] = {}
    calls: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            calls.append(host)
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (ip, port) if ":" not in ip else (ip, port, 0, 0)) for ip in names[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return type("FakeDNS", (), {"names": names, "calls": calls})


class Listener(LocalServer):
    """A server answering every request with `respond(handler, listener)`."""

    def __init__(self, respond):
        self.requests: list[tuple[str, str, dict]] = []
        self.stop = threading.Event()
        listener = self

        class Handler(QuietHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                listener.requests.append((self.command, self.path, dict(self.headers)))
                respond(self, listener)

            do_GET = do_POST = _handle

        super().__init__(Handler, "/cal.ics")

    def close(self):
        self.stop.set()  # a dripping answer stops first
        super().close()


def answer(body: bytes, status: int = 200, headers: dict | None = None, length: bool = True):
    def respond(handler, listener):
        handler.send_response(status)
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        if length:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except OSError:
            pass  # the client stopped reading (too large): expected

    return respond


@pytest.fixture
def listener():
    made = []

    def make(respond):
        made.append(Listener(respond))
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.fixture
def raw_listener():
    """A TCP server that is no HTTP server (a database, a cache): it writes `reply` and closes."""
    made = []

    def make(reply: bytes):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(5)

        def serve():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        made.append((server, thread))
        return server.getsockname()[1]

    yield make
    for server, thread in made:
        server.close()
        thread.join()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _feed(session, url: str) -> IcalFeed:
    """A feed whose URL was stored as it is (e.g. before this check existed, or while allowed)."""
    prop = make_property(session)
    feed = IcalFeed(category_id=prop.categories[0].id, name="Airbnb", url=url, created_at=prop.created_at)
    session.add(feed)
    session.commit()
    return feed


def _status(session, feed_id) -> dict:
    session.expire_all()
    return json.loads(session.get(IcalFeed, feed_id).last_status)


# --- saved URLs ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_calendar_address_that_is_not_public_is_refused_when_saved(session, deny_private, url):
    prop = make_property(session)
    with pytest.raises(Invalid) as e:
        ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Airbnb", url)
    assert e.value.errors == {"url": outbound.NOT_PUBLIC}
    assert session.scalar(sa.select(sa.func.count(IcalFeed.id))) == 0


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_webhook_address_that_is_not_public_is_refused_when_saved(session, deny_private, url):
    prop = make_property(session)
    with pytest.raises(Invalid) as e:
        connections.switch_on(session, None, prop, "booking", webhook_url=url)
    assert e.value.errors == {"webhook_url": outbound.NOT_PUBLIC}
    conn, _ = connections.switch_on(session, None, prop, "booking", webhook_url="https://hooks.example.com/portal")
    with pytest.raises(Invalid) as e:
        connections.update_settings(session, prop.owner, prop, "booking", 30, url, "on_arrival")
    assert e.value.errors == {"webhook_url": outbound.NOT_PUBLIC}
    session.expire_all()
    assert session.get(ChannelConnection, conn.id).webhook_url == "https://hooks.example.com/portal"


@pytest.mark.parametrize("url", ["http://1.2.3.4.5/", "http://256.0.0.1/", "http://0x100000000/", "http://[::1/",
                                 "http://exa mple.com/", "ftp://example.com/a.ics", "http:///a.ics", "http://a..b/",
                                 "http://example.com:99999/", "http://example.com\\@127.0.0.1/", "javascript:alert(1)"])
def test_malformed_addresses_get_the_format_message(session, deny_private, url):
    prop = make_property(session)
    with pytest.raises(Invalid) as e:
        ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Airbnb", url)
    assert "http:// or https://" in str(e.value.errors["url"])


@pytest.mark.parametrize("url", ["https://www.airbnb.com/calendar/ical/1.ics?s=abc", "http://8.8.8.8/a.ics",
                                 "https://[2001:4860:4860::8888]/a.ics", "https://müller-ferien.de/kalender.ics",
                                 "http://127.0.0.1.nip.io/a.ics"])  # a name: checked after resolving, at fetch time
def test_public_addresses_are_saved(session, deny_private, url):
    prop = make_property(session)
    feed = ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Airbnb", url)
    assert feed.url == url


def test_the_request_line_is_ascii():
    target = outbound.parse("https://Müller-Ferien.de/kalender-ü.ics?name=Zimmer 1#top".replace(" ", "%20"))
    assert (target.host, target.port, target.path) == ("xn--mller-ferien-dlb.de", 443, "/kalender-%C3%BC.ics?name=Zimmer%201")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/a.ics", "http://localhost/a.ics", "http://[::1]/a.ics",
                                 "http://10.0.0.7/a.ics", "http://192.168.1.1/a.ics", "http://100.64.0.1/a.ics"])
def test_allow_private_accepts_loopback_and_private_networks(session, url):
    assert outbound.allow_private()  # tests/conftest.py
    prop = make_property(session)
    assert ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Local", url).url == url


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0/",
                                 "http://224.0.0.1/", "http://240.0.0.1/"])
def test_metadata_multicast_and_reserved_stay_refused_even_when_private_is_allowed(session, url):
    prop = make_property(session)
    with pytest.raises(Invalid) as e:
        ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Local", url)
    assert e.value.errors == {"url": outbound.NOT_PUBLIC}


def test_cli_refuses_a_private_webhook_url(app, session, deny_private):
    prop = make_property(session)
    result = app.test_cli_runner().invoke(args=["api-key", "create", "--property", prop.slug, "--channel", "booking",
                                                "--webhook-url", "http://169.254.169.254/latest/meta-data/"])
    assert result.exit_code != 0
    assert "webhook_url" in result.output and "local or private network" in result.output
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(ChannelConnection.id))) == 0


# --- fetching ---------------------------------------------------------------------------------

def test_a_local_listener_is_refused_when_private_is_off_and_reached_when_on(session, listener, monkeypatch):
    server = listener(answer(_ics()))
    feed = _feed(session, server.url)
    monkeypatch.delenv(outbound.ALLOW_PRIVATE_ENV)
    assert ical.sync_feed(session, feed.id) == "error: address not allowed"
    assert _status(session, feed.id) == {"ok": False, "reason": "address_not_allowed"}
    assert server.requests == []  # refused before connecting
    monkeypatch.setenv(outbound.ALLOW_PRIVATE_ENV, "1")
    assert ical.sync_feed(session, feed.id).startswith("ok: 0 events")
    assert len(server.requests) == 1


def test_a_name_that_resolves_to_loopback_is_refused_at_fetch_time(session, listener, fake_dns, deny_private):
    server = listener(answer(MARKER.encode()))
    fake_dns.names["calendar.example.com"] = ["127.0.0.1"]
    prop = make_property(session)
    url = f"http://calendar.example.com:{server.port}/cal.ics"
    feed = ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Airbnb", url)  # a name: saved
    assert ical.sync_feed(session, feed.id) == "error: address not allowed"
    assert server.requests == []
    with pytest.raises(outbound.Refused) as e:
        ical.fetch(url)
    assert e.value.reason == "address_not_allowed"


def test_localhost_by_name_is_refused_at_fetch_time(listener, deny_private):
    server = listener(answer(MARKER.encode()))
    with pytest.raises(outbound.Refused) as e:
        ical.fetch(f"http://localhost:{server.port}/cal.ics")
    assert e.value.reason == "address_not_allowed" and server.requests == []


def test_a_name_with_any_private_answer_is_refused(fake_dns, deny_private):
    """One public and one private address: the attacker would choose which one is used."""
    fake_dns.names["mixed.example.com"] = ["93.184.215.14", "169.254.169.254"]
    with pytest.raises(outbound.Refused) as e:
        outbound.fetch("http://mixed.example.com/cal.ics", max_bytes=100)
    assert e.value.reason == "address_not_allowed"


def test_the_checked_address_is_the_one_connected_to(listener, fake_dns):
    """DNS rebinding: the name is resolved once; the connection goes to that address, with the
    name in the Host header (a second look-up could answer 127.0.0.1 or the metadata service)."""
    server = listener(answer(_ics()))
    fake_dns.names["cal.example.test"] = ["127.0.0.1"]
    ical.fetch(f"http://cal.example.test:{server.port}/x.ics")
    assert fake_dns.calls == ["cal.example.test"]
    assert server.requests[0][2]["Host"] == f"cal.example.test:{server.port}"


def test_a_redirect_is_not_followed(session, listener):
    target = listener(answer(_ics()))
    hop = listener(answer(b"", 302, {"Location": target.url}))
    feed = _feed(session, hop.url)
    assert ical.sync_feed(session, feed.id) == "error: redirect not followed"
    assert _status(session, feed.id) == {"ok": False, "reason": "redirect"}
    assert len(hop.requests) == 1 and target.requests == []


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "read-until-close"])
def test_an_oversized_calendar_is_cut_off(session, listener, with_length):
    server = listener(answer(b"x" * (ical.MAX_FEED_BYTES + 1), length=with_length))
    with pytest.raises(outbound.Refused) as e:
        ical.fetch(server.url)
    assert e.value.reason == "too_large"
    feed = _feed(session, server.url)
    assert ical.sync_feed(session, feed.id) == "error: too large"


def test_a_calendar_of_exactly_the_limit_is_read(listener):
    server = listener(answer(b"y" * 1000, length=False))
    assert outbound.fetch(server.url, max_bytes=1000) == b"y" * 1000


def _drip(handler, listener):
    """Headers at once, then a byte every 0.2 s: each read is quick, the whole never ends."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    try:
        while not listener.stop.wait(0.2):
            handler.wfile.write(b"x")
            handler.wfile.flush()
    except OSError:
        pass


def _silent(handler, listener):
    listener.stop.wait(10)


@pytest.mark.parametrize("respond", [_drip, _silent], ids=["drip", "silent"])
def test_a_slow_listener_times_out(session, listener, respond):
    server = listener(respond)
    started = time.monotonic()
    with pytest.raises(outbound.Refused) as e:
        outbound.fetch(server.url, max_bytes=ical.MAX_FEED_BYTES, timeout=1.0)
    assert e.value.reason == "timeout"
    assert time.monotonic() - started < 3


def test_a_slow_calendar_shows_timed_out(session, listener):
    server = listener(_drip)
    feed = _feed(session, server.url)
    assert ical.sync_feed(session, feed.id, fetcher=lambda url: ical.fetch(url, timeout=1.0)) == "error: timed out"


def test_connection_refused_is_named(session):
    feed = _feed(session, f"http://127.0.0.1:{closed_port()}/cal.ics")
    assert ical.sync_feed(session, feed.id) == "error: connection refused"
    assert _status(session, feed.id) == {"ok": False, "reason": "connection_refused"}


@pytest.mark.parametrize("respond, line, status", [
    (answer(f"<html>{MARKER}</html>".encode()), "error: not an iCal calendar", {"ok": False, "reason": "not_ical"}),
    (answer(f"Not found: {MARKER}".encode(), 404), "error: HTTP 404",
     {"ok": False, "reason": "http_status", "http_status": 404}),
    (answer(MARKER.encode(), 500, {"X-Debug": MARKER}), "error: HTTP 500",
     {"ok": False, "reason": "http_status", "http_status": 500}),
], ids=["not-ical", "404", "500"])
def test_the_status_gives_a_reason_never_the_answer(session, listener, respond, line, status):
    server = listener(respond)
    feed = _feed(session, server.url)
    assert ical.sync_feed(session, feed.id) == line
    assert _status(session, feed.id) == status
    session.expire_all()
    assert MARKER not in session.get(IcalFeed, feed.id).last_status


def test_a_service_that_is_no_http_server_leaks_nothing(session, raw_listener):
    """E.g. Redis or a database on a private port: its greeting must not reach the host."""
    port = raw_listener(f"-ERR {MARKER}\r\n".encode())
    feed = _feed(session, f"http://127.0.0.1:{port}/")
    line = ical.sync_feed(session, feed.id)
    assert line == "error: not a valid HTTP answer"
    session.expire_all()
    assert MARKER not in session.get(IcalFeed, feed.id).last_status


def test_a_good_calendar_is_still_imported(session, listener):
    import datetime as dt

    from services.core import clock

    day = clock.today("Europe/Berlin") + dt.timedelta(days=3)
    server = listener(answer(_ics(("a@x", day, day + dt.timedelta(days=2))), headers={"Content-Type": "text/calendar"}))
    feed = _feed(session, server.url)
    assert ical.sync_feed(session, feed.id).startswith("ok: 1 events, 1 blocked")
    assert server.requests[0][2]["User-Agent"] == "hotelier-portal-ical/1"


# --- webhooks ---------------------------------------------------------------------------------

def _event(session) -> OutboxEvent:
    session.expire_all()
    return session.scalar(sa.select(OutboxEvent))


def test_a_webhook_to_a_private_address_is_not_delivered(session, listener, monkeypatch):
    """A URL saved while allowed (or before this check) is refused again at delivery."""
    server = listener(answer(b""))
    _modified_booking(session, server.url.replace("/cal.ics", "/hook"))
    monkeypatch.delenv(outbound.ALLOW_PRIVATE_ENV)
    assert outbox.deliver_webhooks(session).failed == 1
    assert _event(session).last_error == "address not allowed" and server.requests == []


def test_a_webhook_name_that_resolves_to_loopback_is_not_delivered(session, listener, fake_dns, deny_private):
    server = listener(answer(b""))
    fake_dns.names["hooks.example.com"] = ["127.0.0.1"]
    _modified_booking(session, f"http://hooks.example.com:{server.port}/hook")
    assert outbox.deliver_webhooks(session).failed == 1
    assert _event(session).last_error == "address not allowed" and server.requests == []


def test_a_webhook_redirect_is_not_followed(session, listener):
    target = listener(answer(b""))
    hop = listener(answer(b"", 307, {"Location": target.url}))
    _modified_booking(session, hop.url)
    assert outbox.deliver_webhooks(session).failed == 1
    row = _event(session)
    assert row.last_error == "redirect not followed" and row.delivered_at is None
    assert len(hop.requests) == 1 and target.requests == []


def test_a_webhook_error_records_only_the_reason(session, listener):
    server = listener(answer(MARKER.encode() * 100, 500))
    _modified_booking(session, server.url)
    assert outbox.deliver_webhooks(session).failed == 1
    assert _event(session).last_error == "HTTP 500"


def test_a_webhook_to_a_non_http_service_records_only_the_reason(session, raw_listener):
    port = raw_listener(f"{MARKER} ready\r\n".encode())
    _modified_booking(session, f"http://127.0.0.1:{port}/hook")
    assert outbox.deliver_webhooks(session).failed == 1
    row = _event(session)
    assert row.last_error == "not a valid HTTP answer" and MARKER not in row.last_error


def test_a_slow_webhook_receiver_times_out(session, listener):
    server = listener(_silent)
    _modified_booking(session, server.url)
    started = time.monotonic()
    assert outbox.deliver_webhooks(session, timeout=1.0).failed == 1
    assert _event(session).last_error == "timed out" and time.monotonic() - started < 3
