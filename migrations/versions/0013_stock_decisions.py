"""stock decisions: replenishment requests accepted or rejected by staff; indexes for a
stock row's ledger and for the audit log's filters

Revision ID: 0013_stock_decisions
Revises: 0012_order_search
Create Date: 2026-12-08 09:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0013_stock_decisions'
down_revision = '0012_order_search'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns: MariaDB adds them in place, without copying the table.
    with op.batch_alter_table('replenishment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('qty_committed', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))
    # Secondary indexes are built online by InnoDB (reads and writes go on meanwhile).
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_store_sku', ['store_id', 'sku_id', 'id'], unique=False)
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.create_index('ix_audit_logs_actor', ['actor_type', 'actor_id'], unique=False)
        batch_op.create_index('ix_audit_logs_action', ['action'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_logs_action')
        batch_op.drop_index('ix_audit_logs_actor')
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        if op.get_bind().dialect.name == 'mysql':
            # The new index replaced the one MariaDB made for the store_id foreign key (it
            # drops its own when another can serve): give the key one back first.
            batch_op.create_index('fk_stock_movements_store_id_stores', ['store_id'], unique=False)
        batch_op.drop_index('ix_stock_movements_store_sku')
    with op.batch_alter_table('replenishment_requests', schema=None) as batch_op:
        batch_op.drop_column('reason')
        batch_op.drop_column('qty_committed')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('decided_at')
