"""The lists "near me": every row within a radius, nearest first, keyset-paged.

Centers and tasks ask the same question, so they share this one query
(possible duplicate grid events use :func:`within` alone). Because the same
expression filters, orders and keys the cursor, paging returns every row
inside the radius exactly once, in distance order, ties by id.

On **PostgreSQL** the distance is the chord between the two points on a
sphere of ``EARTH_RADIUS_M`` (``cube``'s ``<->`` between the points'
earth-centred x, y, z in metres; the chord grows with the great-circle
distance, so it orders exactly as it does, and ``distance_m`` is the
great-circle distance computed back from it). A GiST index on that point
(:func:`earth_index`, extension ``cube``, no PostGIS) returns the rows
nearest first, one at a time: a page reads its ``limit`` rows (plus the ones
tying with the last) and stops, whatever the number of rows in the radius.
The index is on an expression of built-in functions and ``cube(float8[])``,
all immutable C functions (``earthdistance``'s ``ll_to_earth`` is an SQL
function resolved by ``search_path``, which ANALYZE and restores may not
have). A page after a cursor still walks the rows before it (an index of
distances to every possible point does not exist): the page at depth *n*
reads *n* index entries, not the history.

On **SQLite** (development, the tests' default) the distance is the squared
equirectangular one (metres along the meridian and along the parallel around
the asked point; for the radii these lists allow, ≤ 100 km, within 0.5 % of
the great circle), filtered by a bounding box that the ``(lat, lng)`` index
narrows; every row of the box is ranked, so the cost grows with the rows in
the box. CI's PostgreSQL run holds the bound (tests/tasks/test_near_knn.py).
"""
from __future__ import annotations

import math
from typing import Any

from sqlalchemy import DDL, Boolean, ColumnElement, Float, Index, Select, event, func, literal, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql import FromClause

from app.common.geo import EARTH_RADIUS_M, Point, bounding_box
from app.common.pagination import Page, _after, _decode, _encode, keyset_page
from app.extensions import db

Coordinate = InstrumentedAttribute[float]

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
CREATE_CUBE = "CREATE EXTENSION IF NOT EXISTS cube"


def squared_metres(lat: Coordinate, lng: Coordinate, point: Point) -> ColumnElement[float]:
    """The squared distance in m² from ``point`` to (``lat``, ``lng``), as SQL."""
    north = (lat - literal(point.lat, Float)) * literal(METRES_PER_DEGREE, Float)
    east = (lng - literal(point.lng, Float)) * literal(
        METRES_PER_DEGREE * math.cos(math.radians(point.lat)), Float)
    return north * north + east * east


