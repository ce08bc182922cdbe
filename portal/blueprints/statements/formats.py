"""A statement's words and its files: the CSV for the host's bookkeeping and the PDF, which
WeasyPrint renders from the page's own template (its print layout), never fetching anything
from the network: the stylesheets are read from the static folder."""
from __future__ import annotations

import csv
import io
import mimetypes
import os

from flask import current_app, render_template
from flask_babel import force_locale

from portal.web.i18n import gettext, tr
from portal.web.labels import source_label
from services.core.i18n import Message, _l
from services.office import statements
from services.office.statements import StatementView

STATE_LABELS = {
    "own": _l("own booking: no commission"),
    "sold": _l("sold"),
    "partly_cancelled": _l("partly cancelled"),
    "cancelled": _l("cancelled"),
    "cancelled_office": _l("cancelled through the tourist office: no commission"),
    "not_honoured": _l("not honoured (double booking): commission stays due, extra cost charged to the host"),
    "resold": _l("risk-free: resold"),
    "paid_by_platform": _l("risk-free: paid by the platform"),
    "resold_and_paid": _l("risk-free: resold and paid by the platform"),
    "searching": _l("risk-free: replacement guest searched"),
    "correction": _l("correction of a sent statement"),
    "not_listed": _l("no longer listed"),
}
NOTE_LABELS = {statements.NO_RATE: _l("no rate in the contract")}

# Readers whose numbers have a decimal comma: their spreadsheets split CSV at semicolons.
DECIMAL_COMMA = ("de", "cs")
CSV_COLUMNS = (
    _l("Month"), _l("Line"), _l("Channel"), _l("Reference"), _l("Guest"), _l("Arrival"), _l("Departure"),
    _l("Room-nights"), _l("State"), _l("Amount"), _l("Commissionable"), _l("Rate (%)"), _l("Commission"),
    _l("Extra cost (R12)"), _l("Paid by the platform"), _l("Resold for"), _l("Currency"), _l("Note"),
)


def state_label(code: str) -> str:
    return tr(STATE_LABELS.get(code, Message(code)))


def note_label(line) -> str:
    """A line's note in words: a missing rate, or for a correction what the booking is now."""
    if line.kind == "correction":
        return gettext("now: %(state)s", state=state_label(line.note)) if line.note else ""
    return tr(NOTE_LABELS[line.note]) if line.note in NOTE_LABELS else line.note


def _number(value, comma: bool) -> str:
    if value is None:
        return ""
    text = f"{value:.2f}"
    return text.replace(".", ",") if comma else text


def csv_bytes(view: StatementView, locale: str) -> bytes:
    """One row per line under a header; amounts with the reader's decimal separator. A
    decimal-comma reader gets semicolons and a UTF-8 BOM (so spreadsheets open it right)."""
    comma = locale in DECIMAL_COMMA
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=";" if comma else ",", lineterminator="\r\n")
    out.writerow([tr(c) for c in CSV_COLUMNS])
    for ln in view.lines:
        out.writerow([
            f"{ln.month:%Y-%m}", gettext("correction") if ln.kind == "correction" else gettext("booking"),
            source_label(ln.source), ln.reference, ln.guest_name, ln.arrival.isoformat(), ln.departure.isoformat(),
            ln.room_nights, state_label(ln.state), _number(ln.amount, comma), _number(ln.commissionable, comma),
            _number(ln.rate, comma), _number(ln.commission, comma), _number(ln.extra_cost, comma),
            _number(ln.platform_payout, comma), _number(ln.resold_amount, comma), view.currency, note_label(ln),
        ])
    data = buf.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if comma else data


# The PDF's base URL: only what lies under it and maps to the static folder is read.
PDF_BASE = "https://portal.invalid/"


def _static_file(url: str) -> tuple[bytes, str]:
    """A static file's bytes and type for the PDF; anything else is refused (no network)."""
    static_url = PDF_BASE + current_app.static_url_path.strip("/") + "/"
    if not url.startswith(static_url):
        raise ValueError(f"not fetched for a PDF: {url}")
    root = os.path.realpath(current_app.static_folder)
    path = os.path.realpath(os.path.join(root, url[len(static_url):].split("?")[0]))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        raise ValueError(f"no such static file: {url}")
    with open(path, "rb") as f:
        return f.read(), mimetypes.guess_type(path)[0] or "application/octet-stream"


def _weasyprint():
    """WeasyPrint, loaded when the first PDF is made (it is heavy). Importing it sets Pillow's
    process-wide ImageFile.LOAD_TRUNCATED_IMAGES to True; the photo check must keep refusing
    truncated uploads (services/properties/imaging.py), and a statement has no images: the
    flag goes back to Pillow's default at once."""
    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint
    import weasyprint.urls

    ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return weasyprint


def _fetcher():
    """WeasyPrint's URL fetcher (its class API): static files from disk only."""
    urls = _weasyprint().urls
    URLFetcher, URLFetcherResponse = urls.URLFetcher, urls.URLFetcherResponse

    class StaticFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            data, mime = _static_file(url)
            return URLFetcherResponse(url, data, {"Content-Type": mime})

    return StaticFetcher(allowed_protocols=("https",))


def pdf_bytes(view: StatementView, locale: str | None = None, **ctx) -> bytes:
    """The statement's page in its print layout, as a PDF (in `locale`, e.g. the host's)."""
    HTML = _weasyprint().HTML

    def html() -> str:
        return render_template("statements/statement.html", layout="print", view=view, prop=view.prop, **ctx)

    if locale:
        with force_locale(locale):
            text = html()
    else:
        text = html()
    return HTML(string=text, base_url=PDF_BASE, url_fetcher=_fetcher()).write_pdf()
