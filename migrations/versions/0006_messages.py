"""subscribe grants, message log, outbox dispatch

Revision ID: 0006_messages
Revises: 0005_cards
Create Date: 2026-11-22 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_messages'
down_revision = '0005_cards'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
