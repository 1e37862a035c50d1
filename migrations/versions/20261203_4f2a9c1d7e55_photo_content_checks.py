"""photo content checks: WeChat's media check state on uploads

uploads gains check_state (pending|pass|review|risky), the check's trace_id
(unique: the pushed result is matched by it), WeChat's label, when the photo
left pending and the admin who released or rejected it. Photos stored before
the check existed were already shown to everyone: they become ``pass``; new
rows start ``pending``.

Revision ID: 4f2a9c1d7e55
Revises: 8000974483aa
Create Date: 2026-12-03 06:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '4f2a9c1d7e55'
down_revision = '8000974483aa'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        # 'pass' fills the rows that exist; the default for new rows follows.
        batch_op.add_column(sa.Column('check_state', sa.String(length=8), server_default='pass',
                                      nullable=False))
        batch_op.add_column(sa.Column('trace_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('label', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('moderator_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_uploads_trace_id', ['trace_id'])
        batch_op.create_foreign_key('fk_uploads_moderator_id_users', 'users', ['moderator_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_uploads_check_state_id', ['check_state', 'id'], unique=False)
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.alter_column('check_state', existing_type=sa.String(length=8), existing_nullable=False,
                              server_default='pending')


def downgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_uploads_check_state_id')
        batch_op.drop_constraint('fk_uploads_moderator_id_users', type_='foreignkey')
        batch_op.drop_constraint('uq_uploads_trace_id', type_='unique')
        batch_op.drop_column('moderator_id')
        batch_op.drop_column('checked_at')
        batch_op.drop_column('label')
        batch_op.drop_column('trace_id')
        batch_op.drop_column('check_state')
