"""exports: background export jobs and their files (encrypted chunks); the time indexes
the exports walk

Revision ID: 0015_exports
Revises: 0014_analytics
Create Date: 2026-12-09 12:00:00

Secondary indexes are built online by InnoDB (ALGORITHM=INPLACE, LOCK=NONE: reads and
writes go on meanwhile). The orders' `ix_orders_created_at` comes from 0012_order_search.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0015_exports'
down_revision = '0014_analytics'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('run_token', sa.String(length=32), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Column('downloads', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ready_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(), nullable=True),
    sa.Column('expired_at', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('rows_done >= 0 AND bytes >= 0 AND chunks >= 0', name=op.f('ck_export_jobs_progress_nonneg')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_export_jobs_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_staff_id_id', ['staff_id', 'id'], unique=False)
        batch_op.create_index('ix_export_jobs_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_export_jobs_status_heartbeat_at', ['status', 'heartbeat_at'], unique=False)
    op.create_table('export_chunks',
    sa.Column('export_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['export_jobs.id'], name=op.f('fk_export_chunks_export_id_export_jobs')),
    sa.PrimaryKeyConstraint('export_id', 'seq', name=op.f('pk_export_chunks')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_paid_at', ['paid_at'], unique=False)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('pickup_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_pickup_verifications_verified_at', ['verified_at'], unique=False)
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movements_at')
    with op.batch_alter_table('pickup_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_pickup_verifications_verified_at')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_created_at')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_paid_at')
    op.drop_table('export_chunks')
    op.drop_table('export_jobs')
