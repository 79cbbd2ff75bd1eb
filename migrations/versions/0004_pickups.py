"""pickup codes, verification ledger, lockouts

Revision ID: 0004_pickups
Revises: 0003_payments
Create Date: 2026-11-22 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_pickups'
down_revision = '0003_payments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pickup_ledger_heads',
    sa.Column('store_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_pickup_ledger_heads_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_pickup_ledger_heads')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('pickup_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('live_hash', sa.String(length=64), nullable=True),
    sa.Column('wxa_hash', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_pickup_codes_order_id_orders')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_pickup_codes_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_codes')),
    sa.UniqueConstraint('live_hash', name=op.f('uq_pickup_codes_live_hash')),
    sa.UniqueConstraint('order_id', 'version', name=op.f('uq_pickup_codes_order_id_version')),
    sa.UniqueConstraint('wxa_hash', name=op.f('uq_pickup_codes_wxa_hash')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('pickup_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pickup_codes_code_hash'), ['code_hash'], unique=False)
        batch_op.create_index('ix_pickup_codes_store_id_locked_at', ['store_id', 'locked_at'], unique=False)

    op.create_table('pickup_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_pickup_verifications_order_id_orders')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_pickup_verifications_staff_id_staff')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_pickup_verifications_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_verifications')),
    sa.UniqueConstraint('store_id', 'seq', name=op.f('uq_pickup_verifications_store_id_seq')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('pickup_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pickup_verifications_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_reminded_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_orders_status_pickup_deadline', ['status', 'pickup_deadline'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_level', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_level', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('pickup_expiry_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('auto_ready', sa.Boolean(), server_default=sa.text('0'), nullable=False))



def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('auto_ready')
        batch_op.drop_column('pickup_expiry_hours')
        batch_op.drop_column('pickup_level')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('pickup_level')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_pickup_deadline')
        batch_op.drop_column('pickup_reminded_at')

    with op.batch_alter_table('pickup_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pickup_verifications_order_id'))

    op.drop_table('pickup_verifications')
    with op.batch_alter_table('pickup_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_pickup_codes_store_id_locked_at')
        batch_op.drop_index(batch_op.f('ix_pickup_codes_code_hash'))

    op.drop_table('pickup_codes')
    op.drop_table('pickup_ledger_heads')
