"""the replacement search of risk-free room-nights: who resold a night, and what was paid

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 21:45:00

`room_night.resold_by_id` is the booking that took a cancelled risk-free room-night again
(R54); `room_night.amount_paid` is what the new guest or the platform pays for it (R54, R55); the
settlement and the resale find searching room-nights through ix_room_night_state_night.
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('room_night', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resold_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('amount_paid', sa.Numeric(10, 2), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_room_night_resold_by_id_booking'), 'booking',
                                    ['resold_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_room_night_state_night', ['state', 'night'], unique=False)


def downgrade():
    with op.batch_alter_table('room_night', schema=None) as batch_op:
        batch_op.drop_index('ix_room_night_state_night')
        batch_op.drop_constraint(batch_op.f('fk_room_night_resold_by_id_booking'), type_='foreignkey')
        batch_op.drop_column('amount_paid')
        batch_op.drop_column('resold_by_id')
