"""card exports: a batch's export as a background job, its result encrypted until confirmed

Revision ID: 0009_card_exports
Revises: 0008_state_changes
Create Date: 2026-12-07 06:38:22

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0009_card_exports'
down_revision = '0008_state_changes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cards_total', sa.Integer(), nullable=False),
    sa.Column('cards_done', sa.Integer(), nullable=False),
    sa.Column('run_token', sa.String(length=32), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('result_enc', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Column('downloads', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ready_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('expired_at', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('cards_done >= 0 AND cards_done <= cards_total', name=op.f('ck_card_exports_progress_range')),
    sa.ForeignKeyConstraint(['batch_id'], ['card_batches.id'], name=op.f('fk_card_exports_batch_id_card_batches')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_card_exports_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_exports')),
    sa.UniqueConstraint('batch_id', name=op.f('uq_card_exports_batch_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('card_exports', schema=None) as batch_op:
        batch_op.create_index('ix_card_exports_status_expires_at', ['status', 'expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('card_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_card_exports_status_expires_at')

    op.drop_table('card_exports')
