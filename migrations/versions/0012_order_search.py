"""order search: the tail of a shopper's phone as a keyed hash; orders by store and status,
by status, by creation time

Revision ID: 0012_order_search
Revises: 0011_pickup_verify_requests
Create Date: 2026-12-09 09:00:00

`users.phone_tail_hash` is NULL for users bound before it: computing it needs
FIELD_ENCRYPTION_KEY, which a migration must not depend on, so `flask users
backfill-phone-tail` fills it in after the upgrade (README.md, Production).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012_order_search'
down_revision = '0011_pickup_verify_requests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_tail_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_phone_tail_hash'), ['phone_tail_hash'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_store_id_status_id', ['store_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_orders_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_orders_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_created_at')
        batch_op.drop_index('ix_orders_status_id')
        batch_op.drop_index('ix_orders_store_id_status_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone_tail_hash'))
        batch_op.drop_column('phone_tail_hash')
