"""A small in-process cache of availability answers, checked against the database on every hit.

An entry is used only while the versions it was built at still hold (api_keys.Caller's
inventory_version: the property's version and the sum of its room categories' versions, read
with the key in one statement; every booking, cancellation, rate or cost change bumps one of
them, services.availability.inventory.touch) and before the earliest hold in it runs out
(holds expire without a write). The versions are read before the answer is built, so an entry
is never older than its versions. So it can never answer with stale availability; with
several app servers each keeps its own. Bounded, least recently used out.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict


class AvailabilityCache:
    def __init__(self, size: int = 1024):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, version, now: dt.datetime) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            item_version, valid_until, body = item
            if item_version != version or (valid_until is not None and now >= valid_until):
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return body

    def put(self, key, version, valid_until: dt.datetime | None, body: bytes) -> None:
        with self._lock:
            self._items[key] = (version, valid_until, body)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


AVAILABILITY_CACHE = AvailabilityCache()
