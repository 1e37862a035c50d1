"""The lists "near me": every row within a radius, nearest first, keyset-paged.

Centers, tasks and possible duplicate grid events all ask the same
question, so they share this one query. The distance is computed by the
database, on the local equirectangular projection around the asked point
(metres along the meridian and along the parallel), which for the radii
these lists allow (≤ 100 km) differs from the great-circle distance by
well under 0.5 %. Because the same expression filters, orders and keys the
cursor, paging returns every row inside the radius exactly once, in
distance order, on SQLite and on PostgreSQL alike, with no PostGIS.

The bounding box in front lets the ``(lat, lng)`` index narrow the rows
the database ranks to those of the box; the page is then the ``limit``
smallest of them after the cursor, a top-N sort, never the whole table.
"""
from __future__ import annotations

import math

from sqlalchemy import ColumnElement, Float, Select, literal
from sqlalchemy.orm import InstrumentedAttribute

from app.common.geo import EARTH_RADIUS_M, Point, bounding_box
from app.common.pagination import Page, keyset_page

Coordinate = InstrumentedAttribute[float]

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


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


def nearest_page(stmt: Select, lat: Coordinate, lng: Coordinate, key: InstrumentedAttribute[int],
                 point: Point, radius_m: float, limit: int, cursor: str | None) -> Page:
    """The rows of ``stmt`` (a one-entity select) within ``radius_m`` of
    ``point``, nearest first (ties by ``key``), each given ``distance_m``."""
    stmt, distance2 = within(stmt, lat, lng, point, radius_m)
    page = keyset_page(stmt.add_columns(distance2), (distance2, key), limit, cursor, scalars=False,
                       values=lambda row: [row[1], getattr(row[0], key.key)])
    items = []
    for row, squared in page.items:
        row.distance_m = round(math.sqrt(squared))
        items.append(row)
    return Page(items, page.next_cursor)
