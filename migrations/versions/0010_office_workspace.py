"""the tourist office's workspace (issue 14): contracts, terms, one-time links, cancellations

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 02:10:00

- `contract` (with `contract_event` and `commission_rate`): the brokerage contract as a record
  with states (invited, active, suspended, ended), its history and a commission rate per
  channel. At most one contract of a property has not ended (a partial unique index).
  `property.contract_active_since` stays: set while the current contract is active, the one
  column every access check reads. Existing properties get a contract: active where the old
  timestamp was set, invited otherwise.
- `terms`: the office's model terms (Muster-AGB) and the hosts' own: a cancellation-fee
  schedule and a deposit rule (R21, R22).
- `account_token`: invitation and reset links, stored as SHA-256 hashes, single use.
- `cancellation_report`: a guest's cancellation reported by the host, waiting for staff (R20).
- `booking`: when and through whom it was cancelled, the fee proposed from the terms (R21),
  and where the host's request to cancel went (R32: webhook or e-mail).
- `office.phone` / `opening_hours`, `channel_connection.contact_email`,
  `property.calendar_maintained_at`, `mail_message.kind` (account e-mails stay out of the log).
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('opening_hours', sa.String(300), nullable=False, server_default=''))
    with op.batch_alter_table('property', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_maintained_at', TS, nullable=True))
    with op.batch_alter_table('channel_connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_email', sa.String(254), nullable=False, server_default=''))
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(10), nullable=False, server_default='host'))
        batch_op.create_check_constraint(batch_op.f('ck_mail_message_kind'),
                                         "kind IN ('host', 'office', 'channel', 'account')")
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', TS, nullable=True))
        batch_op.add_column(sa.Column('cancelled_via', sa.String(20), nullable=True))
        batch_op.add_column(sa.Column('cancellation_fee', sa.Numeric(14, 2), nullable=True))
        batch_op.add_column(sa.Column('cancellation_fee_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('cancel_request_event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancel_request_mail_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_booking_cancel_request_event_id_outbox_event'), 'outbox_event',
                                    ['cancel_request_event_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_booking_cancel_request_mail_id_mail_message'), 'mail_message',
                                    ['cancel_request_mail_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_booking_cancelled_via'),
                                         "cancelled_via IN ('host', 'office', 'channel', 'double_booking')")

    op.create_table(
        'contract',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('property_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('activated_at', TS, nullable=True),
        sa.Column('suspended_at', TS, nullable=True),
        sa.Column('ended_at', TS, nullable=True),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint("state IN ('invited', 'active', 'suspended', 'ended')", name=op.f('ck_contract_state')),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_contract_property_id_property')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contract')),
    )
    op.create_index('ix_contract_property_id', 'contract', ['property_id'])
    op.create_index('uq_contract_current', 'contract', ['property_id'], unique=True,
                    sqlite_where=sa.text("state != 'ended'"), postgresql_where=sa.text("state != 'ended'"))
    op.create_table(
        'commission_rate',
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(20), nullable=False),
        sa.Column('percent', sa.Numeric(5, 2), nullable=False),
        sa.CheckConstraint('percent >= 0 AND percent <= 100', name=op.f('ck_commission_rate_percent')),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_commission_rate_contract_id_contract'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('contract_id', 'channel', name=op.f('pk_commission_rate')),
    )
    op.create_table(
        'contract_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_event_contract_id_contract'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_contract_event_actor_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_event')),
    )
    op.create_index(op.f('ix_contract_event_contract_id'), 'contract_event', ['contract_id'])
    op.create_table(
        'terms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=True),
        sa.Column('property_id', sa.Integer(), nullable=True),
        sa.Column('fee_schedule', sa.JSON(), nullable=False),
        sa.Column('deposit_percent', sa.Numeric(5, 2), nullable=True),
        sa.Column('deposit_days', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False, server_default=''),
        sa.Column('adopted_at', TS, nullable=True),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(office_id IS NULL) != (property_id IS NULL)', name=op.f('ck_terms_owner')),
        sa.CheckConstraint('deposit_percent IS NULL OR (deposit_percent > 0 AND deposit_percent <= 100)',
                           name=op.f('ck_terms_deposit_percent')),
        sa.CheckConstraint('deposit_days IS NULL OR deposit_days >= 0', name=op.f('ck_terms_deposit_days')),
        sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_terms_office_id_office')),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_terms_property_id_property')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_terms_updated_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_terms')),
        sa.UniqueConstraint('office_id', name=op.f('uq_terms_office_id')),
        sa.UniqueConstraint('property_id', name=op.f('uq_terms_property_id')),
    )
    op.create_table(
        'account_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(10), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name=op.f('ck_account_token_purpose')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_account_token_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_account_token_token_hash')),
    )
    op.create_index(op.f('ix_account_token_user_id'), 'account_token', ['user_id'])
    op.create_table(
        'cancellation_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('property_id', sa.Integer(), nullable=False),
        sa.Column('reported_at', TS, nullable=False),
        sa.Column('reported_by_id', sa.Integer(), nullable=True),
        sa.Column('guest_told_on', sa.Date(), nullable=False),
        sa.Column('told_by', sa.String(10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('handled_at', TS, nullable=True),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.Column('handler_note', sa.Text(), nullable=False),
        sa.CheckConstraint("told_by IN ('email', 'phone', 'letter', 'in_person', 'other')",
                           name=op.f('ck_cancellation_report_told_by')),
        sa.CheckConstraint("status IN ('waiting', 'cancelled', 'declined')", name=op.f('ck_cancellation_report_status')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_cancellation_report_booking_id_booking'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_cancellation_report_property_id_property')),
        sa.ForeignKeyConstraint(['reported_by_id'], ['user_account.id'],
                                name=op.f('fk_cancellation_report_reported_by_id_user_account')),
        sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id'],
                                name=op.f('fk_cancellation_report_handled_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cancellation_report')),
    )
    op.create_index(op.f('ix_cancellation_report_booking_id'), 'cancellation_report', ['booking_id'])
    op.create_index('ix_cancellation_report_property_id_status', 'cancellation_report', ['property_id', 'status'])
    op.create_index('ix_cancellation_report_status_reported_at', 'cancellation_report', ['status', 'reported_at'])
    op.create_index('uq_cancellation_report_waiting', 'cancellation_report', ['booking_id'], unique=True,
                    sqlite_where=sa.text("status = 'waiting'"), postgresql_where=sa.text("status = 'waiting'"))

    # Every existing property gets its contract: active where the old timestamp says so.
    op.execute("INSERT INTO contract (property_id, state, created_at, activated_at, updated_at) "
               "SELECT id, 'active', created_at, contract_active_since, contract_active_since FROM property "
               "WHERE contract_active_since IS NOT NULL")
    op.execute("INSERT INTO contract (property_id, state, created_at, updated_at) "
               "SELECT id, 'invited', created_at, created_at FROM property WHERE contract_active_since IS NULL")
    op.execute("INSERT INTO contract_event (contract_id, at, state, note) "
               "SELECT id, updated_at, state, '' FROM contract")


def downgrade():
    op.drop_table('cancellation_report')
    op.drop_table('account_token')
    op.drop_table('terms')
    op.drop_table('contract_event')
    op.drop_table('commission_rate')
    op.drop_index('uq_contract_current', table_name='contract')
    op.drop_index('ix_contract_property_id', table_name='contract')
    op.drop_table('contract')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_booking_cancelled_via'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_booking_cancel_request_mail_id_mail_message'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_booking_cancel_request_event_id_outbox_event'), type_='foreignkey')
        for col in ('cancel_request_mail_id', 'cancel_request_event_id', 'cancellation_fee_note', 'cancellation_fee',
                    'cancelled_via', 'cancelled_at'):
            batch_op.drop_column(col)
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_mail_message_kind'), type_='check')
        batch_op.drop_column('kind')
    with op.batch_alter_table('channel_connection', schema=None) as batch_op:
        batch_op.drop_column('contact_email')
    with op.batch_alter_table('property', schema=None) as batch_op:
        batch_op.drop_column('calendar_maintained_at')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('opening_hours')
        batch_op.drop_column('phone')
