"""orders and inventory operations

Revision ID: 0002_orders
Revises: 0001_foundation
Create Date: 2026-11-22 04:37:12.828991

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_orders'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('fulfillment', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('payable_fen', sa.Integer(), nullable=False),
    sa.Column('remark', sa.String(length=200), nullable=True),
    sa.Column('address_enc', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('flash_sale', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('pay_deadline', sa.DateTime(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('ready_at', sa.DateTime(), nullable=True),
    sa.Column('pickup_deadline', sa.DateTime(), nullable=True),
    sa.Column('picked_up_at', sa.DateTime(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(), nullable=True),
    sa.Column('carrier', sa.String(length=32), nullable=True),
    sa.Column('tracking_no', sa.String(length=64), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('total_fen >= 0 AND payable_fen >= 0', name=op.f('ck_orders_money_nonneg')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_orders_store_id_stores')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('order_no', name=op.f('uq_orders_order_no')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_pay_deadline', ['status', 'pay_deadline'], unique=False)
        batch_op.create_index('ix_orders_store_id_id', ['store_id', 'id'], unique=False)
        batch_op.create_index('ix_orders_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('bundle_components',
    sa.Column('bundle_sku_id', sa.Integer(), nullable=False),
    sa.Column('component_sku_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_bundle_components_qty_positive')),
    sa.ForeignKeyConstraint(['bundle_sku_id'], ['skus.id'], name=op.f('fk_bundle_components_bundle_sku_id_skus'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['component_sku_id'], ['skus.id'], name=op.f('fk_bundle_components_component_sku_id_skus')),
    sa.PrimaryKeyConstraint('bundle_sku_id', 'component_sku_id', name=op.f('pk_bundle_components')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_idempotency_keys_order_id_orders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotency_keys_user_id_key')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('order_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_events_order_id'), ['order_id'], unique=False)

    op.create_table('order_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('spec', sa.String(length=64), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('picked_up_qty', sa.Integer(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=True),
    sa.CheckConstraint('qty > 0 AND picked_up_qty >= 0 AND picked_up_qty <= qty', name=op.f('ck_order_items_qty_range')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_order_items_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_items_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_items_sku_id'), ['sku_id'], unique=False)

    op.create_table('replenishment_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('qty_suggested', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_replenishment_requests_sku_id_skus')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_replenishment_requests_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replenishment_requests')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('replenishment_requests', schema=None) as batch_op:
        batch_op.create_index('ix_replenishment_requests_store_sku', ['store_id', 'sku_id'], unique=False)

    op.create_table('stock_level_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('from_level', sa.String(length=16), nullable=False),
    sa.Column('to_level', sa.String(length=16), nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.Column('baseline', sa.Integer(), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_stock_level_events_sku_id_skus')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_level_events_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_level_events')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('stock_level_events', schema=None) as batch_op:
        batch_op.create_index('ix_stock_level_events_store_sku', ['store_id', 'sku_id'], unique=False)

    op.create_table('stock_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('from_store_id', sa.Integer(), nullable=False),
    sa.Column('to_store_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['from_store_id'], ['stores.id'], name=op.f('fk_stock_transfers_from_store_id_stores')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_stock_transfers_sku_id_skus')),
    sa.ForeignKeyConstraint(['to_store_id'], ['stores.id'], name=op.f('fk_stock_transfers_to_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_transfers')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('transfer_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_store_id', sa.Integer(), nullable=False),
    sa.Column('to_store_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('distance_m', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['from_store_id'], ['stores.id'], name=op.f('fk_transfer_proposals_from_store_id_stores')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_transfer_proposals_sku_id_skus')),
    sa.ForeignKeyConstraint(['to_store_id'], ['stores.id'], name=op.f('fk_transfer_proposals_to_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_proposals')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('inventory', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=16), nullable=False, server_default='normal'))
        batch_op.add_column(sa.Column('flash_sale', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limit_per_order', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('limit_per_user', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('is_bundle', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ref', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_stock_movements_order_id'), ['order_id'], unique=False)




def downgrade():

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_order_id'))
        batch_op.drop_column('ref')
        batch_op.drop_column('order_id')

    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.drop_column('is_bundle')
        batch_op.drop_column('limit_per_user')
        batch_op.drop_column('limit_per_order')

    with op.batch_alter_table('inventory', schema=None) as batch_op:
        batch_op.drop_column('flash_sale')
        batch_op.drop_column('level')

    op.drop_table('transfer_proposals')
    op.drop_table('stock_transfers')
    with op.batch_alter_table('stock_level_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_level_events_store_sku')

    op.drop_table('stock_level_events')
    with op.batch_alter_table('replenishment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_replenishment_requests_store_sku')

    op.drop_table('replenishment_requests')
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_items_sku_id'))
        batch_op.drop_index(batch_op.f('ix_order_items_order_id'))

    op.drop_table('order_items')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_order_id'))

    op.drop_table('order_events')
    op.drop_table('idempotency_keys')
    op.drop_table('bundle_components')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_user_id_id')
        batch_op.drop_index('ix_orders_store_id_id')
        batch_op.drop_index('ix_orders_status_pay_deadline')

    op.drop_table('orders')

