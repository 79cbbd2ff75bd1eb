"""payment cases: one per kind of problem and transaction

Revision ID: 0010_payment_case_once
Revises: 0009_card_exports
Create Date: 2026-12-07 12:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_payment_case_once'
down_revision = '0009_card_exports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_cases', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_payment_cases_kind_transaction_id'), ['kind', 'transaction_id'])


def downgrade():
    with op.batch_alter_table('payment_cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payment_cases_kind_transaction_id'), type_='unique')
