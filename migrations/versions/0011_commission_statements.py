"""commission statements (issue 15, R23); a room category's kind for the public search

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 02:00:00

`statement`: one property, one month; a draft is computed when shown, sending freezes its lines
into `statement_line` (never rewritten: later changes become correction lines of a later month).
`mail_message.attachment_name` / `attachment_key`: a file sent with an e-mail (the statement's PDF).
`room_category.kind`: room, apartment or house, the public search's filter.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TOTAL = sa.Numeric(14, 2)


def upgrade():
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_name', sa.String(200), nullable=True))
        batch_op.add_column(sa.Column('attachment_key', sa.String(200), nullable=True))
    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(10), nullable=False, server_default='room'))
        batch_op.create_check_constraint(batch_op.f('ck_room_category_kind'), "kind IN ('room', 'apartment', 'house')")
    op.create_table(
        'statement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('property_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('sent_at', TS, nullable=True),
        sa.Column('sent_by_id', sa.Integer(), nullable=True),
        sa.Column('last_mailed_at', TS, nullable=True),
        sa.Column('total_commission', TOTAL, nullable=True),
        sa.CheckConstraint("status IN ('draft', 'sent')", name=op.f('ck_statement_status')),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_statement_property_id_property')),
        sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_statement_sent_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_statement')),
        sa.UniqueConstraint('property_id', 'month', name=op.f('uq_statement_property_id_month')),
    )
    op.create_index('ix_statement_status_month', 'statement', ['status', 'month'])
    op.create_table(
        'statement_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('source', sa.String(20), nullable=False),
        sa.Column('reference', sa.String(100), nullable=False),
        sa.Column('guest_name', sa.String(120), nullable=False),
        sa.Column('arrival', sa.Date(), nullable=False),
        sa.Column('departure', sa.Date(), nullable=False),
        sa.Column('room_nights', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(30), nullable=False),
        sa.Column('amount', TOTAL, nullable=False),
        sa.Column('commissionable', TOTAL, nullable=False),
        sa.Column('rate', sa.Numeric(5, 2), nullable=True),
        sa.Column('commission', TOTAL, nullable=False),
        sa.Column('extra_cost', TOTAL, nullable=False),
        sa.Column('platform_payout', TOTAL, nullable=False),
        sa.Column('resold_amount', TOTAL, nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('booking', 'correction')", name=op.f('ck_statement_line_kind')),
        sa.ForeignKeyConstraint(['statement_id'], ['statement.id'], name=op.f('fk_statement_line_statement_id_statement'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_statement_line_booking_id_booking'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_line')),
    )
    op.create_index(op.f('ix_statement_line_statement_id'), 'statement_line', ['statement_id'])
    op.create_index(op.f('ix_statement_line_booking_id'), 'statement_line', ['booking_id'])


def downgrade():
    op.drop_table('statement_line')
    op.drop_index('ix_statement_status_month', table_name='statement')
    op.drop_table('statement')
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.drop_column('attachment_key')
        batch_op.drop_column('attachment_name')
    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_room_category_kind'), type_='check')
        batch_op.drop_column('kind')
