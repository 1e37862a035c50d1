"""Tasks in start order across states (issue 15): the list without a state
(every state but draft) walks this index to its page instead of sorting
every task; one state keeps ix_tasks_state_starts_at_id.

Revision ID: f1e2d3c4b5a6
Revises: 62df6205a418
Create Date: 2026-12-03 14:05:00

"""
from alembic import op

revision = 'f1e2d3c4b5a6'
down_revision = '62df6205a418'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_starts_at_id', ['starts_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_starts_at_id')
