"""history entries keep what undoing a calendar edit needs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 20:10:00

`audit_entry.undo` holds the changed (category, night) rows and their previous values (JSON);
`audit_entry.undone_by_id` points at the entry that undid it. Old entries have neither.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undo', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('undone_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_entry_undone_by_id_audit_entry'), 'audit_entry',
                                    ['undone_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_entry_undone_by_id_audit_entry'), type_='foreignkey')
        batch_op.drop_column('undone_by_id')
        batch_op.drop_column('undo')
