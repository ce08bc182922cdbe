"""occupancy rows carry their category; a version per category (issue 16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 02:50:00

- `occupancy.category_id` (the booking's category, which is its unit's) with an index on
  (category_id, night): reading a range of nights of some categories is one index range scan,
  with or without planner statistics, whatever the history of the category.
- `room_category.inventory_version`: booking writers lock and bump their category's row instead
  of the property's, so bookings of different categories no longer queue behind one lock; the
  availability cache checks the versions of the categories it read.
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inventory_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('occupancy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
    # The booking's category, as every occupancy writer sets it: a row whose unit is of another
    # category (data written past the services) stays visible to `conflicts check`.
    op.execute("UPDATE occupancy SET category_id = (SELECT booking.category_id FROM booking"
               " WHERE booking.id = occupancy.booking_id)")
    with op.batch_alter_table('occupancy', schema=None) as batch_op:
        batch_op.alter_column('category_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_occupancy_category_id_room_category'), 'room_category',
                                    ['category_id'], ['id'])
        batch_op.create_index('ix_occupancy_category_id_night', ['category_id', 'night'])


def downgrade():
    with op.batch_alter_table('occupancy', schema=None) as batch_op:
        batch_op.drop_index('ix_occupancy_category_id_night')
        batch_op.drop_constraint(batch_op.f('fk_occupancy_category_id_room_category'), type_='foreignkey')
        batch_op.drop_column('category_id')
    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.drop_column('inventory_version')
