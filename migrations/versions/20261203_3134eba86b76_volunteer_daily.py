"""Volunteer service per community and local day (issue 15): the statistics
read hours, person-times and ratings from ``volunteer_daily`` instead of
scanning the ledger and the participations; it is filled here from the
rows that exist (a ledger entry counts on the Shanghai day it was written,
a confirmation on the day of ``confirmed_at``). Indexes for a period's help
requests, tasks and grid events of a subtree's communities.

Revision ID: 3134eba86b76
Revises: b958478dc950
Create Date: 2026-12-03 13:46:09.099923

"""
import sqlalchemy as sa
from alembic import op

revision = '3134eba86b76'
down_revision = 'b958478dc950'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('volunteer_daily',
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('person_times', sa.Integer(), nullable=False),
    sa.Column('score_sum', sa.Integer(), nullable=False),
    sa.Column('score_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['org_nodes.id'], name=op.f('fk_volunteer_daily_community_id_org_nodes')),
    sa.PrimaryKeyConstraint('community_id', 'day', name=op.f('pk_volunteer_daily'))
    )
    with op.batch_alter_table('grid_events', schema=None) as batch_op:
        batch_op.create_index('ix_grid_events_community_created', ['community_id', 'created_at'], unique=False)

    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.create_index('ix_help_requests_community_created', ['community_id', 'created_at'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_community_starts', ['community_id', 'starts_at'], unique=False)

    op.execute(backfill(op.get_bind().dialect.name))


def _local_day(column, dialect):
    """The Asia/Shanghai day of a naive UTC timestamp (SQLite: UTC+8, Shanghai's offset since 1991)."""
    if dialect == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai' AS DATE)"
    return f"date({column}, '+8 hours')"


def backfill(dialect):
    """The figures of the ledger and the confirmations so far, one row per
    community and day (tests/stats/test_volunteer_daily.py runs it too)."""
    return f"""
        INSERT INTO volunteer_daily (community_id, day, hours, person_times, score_sum, score_count)
        SELECT community_id, day, SUM(hours), SUM(person_times), SUM(score_sum), SUM(score_count) FROM (
            SELECT e.community_id AS community_id, {_local_day("e.created_at", dialect)} AS day, e.hours AS hours,
                   0 AS person_times, 0 AS score_sum, 0 AS score_count
            FROM hours_ledger AS e
            UNION ALL
            SELECT t.community_id, {_local_day("p.confirmed_at", dialect)}, 0, 1, COALESCE(p.score, 0),
                   CASE WHEN p.score IS NULL THEN 0 ELSE 1 END
            FROM participations AS p JOIN tasks AS t ON t.id = p.task_id
            WHERE p.state = 'confirmed' AND p.confirmed_at IS NOT NULL
        ) AS figures
        GROUP BY community_id, day"""


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_community_starts')

    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_help_requests_community_created')

    with op.batch_alter_table('grid_events', schema=None) as batch_op:
        batch_op.drop_index('ix_grid_events_community_created')

    op.drop_table('volunteer_daily')
