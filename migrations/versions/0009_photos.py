"""photos of a property (issue 13, R70-R73)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 00:10:00

One row per accepted photo: its motive (R71), the room category it shows (motive `room`), a
description for screen readers, its place in the order and whether it is the cover (exactly
one per property with photos: a partial unique index holds at most one, the use cases keep
one). The files live behind services/core/storage.py under generated keys: the original
(kept privately, metadata removed), a web size and a thumbnail (WebP).
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photo',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('property_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('motive', sa.String(20), nullable=True),
        sa.Column('description', sa.String(300), nullable=False, server_default=''),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('is_cover', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('original_key', sa.String(200), nullable=False),
        sa.Column('web_key', sa.String(200), nullable=False),
        sa.Column('thumb_key', sa.String(200), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('source_format', sa.String(10), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('phash', sa.String(32), nullable=False, server_default=''),
        sa.Column('warnings', sa.JSON(), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("motive IN ('interior', 'room', 'view', 'exterior', 'food', 'feature')",
                           name=op.f('ck_photo_motive')),
        sa.ForeignKeyConstraint(['property_id'], ['property.id'], name=op.f('fk_photo_property_id_property')),
        sa.ForeignKeyConstraint(['category_id'], ['room_category.id'], name=op.f('fk_photo_category_id_room_category'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_photo_uploaded_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_photo')),
    )
    op.create_index('ix_photo_property_id_position', 'photo', ['property_id', 'position'])
    op.create_index('uq_photo_one_cover', 'photo', ['property_id'], unique=True,
                    sqlite_where=sa.text('is_cover'), postgresql_where=sa.text('is_cover'))


def downgrade():
    op.drop_index('uq_photo_one_cover', table_name='photo')
    op.drop_index('ix_photo_property_id_position', table_name='photo')
    op.drop_table('photo')
