"""what a booking sold per room-night (issue 10)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:30:00

`room_night` keeps, per (booking, night, unit), the price the guest pays for it (its share of
the agreed total, mandatory costs included) and the commissionable part (lodging only); a
cancellation changes its state, never an amount. Existing bookings get rows for the (unit,
night) pairs they occupy: the lodging (total minus the mandatory costs of the kept price
breakdown) is spread by the category's current nightly prices where every night has one,
else evenly; the mandatory costs evenly. Imported iCal blocks sell nothing and get no rows.
"""
import datetime as dt
from decimal import Decimal

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

CENT = Decimal("0.01")


def _spread(amount, weights):
    """`amount` split by `weights` into cents; the rounding remainder goes to the last share."""
    total = sum(weights)
    if total <= 0:
        weights, total = [Decimal(1)] * len(weights), Decimal(len(weights))
    shares = [(amount * w / total).quantize(CENT) for w in weights]
    shares[-1] += amount - sum(shares)
    return shares


def _extras(breakdown):
    if not isinstance(breakdown, dict):
        return Decimal("0.00")
    return sum((Decimal(str(e.get("amount") or 0)) for e in breakdown.get("extras") or []), Decimal("0.00"))


def upgrade():
    op.create_table(
        'room_night',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('night', sa.Date(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column('commissionable', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('sold', 'cancelled', 'searching', 'resold', 'paid_by_platform')",
                           name=op.f('ck_room_night_state')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_room_night_booking_id_booking'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_room_night_unit_id_unit'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_room_night')),
        sa.UniqueConstraint('booking_id', 'night', 'unit_id', name=op.f('uq_room_night_booking_id_night_unit_id')),
    )
    with op.batch_alter_table('room_night', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_night_booking_id'), ['booking_id'], unique=False)
    _fill(op.get_bind())


def _fill(conn):
    """Rows for the bookings that exist (Core only: the models may have moved on since)."""
    meta = sa.MetaData()
    booking = sa.Table('booking', meta, autoload_with=conn)
    occupancy = sa.Table('occupancy', meta, autoload_with=conn)
    night_rate = sa.Table('night_rate', meta, autoload_with=conn)
    room_night = sa.Table('room_night', meta, autoload_with=conn)
    bookings = conn.execute(
        sa.select(booking.c.id, booking.c.category_id, booking.c.total_price, booking.c.price_breakdown,
                  booking.c.updated_at)
        .where(booking.c.source != 'ical', booking.c.id.in_(sa.select(occupancy.c.booking_id)))
        .order_by(booking.c.id)
    ).all()
    occupied = {}
    for booking_id, unit_id, night in conn.execute(
            sa.select(occupancy.c.booking_id, occupancy.c.unit_id, occupancy.c.night)
            .order_by(occupancy.c.booking_id, occupancy.c.night, occupancy.c.unit_id)):
        occupied.setdefault(booking_id, []).append((night, unit_id))
    prices = {(c, n): p for c, n, p in conn.execute(
        sa.select(night_rate.c.category_id, night_rate.c.night, night_rate.c.price)
        .where(night_rate.c.price.is_not(None)))}
    now = dt.datetime.now(dt.timezone.utc)
    for booking_id, category_id, total, breakdown, updated_at in bookings:
        pairs = occupied[booking_id]
        if total is None:
            lodging = [Decimal("0.00")] * len(pairs)
            extras = [Decimal("0.00")] * len(pairs)
        else:
            total = Decimal(total)
            extra = min(_extras(breakdown), total)
            rates = [prices.get((category_id, n)) for n, _ in pairs]
            weights = [Decimal(r) for r in rates] if all(r is not None for r in rates) else [Decimal(1)] * len(pairs)
            lodging = _spread(total - extra, weights)
            extras = _spread(extra, [Decimal(1)] * len(pairs))
        conn.execute(sa.insert(room_night), [
            {"booking_id": booking_id, "night": n, "unit_id": u, "price": lo + ex, "commissionable": lo,
             "state": "sold", "changed_at": updated_at or now}
            for (n, u), lo, ex in zip(pairs, lodging, extras)
        ])


def downgrade():
    with op.batch_alter_table('room_night', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_night_booking_id'))
    op.drop_table('room_night')
