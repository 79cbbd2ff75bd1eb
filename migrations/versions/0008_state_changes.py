"""state changes: the history of the machines that keep one in a shared table (payments, refunds)

Revision ID: 0008_state_changes
Revises: 0007_official
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_state_changes'
down_revision = '0007_official'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('state_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine', sa.String(length=24), nullable=False),
    sa.Column('row_id', sa.BigInteger(), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_changes')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.create_index('ix_state_changes_machine_row_id', ['machine', 'row_id'], unique=False)


def downgrade():
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_state_changes_machine_row_id')

    op.drop_table('state_changes')
