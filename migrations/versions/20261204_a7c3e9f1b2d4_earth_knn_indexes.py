"""Tasks and centers near a point, nearest first from an index (PostgreSQL):
the ``cube`` extension and GiST indexes on each row's earth point, which
app/common/near.py walks in distance order (``<->``) so that a page of
``?near=`` reads its own rows, not every row of the radius. SQLite keeps the
(lat, lng) indexes and the equirectangular query: nothing to do there.

The expression is app.common.near.earth_point's, written out (migrations
never import application code); the models declare the same indexes.

Revision ID: a7c3e9f1b2d4
Revises: 171a6ec32984
Create Date: 2026-12-04 19:00:00

"""
from alembic import op

revision = 'a7c3e9f1b2d4'
down_revision = '171a6ec32984'
branch_labels = None
depends_on = None

EARTH_POINT = ("CUBE(CUBE(CUBE(6371008.8 * cos(radians(lat)) * cos(radians(lng))), "
               "6371008.8 * cos(radians(lat)) * sin(radians(lng))), 6371008.8 * sin(radians(lat)))")
INDEXES = (("ix_tasks_earth", "tasks"), ("ix_service_centers_earth", "service_centers"))


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS cube")
    for name, table in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gist ({EARTH_POINT})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP EXTENSION IF EXISTS cube")
