"""pickup verify requests: a verification's Idempotency-Key and the answer it got

Revision ID: 0011_pickup_verify_requests
Revises: 0010_payment_case_once
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011_pickup_verify_requests'
down_revision = '0010_payment_case_once'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pickup_verify_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_pickup_verify_requests_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_verify_requests')),
    sa.UniqueConstraint('staff_id', 'key', name=op.f('uq_pickup_verify_requests_staff_id_key')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )


def downgrade():
    op.drop_table('pickup_verify_requests')
