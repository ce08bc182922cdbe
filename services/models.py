"""The portal's tables: typed SQLAlchemy 2.0 models, free of Flask.

What a booking occupies is stored as one `Occupancy` row per (unit, night); the UNIQUE
constraint on that pair is what makes selling a room twice impossible at the database
level (see services/availability/inventory.py, the only code that writes such rows).
"""
from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = sa.Numeric(10, 2)
# A booking's total (and deposit): the largest stay the bounds of services/core/inputs.py allow
# (200 units, 366 nights, prices and costs up to 99,999.99) does not fit Numeric(10, 2).
Total = sa.Numeric(14, 2)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite (which stores naive text) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


ROLES = ("host", "staff", "admin")

# Where a booking came from; the calendar colours and labels bars by it.
SOURCES = ("own", "tourist_office", "slevomat", "booking", "e_domizil", "api", "ical")
# Own bookings and imported blocks take free units but no quota (DESIGN.md: the quota is
# what is offered online; a walk-in guest may still take the last free room).
QUOTA_FREE_SOURCES = ("own", "ical")
# pending: a temporary hold (R36); modified: replaced by a new stay after a host change (R33).
STATUSES = ("pending", "confirmed", "cancelled", "expired", "modified")
# Channel names in the CLI and API docs, and the booking source each one writes.
CHANNELS = {"tourist-office": "tourist_office", "slevomat": "slevomat", "booking": "booking",
            "e-domizil": "e_domizil", "api": "api"}
PAYMENT_MODES = ("on_arrival", "prepaid")
# request: the portal decides (409 when the stay can't be had); notify: the channel sold from
# the availability it was last sent, so its booking is stored even when a night is overbooked.
INVENTORY_MODES = ("request", "notify")
NOTIFY_CHANNELS = ("booking", "e_domizil")  # sources whose connections start in notify mode
# What a connection's key may do: booking channels see availability and make reservations;
# review partners only send reviews (and get replies and reports back).
SCOPES = ("booking", "reviews")
REVIEW_PARTNERS = {"holidaycheck": "holidaycheck"}  # CLI/API name -> connection channel
REVIEW_STATUSES = ("pending", "published", "archived")
# R71: what a photo shows; "room" names a room category (Photo.category_id).
PHOTO_MOTIVES = ("interior", "room", "view", "exterior", "food", "feature")
DOUBLE_BOOKING_CAUSES = ("overbooked_push", "ical", "check")
# The brokerage contract's life (issue 14): invited (host registered, no access yet), active,
# suspended (access and channel keys stopped for now), ended (kept as history).
CONTRACT_STATES = ("invited", "active", "suspended", "ended")
# One-time links e-mailed to a user: an invitation to set the first password, or a reset.
TOKEN_PURPOSES = ("invite", "reset")
# What an e-mail is: to the host about their property (the message log shows only these), to the
# tourist office, to a channel's contact, or about an account (a link to set a password: never logged).
MAIL_KINDS = ("host", "office", "channel", "account")
# How a guest told the host they cancel (R20), and what became of the host's report.
TOLD_BY = ("email", "phone", "letter", "in_person", "other")
CANCELLATION_REPORT_STATUSES = ("waiting", "cancelled", "declined")
# Who cancelled a booking: the host (own bookings), the tourist office (R20), the channel (R32), staff resolving a double booking.
CANCELLED_VIA = ("host", "office", "channel", "double_booking")
# A commission statement (R23): a draft (computed afresh on every view) until staff send it,
# which freezes its lines; later changes to its bookings become correction lines of a later one.
STATEMENT_STATUSES = ("draft", "sent")
# What a room category is, for the public search's filter: a room (guesthouse, hotel), a holiday
# flat, a whole holiday house.
CATEGORY_KINDS = ("room", "apartment", "house")
# What a statement line is about: a booking's room-nights of the month, or a correction of a
# line on a statement that was sent already.
STATEMENT_LINE_KINDS = ("booking", "correction")
DOUBLE_BOOKING_STATUSES = ("open", "handed_over", "resolved")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's SQL from the tuple of allowed values (one list for code and schema)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Office(Base):
    """A tourist office (Tourist-Info): its staff broker and look after hosts."""

    __tablename__ = "office"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    # Origins (space-separated, e.g. "https://www.musterstadt.de") that may frame the public
    # review block of its properties (CSP frame-ancestors); empty: none.
    embed_origins: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Where a host in trouble reaches the office (R25): shown on every host page with the e-mail.
    phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    opening_hours: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(10))
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"))
    locale: Mapped[str] = mapped_column(sa.String(5), default="de")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Every session cookie carries the generation it was signed in under; logout, a password
    # change, the end of a host's contract and "sign out everywhere" bump it, so that every
    # copy of an older cookie stops working (checked with the user load, no extra query).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # A one-time password handed over by staff must be replaced at the first login.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    office: Mapped[Office | None] = relationship()

    __table_args__ = (sa.CheckConstraint(_one_of("role", ROLES), name="role"),)

    # Flask-Login's protocol, written out so that this module needs no Flask.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Property(Base):
    __tablename__ = "property"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), index=True)
    street: Mapped[str] = mapped_column(sa.String(120), default="")
    postcode: Mapped[str] = mapped_column(sa.String(12), default="")
    city: Mapped[str] = mapped_column(sa.String(80), default="")
    country: Mapped[str] = mapped_column(sa.String(2), default="DE")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    timezone: Mapped[str] = mapped_column(sa.String(40), default="Europe/Berlin")
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    # Set while the current brokerage contract (Contract, services/office/contracts.py) is
    # active, None otherwise: the one column access checks, channel keys and the public search
    # read. Only the contract use cases write it.
    contract_active_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The last change to the plan (quotas, prices, restrictions, own bookings) by anyone: the
    # office's home shows it as "calendar last maintained".
    calendar_maintained_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Goes up with every change that can alter availability or prices (inventory.touch), so
    # a cached availability answer can be checked for freshness with one indexed read.
    inventory_version: Mapped[int] = mapped_column(default=0)
    # The risk-free programme (R50, R59): the platform (staff) decides who may join; the host opts in.
    risk_free_eligible: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    risk_free_opted_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    owner: Mapped[User] = relationship()
    office: Mapped[Office] = relationship()
    categories: Mapped[list[RoomCategory]] = relationship(
        back_populates="prop", order_by="RoomCategory.position, RoomCategory.id"
    )
    extra_costs: Mapped[list[ExtraCost]] = relationship(
        back_populates="prop", order_by="ExtraCost.id"
    )

    @property
    def contract_active(self) -> bool:
        return self.contract_active_since is not None


