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
    op.create_table('message_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('template_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('msgid', sa.String(length=32), nullable=True),
    sa.Column('grant_held', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_log')),
    sa.UniqueConstraint('outbox_id', name=op.f('uq_message_log_outbox_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_log_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_message_log_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('subscribe_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('remaining >= 0', name=op.f('ck_subscribe_grants_remaining_nonneg')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscribe_grants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribe_grants')),
    sa.UniqueConstraint('user_id', 'template_id', name=op.f('uq_subscribe_grants_user_id_template_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claim_token')

    op.drop_table('subscribe_grants')
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.drop_index('ix_message_log_user_id_id')
        batch_op.drop_index(batch_op.f('ix_message_log_order_id'))

    op.drop_table('message_log')
