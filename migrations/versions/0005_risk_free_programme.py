"""the risk-free programme and card details (issue 10)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:30:00

`property.risk_free_eligible` (set by the platform's staff) and `property.risk_free_opted_in`
(the host's choice, R50/R59); the booking's card as the channel sent it, never the full number
(`card_last4`), and when the host marked it invalid (R56).
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('property', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_free_eligible', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('risk_free_opted_in', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_holder', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('card_brand', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('card_last4', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('card_expiry', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('card_invalid_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('card_invalid_at')
        batch_op.drop_column('card_expiry')
        batch_op.drop_column('card_last4')
        batch_op.drop_column('card_brand')
        batch_op.drop_column('card_holder')
    with op.batch_alter_table('property', schema=None) as batch_op:
        batch_op.drop_column('risk_free_opted_in')
        batch_op.drop_column('risk_free_eligible')
