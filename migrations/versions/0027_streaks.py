"""streaks and growth channels: visit streaks, an order's priority pickup and member price, coupons for points

Revision ID: 0027_streaks
Revises: 0026_levels
Create Date: 2026-12-07 17:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_streaks'
down_revision = '0026_levels'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_streaks',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('best', sa.Integer(), nullable=False),
    sa.Column('rewards', sa.Integer(), nullable=False),
    sa.Column('priority_until', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_member_streaks_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_member_streaks')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    # Trailing columns with constant defaults: MariaDB adds them instantly, whatever the
    # size of orders. The coupons' new unique key is on a small table.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('level_discount_fen', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('member_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_percent', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('birthday_template_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_member_levels_birthday_template_id_coupon_templates'),
                                    'coupon_templates', ['birthday_template_id'], ['id'])
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_md', sa.Integer(), nullable=True))
        batch_op.create_index('ix_members_birth_md', ['birth_md'], unique=False)
    with op.batch_alter_table('coupon_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_cost', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_coupons_user_id_claim_key'), ['user_id', 'claim_key'])


def downgrade():
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_coupons_user_id_claim_key'), type_='unique')
        batch_op.drop_column('claim_key')
    with op.batch_alter_table('coupon_templates', schema=None) as batch_op:
        batch_op.drop_column('points_cost')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_birth_md')
        batch_op.drop_column('birth_md')
    with op.batch_alter_table('member_levels', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_member_levels_birthday_template_id_coupon_templates'),
                                 type_='foreignkey')
        batch_op.drop_column('birthday_template_id')
        batch_op.drop_column('discount_percent')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('level_discount_fen')
        batch_op.drop_column('priority')
    op.drop_table('member_streaks')
