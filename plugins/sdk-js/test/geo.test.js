import assert from "node:assert/strict";
import { test } from "node:test";
import { bearingDeg, destination, EARTH_RADIUS_M, haversineM, pointInPolygon } from "../geo.js";
import { FenceGrid } from "../fence_grid.js";

const at = (latitude, longitude) => ({ latitude, longitude });
const paris = at(48.8566, 2.3522);
const london = at(51.5074, -0.1278);

test("Paris to London is 343.6 km, as the Rust SDK measures it", () => {
  const distance = haversineM(paris, london);
  assert.ok(Math.abs(distance - 343_556.535) < 1e-3, `${distance}`);
  assert.equal(haversineM(london, paris), distance);
});

test("New York to London and Nashville to Los Angeles match their references", () => {
  assert.equal(Math.round(haversineM(at(40.7128, -74.006), london)), 5_570_230);
  // Rosetta Code: 2886.444442837983 km on a sphere of 6371 km.
  const onRosettaSphere = (haversineM(at(36.12, -86.67), at(33.94, -118.4)) / EARTH_RADIUS_M) * 6_371_000;
  assert.ok(Math.abs(onRosettaSphere - 2_886_444.442837983) < 1e-6, `${onRosettaSphere}`);
});

test("a point is no distance from itself; antipodes are half round", () => {
  assert.equal(haversineM(paris, paris), 0);
  assert.ok(Math.abs(haversineM(at(0, 0), at(0, 180)) - Math.PI * EARTH_RADIUS_M) < 1e-6);
  assert.ok(!Number.isNaN(haversineM(at(45, 10), at(-45, -170))));
});

test("bearings of the cardinal directions, and Paris to London", () => {
  const origin = at(0, 0);
  assert.equal(bearingDeg(origin, at(0, 1)), 90);
  assert.equal(bearingDeg(origin, at(1, 0)), 0);
  assert.equal(bearingDeg(origin, at(0, -1)), 270);
  assert.equal(bearingDeg(origin, at(-1, 0)), 180);
  assert.equal(bearingDeg(origin, origin), 0);
  const toLondon = bearingDeg(paris, london);
  assert.ok(Math.abs(toLondon - 330.0) < 0.1, `${toLondon}`);
  const east = bearingDeg(at(50, 0), at(50, 10));
  assert.ok(east > 80 && east < 90, `${east}`);
});

test("destination inverts distance and bearing", () => {
  const from = at(12.9, 77.6);
  for (const [bearing, metres] of [[0, 100], [90, 2500], [225, 40000], [359, 7]]) {
    const to = destination(from, bearing, metres);
    assert.ok(Math.abs(haversineM(from, to) - metres) < 1e-6);
    assert.ok(Math.abs(bearingDeg(from, to) - bearing) < 1e-6);
  }
  assert.ok(destination(at(0, 179.9), 90, 50000).longitude < -179);
});

test("point in polygon: a square and a concave U", () => {
  const square = [at(0, 0), at(0, 1), at(1, 1), at(1, 0)];
  assert.equal(pointInPolygon(at(0.5, 0.5), square), true);
  assert.equal(pointInPolygon(at(1.5, 0.5), square), false);
  assert.equal(pointInPolygon(at(0.5, 0.5), [...square, square[0]]), true);
  // A U open to the north: its notch is outside.
  const u = [at(0, 0), at(0, 3), at(3, 3), at(3, 2), at(1, 2), at(1, 1), at(3, 1), at(3, 0)];
  assert.equal(pointInPolygon(at(2, 1.5), u), false);
  assert.equal(pointInPolygon(at(0.5, 1.5), u), true);
  assert.equal(pointInPolygon(at(2, 0.5), u), true);
});

test("the fence grid answers as testing every fence does", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const uniform = (low, high) => low + (high - low) * random();
  const fences = [];
  const grid = new FenceGrid(0.01);
  for (let id = 0; id < 2000; id += 1) {
    const centre = at(uniform(12.8, 13.2), uniform(77.4, 77.8));
    const radius = uniform(30, 2000);
    if (id % 3 === 0) {
      grid.addCircle(id, centre, radius);
      fences.push({ id, contains: (p) => haversineM(centre, p) <= radius });
    } else {
      const bearings = Array.from({ length: 3 + (id % 6) }, () => uniform(0, 360)).sort((a, b) => a - b);
      const ring = bearings.map((bearing) => destination(centre, bearing, uniform(0.2, 1) * radius));
      grid.addPolygon(id, ring);
      fences.push({ id, contains: (p) => pointInPolygon(p, ring) });
    }
  }
  // One fence bigger than the grid's per-fence cell limit: kept aside, still found.
  grid.addCircle("region", at(13, 77.6), 200_000);
  fences.push({ id: "region", contains: (p) => haversineM(at(13, 77.6), p) <= 200_000 });
  assert.equal(grid.size, 2001);
  let found = 0;
  for (let i = 0; i < 500; i += 1) {
    const point = at(uniform(12.78, 13.22), uniform(77.38, 77.82));
    const expected = fences.filter((fence) => fence.contains(point)).map((fence) => fence.id);
    assert.deepEqual(grid.containing(point), expected);
    found += expected.length;
  }
  assert.ok(found > 500, `only ${found} hits: the test fences are too sparse`);
});
