"""after-sales: requests on some units of some lines, their items and photos; each order
line's paid share

Revision ID: 0022_aftersales
Revises: 0021_order_discounts
Create Date: 2026-12-07 14:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0022_aftersales'
down_revision = '0021_order_discounts'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable and without a default: instant on MariaDB, and no backfill of the big table —
    # rows placed before it get the same split computed when read (models/orders/shares.py).
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_share_fen', sa.Integer(), nullable=True))
    op.create_table('after_sales',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('after_sale_no', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('refund_fen', sa.Integer(), nullable=False),
    sa.Column('refunded_fen', sa.Integer(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('auto_action', sa.String(length=24), nullable=True),
    sa.Column('carrier', sa.String(length=32), nullable=True),
    sa.Column('tracking_no', sa.String(length=64), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('return_code_seed', sa.String(length=32), nullable=True),
    sa.Column('return_code_hash', sa.String(length=64), nullable=True),
    sa.Column('replacement_order_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=True),
    sa.Column('received_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('refund_fen >= 0', name=op.f('ck_after_sales_refund_nonneg')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_after_sales_order_id_orders')),
    sa.ForeignKeyConstraint(['replacement_order_id'], ['orders.id'],
                            name=op.f('fk_after_sales_replacement_order_id_orders')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_after_sales_store_id_stores')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_after_sales_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sales')),
    sa.UniqueConstraint('after_sale_no', name=op.f('uq_after_sales_after_sale_no')),
    sa.UniqueConstraint('return_code_hash', name=op.f('uq_after_sales_return_code_hash')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('after_sales', schema=None) as batch_op:
        batch_op.create_index('ix_after_sales_order_id', ['order_id'], unique=False)
        batch_op.create_index('ix_after_sales_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_after_sales_status_deadline_at', ['status', 'deadline_at'], unique=False)
        batch_op.create_index('ix_after_sales_store_id_status', ['store_id', 'status'], unique=False)
    op.create_table('after_sale_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('after_sale_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('refund_fen', sa.Integer(), nullable=False),
    sa.Column('received_qty', sa.Integer(), nullable=True),
    sa.Column('resellable_qty', sa.Integer(), nullable=True),
    sa.CheckConstraint('qty > 0 AND refund_fen >= 0', name=op.f('ck_after_sale_items_qty_positive')),
    sa.CheckConstraint('resellable_qty IS NULL OR received_qty IS NULL OR resellable_qty <= received_qty',
                       name=op.f('ck_after_sale_items_resellable_received')),
    sa.ForeignKeyConstraint(['after_sale_id'], ['after_sales.id'],
                            name=op.f('fk_after_sale_items_after_sale_id_after_sales')),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'],
                            name=op.f('fk_after_sale_items_order_item_id_order_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sale_items')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('after_sale_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_after_sale_items_after_sale_id'), ['after_sale_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_after_sale_items_order_item_id'), ['order_item_id'], unique=False)
    op.create_table('after_sale_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('after_sale_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['after_sale_id'], ['after_sales.id'],
                            name=op.f('fk_after_sale_photos_after_sale_id_after_sales')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sale_photos')),
    sa.UniqueConstraint('file_name', name=op.f('uq_after_sale_photos_file_name')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('after_sale_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_after_sale_photos_after_sale_id'), ['after_sale_id'], unique=False)


def downgrade():
    op.drop_table('after_sale_photos')
    op.drop_table('after_sale_items')
    op.drop_table('after_sales')
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_column('paid_share_fen')
