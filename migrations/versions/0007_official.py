"""official account: staff bindings, template messages

Revision ID: 0007_official
Revises: 0006_messages
Create Date: 2026-11-22 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_official'
down_revision = '0006_messages'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
