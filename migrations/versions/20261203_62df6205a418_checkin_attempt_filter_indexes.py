"""Indexes for a center's list of scans filtered by purpose, by result and by
any failure (issue 15): each filter walks only its own rows, newest first,
instead of the center's whole history. The failures' index is partial, on
the same words the list filters by (app.checkin.models.FAILED_PREDICATE).

Revision ID: 62df6205a418
Revises: 3134eba86b76
Create Date: 2026-12-03 13:57:04.115062

"""
import sqlalchemy as sa
from alembic import op

revision = '62df6205a418'
down_revision = '3134eba86b76'
branch_labels = None
depends_on = None

# As it stood when written: later changes to the list of successes need a migration of their own.
FAILED = sa.text("result NOT IN ('ok', 'already_checked_in', 'checked_out', 'already_checked_out')")


def upgrade():
    with op.batch_alter_table('checkin_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_attempts_center_failed', ['center_id', 'id'], unique=False,
                              postgresql_where=FAILED, sqlite_where=FAILED)
        batch_op.create_index('ix_checkin_attempts_center_purpose', ['center_id', 'purpose', 'id'], unique=False)
        batch_op.create_index('ix_checkin_attempts_center_result', ['center_id', 'result', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('checkin_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_attempts_center_result')
        batch_op.drop_index('ix_checkin_attempts_center_purpose')
        batch_op.drop_index('ix_checkin_attempts_center_failed')
