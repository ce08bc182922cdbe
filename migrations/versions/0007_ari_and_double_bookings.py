"""availability pushed to channels, notify mode, maximum stay, double-booking conflicts (issue 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 23:00:00

- `night_rate.max_stay`: the longest stay allowed from an arrival on that night (NULL: none).
- `channel_connection.inventory_mode`: `request` (the portal decides, 409 when the stay can't be
  had) or `notify` (the channel sold from its copy: the booking is stored even when overbooked).
  Booking.com and e-domizil connections that exist already become `notify`.
- `outbox_event.pending_nights` / `built_at`: an `availability_changed` event holds the
  category-nights that changed (merged while undelivered); its body is built when the worker
  claims it (`built_at`), after which new changes go into a new event.
- `unplaced_night`: nights of a booking that found no free unit (an overbooked push, an iCal
  block that collides). Not an occupancy row: no unit is ever sold twice.
- `double_booking` with its bookings and steps: an open double booking and its resolution
  (R11-R14); `booking.commission_kept` / `replacement_extra_cost` / `rehoused_at_id` (R12).
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('night_rate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_stay', sa.Integer(), nullable=True))
    with op.batch_alter_table('channel_connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inventory_mode', sa.String(10), nullable=False, server_default='request'))
        batch_op.create_check_constraint(batch_op.f('ck_channel_connection_inventory_mode'), "inventory_mode IN ('request', 'notify')")
    op.execute("UPDATE channel_connection SET inventory_mode = 'notify' WHERE channel IN ('booking', 'e_domizil')")
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_nights', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('built_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commission_kept', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('replacement_extra_cost', sa.Numeric(14, 2), nullable=True))
        batch_op.add_column(sa.Column('rehoused_at_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_booking_rehoused_at_id_room_category'), 'room_category',
                                    ['rehoused_at_id'], ['id'])

    op.create_table(
        'unplaced_night',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('night', sa.Date(), nullable=False),
        sa.Column('units', sa.Integer(), nullable=False),
        sa.CheckConstraint('units >= 1', name=op.f('ck_unplaced_night_units')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_unplaced_night_booking_id_booking'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['category_id'], ['room_category.id'],
                                name=op.f('fk_unplaced_night_category_id_room_category')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unplaced_night')),
        sa.UniqueConstraint('booking_id', 'night', name=op.f('uq_unplaced_night_booking_id_night')),
    )
    op.create_index('ix_unplaced_night_category_id_night', 'unplaced_night', ['category_id', 'night'])

    op.create_table(
        'double_booking',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('property_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('first_night', sa.Date(), nullable=False),
        sa.Column('last_night', sa.Date(), nullable=False),
        sa.Column('cause', sa.String(20), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolution', sa.String(30), nullable=True),
        sa.CheckConstraint("cause IN ('overbooked_push', 'ical', 'check')", name=op.f('ck_double_booking_cause')),
        sa.CheckConstraint("status IN ('open', 'handed_over', 'resolved')", name=op.f('ck_double_booking_status')),
        sa.CheckConstraint('last_night >= first_night', name=op.f('ck_double_booking_nights')),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_double_booking_property_id_property')),
        sa.ForeignKeyConstraint(['category_id'], ['room_category.id'],
                                name=op.f('fk_double_booking_category_id_room_category')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_double_booking')),
    )
    op.create_index('ix_double_booking_property_id_status', 'double_booking', ['property_id', 'status'])
    op.create_index('ix_double_booking_status', 'double_booking', ['status'])

    op.create_table(
        'double_booking_member',
        sa.Column('double_booking_id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['double_booking_id'], ['double_booking.id'],
                                name=op.f('fk_double_booking_member_double_booking_id_double_booking'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_double_booking_member_booking_id_booking'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('double_booking_id', 'booking_id', name=op.f('pk_double_booking_member')),
    )
    op.create_index('ix_double_booking_member_booking_id', 'double_booking_member', ['booking_id'])

    op.create_table(
        'double_booking_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('double_booking_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(30), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['double_booking_id'], ['double_booking.id'],
                                name=op.f('fk_double_booking_step_double_booking_id_double_booking'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_double_booking_step_actor_id_user_account')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_double_booking_step_booking_id_booking'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_double_booking_step')),
    )
    op.create_index('ix_double_booking_step_double_booking_id', 'double_booking_step', ['double_booking_id'])


def downgrade():
    op.drop_table('double_booking_step')
    op.drop_table('double_booking_member')
    op.drop_table('double_booking')
    op.drop_table('unplaced_night')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_booking_rehoused_at_id_room_category'), type_='foreignkey')
        batch_op.drop_column('rehoused_at_id')
        batch_op.drop_column('replacement_extra_cost')
        batch_op.drop_column('commission_kept')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_column('built_at')
        batch_op.drop_column('pending_nights')
    with op.batch_alter_table('channel_connection', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_channel_connection_inventory_mode'), type_='check')
        batch_op.drop_column('inventory_mode')
    with op.batch_alter_table('night_rate', schema=None) as batch_op:
        batch_op.drop_column('max_stay')
