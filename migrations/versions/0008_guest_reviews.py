"""guest reviews from a review partner (issue 12, R60-R64)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 23:50:00

- `channel_connection.scope`: what a connection's key may do: `booking` (availability and
  reservations; every connection so far) or `reviews` (a review partner such as HolidayCheck).
  `review_count` / `review_average` are the partner's totals over all the property's reviews (R62).
- `office.embed_origins`: the origins (space-separated) allowed to frame the public review block.
- `review`: one review as the partner sent it (idempotent by connection + partner_review_id),
  with the host's (or staff's) public reply and a report as inappropriate (R64). Never deleted.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('channel_connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(10), nullable=False, server_default='booking'))
        batch_op.add_column(sa.Column('review_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_average', sa.Numeric(5, 2), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_channel_connection_scope'), "scope IN ('booking', 'reviews')")
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embed_origins', sa.Text(), nullable=False, server_default=''))

    op.create_table(
        'review',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('property_id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('partner_review_id', sa.String(100), nullable=False),
        sa.Column('written_on', sa.Date(), nullable=False),
        sa.Column('travel_date', sa.Date(), nullable=True),
        sa.Column('author', sa.String(80), nullable=False),
        sa.Column('overall', sa.Numeric(5, 2), nullable=False),
        sa.Column('scale_min', sa.Numeric(5, 2), nullable=False),
        sa.Column('scale_max', sa.Numeric(5, 2), nullable=False),
        sa.Column('sub_scores', sa.JSON(), nullable=True),
        sa.Column('recommends', sa.Boolean(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('language', sa.String(10), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reply_text', sa.Text(), nullable=True),
        sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('replied_by_id', sa.Integer(), nullable=True),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('report_reason', sa.Text(), nullable=True),
        sa.Column('reported_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'published', 'archived')", name=op.f('ck_review_status')),
        sa.CheckConstraint('scale_max > scale_min', name=op.f('ck_review_scale')),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_review_property_id_property')),
        sa.ForeignKeyConstraint(['connection_id'], ['channel_connection.id'],
                                name=op.f('fk_review_connection_id_channel_connection')),
        sa.ForeignKeyConstraint(['replied_by_id'], ['user_account.id'], name=op.f('fk_review_replied_by_id_user_account')),
        sa.ForeignKeyConstraint(['reported_by_id'], ['user_account.id'],
                                name=op.f('fk_review_reported_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review')),
        sa.UniqueConstraint('connection_id', 'partner_review_id', name=op.f('uq_review_connection_id_partner_review_id')),
    )
    op.create_index('ix_review_property_id_status_written_on', 'review', ['property_id', 'status', 'written_on'])


def downgrade():
    op.drop_table('review')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('embed_origins')
    with op.batch_alter_table('channel_connection', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_channel_connection_scope'), type_='check')
        batch_op.drop_column('review_average')
        batch_op.drop_column('review_count')
        batch_op.drop_column('scope')
