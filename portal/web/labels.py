"""The words for the portal's codes: one table per vocabulary (where a booking came from is
services.channels.connections.SOURCE_LABELS, shared with the e-mails)."""
from __future__ import annotations

from services.channels.connections import SOURCE_LABELS, channel_label
from services.core.i18n import _l
from portal.web.i18n import tr


ACTIONS = {
    "rates": _l("Night edited"), "rates_bulk": _l("Bulk edit"), "booking_created": _l("Own booking entered"),
    "booking_changed": _l("Booking changed"), "booking_cancelled": _l("Booking cancelled"),
    "host_created": _l("Host registered"), "contract_activated": _l("Contract activated"),
    "contract_ended": _l("Contract ended"), "property_changed": _l("Details changed"),
    "category_added": _l("Room category added"), "extra_cost_added": _l("Mandatory cost added"),
    "category_kind_changed": _l("Type of a room category changed"),
    "extra_cost_removed": _l("Mandatory cost removed"), "password_changed": _l("Password changed"),
    "password_set": _l("Password set through a one-time link"), "invitation_sent": _l("Invitation sent again"),
    "channel_on": _l("Channel module switched on"), "channel_off": _l("Channel module switched off"),
    "channel_key_regenerated": _l("New API key"), "channel_settings": _l("Channel settings changed"),
    "ari_full_sync": _l("All availability sent again"),
    "cancellation_requested": _l("Cancellation requested"), "deposit_set": _l("Deposit agreed"),
    "ical_feed_added": _l("Calendar added"), "ical_feed_removed": _l("Calendar removed"),
    "signed_out_everywhere": _l("Signed out on every device"), "ical_url_renewed": _l("New secret calendar address"),
    "risk_free_offered": _l("Risk-free programme offered by the platform"),
    "risk_free_withdrawn": _l("Risk-free programme withdrawn by the platform"),
    "risk_free_joined": _l("Joined the risk-free programme"), "risk_free_left": _l("Left the risk-free programme"),
    "units_moved": _l("Bookings moved between rooms (double booking)"),
    "review_replied": _l("Review answered"), "review_reply_edited": _l("Reply to a review edited"),
    "review_reported": _l("Review reported as inappropriate"),
    "review_received": _l("Review received from the review partner"),
    "review_updated": _l("Review updated by the review partner"),
    "review_totals": _l("Review partner's totals updated"),
    "photos_uploaded": _l("Photos uploaded"), "photo_changed": _l("Photo described"), "photo_moved": _l("Photo moved"),
    "photos_reordered": _l("Photos put in a new order"), "photo_cover": _l("New cover photo"),
    "photo_deleted": _l("Photo deleted"),
    "assist_started": _l("Tourist office began working for the host"),
    "assist_ended": _l("Tourist office finished working for the host"),
    "contract_suspended": _l("Contract suspended"), "commission_rates_changed": _l("Commission rates changed"),
    "terms_adopted": _l("Model terms adopted"), "terms_changed": _l("Terms changed"),
    "terms_reset": _l("Terms reset to the model terms"),
    "office_contact_changed": _l("Office contact changed"), "model_terms_changed": _l("Model terms changed"),
    "cancellation_reported": _l("Guest's cancellation reported to the tourist office"),
    "booking_cancelled_by_office": _l("Booking cancelled by the tourist office"),
    "cancellation_report_closed": _l("Cancellation report closed: the channel had cancelled"),
    "cancellation_report_declined": _l("Cancellation report declined by the tourist office"),
    "cancellation_fee_set": _l("Cancellation fee changed"),
    "statement_sent": _l("Commission statement sent"), "statement_resent": _l("Commission statement sent again"),
}


EVENTS = {
    "created": _l("Created"), "hold_created": _l("Temporary hold"), "confirmed": _l("Paid and confirmed"),
    "cancelled": _l("Cancelled by the channel"), "partially_cancelled": _l("Partly cancelled by the channel"),
    "expired": _l("Hold expired"), "modified": _l("Changed by the host"),
    "cancellation_requested": _l("Cancellation requested"), "deposit": _l("Deposit agreed"),
    "deposit_removed": _l("Deposit removed"),
    "risk_free_not_applied": _l("Not a risk-free reservation"), "card_invalid": _l("Card marked invalid"),
    "resold": _l("Room-nights resold"), "paid_by_platform": _l("Room-nights paid by the platform"),
    "unit_moved": _l("Moved to another room (double booking)"),
    # The R13 steps of a double booking (services.bookings.rehousing)
    "conflict_contacted": _l("Double booking: guest contacted"),
    "conflict_new_dates": _l("Double booking: new dates agreed"),
    "conflict_cancelled": _l("Cancelled (double booking)"),
    "conflict_replacement_offered": _l("Double booking: replacement offered"),
    "conflict_rehoused": _l("Double booking: guest rehoused"),
    "conflict_handed_over": _l("Double booking handed over to the tourist office"),
    "rehoused_from": _l("Booked by the tourist office as a replacement"),
    "cancellation_reported": _l("Guest's cancellation reported to the tourist office"),
    "office_cancelled": _l("Cancelled free of charge by the tourist office"),
    "cancellation_declined": _l("Cancellation report declined by the tourist office"),
}


KIND_LABELS = {**SOURCE_LABELS, "hold": _l("Temporary hold")}  # the calendar legend's entries


def source_label(kind: str) -> str:
    """Where a booking came from (or 'hold'), as the legend and the lists name it."""
    return tr(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


# Who pays a risk-free booking (R57), next to "Risk-free reservation"; the guest paying needs no label.
PAYMENT_STATUS_LABELS = {"partially_paid_by_platform": _l("Partially paid by Booking.com"),
                         "paid_by_platform": _l("Paid by Booking.com")}


# A room category's type (RoomCategory.kind): the category form and the public search's filter.
CATEGORY_KIND_LABELS = {"room": _l("Room"), "apartment": _l("Apartment"), "house": _l("Holiday house")}


def category_kind_label(kind: str) -> str:
    return tr(CATEGORY_KIND_LABELS[kind]) if kind in CATEGORY_KIND_LABELS else kind


PAYMENT_LABELS = {"on_arrival": _l("Guest pays on arrival"), "prepaid": _l("Prepaid by the channel (e.g. e-domizil)")}

# A connection's inventory mode (ChannelConnection.inventory_mode), named in Modules and the history.
INVENTORY_MODE_LABELS = {"request": _l("The channel asks first"), "notify": _l("The channel has already sold")}


def _channel(code: str) -> str:
    return tr(channel_label(code))


# The history of a double booking (services.bookings.conflicts.record): step 0 and the R13 steps.
DOUBLE_BOOKING_STEPS = {
    "found": _l("Double booking found"), "extended": _l("More nights found"),
    "moved": _l("Bookings moved between rooms"), "resolved": _l("Resolved"),
    "contacted": _l("Guest contacted"), "new_dates": _l("New dates agreed"),
    "guest_cancelled": _l("Guest cancelled"), "replacement_offered": _l("Replacement offered"),
    "replacement_accepted": _l("Replacement accepted"), "handed_over": _l("Handed over to the tourist office"),
}
