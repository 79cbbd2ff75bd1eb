"""customer holdings: units a scored customer has paid for and not collected, and card units left

Revision ID: 0018_customer_holdings
Revises: 0017_check_checkpoints
Create Date: 2026-12-07 14:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0018_customer_holdings'
down_revision = '0017_check_checkpoints'
branch_labels = None
depends_on = None


def upgrade():
    # The table is rebuilt whole each night: adding columns with a default is instant
    # (MariaDB's instant ADD COLUMN) and the next build fills them.
    with op.batch_alter_table('analytics_customers') as batch_op:
        batch_op.add_column(sa.Column('units_held', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('card_units_held', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('analytics_customers') as batch_op:
        batch_op.drop_column('card_units_held')
        batch_op.drop_column('units_held')
