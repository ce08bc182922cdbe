"""Languages: complete German and Czech catalogs in step with the code, compiled catalogs,
German by default, the language choice sticking to the account, locale-aware money and dates.

After adding or changing a UI string: `make extract-messages`, translate the new entries in
portal/translations/de/LC_MESSAGES/messages.po and cs/..., then `make translations`.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from portal.extensions import babel, db
from services.availability import inventory
from services.core import clock, i18n
from services.models import User
from tests.factories import PASSWORD, make_property, make_user, new_booking

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "portal" / "translations"
LANGUAGES = ("de", "en", "cs")
TRANSLATED = ("de", "cs")  # English is the msgid language: its catalog stays empty on purpose
# The same extraction as `make extract-messages`: babel.cfg plus `-k _l -k lazy_gettext`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[a-zA-Z]|\{\w+\}")
FIX = ("run `make extract-messages`, translate the new entries in "
       "portal/translations/de/LC_MESSAGES/messages.po and portal/translations/cs/LC_MESSAGES/messages.po, "
       "then `make translations`")


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def load_catalog(lang: str):
    path = po_path(lang)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: `pybabel init` it, then {FIX}"
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def ids_of(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def strings_of(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


def extracted_messages() -> dict[tuple[str, str | None], tuple[tuple[str, ...], str]]:
    """Every msgid marked in the code now: {(msgid, context): ((msgid, msgid_plural?), "file:line")}
    (the context of pgettext, else None)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    found: dict[str, tuple[tuple[str, ...], str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        ids = tuple(message) if isinstance(message, (tuple, list)) else (message,)
        if ids and ids[0]:
            found.setdefault((ids[0], context), (ids, f"{filename}:{lineno}"))
    return found


# -- compiled catalogs ---------------------------------------------------------------------

def _compile(lang: str) -> bytes:
    """What `make translations` (`pybabel compile --use-fuzzy`) writes for this language."""
    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=True)
    return out.getvalue()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """Compile the .mo files here rather than fail when they are missing.

    The .mo files are gitignored build output that `make translations` (and so `make test`)
    writes. Compiling them here as well is the more robust choice: a bare `pytest` on a
    fresh checkout works, and a .mo left over from an older .po (edited without a
    `make translations`) is replaced, so the page tests below always check the
    translations in the .po files and not stale ones. The bytes are the same that
    `pybabel compile` writes, so after `make translations` nothing is rewritten; a write
    goes through a temporary file and os.replace, so a SQLite and a PostgreSQL run side by
    side never see a half-written catalog.
    """
    for lang in LANGUAGES:
        if not po_path(lang).is_file():
            continue  # test_catalog_exists_and_compiles reports it
        mo = po_path(lang).with_suffix(".mo")
        data = _compile(lang)
        if mo.is_file() and mo.read_bytes() == data:
            continue
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; the server may run as another user
        os.replace(tmp, mo)
    # Catalogs once loaded are kept for the life of the process: an app that rendered a page
    # before the files existed would keep serving English. Flask-Babel's cache sits on the
    # (lazily created) domain of the shared Babel object; services.core.i18n keeps its own.
    domain = vars(babel).get("domain_instance")
    if domain is not None:
        domain.cache.clear()
    getattr(i18n, "_catalogs", {}).clear()
    yield


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_exists_and_compiles(lang):
    """de, en and cs each have a catalog and a compiled .mo that Babel loads."""
    load_catalog(lang)
    mo = po_path(lang).with_suffix(".mo")
    assert mo.is_file(), f"{mo.relative_to(ROOT)} is missing: run `make translations`"
    assert mo.read_bytes() == _compile(lang), f"{mo.relative_to(ROOT)} is out of date: run `make translations`"
    translations = Translations.load(str(TRANSLATIONS), [lang])
    assert isinstance(translations, Translations), f"Babel does not load {mo.relative_to(ROOT)}"
    expected = {"de": "Anmelden", "en": "Log in", "cs": "Přihlásit se"}[lang]
    assert translations.gettext("Log in") == expected


# -- the catalogs' content -----------------------------------------------------------------

@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_translated(lang):
    """Every msgid has a non-empty, non-fuzzy translation in every plural form, with the
    msgid's placeholders and no stray % (templates %-format every string)."""
    catalog = load_catalog(lang)
    assert catalog.num_plurals == {"de": 2, "cs": 3}[lang], f"Plural-Forms header of {lang} is wrong"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids, strings = ids_of(message), strings_of(message)
        name = ids[0][:70]
        if message.fuzzy:
            problems.append(f"fuzzy: {name!r}")
        if message.pluralizable and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of {catalog.num_plurals}: {name!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {name!r}")
            continue
        wanted = set().union(*(placeholders(i) for i in ids))
        for s in strings:
            if placeholders(s) != wanted:
                problems.append(f"placeholders {sorted(placeholders(s))} instead of {sorted(wanted)}: {s!r}")
            if "%" in re.sub(r"%%|%\(\w+\)[a-zA-Z]", "", s):
                problems.append(f"stray % (write %%): {s!r}")
            if any(i.count("%%") != s.count("%%") for i in ids[:1]):
                problems.append(f"%% differs from the msgid: {s!r}")
            params = {p[2:-2]: "x" for p in wanted if p.startswith("%(")}
            try:
                s % params
            except (KeyError, ValueError, TypeError) as e:
                problems.append(f"cannot be %-formatted ({e!r}): {s!r}")
    assert not problems, f"{lang} catalog ({len(problems)} problems):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_in_step_with_the_code(lang):
    """Every string marked in the code is in the catalog (en too, so it stays selectable)."""
    catalog = load_catalog(lang)
    missing = []
    for (msgid, context), (ids, where) in sorted(extracted_messages().items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        message = catalog.get(msgid, context)
        if message is None:
            missing.append(f"{msgid!r} ({where})")
        elif len(ids) > 1 and ids_of(message)[1:2] != ids[1:2]:
            missing.append(f"{msgid!r} with plural {ids[1]!r} ({where})")
    assert not missing, (
        f"{len(missing)} strings in the code are not in the {lang} catalog; {FIX}:\n  " + "\n  ".join(missing)
    )


def test_english_catalog_stays_empty():
    """English falls back to the msgids; a msgstr here would silently override the source text."""
    catalog = load_catalog("en")
    filled = [ids_of(m)[0] for m in catalog if m.id and any(strings_of(m))]
    assert not filled, f"en msgstrs should stay empty (edit the msgid in the code instead): {filled}"


# -- pages ---------------------------------------------------------------------------------
#
# These tests browse with `browser`, not the `client` fixture: `client` runs inside the app
# context that the `session` fixture keeps pushed for the whole test, and Flask reuses that
# context for every test-client request, so `g` outlives a request. Flask-Babel caches the
# request's locale in `g`, so the first page's language would stick to every later page
# (a language switch would show `<html lang="cs">` around German text). A client used
# outside any app context gets a fresh context per request, as in production.

@pytest.fixture
def browser(app):
    return app.test_client()


@contextmanager
def database(app):
    """A short app context to build test data in; read what you need before it ends."""
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


def choose(client, lang: str, next_url: str = "/login"):
    resp = client.post("/language", data={"lang-locale": lang, "next": next_url})
    assert resp.status_code in (302, 303), resp.status_code
    return resp


def log_in(client, email: str):
    resp = client.post("/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302, "login failed"


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def stored_locale(app, user_id: int) -> str:
    with app.app_context(), db.engine.connect() as conn:
        return conn.scalar(sa.select(User.locale).where(User.id == user_id))


LOGIN = {"de": "Anmelden", "en": "Log in", "cs": "Přihlásit se"}
ACCOUNT = {"de": "Passwort ändern", "en": "Change password", "cs": "Změnit heslo"}


def test_login_page_german_by_default(browser):
    html = page(browser, "/login")
    assert '<html lang="de">' in html
    assert f"<h1>{LOGIN['de']}</h1>" in html
    assert '<label for="password">Passwort</label>' in html


@pytest.mark.parametrize("lang", ["en", "cs", "de"])
def test_language_form_switches_the_login_page(browser, lang):
    assert f"<h1>{LOGIN['de']}</h1>" in page(browser, "/login")
    if lang == "de":
        choose(browser, "cs")  # away from the default first, then back
        assert f"<h1>{LOGIN['cs']}</h1>" in page(browser, "/login")
    choose(browser, lang)
    html = page(browser, "/login")
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{LOGIN[lang]}</h1>" in html
    assert f'<option value="{lang}" selected>' in html


def test_language_choice_sticks_to_the_account(app, browser):
    with database(app) as session:
        user = make_user(session, "host")
        user_id, email = user.id, user.email
    log_in(browser, email)
    assert f"<h2>{ACCOUNT['de']}</h2>" in page(browser, "/account")

    choose(browser, "cs", "/account")
    assert f"<h2>{ACCOUNT['cs']}</h2>" in page(browser, "/account")
    assert stored_locale(app, user_id) == "cs"

    browser.post("/logout")
    log_in(browser, email)
    html = page(browser, "/account")
    assert '<html lang="cs">' in html and f"<h2>{ACCOUNT['cs']}</h2>" in html

    # Another browser, which never chose a language: the account decides.
    other = app.test_client()
    log_in(other, email)
    assert f"<h2>{ACCOUNT['cs']}</h2>" in page(other, "/account")


NBSP = "\xa0"


@pytest.mark.parametrize("lang, price, stay, month", [
    ("de", f"1.234,50{NBSP}€", "02.03.27 – 04.03.27", "1.–31. März 2027"),
    ("en", "€1,234.50", "02/03/2027 – 04/03/2027", "1–31 Mar 2027"),  # day before month, never 3/2/27
    ("cs", f"1{NBSP}234,50{NBSP}€", "02.03.27 – 04.03.27", "1.–31. 3. 2027"),
])
def test_money_and_dates_follow_the_locale(app, browser, lang, price, stay, month):
    clock.set_now(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc))
    with database(app) as session:
        host = make_user(session, "host")
        prop = make_property(session, owner=host, price="617.25")
        booking = new_booking(prop, arrival=dt.date(2027, 3, 2), nights=2, guest="Erika Mustermann")
        booking.total_price = Decimal("1234.50")
        session.add(booking)
        inventory.take(session, booking)
        session.commit()
        email, slug, booking_id = host.email, prop.slug, booking.id

    log_in(browser, email)
    choose(browser, lang, "/")
    html = page(browser, f"/p/{slug}/bookings")
    assert f'<html lang="{lang}">' in html
    assert price in html, f"{lang}: no {price!r} on the bookings list"
    assert stay in html, f"{lang}: no {stay!r} on the bookings list"
    assert {"de": "Endpreis", "en": "Final price", "cs": "Konečná cena"}[lang] in html
    assert {"de": "Eigenbelegung", "en": "Own booking", "cs": "Vlastní rezervace"}[lang] in html

    detail = page(browser, f"/p/{slug}/bookings/{booking_id}")
    assert {"de": "(2 Nächte)", "en": "(2 nights)", "cs": "(2 noci)"}[lang] in detail  # plural forms
    plan = page(browser, f"/p/{slug}/calendar?month=2027-03")
    assert f'<h1 class="month range">{month}</h1>' in plan
    assert {"de": "617,25", "en": "617.25", "cs": "617,25"}[lang] in plan  # a nightly price in a cell
