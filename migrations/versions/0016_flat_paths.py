"""flat paths: the indexes that keep the sweeps, a day's reconciliation and the outbox list
flat as the history grows

Revision ID: 0016_flat_paths
Revises: 0015_exports
Create Date: 2026-12-07 12:00:00

Measured with scripts/bench_reports.py (10^4 → 10^6 orders): the orders sweep read every
order picked up or shipped within the auto-completion window to find the few past it;
reconciliation read every payment to find one day's (payments.paid_at had no index); the
outbox list by status sorted every row of that status. Each is now a range read of what
it returns. Built online on MariaDB (ADD INDEX is INPLACE, LOCK=NONE with InnoDB).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_flat_paths'
down_revision = '0015_exports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_picked_up_at', ['status', 'picked_up_at'], unique=False)
        batch_op.create_index('ix_orders_status_shipped_at', ['status', 'shipped_at'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_status_paid_at', ['status', 'paid_at'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_id', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_id')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_paid_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_shipped_at')
        batch_op.drop_index('ix_orders_status_picked_up_at')
