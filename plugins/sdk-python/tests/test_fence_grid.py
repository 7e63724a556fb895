import random
import unittest

from fleethost_plugin import Circle, FenceGrid, Polygon


def square(id, lat, lon, side):
    return Polygon(id, [(lat, lon), (lat, lon + side), (lat + side, lon + side), (lat + side, lon)])


class FenceGridTest(unittest.TestCase):
    def test_finds_the_fences_holding_a_position(self):
        hub = Circle("hub", 12.9716, 77.5946, 800.0)
        market = Polygon("market", [(12.955, 77.565), (12.955, 77.585), (12.94, 77.585), (12.94, 77.565)])
        grid = FenceGrid([hub, market], cell_deg=0.01)
        self.assertEqual(len(grid), 2)
        self.assertEqual(grid.containing(12.9716, 77.5946), [hub])
        self.assertEqual(grid.containing(12.95, 77.575), [market])
        self.assertEqual(grid.containing(13.5, 77.5), [])
        self.assertEqual(grid.candidates(13.5, 77.5), [])

    def test_overlapping_fences_come_in_the_order_added(self):
        big = square("big", 0.0, 0.0, 0.05)
        small = square("small", 0.01, 0.01, 0.01)
        grid = FenceGrid([big, small])
        self.assertEqual([fence.id for fence in grid.containing(0.015, 0.015)], ["big", "small"])

    def test_negative_coordinates_and_cell_edges(self):
        fence = square("sw", -0.02, -0.02, 0.02)  # its north-east corner is (0, 0)
        grid = FenceGrid([fence], cell_deg=0.01)
        self.assertEqual(grid.containing(-0.005, -0.005), [fence])
        self.assertEqual(grid.containing(-0.015, -0.0199), [fence])
        self.assertEqual(grid.containing(0.005, 0.005), [])

    def test_agrees_with_testing_every_fence(self):
        rng = random.Random(7)
        fences = []
        for n in range(300):
            lat, lon = rng.uniform(12.8, 13.1), rng.uniform(77.4, 77.8)
            if n % 2:
                fences.append(Circle("c%d" % n, lat, lon, rng.uniform(50.0, 2_000.0)))
            else:
                fences.append(square("p%d" % n, lat, lon, rng.uniform(0.001, 0.03)))
        grid = FenceGrid(fences, cell_deg=0.01)
        for _ in range(2_000):
            lat, lon = rng.uniform(12.79, 13.14), rng.uniform(77.39, 77.84)
            expected = [fence for fence in fences if fence.contains(lat, lon)]
            self.assertEqual(grid.containing(lat, lon), expected)
            self.assertLessEqual(len(grid.candidates(lat, lon)), 40)

    def test_refuses_bad_cells_and_huge_fences(self):
        with self.assertRaisesRegex(ValueError, "cell_deg must be > 0"):
            FenceGrid(cell_deg=0.0)
        with self.assertRaisesRegex(ValueError, "fence 'country' spans .* cells of 0.01 degrees"):
            FenceGrid([square("country", 0.0, 0.0, 10.0)], cell_deg=0.01)


if __name__ == "__main__":
    unittest.main()
