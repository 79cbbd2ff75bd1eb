"""order discounts: the coupon and points taken off an order, and each line's part

Revision ID: 0021_order_discounts
Revises: 0020_complaints
Create Date: 2026-12-07 14:24:00.988892

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_order_discounts'
down_revision = '0020_complaints'
branch_labels = None
depends_on = None


def upgrade():
    # Trailing columns with constant defaults: MariaDB adds them instantly (ALGORITHM=INSTANT),
    # without rebuilding orders or order_items however big they are.
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_fen', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('coupon_discount_fen', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('points_used', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('points_discount_fen', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('points_discount_fen')
        batch_op.drop_column('points_used')
        batch_op.drop_column('coupon_discount_fen')
        batch_op.drop_column('coupon_id')

    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_column('discount_fen')

