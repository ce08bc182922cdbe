"""The fee-tier editor shared by the office's model terms and a host's terms: its rows as the
form posts them (tiers-<i>-days, tiers-<i>-percent), adding and removing rows without
JavaScript (submit buttons that re-render the form), and the rows a Terms row starts with."""
from __future__ import annotations

import re

from htmx_flask import request

from portal.web.i18n import tr
from services.core.errors import Invalid
from services.office import terms as terms_rules

_ROW = re.compile(r"tiers-(\d{1,2})-(days|percent)")
MAX_ROWS = 20  # what the form may post; the service allows terms_rules.MAX_TIERS filled ones


def rows_of(terms) -> list[dict]:
    """The rows to show for saved terms (the default schedule when there are none)."""
    schedule = terms.fee_schedule if terms is not None and terms.fee_schedule else terms_rules.DEFAULT_SCHEDULE
    return [{"days": str(t["days"]), "percent": str(t["percent"])} for t in schedule]


def posted_rows() -> list[dict]:
    """The rows the form sent, in their order on the page."""
    rows: dict[int, dict] = {}
    for key, value in request.form.items():
        m = _ROW.fullmatch(key)
        if m and int(m.group(1)) < MAX_ROWS:
            rows.setdefault(int(m.group(1)), {"days": "", "percent": ""})[m.group(2)] = value[:20]
    return [rows[i] for i in sorted(rows)]


def edited_rows(rows: list[dict]) -> list[dict] | None:
    """When the form asked to add or remove a row (not to save): the rows after that, else None."""
    if request.form.get("add_tier"):
        return rows + [{"days": "", "percent": ""}] if len(rows) < MAX_ROWS else rows
    remove = request.form.get("remove_tier")
    if remove is not None and remove.isdigit():
        return [r for i, r in enumerate(rows) if i != int(remove)]
    return None


def split_errors(error: Invalid) -> tuple[dict[str, str], Invalid]:
    """The tier errors (worded, by "tiers-<i>-days" etc. and "tiers") and the others (for the form)."""
    tiers = {k: tr(v) for k, v in error.errors.items() if k.startswith("tiers")}
    rest = Invalid({k: v for k, v in error.errors.items() if not k.startswith("tiers")})
    return tiers, rest
