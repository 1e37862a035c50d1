"""WeChat's session_key was stored in clear and never used: drop it.

Revision ID: d5e8b0c4a7f3
Revises: c3d9a6e2b851
Create Date: 2026-12-03 06:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd5e8b0c4a7f3'
down_revision = 'c3d9a6e2b851'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('wechat_session_key')


def downgrade():
    # the keys are gone; users get a fresh one at their next login anyway
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('wechat_session_key', sa.String(length=64), nullable=True))
