"""Distances, bearings and fences on the WGS84 sphere, in pure Python.

Distances are great-circle distances in metres on a sphere of the Earth's
mean radius (6,371,008.8 m, as the Rust plugins' ``geo`` crate): within
0.5% of the ellipsoid, plenty for speeds, ETAs and fences. Positions are
``(latitude, longitude)`` in degrees, in that order everywhere.

Fences are city-sized: a polygon is one ring tested on plain latitude and
longitude (not crossing the antimeridian or a pole), as the geofence plugin
does.
"""

from __future__ import annotations

import math
from typing import Iterable, List, Sequence, Tuple

EARTH_RADIUS_M = 6_371_008.8

Position = Tuple[float, float]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two positions, in metres."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = math.radians(lat2 - lat1) / 2.0
    half_dlambda = math.radians(lon2 - lon1) / 2.0
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The initial bearing from the first position towards the second, in
    degrees clockwise from north, in [0, 360) (0 when they coincide)."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    return math.degrees(math.atan2(y, x)) % 360.0


def point_in_polygon(lat: float, lon: float, ring: Sequence[Position]) -> bool:
    """Whether the position lies strictly inside the polygon ``ring`` (its
    vertices as ``(lat, lon)``, closed or not). A position on the boundary is
    outside, as in the geofence plugin; a ring of fewer than 3 vertices has
    no inside."""
    count = len(ring)
    if count < 3:
        return False
    inside = False
    prev_lat, prev_lon = ring[-1]
    for cur_lat, cur_lon in ring:
        if _on_segment(lat, lon, prev_lat, prev_lon, cur_lat, cur_lon):
            return False
        # Does the edge cross the horizontal line through the position, to
        # its east? (Ray casting, on longitude as x and latitude as y.)
        if (cur_lat > lat) != (prev_lat > lat):
            crossing_lon = cur_lon + (lat - cur_lat) * (prev_lon - cur_lon) / (prev_lat - cur_lat)
            if lon < crossing_lon:
                inside = not inside
        prev_lat, prev_lon = cur_lat, cur_lon
    return inside


def _on_segment(lat: float, lon: float, lat1: float, lon1: float, lat2: float, lon2: float) -> bool:
    cross = (lon2 - lon1) * (lat - lat1) - (lat2 - lat1) * (lon - lon1)
    if cross != 0.0:
        return False
    return min(lat1, lat2) <= lat <= max(lat1, lat2) and min(lon1, lon2) <= lon <= max(lon1, lon2)


class Circle:
    """Everything within ``radius_m`` metres of a centre (the edge included)."""

    __slots__ = ("id", "latitude", "longitude", "radius_m")

    def __init__(self, id: str, latitude: float, longitude: float, radius_m: float):
        self.id = id
        self.latitude = latitude
        self.longitude = longitude
        self.radius_m = radius_m

    def contains(self, lat: float, lon: float) -> bool:
        return haversine_m(self.latitude, self.longitude, lat, lon) <= self.radius_m

    def bounds(self) -> Tuple[float, float, float, float]:
        """``(min_lat, min_lon, max_lat, max_lon)`` holding the circle."""
        dlat = math.degrees(self.radius_m / EARTH_RADIUS_M)
        # Longitude degrees shrink with the cosine of the latitude; take the
        # circle's widest latitude, and the whole circle of longitudes near
        # a pole.
        widest = min(90.0, abs(self.latitude) + dlat)
        cos_widest = math.cos(math.radians(widest))
        dlon = 180.0 if cos_widest < 1e-9 else min(180.0, dlat / cos_widest)
        return (
            max(-90.0, self.latitude - dlat),
            self.longitude - dlon,
            min(90.0, self.latitude + dlat),
            self.longitude + dlon,
        )

    def __repr__(self) -> str:
        return "Circle(%r, %r, %r, %r)" % (self.id, self.latitude, self.longitude, self.radius_m)


class Polygon:
    """The inside of one ring of ``(lat, lon)`` vertices (the boundary is
    outside), with its bounding box to skip far-away positions cheaply."""

    __slots__ = ("id", "ring", "_bounds")

    def __init__(self, id: str, ring: Iterable[Position]):
        self.id = id
        self.ring: List[Position] = [(float(lat), float(lon)) for lat, lon in ring]
        if len(self.ring) < 3:
            raise ValueError("polygon %r: needs at least 3 vertices, got %d" % (id, len(self.ring)))
        lats = [lat for lat, _ in self.ring]
        lons = [lon for _, lon in self.ring]
        self._bounds = (min(lats), min(lons), max(lats), max(lons))

    def contains(self, lat: float, lon: float) -> bool:
        min_lat, min_lon, max_lat, max_lon = self._bounds
        if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
            return False
        return point_in_polygon(lat, lon, self.ring)

    def bounds(self) -> Tuple[float, float, float, float]:
        """``(min_lat, min_lon, max_lat, max_lon)`` of the ring."""
        return self._bounds

    def __repr__(self) -> str:
        return "Polygon(%r, %r)" % (self.id, self.ring)
