"""Coordinates: WGS-84 → GCJ-02 on the way in, and distances in metres.

Chinese maps and ``wx.getLocation({type: 'gcj02'})`` use GCJ-02; the
default of ``wx.getLocation`` is WGS-84, several hundred metres off in
China. Everything is stored and compared in GCJ-02.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 defines it
_EE = 0.00669342162296594323
EARTH_RADIUS_M = 6371008.8


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float


def _outside_china(lat: float, lng: float) -> bool:
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> Point:
    if _outside_china(lat, lng):
        return Point(lat, lng)
    d_lat = _transform_lat(lng - 105.0, lat - 35.0)
    d_lng = _transform_lng(lng - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return Point(lat + d_lat, lng + d_lng)


def to_gcj02(location: dict) -> Point:
    """A validated location dict (``lat``, ``lng``, ``coord_system``) in GCJ-02."""
    if location.get("coord_system", "gcj02") == "wgs84":
        return wgs84_to_gcj02(location["lat"], location["lng"])
    return Point(location["lat"], location["lng"])


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    d_lat = lat2 - lat1
    d_lng = math.radians(b.lng - a.lng)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def bounding_box(center: Point, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) around ``center``: an index-friendly prefilter."""
    d_lat = math.degrees(radius_m / EARTH_RADIUS_M)
    d_lng = math.degrees(radius_m / (EARTH_RADIUS_M * max(math.cos(math.radians(center.lat)), 1e-6)))
    return center.lat - d_lat, center.lat + d_lat, center.lng - d_lng, center.lng + d_lng


def polygon_ring(geojson: dict) -> list[tuple[float, float]]:
    """The outer ring of a GeoJSON Polygon as (lng, lat) pairs; ValueError if it is not one."""
    if not isinstance(geojson, dict) or geojson.get("type") != "Polygon":
        raise ValueError("not a GeoJSON Polygon")
    rings = geojson.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list) or len(rings[0]) < 4:
        raise ValueError("a Polygon needs an outer ring of at least 4 positions")
    ring = []
    for position in rings[0]:
        if not (isinstance(position, list) and len(position) >= 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2])):
            raise ValueError("positions are [lng, lat]")
        lng, lat = float(position[0]), float(position[1])
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise ValueError("a position is out of range")
        ring.append((lng, lat))
    if ring[0] != ring[-1]:
        raise ValueError("the ring must end where it starts")
    return ring


def contains(ring: list[tuple[float, float]], point: Point) -> bool:
    """Ray casting: is ``point`` inside the ring (GeoJSON order, lng/lat)?"""
    inside = False
    x, y = point.lng, point.lat
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside
