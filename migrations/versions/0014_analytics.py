"""analytics: rollups per store × day (figures, step durations, funnel), the days built, and the indexes a day's figures read

Revision ID: 0014_analytics
Revises: 0013_stock_decisions
Create Date: 2026-12-07 11:00:00

The two indexes are built online on MariaDB (ALTER TABLE ... ADD INDEX takes no lock that
blocks writes with InnoDB's default ALGORITHM=INPLACE, LOCK=NONE).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_analytics'
down_revision = '0013_stock_decisions'
branch_labels = None
depends_on = None

_FIGURES = ("placed", "placed_fen", "paid", "paid_fen", "cancelled", "cancelled_by_shopper",
            "cancelled_by_staff", "cancelled_by_system", "ready", "picked_up", "shipped", "delivered",
            "completed", "pickup_expired", "pickup_visits", "partial_visits", "new_buyers",
            "returning_buyers", "refunds", "refunded_fen")

_FUNNEL = ("placed", "paid", "prepared", "collected", "kept", "lost_unpaid", "lost_expired", "lost_refunded")


def upgrade():
    op.create_table('analytics_rollup_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_analytics_rollup_days')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('analytics_store_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in _FIGURES],
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_analytics_store_days_store_id_stores')),
    sa.PrimaryKeyConstraint('day', 'store_id', name=op.f('pk_analytics_store_days')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('analytics_step_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('digest', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_analytics_step_days_store_id_stores')),
    sa.PrimaryKeyConstraint('day', 'store_id', 'step', name=op.f('pk_analytics_step_days')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('analytics_funnel_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in _FUNNEL],
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_analytics_funnel_days_store_id_stores')),
    sa.PrimaryKeyConstraint('day', 'store_id', name=op.f('pk_analytics_funnel_days')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('analytics_sku_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in ("orders", "units", "gmv_fen", "refunded_fen")],
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_analytics_sku_days_store_id_stores')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_analytics_sku_days_sku_id_skus')),
    sa.PrimaryKeyConstraint('day', 'store_id', 'sku_id', name=op.f('pk_analytics_sku_days')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('analytics_customers',
    sa.Column('store_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('monetary_fen', sa.Integer(), nullable=False),
    sa.Column('last_paid_at', sa.DateTime(), nullable=False),
    sa.Column('first_order_at', sa.DateTime(), nullable=False),
    sa.Column('r', sa.Integer(), nullable=False),
    sa.Column('f', sa.Integer(), nullable=False),
    sa.Column('m', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=16), nullable=False),
    sa.Column('pickup_style', sa.String(length=16), nullable=False),
    sa.Column('pickup_orders', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_customers_user_id_users')),
    sa.PrimaryKeyConstraint('store_id', 'user_id', name=op.f('pk_analytics_customers')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('analytics_customers', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_customers_store_segment', ['store_id', 'segment'], unique=False)
    with op.batch_alter_table('stock_level_events', schema=None) as batch_op:
        batch_op.create_index('ix_stock_level_events_at', ['at'], unique=False)
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_events_at'), ['at'], unique=False)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_status_succeeded_at', ['status', 'succeeded_at'], unique=False)


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_succeeded_at')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_at'))
    with op.batch_alter_table('stock_level_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_level_events_at')
    op.drop_table('analytics_customers')
    op.drop_table('analytics_sku_days')
    op.drop_table('analytics_funnel_days')
    op.drop_table('analytics_step_days')
    op.drop_table('analytics_store_days')
    op.drop_table('analytics_rollup_days')
