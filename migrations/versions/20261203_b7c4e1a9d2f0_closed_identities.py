"""Account cancellation: a closed account's member identity keeps its branch
(for the counts and service records) but no longer points at the roster
entry that names the person, so roster_entry_id may be NULL.

Revision ID: b7c4e1a9d2f0
Revises: 4f2a9c1d7e55
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7c4e1a9d2f0'
down_revision = '4f2a9c1d7e55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('member_identities') as batch_op:
        batch_op.alter_column('roster_entry_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    closed = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM member_identities WHERE roster_entry_id IS NULL"))
    if closed:
        raise RuntimeError(f"{closed} identities of closed accounts have no roster entry; "
                           "a downgrade would have to invent one")
    with op.batch_alter_table('member_identities') as batch_op:
        batch_op.alter_column('roster_entry_id', existing_type=sa.Integer(), nullable=False)