def within(stmt: Select, lat: Coordinate, lng: Coordinate, point: Point,
           radius_m: float) -> tuple[Select, ColumnElement[float]]:
    """``stmt`` kept to the rows within ``radius_m`` of ``point``, and the
    squared-distance expression it was filtered by (to order by)."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(point, radius_m)
    distance2 = squared_metres(lat, lng, point)
    return stmt.where(lat.between(min_lat, max_lat), lng.between(min_lng, max_lng),
                      distance2 <= literal(float(radius_m) ** 2, Float)), distance2


# PostgreSQL: points as cubes -----------------------------------------------

def earth_point(lat, lng) -> ColumnElement:
    """The earth-centred (x, y, z) in metres of (``lat``, ``lng``) as a
    ``cube``: the expression :func:`earth_index` indexes, and the one a query
    must spell the same way for the planner to use the index (the radius
    is written in, never a parameter)."""
    radius = literal(EARTH_RADIUS_M, Float, literal_execute=True)
    across = radius * func.cos(func.radians(lat))
    # cube(cube(cube(x), y), z), as earthdistance builds its points (an ARRAY
    # would hide the columns from SQLAlchemy's Index)
    return func.cube(func.cube(func.cube(across * func.cos(func.radians(lng))),
                               across * func.sin(func.radians(lng))), radius * func.sin(func.radians(lat)))


def _cube_of(point: Point) -> ColumnElement:
    lat, lng = math.radians(point.lat), math.radians(point.lng)
    xyz = (EARTH_RADIUS_M * math.cos(lat) * math.cos(lng), EARTH_RADIUS_M * math.cos(lat) * math.sin(lng),
           EARTH_RADIUS_M * math.sin(lat))
    return func.cube(array([literal(v, Float) for v in xyz]))  # a parameter, unlike the column's


def chord_of(radius_m: float) -> float:
    """The chord of a great-circle distance."""
    return 2 * EARTH_RADIUS_M * math.sin(min(radius_m / (2 * EARTH_RADIUS_M), math.pi / 2))


def great_circle_of(chord: float) -> float:
    return 2 * EARTH_RADIUS_M * math.asin(min(chord / (2 * EARTH_RADIUS_M), 1.0))


def earth_index(name: str, table: FromClause) -> Index:
    """The GiST index of ``table``'s (lat, lng) as an earth point, PostgreSQL
    only; ``create_all`` creates the ``cube`` extension before the tables."""
    if not event.contains(db.metadata, "before_create", _create_cube):
        event.listen(db.metadata, "before_create", _create_cube)
    return Index(name, earth_point(table.c.lat, table.c.lng),
                 postgresql_using="gist").ddl_if(dialect="postgresql")


_create_cube = DDL(CREATE_CUBE).execute_if(dialect="postgresql")


def nearest_page(stmt: Select, lat: Coordinate, lng: Coordinate, key: InstrumentedAttribute[int],
                 point: Point, radius_m: float, limit: int, cursor: str | None) -> Page:
    """The rows of ``stmt`` (a one-entity select) within ``radius_m`` of
    ``point``, nearest first (ties by ``key``), each given ``distance_m``."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _knn_page(stmt, lat, lng, key, point, radius_m, limit, cursor)
    stmt, distance2 = within(stmt, lat, lng, point, radius_m)
    page = keyset_page(stmt.add_columns(distance2), (distance2, key), limit, cursor, scalars=False,
                       values=lambda row: [row[1], getattr(row[0], key.key)])
    items = []
    for row, squared in page.items:
        row.distance_m = round(math.sqrt(squared))
        items.append(row)
    return Page(items, page.next_cursor)


def _knn_page(stmt: Select, lat: Coordinate, lng: Coordinate, key: InstrumentedAttribute[int],
              point: Point, radius_m: float, limit: int, cursor: str | None) -> Page:
    """PostgreSQL: the GiST index walked nearest first (``ORDER BY chord``,
    the one order it gives), inside the cube that bounds the radius's ball;
    ``FETCH ... WITH TIES`` stops it after ``limit + 1`` rows and every row
    as near as the last, so that the first ``limit + 1`` of those by (chord,
    id) are the exact (chord, id) order. The radius itself is applied to these rows, not
    in SQL: a filter there would walk the box's corners on the last page."""
    here = _cube_of(point)
    chord = earth_point(lat, lng).op("<->", return_type=Float)(here)
    max_chord = chord_of(radius_m)
    stmt = stmt.where(earth_point(lat, lng).op("<@", return_type=Boolean)(
        func.cube_enlarge(here, literal(max_chord, Float), 3)))
    if cursor:
        stmt = stmt.where(_after((chord, key), _decode(cursor, (chord, key)), False))
    # The walk with its ties stays in the database (many tasks at one
    # community's address tie): only the page's rows, in (chord, id) order, come back.
    walked = stmt.add_columns(chord.label("chord")).order_by(chord).fetch(limit + 1, with_ties=True).subquery()
    entity = aliased(stmt.column_descriptions[0]["entity"], walked)
    rows: list[Any] = list(db.session.execute(
        select(entity, walked.c.chord).order_by(walked.c.chord, walked.c[key.key]).limit(limit + 1)))
    ranked: list[tuple[float, int, Any]] = [
        (c, getattr(row, key.key), row) for row, c in rows if c <= max_chord]
    items = []
    for c, _, row in ranked[:limit]:
        row.distance_m = round(great_circle_of(c))
        items.append(row)
    more = len(ranked) > limit
    return Page(items, _encode([ranked[limit - 1][0], ranked[limit - 1][1]]) if more and items else None)
