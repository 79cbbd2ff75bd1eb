"""complaints: WeChat Pay consumer complaints (消费者投诉2.0) and their negotiation history

Revision ID: 0020_complaints
Revises: 0019_growth
Create Date: 2026-12-07 14:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_complaints'
down_revision = '0019_growth'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('out_trade_no', sa.String(length=32), nullable=True),
    sa.Column('transaction_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('wechat_state', sa.String(length=16), nullable=True),
    sa.Column('problem_type', sa.String(length=32), nullable=True),
    sa.Column('problem_description', sa.String(length=255), nullable=True),
    sa.Column('complaint_detail', sa.Text(), nullable=True),
    sa.Column('amount_fen', sa.Integer(), nullable=True),
    sa.Column('apply_refund_amount_fen', sa.Integer(), nullable=True),
    sa.Column('full_refunded', sa.Boolean(), nullable=False),
    sa.Column('incoming_user_response', sa.Boolean(), nullable=False),
    sa.Column('user_complaint_times', sa.Integer(), nullable=False),
    sa.Column('payer_phone_enc', sa.Text(), nullable=True),
    sa.Column('media', sa.JSON(), nullable=False),
    sa.Column('complaint_time', sa.DateTime(), nullable=True),
    sa.Column('first_response_at', sa.DateTime(), nullable=True),
    sa.Column('first_response_by', sa.Integer(), nullable=True),
    sa.Column('refund_action', sa.String(length=8), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('after_sale_no', sa.String(length=32), nullable=True),
    sa.Column('needs_sync', sa.Boolean(), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_complaints_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('complaint_id', name=op.f('uq_complaints_complaint_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_complaints_store_id_id', ['store_id', 'id'], unique=False)
        batch_op.create_index('ix_complaints_status_synced_at', ['status', 'synced_at'], unique=False)
        batch_op.create_index('ix_complaints_complaint_time', ['complaint_time'], unique=False)
    op.create_table('complaint_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_row_id', sa.Integer(), nullable=False),
    sa.Column('log_id', sa.String(length=64), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=True),
    sa.Column('operate_type', sa.String(length=64), nullable=False),
    sa.Column('operate_details', sa.Text(), nullable=True),
    sa.Column('operate_time', sa.DateTime(), nullable=True),
    sa.Column('images', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_row_id'], ['complaints.id'],
                            name=op.f('fk_complaint_history_complaint_row_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_history')),
    sa.UniqueConstraint('complaint_row_id', 'log_id', name=op.f('uq_complaint_history_complaint_row_id_log_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )


def downgrade():
    op.drop_table('complaint_history')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_complaint_time')
        batch_op.drop_index('ix_complaints_status_synced_at')
        batch_op.drop_index('ix_complaints_store_id_id')
        batch_op.drop_index(batch_op.f('ix_complaints_order_id'))
    op.drop_table('complaints')
