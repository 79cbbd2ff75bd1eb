"""pickup cards: batches, cards, redemptions

Revision ID: 0005_cards
Revises: 0004_pickups
Create Date: 2026-11-22 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_cards'
down_revision = '0004_pickups'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