def _token() -> str:
    return secrets.token_urlsafe(24)


class LoginThrottle(Base):
    """Failed logins counted per account and per client address, shared by every app server.

    `key` is "account:<e-mail>" or "address:<ip>"; each failure past the allowance doubles
    the wait (`blocked_until`); a successful login clears the account's row.
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RoomCategory(Base):
    __tablename__ = "room_category"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    max_guests: Mapped[int] = mapped_column(default=2)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(sa.String(10), default="room", server_default="room")
    # Goes up with every change of the category's availability (a booking taken or released, its
    # rates): a cached availability answer is fresh while the versions it was built at hold.
    # Booking writers lock this row, not the property's, so categories never queue behind each other.
    inventory_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # SHA-256 of the secret in the category's .ics export URL (the URL is shown once, like an
    # API key); None until the host makes one.
    ical_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    prop: Mapped[Property] = relationship(back_populates="categories")
    units: Mapped[list[Unit]] = relationship(
        back_populates="category", order_by="Unit.position, Unit.id"
    )

    __table_args__ = (sa.CheckConstraint(_one_of("kind", CATEGORY_KINDS), name="kind"),)


class Unit(Base):
    """A physical room or flat ("Room 12") of a category."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(default=0)

    category: Mapped[RoomCategory] = relationship(back_populates="units")


class ExtraCost(Base):
    """A mandatory flat cost (final cleaning, bed linen, utilities) that R4 puts in the final price."""

    __tablename__ = "extra_cost"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"), index=True)
    # None: applies to every category of the property.
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room_category.id"))
    name: Mapped[str] = mapped_column(sa.String(80))
    amount: Mapped[Decimal] = mapped_column(Money)
    per: Mapped[str] = mapped_column(sa.String(5), default="stay")

    prop: Mapped[Property] = relationship(back_populates="extra_costs")
    category: Mapped[RoomCategory | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("per IN ('stay', 'night')", name="per"),
        sa.CheckConstraint("amount >= 0", name="amount"),
    )


