"""revocable sessions, one-time passwords, login throttling in the database, hashed iCal tokens,
wider booking totals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:40:00

Existing iCal export URLs keep working: the plain token of each category is replaced by its
SHA-256, which is what the export looks up from now on.
"""
import hashlib

from alembic import op
import sqlalchemy as sa

from services.models import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # A booking's total and deposit: the largest stay services/core/inputs.py allows needs 14 digits.
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.alter_column('total_price', existing_type=sa.Numeric(10, 2), type_=sa.Numeric(14, 2))
        batch_op.alter_column('deposit_amount', existing_type=sa.Numeric(10, 2), type_=sa.Numeric(14, 2))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', UTCDateTime(), nullable=False),
    sa.Column('blocked_until', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )

    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ical_token_hash', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, ical_token FROM room_category")).all()
    for id_, token in rows:
        conn.execute(sa.text("UPDATE room_category SET ical_token_hash = :h WHERE id = :id"),
                     {"h": hashlib.sha256(token.encode()).hexdigest(), "id": id_})
    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.drop_constraint('uq_room_category_ical_token', type_='unique')
        batch_op.drop_column('ical_token')
        batch_op.create_unique_constraint(batch_op.f('uq_room_category_ical_token_hash'), ['ical_token_hash'])


def downgrade():
    # The plain tokens are gone: a downgrade gives every category a fresh (unpublished) one.
    import secrets

    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ical_token', sa.String(length=40), nullable=True))
    conn = op.get_bind()
    for (id_,) in conn.execute(sa.text("SELECT id FROM room_category")).all():
        conn.execute(sa.text("UPDATE room_category SET ical_token = :t WHERE id = :id"),
                     {"t": secrets.token_urlsafe(24), "id": id_})
    with op.batch_alter_table('room_category', schema=None) as batch_op:
        batch_op.drop_constraint('uq_room_category_ical_token_hash', type_='unique')
        batch_op.drop_column('ical_token_hash')
        batch_op.alter_column('ical_token', nullable=False)
        batch_op.create_unique_constraint('uq_room_category_ical_token', ['ical_token'])

    op.drop_table('login_throttle')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.alter_column('total_price', existing_type=sa.Numeric(14, 2), type_=sa.Numeric(10, 2))
        batch_op.alter_column('deposit_amount', existing_type=sa.Numeric(14, 2), type_=sa.Numeric(10, 2))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('session_generation')
