"""The public org directory lists one kind at a time (communities, branches):
an index on (kind, id) for its keyset pages.

Revision ID: 633ccf844eee
Revises: 9133d457fb7c
Create Date: 2026-12-02 20:01:20.420309

"""
from alembic import op

revision = '633ccf844eee'
down_revision = '9133d457fb7c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_org_nodes_kind_id', 'org_nodes', ['kind', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_org_nodes_kind_id', table_name='org_nodes')
