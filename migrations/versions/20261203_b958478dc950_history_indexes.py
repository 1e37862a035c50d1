"""Indexes for the lists that grow with history (issue 15): the grid events
dispatched to an organization, so a member's or handler's event list is a
bitmap OR of index lookups instead of a walk of every event.

Revision ID: b958478dc950
Revises: e73e69443d3a
Create Date: 2026-12-03 12:38:25.878641

"""
from alembic import op

revision = 'b958478dc950'
down_revision = 'e73e69443d3a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('grid_events', schema=None) as batch_op:
        batch_op.create_index('ix_grid_events_assignee_org_id_id', ['assignee_org_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('grid_events', schema=None) as batch_op:
        batch_op.drop_index('ix_grid_events_assignee_org_id_id')
