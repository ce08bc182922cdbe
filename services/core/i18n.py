"""Translatable messages raised by the domain, without importing Flask.

`_l("Room %(unit)s is taken", unit="12")` keeps the English msgid and its parameters; the
web layer translates it when it renders (portal.web.tr). pybabel extracts `_l` calls.
"""
from __future__ import annotations

import datetime as dt
import json

from babel.dates import format_date
from babel.support import Translations


class Message:
    __slots__ = ("text", "params")

    def __init__(self, text: str, **params):
        self.text = text
        self.params = params

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text

    def __repr__(self) -> str:
        return f"Message({str(self)!r})"

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    @classmethod
    def joined(cls, parts: list["Message"], separator: str = ", ") -> "Message":
        """Several messages as one ("a, b, c"), each still worded in the reader's language."""
        return cls(separator.join(f"%(p{i})s" for i in range(len(parts))), **{f"p{i}": p for i, p in enumerate(parts)})


def _l(text: str, **params) -> Message:
    return Message(text, **params)


_catalog_dir: str | None = None
_catalogs: dict = {}


def set_catalog_dir(path: str) -> None:
    """Where the compiled catalogs are (portal/translations); set by the app factory."""
    global _catalog_dir
    _catalog_dir = path
    _catalogs.clear()


def render(message: Message | str, locale: str) -> str:
    """Translate outside a request, e.g. for an e-mail in the host's language."""
    if not isinstance(message, Message):
        return str(message)
    if _catalog_dir is None:
        return str(message)
    if locale not in _catalogs:
        _catalogs[locale] = Translations.load(_catalog_dir, [locale])
    text = _catalogs[locale].gettext(message.text)
    params = {k: _param(v, locale) for k, v in message.params.items()}
    return text % params if params else text


def _param(value, locale: str):
    if isinstance(value, Message):
        return render(value, locale)
    if type(value) is dt.date:
        return format_date(value, "medium", locale=locale)
    return value


def stored(params: dict) -> str:
    """Parameters of a record (a booking event, a history line, a sync outcome) kept instead of
    words, so that each reader gets them in their own language (portal.web words them)."""
    return json.dumps(params, separators=(",", ":"), sort_keys=True, default=str) if params else ""
