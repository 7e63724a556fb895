import math
import unittest

from fleethost_plugin.geo import EARTH_RADIUS_M, Circle, Polygon, bearing_deg, haversine_m, point_in_polygon

PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)


class HaversineTest(unittest.TestCase):
    def test_paris_to_london_is_343_5_km(self):
        self.assertAlmostEqual(haversine_m(*PARIS, *LONDON) / 1000.0, 343.5, delta=0.1)
        self.assertEqual(haversine_m(*PARIS, *LONDON), haversine_m(*LONDON, *PARIS))

    def test_a_degree_of_latitude_and_a_quarter_of_the_equator(self):
        self.assertAlmostEqual(haversine_m(0.0, 0.0, 1.0, 0.0), 111_195.08, places=1)
        self.assertAlmostEqual(haversine_m(0.0, 0.0, 0.0, 90.0), math.pi / 2 * EARTH_RADIUS_M, places=3)
        self.assertAlmostEqual(haversine_m(10.0, 170.0, 10.0, -170.0), haversine_m(10.0, -10.0, 10.0, 10.0), places=6)

    def test_antipodes_and_the_same_point(self):
        self.assertAlmostEqual(haversine_m(0.0, 0.0, 0.0, 180.0), math.pi * EARTH_RADIUS_M, places=3)
        self.assertAlmostEqual(haversine_m(90.0, 0.0, -90.0, 0.0), math.pi * EARTH_RADIUS_M, places=3)
        self.assertEqual(haversine_m(12.97, 77.59, 12.97, 77.59), 0.0)


class BearingTest(unittest.TestCase):
    def test_the_four_directions(self):
        self.assertAlmostEqual(bearing_deg(0.0, 0.0, 1.0, 0.0), 0.0)
        self.assertAlmostEqual(bearing_deg(0.0, 0.0, 0.0, 1.0), 90.0)
        self.assertAlmostEqual(bearing_deg(0.0, 0.0, -1.0, 0.0), 180.0)
        self.assertAlmostEqual(bearing_deg(0.0, 0.0, 0.0, -1.0), 270.0)

    def test_paris_to_london_is_north_west(self):
        self.assertAlmostEqual(bearing_deg(*PARIS, *LONDON), 330.0, delta=0.1)

    def test_always_in_0_to_360(self):
        for lat2, lon2 in [(0.0, -1e-9), (-1.0, -1e-12), (45.0, -179.0), (0.0, 0.0)]:
            bearing = bearing_deg(0.0, 0.0, lat2, lon2)
            self.assertTrue(0.0 <= bearing < 360.0, bearing)


SQUARE = [(12.945, 77.545), (12.945, 77.555), (12.955, 77.555), (12.955, 77.545)]
# A U shape: its notch (12.95, 77.55) lies outside.
U_SHAPE = [(0.0, 0.0), (0.0, 3.0), (3.0, 3.0), (3.0, 2.0), (1.0, 2.0), (1.0, 1.0), (3.0, 1.0), (3.0, 0.0)]


class PolygonTest(unittest.TestCase):
    def test_inside_and_outside_a_square(self):
        self.assertTrue(point_in_polygon(12.95, 77.55, SQUARE))
        self.assertFalse(point_in_polygon(12.95, 77.56, SQUARE))
        self.assertFalse(point_in_polygon(12.94, 77.55, SQUARE))

    def test_a_closed_ring_is_the_same_ring(self):
        self.assertTrue(point_in_polygon(12.95, 77.55, SQUARE + [SQUARE[0]]))

    def test_the_boundary_is_outside(self):
        self.assertFalse(point_in_polygon(12.945, 77.55, SQUARE))  # on an edge
        self.assertFalse(point_in_polygon(12.955, 77.555, SQUARE))  # a vertex
        self.assertFalse(point_in_polygon(0.5, 0.0, U_SHAPE))

    def test_a_concave_ring(self):
        self.assertTrue(point_in_polygon(0.5, 1.5, U_SHAPE))
        self.assertTrue(point_in_polygon(2.0, 0.5, U_SHAPE))
        self.assertFalse(point_in_polygon(2.0, 1.5, U_SHAPE))
        # A ray through a vertex counts one crossing.
        self.assertTrue(point_in_polygon(1.0, 0.5, U_SHAPE))
        self.assertFalse(point_in_polygon(1.0, 3.5, U_SHAPE))

    def test_too_few_vertices_have_no_inside(self):
        self.assertFalse(point_in_polygon(0.0, 0.0, [(1.0, 1.0), (-1.0, -1.0)]))
        with self.assertRaisesRegex(ValueError, "polygon 'line': needs at least 3 vertices, got 2"):
            Polygon("line", [(1.0, 1.0), (-1.0, -1.0)])

    def test_polygon_fence(self):
        fence = Polygon("square", SQUARE)
        self.assertEqual(fence.bounds(), (12.945, 77.545, 12.955, 77.555))
        self.assertTrue(fence.contains(12.95, 77.55))
        self.assertFalse(fence.contains(40.0, 77.55))


class CircleTest(unittest.TestCase):
    def test_within_the_radius_the_edge_included(self):
        hub = Circle("hub", 0.0, 0.0, 111_195.0802335329)
        self.assertTrue(hub.contains(0.5, 0.5))
        self.assertTrue(hub.contains(1.0, 0.0))
        self.assertFalse(hub.contains(0.0, 1.0001))

    def test_bounds_hold_the_circle(self):
        hub = Circle("hub", 60.0, 10.0, 5_000.0)
        min_lat, min_lon, max_lat, max_lon = hub.bounds()
        for bearing in range(0, 360, 5):
            # A point just inside the circle, in every direction.
            d = 4_999.0 / EARTH_RADIUS_M
            b = math.radians(bearing)
            phi1, lam1 = math.radians(60.0), math.radians(10.0)
            phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(b))
            lam2 = lam1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(phi1), math.cos(d) - math.sin(phi1) * math.sin(phi2))
            lat, lon = math.degrees(phi2), math.degrees(lam2)
            self.assertTrue(hub.contains(lat, lon))
            self.assertTrue(min_lat <= lat <= max_lat and min_lon <= lon <= max_lon, (bearing, lat, lon))

    def test_bounds_near_a_pole_take_every_longitude(self):
        _, min_lon, max_lat, max_lon = Circle("pole", 89.99, 0.0, 5_000.0).bounds()
        self.assertEqual((min_lon, max_lat, max_lon), (-180.0, 90.0, 180.0))


if __name__ == "__main__":
    unittest.main()