class NightRate(Base):
    """Quota, price and restrictions of one category for one night (R1).

    No row for a night means nothing is offered online that night.
    """

    __tablename__ = "night_rate"
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"), primary_key=True)
    night: Mapped[dt.date] = mapped_column(primary_key=True)
    quota: Mapped[int] = mapped_column(default=0)
    price: Mapped[Decimal | None] = mapped_column(Money)
    min_stay: Mapped[int] = mapped_column(default=1)
    closed: Mapped[bool] = mapped_column(default=False)
    closed_to_arrival: Mapped[bool] = mapped_column(default=False)
    closed_to_departure: Mapped[bool] = mapped_column(default=False)
    max_stay: Mapped[int | None] = mapped_column(default=None)  # longest stay arriving this night; None: no limit

    __table_args__ = (
        sa.CheckConstraint("quota >= 0", name="quota"),
        sa.CheckConstraint("price >= 0", name="price"),
        sa.CheckConstraint("min_stay >= 1", name="min_stay"),
    )


class Booking(Base):
    __tablename__ = "booking"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"), index=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10), default="confirmed")
    arrival: Mapped[dt.date]
    departure: Mapped[dt.date]
    units: Mapped[int] = mapped_column(default=1)
    guests: Mapped[int] = mapped_column(default=1)
    guest_name: Mapped[str] = mapped_column(sa.String(120))
    guest_email: Mapped[str] = mapped_column(sa.String(254), default="")
    guest_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    total_price: Mapped[Decimal | None] = mapped_column(Total)
    hold_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # Channel bookings: which connection sent it, under which order id (safe retries).
    connection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_connection.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    # Generated only once the full amount is paid (R37).
    voucher: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    payment_mode: Mapped[str] = mapped_column(sa.String(10), default="on_arrival")
    deposit_amount: Mapped[Decimal | None] = mapped_column(Total)
    deposit_due: Mapped[dt.date | None]
    # {"lodging": "240.00", "extras": [{"name": ..., "amount": ...}], "total": ...} as agreed.
    price_breakdown: Mapped[dict | None] = mapped_column(sa.JSON)
    risk_free: Mapped[bool] = mapped_column(default=False)
    free_cancellation_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The guest's card as the channel sent it (R56): never the full number, only its last 4 digits.
    card_holder: Mapped[str | None] = mapped_column(sa.String(120))
    card_brand: Mapped[str | None] = mapped_column(sa.String(30))
    card_last4: Mapped[str | None] = mapped_column(sa.String(4))
    card_expiry: Mapped[str | None] = mapped_column(sa.String(5))  # MM/YY
    card_invalid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # R33: a host's date or category change replaces the stay by a new one, linked both ways.
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id"))
    # Blocks imported from an external calendar.
    feed_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ical_feed.id", ondelete="SET NULL"), index=True)
    # R12: an online booking that could not be honoured: its commission stays due, and the extra
    # cost of the replacement accommodation (rehoused_at) is charged to the host.
    commission_kept: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    replacement_extra_cost: Mapped[Decimal | None] = mapped_column(Total)
    rehoused_at_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room_category.id"))
    # When and through whom it was cancelled (None for bookings cancelled before issue 14), and
    # the fee the host bills the guest directly (R21), proposed from the host's terms.
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_via: Mapped[str | None] = mapped_column(sa.String(20))
    cancellation_fee: Mapped[Decimal | None] = mapped_column(Total)
    cancellation_fee_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # R32: the host's request that the channel cancel went as this webhook or this e-mail (to the
    # connection's contact); delivered when that row was delivered or sent.
    cancel_request_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_event.id", ondelete="SET NULL"))
    cancel_request_mail_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mail_message.id", ondelete="SET NULL"))

    prop: Mapped[Property] = relationship()
    category: Mapped[RoomCategory] = relationship(foreign_keys=[category_id])  # not rehoused_at_id
    connection: Mapped[ChannelConnection | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("departure > arrival", name="stay"),
        sa.CheckConstraint("units >= 1", name="units"),
        sa.CheckConstraint("guests >= 1", name="guests"),
        sa.CheckConstraint(_one_of("status", STATUSES), name="status"),
        sa.CheckConstraint(_one_of("payment_mode", PAYMENT_MODES), name="payment_mode"),
        sa.UniqueConstraint("connection_id", "external_id"),
        sa.CheckConstraint(_one_of("cancelled_via", CANCELLED_VIA), name="cancelled_via"),
    )

    @property
    def nights(self) -> int:
        return (self.departure - self.arrival).days

    # The hold life cycle has this one home (R36). A hold ("pending") occupies its nights until
    # hold_expires_at; after that it is expired, whether or not the worker's sweep has marked it
    # yet. Each rule is a hybrid: the same name in Python (a loaded booking) and in SQL (a query).

    @hybrid_method
    def hold_running(self, now: dt.datetime) -> bool:
        """A hold whose time has not run out: it still occupies its nights."""
        return self.status == "pending" and self.hold_expires_at is not None and self.hold_expires_at > now

    @hold_running.expression
    def hold_running(cls, now: dt.datetime):
        return sa.and_(cls.status == "pending", cls.hold_expires_at > now)

    @hybrid_method
    def hold_ran_out(self, now: dt.datetime) -> bool:
        """A hold past its time that the sweep has not marked "expired" yet."""
        return self.status == "pending" and self.hold_expires_at is not None and self.hold_expires_at <= now

    @hold_ran_out.expression
    def hold_ran_out(cls, now: dt.datetime):
        return sa.and_(cls.status == "pending", cls.hold_expires_at <= now)

    @hybrid_method
    def occupies(self, now: dt.datetime) -> bool:
        """Its occupancy rows count: confirmed, or a running hold."""
        return self.status == "confirmed" or self.hold_running(now)

    @occupies.expression
    def occupies(cls, now: dt.datetime):
        return sa.or_(cls.status == "confirmed", cls.hold_running(now))

    @hybrid_method
    def effectively_expired(self, now: dt.datetime) -> bool:
        """Expired for every reader: marked so, or a hold that ran out."""
        return self.status == "expired" or self.hold_ran_out(now)

    @effectively_expired.expression
    def effectively_expired(cls, now: dt.datetime):
        return sa.or_(cls.status == "expired", cls.hold_ran_out(now))

    def effective_status(self, now: dt.datetime) -> str:
        """The status every reader sees (API, lists, detail): "expired" once a hold ran out."""
        return "expired" if self.hold_ran_out(now) else self.status


