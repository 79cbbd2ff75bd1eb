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
    op.create_table('official_binding_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_by_openid', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_official_binding_tokens_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_official_binding_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_official_binding_tokens_token_hash')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('official_binding_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_official_binding_tokens_staff_id'), ['staff_id'], unique=False)

    op.create_table('official_bindings',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('bound_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_official_bindings_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_official_bindings')),
    sa.UniqueConstraint('openid', name=op.f('uq_official_bindings_openid')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('staff_alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_key', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('msgid', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_alert_deliveries_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_alert_deliveries')),
    sa.UniqueConstraint('alert_key', 'staff_id', name=op.f('uq_staff_alert_deliveries_alert_key_staff_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('staff_alert_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_alert_deliveries_staff_id'), ['staff_id'], unique=False)



def downgrade():
    with op.batch_alter_table('staff_alert_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_alert_deliveries_staff_id'))

    op.drop_table('staff_alert_deliveries')
    op.drop_table('official_bindings')
    with op.batch_alter_table('official_binding_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_official_binding_tokens_staff_id'))

    op.drop_table('official_binding_tokens')
