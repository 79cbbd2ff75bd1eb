"""payments, refunds, cases, reconciliation, outbox

Revision ID: 0003_payments
Revises: 0002_orders
Create Date: 2026-11-22 05:15:01.745358

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_payments'
down_revision = '0002_orders'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('reconciliation_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('differences', sa.JSON(), nullable=False),
    sa.Column('repairs', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_reports')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_reports_bill_date'), ['bill_date'], unique=False)

    op.create_table('payment_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('transaction_id', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payment_cases_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_cases')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('payment_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_cases_order_id'), ['order_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('prepay_id', sa.String(length=64), nullable=True),
    sa.Column('prepaid_at', sa.DateTime(), nullable=True),
    sa.Column('transaction_id', sa.String(length=32), nullable=True),
    sa.Column('paid_fen', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('bank_type', sa.String(length=32), nullable=True),
    sa.Column('confirmed_by', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('order_id', name=op.f('uq_payments_order_id')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payments_out_trade_no')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_payments_transaction_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_status_prepaid_at', ['status', 'prepaid_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('refund_id', sa.String(length=32), nullable=True),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('release_stock', sa.Boolean(), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('succeeded_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('order_id', 'idempotency_key', name=op.f('uq_refunds_order_id_idempotency_key')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_refunds_out_refund_no')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_refunds_status_created_at', ['status', 'created_at'], unique=False)




def downgrade():

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_created_at')
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_prepaid_at')

    op.drop_table('payments')
    with op.batch_alter_table('payment_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_cases_order_id'))

    op.drop_table('payment_cases')
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_reports_bill_date'))

    op.drop_table('reconciliation_reports')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next_attempt_at')

    op.drop_table('outbox')