class Occupancy(Base):
    """One unit taken for one night by one booking. UNIQUE(unit, night): never sold twice."""

    __tablename__ = "occupancy"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    # The unit's (and the booking's) category, carried on the row so that "what is occupied in
    # these categories on these nights" is one range scan of (category_id, night), whatever the
    # category's history and whether or not the planner has statistics (issue 16).
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"))
    night: Mapped[dt.date] = mapped_column(index=True)

    booking: Mapped[Booking] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "night"),
        sa.Index("ix_occupancy_category_id_night", "category_id", "night"),
    )


# What became of a sold room-night: sold, cancelled by the guest; later, for risk-free
# reservations (R52-R55), searching for a replacement guest, resold, or paid by the platform.
ROOM_NIGHT_STATES = ("sold", "cancelled", "searching", "resold", "paid_by_platform")


class RoomNight(Base):
    """What a booking sold for one unit on one night (issue 10, R55, R57): the price the guest
    pays for it (its share of the agreed total, mandatory costs included) and the commissionable
    part (lodging only). Written by inventory.take; a cancellation changes `state`, never an amount."""

    __tablename__ = "room_night"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    night: Mapped[dt.date]
    # A unit deleted later (after its room-nights were cancelled) leaves the amounts here.
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id", ondelete="SET NULL"))
    price: Mapped[Decimal] = mapped_column(Money)
    commissionable: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[str] = mapped_column(sa.String(20), default="sold")
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # A cancelled risk-free room-night resold (R54): the new booking that took the night; what
    # the platform or the new guest pays is `amount_paid` (None while searching).
    resold_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id", ondelete="SET NULL"))
    amount_paid: Mapped[Decimal | None] = mapped_column(Money, nullable=True)

    unit: Mapped[Unit | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("booking_id", "night", "unit_id"),
        sa.CheckConstraint(_one_of("state", ROOM_NIGHT_STATES), name="state"),
        # The daily settlement and the resale look for searching room-nights by night.
        sa.Index("ix_room_night_state_night", "state", "night"),
    )


