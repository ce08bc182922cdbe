"""The host's bookings: own bookings (own), the searchable list (listing), messages and
webhooks queued when a booking changes (notify)."""
