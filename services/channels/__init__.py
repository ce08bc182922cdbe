"""Selling through channels: connections and settings (connections), API keys (api_keys),
holds and vouchers (reservations), what a host may change on a channel booking (host_changes),
the JSON wire format (wire), webhook and mail delivery (outbox), iCal export and import (ical)."""