class AuditEntry(Base):
    """Who changed what of a host's data, and on whose behalf (shown to the host as history)."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    property_id: Mapped[int | None] = mapped_column(sa.ForeignKey("property.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    # A calendar edit's way back (services.availability.undo): JSON of the (category, night)
    # rows it changed and their values before; read only to undo, so not loaded with the history.
    undo: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_entry.id"))

    actor: Mapped[User | None] = relationship()


class ChannelConnection(Base):
    """A property's connection to one channel (R30): module on + API key handed to the channel."""

    __tablename__ = "channel_connection"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(20))  # a booking source, e.g. "slevomat"
    active: Mapped[bool] = mapped_column(default=True)
    # The key is shown once; we keep its public prefix (to find it) and a hash of the whole.
    key_prefix: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    webhook_secret: Mapped[str] = mapped_column(sa.String(64), default=_token)
    webhook_url: Mapped[str] = mapped_column(sa.String(500), default="")
    hold_minutes: Mapped[int] = mapped_column(default=60)
    payment_mode: Mapped[str] = mapped_column(sa.String(10), default="on_arrival")
    inventory_mode: Mapped[str] = mapped_column(sa.String(10), default="request", server_default="request")
    scope: Mapped[str] = mapped_column(sa.String(10), default="booking", server_default="booking")
    # A review partner's totals over all the property's reviews, where it sends them (R62).
    review_count: Mapped[int | None] = mapped_column(default=None)
    review_average: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    # The channel's contact for what has no webhook (R32: a request to cancel goes there by e-mail).
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    prop: Mapped[Property] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("property_id", "channel"),
        sa.CheckConstraint(_one_of("inventory_mode", INVENTORY_MODES), name="inventory_mode"),
        sa.CheckConstraint(_one_of("scope", SCOPES), name="scope"),
        sa.CheckConstraint("hold_minutes BETWEEN 1 AND 1440", name="hold_minutes"),
        sa.CheckConstraint(_one_of("payment_mode", PAYMENT_MODES), name="payment_mode"),
    )


class BookingEvent(Base):
    """A booking's own history: created, hold confirmed, modified, cancellation requested ..."""

    __tablename__ = "booking_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(sa.String(30))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    detail: Mapped[str] = mapped_column(sa.Text, default="")

    actor: Mapped[User | None] = relationship()


class OutboxEvent(Base):
    """A webhook to deliver, written in the same transaction as the change it reports."""

    __tablename__ = "outbox_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("channel_connection.id"), index=True)
    event: Mapped[str] = mapped_column(sa.String(40))
    body: Mapped[str] = mapped_column(sa.Text)  # the exact bytes signed and sent
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # availability_changed only: the category-nights changed since the event was written,
    # {"<category id>": [["first night", "last night"], ...]}, merged while `built_at` is None;
    # the body is built from the state at delivery (services/channels/ari.py).
    pending_nights: Mapped[dict | None] = mapped_column(sa.JSON, default=None)
    built_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MailMessage(Base):
    """An e-mail to a host: sent by the worker through SMTP, or kept here as the message log."""

    __tablename__ = "mail_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int | None] = mapped_column(sa.ForeignKey("property.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # Only "host" mails make the host's message log; an "account" mail's body (a one-time link)
    # is wiped once it was sent or written to the mail folder.
    kind: Mapped[str] = mapped_column(sa.String(10), default="host", server_default="host")
    # A file sent with it (a statement's PDF), kept under this key in services/core/storage.py.
    attachment_name: Mapped[str | None] = mapped_column(sa.String(200))
    attachment_key: Mapped[str | None] = mapped_column(sa.String(200))

    __table_args__ = (sa.CheckConstraint(_one_of("kind", MAIL_KINDS), name="kind"),)


class IcalFeed(Base):
    """An external calendar (Airbnb-style .ics) whose events block nights of a category."""

    __tablename__ = "ical_feed"
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    url: Mapped[str] = mapped_column(sa.String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sync_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str] = mapped_column(sa.Text, default="")

    category: Mapped[RoomCategory] = relationship()


