"""shipments: an order's parcels (outbound and return) with their items, the carrier
events 快递100 pushes, the staff queue of parcels in trouble; the orders' delivered_at
index (the auto-confirm countdown starts at delivery)

Revision ID: 0024_shipments
Revises: 0023_campaigns
Create Date: 2026-12-07 14:00:00

The orders index is built online by InnoDB (ALGORITHM=INPLACE, LOCK=NONE).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_shipments'
down_revision = '0023_campaigns'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('after_sale_no', sa.String(length=32), nullable=True),
    sa.Column('carrier', sa.String(length=32), nullable=False),
    sa.Column('kuaidi100_com', sa.String(length=32), nullable=False),
    sa.Column('tracking_no', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('carrier_state', sa.Integer(), nullable=True),
    sa.Column('last_event_at', sa.DateTime(), nullable=True),
    sa.Column('event_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_heard_at', sa.DateTime(), nullable=False),
    sa.Column('subscribed_at', sa.DateTime(), nullable=True),
    sa.Column('subscribe_error', sa.String(length=64), nullable=True),
    sa.Column('aborted_at', sa.DateTime(), nullable=True),
    sa.Column('abort_reason', sa.String(length=64), nullable=True),
    sa.Column('tracking_ended_at', sa.DateTime(), nullable=True),
    sa.Column('waybill_token', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('collected_at', sa.DateTime(), nullable=True),
    sa.Column('out_for_delivery_at', sa.DateTime(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('exception_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("direction IN ('outbound', 'return')", name=op.f('ck_parcels_direction_known')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_parcels_order_id_orders')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_parcels_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcels')),
    sa.UniqueConstraint('token', name='uq_parcels_token'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index('ix_parcels_after_sale_no', ['after_sale_no'], unique=False)
        batch_op.create_index('ix_parcels_order_id_id', ['order_id', 'id'], unique=False)
        batch_op.create_index('ix_parcels_status_last_heard_at', ['status', 'last_heard_at'], unique=False)
        batch_op.create_index('ix_parcels_store_id_id', ['store_id', 'id'], unique=False)

    op.create_table('parcel_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('context', sa.String(length=500), nullable=False),
    sa.Column('area', sa.String(length=100), nullable=True),
    sa.Column('node_status', sa.String(length=16), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_events_parcel_id_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_events')),
    sa.UniqueConstraint('parcel_id', 'fingerprint', name='uq_parcel_events_parcel_fingerprint'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('parcel_events', schema=None) as batch_op:
        batch_op.create_index('ix_parcel_events_parcel_id_at', ['parcel_id', 'at'], unique=False)

    op.create_table('parcel_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open_key', sa.String(length=48), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_parcel_issues_order_id_orders')),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_issues_parcel_id_parcels')),
    sa.ForeignKeyConstraint(['resolved_by'], ['staff.id'], name=op.f('fk_parcel_issues_resolved_by_staff')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_parcel_issues_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_issues')),
    sa.UniqueConstraint('open_key', name='uq_parcel_issues_open_key'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('parcel_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcel_issues_parcel_id'), ['parcel_id'], unique=False)
        batch_op.create_index('ix_parcel_issues_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_parcel_issues_store_id_status_id', ['store_id', 'status', 'id'], unique=False)

    op.create_table('parcel_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Integer(), nullable=False),
    sa.Column('order_item_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_parcel_items_qty_positive')),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'], name=op.f('fk_parcel_items_order_item_id_order_items')),
    sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], name=op.f('fk_parcel_items_parcel_id_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_items')),
    sa.UniqueConstraint('parcel_id', 'order_item_id', name='uq_parcel_items_parcel_line'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('parcel_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcel_items_order_item_id'), ['order_item_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_delivered_at', ['status', 'delivered_at'], unique=False)



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_delivered_at')

    with op.batch_alter_table('parcel_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcel_items_order_item_id'))

    op.drop_table('parcel_items')
    with op.batch_alter_table('parcel_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_parcel_issues_store_id_status_id')
        batch_op.drop_index('ix_parcel_issues_status_id')
        batch_op.drop_index(batch_op.f('ix_parcel_issues_parcel_id'))

    op.drop_table('parcel_issues')
    with op.batch_alter_table('parcel_events', schema=None) as batch_op:
        batch_op.drop_index('ix_parcel_events_parcel_id_at')

    op.drop_table('parcel_events')
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index('ix_parcels_store_id_id')
        batch_op.drop_index('ix_parcels_status_last_heard_at')
        batch_op.drop_index('ix_parcels_order_id_id')
        batch_op.drop_index('ix_parcels_after_sale_no')

    op.drop_table('parcels')
