"""pickup cards: batches, cards, redemptions

Revision ID: 0005_cards
Revises: 0004_pickups
Create Date: 2026-11-22 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_cards'
down_revision = '0004_pickups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('qty_per_unit', sa.Integer(), nullable=False),
    sa.Column('units_per_card', sa.Integer(), nullable=False),
    sa.Column('card_count', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('valid_until', sa.DateTime(), nullable=False),
    sa.Column('channels', sa.String(length=16), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('exported_at', sa.DateTime(), nullable=True),
    sa.Column('exported_by', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('qty_per_unit > 0 AND units_per_card > 0 AND card_count > 0', name=op.f('ck_card_batches_counts_positive')),
    sa.CheckConstraint('valid_until > valid_from', name=op.f('ck_card_batches_window_order')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_card_batches_sku_id_skus')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_card_batches_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_batches')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=24), nullable=False),
    sa.Column('password_hash', sa.String(length=160), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('units_total', sa.Integer(), nullable=False),
    sa.Column('units_left', sa.Integer(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.Column('used_up_at', sa.DateTime(), nullable=True),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('failed_attempts >= 0', name=op.f('ck_cards_attempts_nonneg')),
    sa.CheckConstraint('units_left >= 0 AND units_left <= units_total', name=op.f('ck_cards_units_range')),
    sa.ForeignKeyConstraint(['batch_id'], ['card_batches.id'], name=op.f('fk_cards_batch_id_card_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('batch_id', 'seq', name=op.f('uq_cards_batch_id_seq')),
    sa.UniqueConstraint('serial', name=op.f('uq_cards_serial')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index('ix_cards_locked_at', ['locked_at'], unique=False)

    op.create_table('card_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('returned_units', sa.Integer(), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('units > 0', name=op.f('ck_card_redemptions_units_positive')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_card_redemptions_card_id_cards')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_card_redemptions_order_id_orders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_card_redemptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_redemptions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_card_redemptions_order_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('card_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_redemptions_card_id'), ['card_id'], unique=False)


def downgrade():
    with op.batch_alter_table('card_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_redemptions_card_id'))

    op.drop_table('card_redemptions')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('ix_cards_locked_at')

    op.drop_table('cards')
    op.drop_table('card_batches')