class UnplacedNight(Base):
    """A night of a booking that found no free unit: an overbooked push in notify mode, or an
    iCal block that collides. Not an occupancy row, so no unit is ever sold twice; it is what
    the plan's "overbooked" lane shows and what a double booking (R11-R13) resolves."""

    __tablename__ = "unplaced_night"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"))
    night: Mapped[dt.date]
    units: Mapped[int] = mapped_column(default=1)  # how many of the booking's units found no room

    booking: Mapped[Booking] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("booking_id", "night"),
        sa.Index("ix_unplaced_night_category_id_night", "category_id", "night"),
        sa.CheckConstraint("units >= 1", name="units"),
    )


class DoubleBooking(Base):
    """A double booking of one category over some nights, open until resolved (R10-R14)."""

    __tablename__ = "double_booking"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("room_category.id"))
    first_night: Mapped[dt.date]
    last_night: Mapped[dt.date]
    cause: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    step: Mapped[int] = mapped_column(default=0, server_default="0")  # the R13 step reached (0: none yet)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(sa.String(30))

    prop: Mapped[Property] = relationship()
    category: Mapped[RoomCategory] = relationship()
    bookings: Mapped[list[Booking]] = relationship(secondary="double_booking_member", order_by="Booking.id")
    steps: Mapped[list[DoubleBookingStep]] = relationship(order_by="DoubleBookingStep.id",
                                                          back_populates="double_booking")

    __table_args__ = (
        sa.Index("ix_double_booking_property_id_status", "property_id", "status"),
        sa.Index("ix_double_booking_status", "status"),
        sa.CheckConstraint(_one_of("cause", DOUBLE_BOOKING_CAUSES), name="cause"),
        sa.CheckConstraint(_one_of("status", DOUBLE_BOOKING_STATUSES), name="status"),
        sa.CheckConstraint("last_night >= first_night", name="nights"),
    )

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


class DoubleBookingMember(Base):
    """A booking involved in a double booking."""

    __tablename__ = "double_booking_member"
    double_booking_id: Mapped[int] = mapped_column(sa.ForeignKey("double_booking.id", ondelete="CASCADE"),
                                                   primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class DoubleBookingStep(Base):
    """One time-stamped step of a double booking's resolution (R13, R14: the history to analyse)."""

    __tablename__ = "double_booking_step"
    id: Mapped[int] = mapped_column(primary_key=True)
    double_booking_id: Mapped[int] = mapped_column(sa.ForeignKey("double_booking.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    step: Mapped[int] = mapped_column()  # 0: found / moves between units; 1-3: the R13 steps
    action: Mapped[str] = mapped_column(sa.String(30))
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id", ondelete="SET NULL"))
    detail: Mapped[dict | None] = mapped_column(sa.JSON)

    double_booking: Mapped[DoubleBooking] = relationship(back_populates="steps")
    actor: Mapped[User | None] = relationship()


class Review(Base):
    """A guest review as the review partner sent it (R60-R64): never deleted by the portal; the
    host's public reply and a report as inappropriate go back to the partner."""

    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"))
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("channel_connection.id"))
    partner_review_id: Mapped[str] = mapped_column(sa.String(100))
    written_on: Mapped[dt.date]  # the API's created_at: the day the guest wrote it (R63 counts from it)
    travel_date: Mapped[dt.date | None]
    author: Mapped[str] = mapped_column(sa.String(80))
    overall: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    scale_min: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    scale_max: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    sub_scores: Mapped[dict | None] = mapped_column(sa.JSON)  # name -> score on the same scale
    recommends: Mapped[bool | None] = mapped_column(default=None)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    language: Mapped[str] = mapped_column(sa.String(10), default="de")
    status: Mapped[str] = mapped_column(sa.String(10))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reply_text: Mapped[str | None] = mapped_column(sa.Text)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    report_reason: Mapped[str | None] = mapped_column(sa.Text)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    prop: Mapped[Property] = relationship()
    connection: Mapped[ChannelConnection] = relationship()
    replied_by: Mapped[User | None] = relationship(foreign_keys=[replied_by_id])
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])

    __table_args__ = (
        sa.UniqueConstraint("connection_id", "partner_review_id"),
        sa.Index("ix_review_property_id_status_written_on", "property_id", "status", "written_on"),
        sa.CheckConstraint(_one_of("status", REVIEW_STATUSES), name="status"),
        sa.CheckConstraint("scale_max > scale_min", name="scale"),
    )


