"""Outbound HTTP: every request the portal itself sends (iCal imports, webhooks) goes through here.

A host or channel chooses these URLs, so they must not reach the portal's own network: the
database, the metadata service of a cloud machine (169.254.169.254), an admin interface on
loopback. A URL is checked when it is saved (scheme, host, literal addresses in every
spelling a resolver accepts) and again when it is used: the name is resolved here, every
address it resolves to must be public, and the connection goes to one of those checked
addresses (the name stays in the Host header, SNI and certificate check), so DNS cannot
answer differently between check and connect. Redirects are not followed, answers are
capped in size and the whole exchange in time, and a failure is a reason code, never the
answer's text or an exception's message (those may carry what the receiver had to say).

The operator setting OUTBOUND_ALLOW_PRIVATE=1 (environment) allows loopback and private
networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) for on-premise set-ups and
local tests. Link-local (cloud metadata), multicast, unspecified and reserved addresses stay
refused even then.
"""
from __future__ import annotations

import http.client
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from urllib.parse import quote, urlsplit

from services.core.i18n import Message, _l

ALLOW_PRIVATE_ENV = "OUTBOUND_ALLOW_PRIVATE"

# Reason codes, worded for people (hosts see them in their language, operators in English).
REASONS = {
    "invalid_url": _l("invalid address"),
    "address_not_allowed": _l("address not allowed"),
    "host_not_found": _l("host not found"),
    "connection_refused": _l("connection refused"),
    "connection_failed": _l("connection failed"),
    "timeout": _l("timed out"),
    "tls": _l("secure connection failed"),
    "bad_response": _l("not a valid HTTP answer"),
    "redirect": _l("redirect not followed"),
    "too_large": _l("too large"),
}
NOT_PUBLIC = _l("This address points to a local or private network; enter a public internet address.")


class Refused(Exception):
    """An outbound request that was not made or did not succeed: `reason` is a code of REASONS
    or "http_status" (then `status` is the HTTP status). Deliberately carries nothing else."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason if status is None else f"{reason} {status}")
        self.reason = reason
        self.status = status


def reason_message(reason: str, status: int | None = None) -> Message:
    if reason == "http_status" and status is not None:
        return _l("HTTP %(status)s", status=status)
    return REASONS.get(reason, REASONS["connection_failed"])


def reason_of(exc: BaseException) -> tuple[str, int | None]:
    """The reason code (and HTTP status) for an exception raised while fetching."""
    if isinstance(exc, Refused):
        return exc.reason, exc.status
    if isinstance(exc, socket.gaierror):
        return "host_not_found", None
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused", None
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return "timeout", None
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls", None
    if isinstance(exc, http.client.HTTPException):
        return "bad_response", None
    return "connection_failed", None


def allow_private() -> bool:
    """Read at every use, so that an operator's change and a test's monkeypatch both apply."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip() == "1"


# --- addresses -------------------------------------------------------------------------------

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to (6to4, Teredo, NAT64): each must pass as well."""
    out = []
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    if ip in _NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def _one_allowed(ip, private_ok: bool) -> bool:
    if ip.is_loopback:
        return private_ok
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return False
    if ip.is_global:
        return True
    return private_ok  # private, shared (100.64/10), documentation ranges


def address_allowed(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address, private_ok: bool | None = None) -> bool:
    """May the portal connect to this address? Public only, unless OUTBOUND_ALLOW_PRIVATE=1."""
    private_ok = allow_private() if private_ok is None else private_ok
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _one_allowed(ip.ipv4_mapped, private_ok)
        return _one_allowed(ip, private_ok) and all(_one_allowed(v4, private_ok) for v4 in _embedded_v4(ip))
    return _one_allowed(ip, private_ok)


_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


def _ipv4_number(part: str) -> int | None:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16) if re.fullmatch(r"[0-9a-fA-F]*", part[2:]) else None
    if len(part) > 1 and part[0] == "0":
        return int(part, 8) if re.fullmatch(r"[0-7]+", part) else None
    return int(part) if re.fullmatch(r"[0-9]+", part) else None


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written as numbers means (127.1, 0x7f000001, 2130706433, 0177.0.0.1),
    read as browsers and inet_aton() read it (WHATWG URL standard); None for a name. A host
    whose last label is a number but that is no valid address raises Refused("invalid_url")."""
    labels = host.split(".")
    if labels and labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if not labels or not _NUMBER.match(labels[-1]):
        return None
    if len(labels) > 4:
        raise Refused("invalid_url")
    numbers = []
    for label in labels:
        n = _ipv4_number(label) if label else None
        if n is None:
            raise Refused("invalid_url")
        numbers.append(n)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise Refused("invalid_url")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(value)


def _literal_ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host:
        raise Refused("invalid_url")  # neither a name nor a valid IPv6 address
    return _ipv4_literal(host)


class Target:
    """A checked URL, split into what a connection needs."""

    __slots__ = ("scheme", "host", "port", "path")

    def __init__(self, scheme: str, host: str, port: int, path: str):
        self.scheme, self.host, self.port, self.path = scheme, host, port, path


