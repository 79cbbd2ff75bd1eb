"""check checkpoints: where the incremental stock check and ledger check start

Revision ID: 0017_check_checkpoints
Revises: 0016_flat_paths
Create Date: 2026-12-07 11:45:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017_check_checkpoints'
down_revision = '0016_flat_paths'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stock_check_sums',
    sa.Column('store_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sku_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_check_sums_store_id_stores')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_stock_check_sums_sku_id_skus')),
    sa.PrimaryKeyConstraint('store_id', 'sku_id', name=op.f('pk_stock_check_sums')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('stock_check_marks',
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('through_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_stock_check_marks')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('pickup_ledger_checkpoints',
    sa.Column('store_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_pickup_ledger_checkpoints_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_pickup_ledger_checkpoints')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )




def downgrade():
    op.drop_table('pickup_ledger_checkpoints')
    op.drop_table('stock_check_marks')
    op.drop_table('stock_check_sums')