class Photo(Base):
    """An accepted photo of a property (R70-R73). The files (original kept privately without
    personal metadata, a web size and a thumbnail as WebP) live behind services/core/storage.py
    under generated keys; exactly one photo of a property with photos is the cover."""

    __tablename__ = "photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room_category.id", ondelete="SET NULL"))
    motive: Mapped[str | None] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    position: Mapped[int] = mapped_column()
    is_cover: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    original_key: Mapped[str] = mapped_column(sa.String(200))
    web_key: Mapped[str] = mapped_column(sa.String(200))
    thumb_key: Mapped[str] = mapped_column(sa.String(200))
    width: Mapped[int] = mapped_column()  # of the stored original, orientation applied
    height: Mapped[int] = mapped_column()
    source_format: Mapped[str] = mapped_column(sa.String(10))  # JPEG, PNG, WEBP, HEIF as uploaded
    size_bytes: Mapped[int] = mapped_column()  # of the upload
    phash: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")  # perceptual hash, hex
    warnings: Mapped[list | None] = mapped_column(sa.JSON)  # what a photo editor would point out (never refused)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    prop: Mapped[Property] = relationship()
    category: Mapped[RoomCategory | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_photo_property_id_position", "property_id", "position"),
        sa.Index("uq_photo_one_cover", "property_id", unique=True,
                 sqlite_where=sa.text("is_cover"), postgresql_where=sa.text("is_cover")),
        sa.CheckConstraint(_one_of("motive", PHOTO_MOTIVES), name="motive"),
    )


class Contract(Base):
    """A brokerage contract (Vermittlungsvertrag) between the office and a property's host.

    A property has at most one contract that has not ended (a partial unique index); ended ones
    stay as history. Its state changes are ContractEvent rows; its commission rates per channel
    (CommissionRate) are what the statements apply (R23)."""

    __tablename__ = "contract"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"))
    state: Mapped[str] = mapped_column(sa.String(10), default="invited")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # first activation
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # latest suspension
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    prop: Mapped[Property] = relationship()
    rates: Mapped[list[CommissionRate]] = relationship(order_by="CommissionRate.channel",
                                                       cascade="all, delete-orphan")
    events: Mapped[list[ContractEvent]] = relationship(order_by="ContractEvent.id")

    __table_args__ = (
        sa.Index("ix_contract_property_id", "property_id"),
        sa.Index("uq_contract_current", "property_id", unique=True,
                 sqlite_where=sa.text("state != 'ended'"), postgresql_where=sa.text("state != 'ended'")),
        sa.CheckConstraint(_one_of("state", CONTRACT_STATES), name="state"),
    )


class CommissionRate(Base):
    """The commission of one channel under a contract, in percent of the commissionable amount."""

    __tablename__ = "commission_rate"
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # a booking source, e.g. "booking"
    percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))

    __table_args__ = (sa.CheckConstraint("percent >= 0 AND percent <= 100", name="percent"),)


class ContractEvent(Base):
    """One change of a contract's state (or its rates), with who made it and why."""

    __tablename__ = "contract_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    state: Mapped[str] = mapped_column(sa.String(10))  # the state after the change
    note: Mapped[str] = mapped_column(sa.Text, default="")

    actor: Mapped[User | None] = relationship()


class Terms(Base):
    """Terms (AGB): the office's model terms (office_id set) or a host's (property_id set), which
    start as a copy of the model and may be edited (R6, R21, R22).

    fee_schedule: the cancellation fees, [{"days": 30, "percent": "0"}, {"days": 8, "percent": "50"},
    {"days": 0, "percent": "80"}]: cancelled at least `days` days before arrival, `percent` of the
    booking's total; sorted by days, descending. deposit_percent of the total is due
    deposit_days after booking; None: no deposit."""

    __tablename__ = "terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"), unique=True)
    property_id: Mapped[int | None] = mapped_column(sa.ForeignKey("property.id"), unique=True)
    fee_schedule: Mapped[list] = mapped_column(sa.JSON, default=list)
    deposit_percent: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    deposit_days: Mapped[int | None] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    adopted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # a host's: when taken from the model
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (
        sa.CheckConstraint("(office_id IS NULL) != (property_id IS NULL)", name="owner"),
        sa.CheckConstraint("deposit_percent IS NULL OR (deposit_percent > 0 AND deposit_percent <= 100)",
                           name="deposit_percent"),
        sa.CheckConstraint("deposit_days IS NULL OR deposit_days >= 0", name="deposit_days"),
    )