def parse(url: str, max_length: int = 1000) -> Target:
    """Check a URL without resolving its name: http(s), a host, no local or private literal
    address or localhost name (unless OUTBOUND_ALLOW_PRIVATE=1). Raises Refused("invalid_url")
    or Refused("address_not_allowed")."""
    if not url or len(url) > max_length or any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise Refused("invalid_url")
    try:
        parts = urlsplit(url)
        port = parts.port
        raw_host = parts.hostname
    except ValueError:
        raise Refused("invalid_url") from None
    if parts.scheme not in ("http", "https") or not raw_host:
        raise Refused("invalid_url")
    host = raw_host.rstrip(".") if raw_host.endswith(".") and not raw_host.startswith("[") else raw_host
    if not host:
        raise Refused("invalid_url")
    ip = _literal_ip(host)
    if ip is not None:
        host = str(ip)
        if not address_allowed(ip):
            raise Refused("address_not_allowed")
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise Refused("invalid_url") from None
        if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*", host):
            raise Refused("invalid_url")
        if (host == "localhost" or host.endswith(".localhost")) and not allow_private():
            raise Refused("address_not_allowed")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    # A request line is ASCII: percent-encode the rest (as browsers do), e.g. /kalender-ü.ics.
    path = re.sub(r"[^\x21-\x7e]+", lambda m: quote(m.group()), path)
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def check_url(url: str, max_length: int = 1000) -> str:
    """The URL to store (stripped), or Refused: for the places where a URL is saved."""
    url = (url or "").strip()
    parse(url, max_length)
    return url


def resolve(host: str, port: int) -> list[tuple]:
    """The addresses to connect to; Refused if the name resolves to ANY address not allowed
    (a name with one public and one private answer would let the attacker choose)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise Refused("host_not_found") from None
    if not infos:
        raise Refused("host_not_found")
    for *_, sockaddr in infos:
        if not address_allowed(sockaddr[0].split("%", 1)[0]):
            raise Refused("address_not_allowed")
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]


# --- connections ------------------------------------------------------------------------------

class _PinnedHTTP(http.client.HTTPConnection):
    """Talks to the name in `host` (Host header) over a socket to an address checked before."""

    def __init__(self, host: str, port: int, sockaddr: tuple, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.sockaddr = sockaddr
        self.raw: socket.socket | None = None  # kept: http.client drops self.sock once it reads to close

    def _open(self) -> socket.socket:
        self.raw = socket.create_connection(self.sockaddr[:2], timeout=self.timeout)
        return self.raw

    def connect(self):
        self.sock = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def __init__(self, host: str, port: int, sockaddr: tuple, timeout: float):
        super().__init__(host, port, sockaddr, timeout)
        self.tls = ssl.create_default_context()

    def connect(self):
        raw = self._open()
        try:
            # The certificate is checked against the name, not the pinned address.
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


class _Deadline:
    """Ends the exchange when its total time is up: per-read timeouts alone would let a
    receiver that sends a byte now and then hold the worker forever."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise Refused("timeout")
        return left

    def guard(self, sock: socket.socket) -> None:
        def cut():
            self.expired = True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        self._timer = threading.Timer(self.remaining(), cut)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def request(method: str, url: str, *, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 10.0, max_bytes: int = 0) -> bytes:
    """One exchange with a checked, pinned address. Returns at most `max_bytes` of a 2xx
    answer's body (0: the body is not read). Raises Refused for everything else: a refused
    address, a network failure, a redirect, a non-2xx status, a body over `max_bytes`, or
    more than `timeout` seconds in all (the name look-up counts against it, but is not cut
    short: the resolver has its own timeouts)."""
    target = parse(url)
    deadline = _Deadline(timeout)
    addresses = resolve(target.host, target.port)
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = resp = None
    try:
        last_error: BaseException | None = None
        for _family, sockaddr in addresses:
            conn = kind(target.host, target.port, sockaddr, timeout=min(timeout, deadline.remaining()))
            try:
                conn.connect()
                break
            except OSError as e:
                last_error = e
                conn.close()
                conn = None
        if conn is None:
            raise last_error or Refused("connection_failed")
        deadline.guard(conn.raw)
        conn.request(method, target.path, body=body, headers=headers or {})
        resp = conn.getresponse()
        if 300 <= resp.status < 400:
            raise Refused("redirect")
        if not 200 <= resp.status < 300:
            raise Refused("http_status", resp.status)
        if max_bytes <= 0:
            return b""
        if resp.length is not None and resp.length > max_bytes:
            raise Refused("too_large")
        chunks, size = [], 0
        while True:
            chunk = resp.read1(min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise Refused("too_large")
        if deadline.expired:
            raise Refused("timeout")
        return b"".join(chunks)
    except Refused:
        raise
    except Exception as e:
        if deadline.expired:
            raise Refused("timeout") from None
        raise Refused(*reason_of(e)) from None
    finally:
        deadline.cancel()
        if resp is not None:
            resp.close()
        if conn is not None:
            conn.close()
            if conn.raw is not None:
                conn.raw.close()


def fetch(url: str, *, max_bytes: int, timeout: float = 20.0, headers: dict | None = None) -> bytes:
    """GET a document of at most `max_bytes`."""
    return request("GET", url, headers=headers, timeout=timeout, max_bytes=max_bytes)


def post(url: str, body: bytes, *, headers: dict | None = None, timeout: float = 10.0) -> None:
    """POST and care only for the status: a 2xx returns, anything else raises Refused."""
    request("POST", url, body=body, headers=headers, timeout=timeout, max_bytes=0)
