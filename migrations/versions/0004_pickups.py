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
    pass


def downgrade():
    pass