class AccountToken(Base):
    """A one-time link to set a password: an invitation (72 hours) or a reset. Only the SHA-256
    of the secret is stored; using it sets `used_at`, and it never works again."""

    __tablename__ = "account_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(10))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    __table_args__ = (sa.CheckConstraint(_one_of("purpose", TOKEN_PURPOSES), name="purpose"),)


class CancellationReport(Base):
    """R20: the host reports that a guest cancelled an online booking with them; it waits in the
    office's queue until staff cancel the booking free of charge (or decline the report)."""

    __tablename__ = "cancellation_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    guest_told_on: Mapped[dt.date]  # when the guest told the host
    told_by: Mapped[str] = mapped_column(sa.String(10))  # how: e-mail, phone ...
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(10), default="waiting")
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    handler_note: Mapped[str] = mapped_column(sa.Text, default="")

    booking: Mapped[Booking] = relationship()
    prop: Mapped[Property] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])

    __table_args__ = (
        sa.Index("ix_cancellation_report_property_id_status", "property_id", "status"),
        sa.Index("ix_cancellation_report_status_reported_at", "status", "reported_at"),
        sa.Index("uq_cancellation_report_waiting", "booking_id", unique=True,
                 sqlite_where=sa.text("status = 'waiting'"), postgresql_where=sa.text("status = 'waiting'")),
        sa.CheckConstraint(_one_of("told_by", TOLD_BY), name="told_by"),
        sa.CheckConstraint(_one_of("status", CANCELLATION_REPORT_STATUSES), name="status"),
    )


class Statement(Base):
    """The commission statement of one property for one month (R23). Lines are stored when the
    statement is sent (frozen, never rewritten); a draft's lines are computed when shown."""

    __tablename__ = "statement"
    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("property.id"))
    month: Mapped[dt.date]  # the first day of the month
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(10), default="draft")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # first sending: frozen from then on
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    last_mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # re-sending mails it again
    total_commission: Mapped[Decimal | None] = mapped_column(Total)  # frozen with the lines

    prop: Mapped[Property] = relationship()
    sent_by: Mapped[User | None] = relationship()
    lines: Mapped[list[StatementLine]] = relationship(order_by="StatementLine.position",
                                                      cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("property_id", "month"),
        sa.Index("ix_statement_status_month", "status", "month"),
        sa.CheckConstraint(_one_of("status", STATEMENT_STATUSES), name="status"),
    )


class StatementLine(Base):
    """One row of a sent statement: a booking's room-nights in the month (or a correction of an
    earlier month's frozen line), with what was sold, the rate applied and the commission."""

    __tablename__ = "statement_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("statement.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(10), default="booking")
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id", ondelete="SET NULL"), index=True)
    month: Mapped[dt.date]  # the month the amounts belong to (earlier than the statement's for a correction)
    source: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str] = mapped_column(sa.String(100), default="")  # voucher or reservation number
    guest_name: Mapped[str] = mapped_column(sa.String(120))
    arrival: Mapped[dt.date]
    departure: Mapped[dt.date]
    room_nights: Mapped[int] = mapped_column()  # of the month
    state: Mapped[str] = mapped_column(sa.String(30))  # why the commission is what it is: own, sold, cancelled_office ...
    amount: Mapped[Decimal] = mapped_column(Total)  # what the guest pays for these room-nights
    commissionable: Mapped[Decimal] = mapped_column(Total)
    rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))  # percent; None: no commission (own bookings)
    commission: Mapped[Decimal] = mapped_column(Total)
    extra_cost: Mapped[Decimal] = mapped_column(Total, default=Decimal("0.00"))  # R12: the replacement's, charged to the host
    platform_payout: Mapped[Decimal] = mapped_column(Total, default=Decimal("0.00"))  # R55: paid by the platform
    resold_amount: Mapped[Decimal] = mapped_column(Total, default=Decimal("0.00"))  # R54: paid by a new guest
    note: Mapped[str] = mapped_column(sa.Text, default="")

    __table_args__ = (
        sa.CheckConstraint(_one_of("kind", STATEMENT_LINE_KINDS), name="kind"),
    )
