"""Grid events per community, local day of the report, category and state
(``grid_daily``): the grid statistics read it instead of every event of the
period (their cost grew with history). Filled here from the events that
exist, each counted in the row of its Shanghai report day and its state now.

Revision ID: 171a6ec32984
Revises: f1e2d3c4b5a6
Create Date: 2026-12-04 18:21:43.010738

"""
import sqlalchemy as sa
from alembic import op

revision = '171a6ec32984'
down_revision = 'f1e2d3c4b5a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('grid_daily',
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.Column('close_microseconds', sa.BigInteger(), nullable=False),
    sa.Column('rework', sa.Integer(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['org_nodes.id'], name=op.f('fk_grid_daily_community_id_org_nodes')),
    sa.PrimaryKeyConstraint('community_id', 'day', 'category', 'state', name=op.f('pk_grid_daily'))
    )
    op.execute(backfill(op.get_bind().dialect.name))


def _local_day(column, dialect):
    """The Asia/Shanghai day of a naive UTC timestamp (SQLite: UTC+8, Shanghai's offset since 1991)."""
    if dialect == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai' AS DATE)"
    return f"date({column}, '+8 hours')"


def _microseconds(start, end, dialect):
    """``end - start`` in whole microseconds, exactly (SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff')."""
    if dialect == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start})) * 1000000) AS BIGINT)"
    return (f"((CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER)) * 1000000"
            f" + CAST(substr({end}, 21, 6) AS INTEGER) - CAST(substr({start}, 21, 6) AS INTEGER))")


def backfill(dialect):
    """Every event's figures so far, one row per community, day, category and
    state (tests/grid/test_daily.py runs it too)."""
    close = f"CASE WHEN e.closed_at IS NULL THEN 0 ELSE {_microseconds('e.created_at', 'e.closed_at', dialect)} END"
    return f"""
        INSERT INTO grid_daily (community_id, day, category, state, events, late, close_microseconds, rework,
                                escalations)
        SELECT community_id, day, category, state, COUNT(*), SUM(late), SUM(close_us), SUM(rework_count),
               SUM(escalations) FROM (
            SELECT e.community_id AS community_id, {_local_day("e.created_at", dialect)} AS day,
                   e.category AS category, e.state AS state, CASE WHEN e.late THEN 1 ELSE 0 END AS late,
                   {close} AS close_us, e.rework_count AS rework_count, e.escalations AS escalations
            FROM grid_events AS e
        ) AS figures
        GROUP BY community_id, day, category, state"""


def downgrade():
    op.drop_table('grid_daily')
