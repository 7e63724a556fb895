// Many fences (polygons and circles) in a grid of cells, so that "which
// fences hold this point" looks at the fences of one cell, not at all of
// them.

import { boundsOf, EARTH_RADIUS_M, haversineM, pointInPolygon } from "./geo.js";

/** Fences covering more cells than this are kept aside and tested for every point. */
const MAX_CELLS_PER_FENCE = 4096;

export class FenceGrid {
  #cellDeg;
  #cells = new Map();
  #large = [];
  #count = 0;

  /**
   * @param {number} cellDeg the side of a cell in degrees (0.01° is about
   *   1.1 km of latitude): about the size of a typical fence. Smaller
   *   cells mean fewer fences tested per point and more cells per fence.
   */
  constructor(cellDeg = 0.01) {
    if (!(cellDeg > 0)) {
      throw new RangeError(`FenceGrid: cellDeg must be > 0, got ${cellDeg}`);
    }
    this.#cellDeg = cellDeg;
  }

  /** The number of fences. */
  get size() {
    return this.#count;
  }

  /** Adds a polygon fence (vertices as { latitude, longitude }; see pointInPolygon). */
  addPolygon(id, ring) {
    const points = ring.map(({ latitude, longitude }) => ({ latitude, longitude }));
    this.#add(id, boundsOf(points), (point) => pointInPolygon(point, points));
  }

  /** Adds a circle fence: every point within `radiusM` metres of `centre` (the edge included). */
  addCircle(id, centre, radiusM) {
    const centrePoint = { latitude: centre.latitude, longitude: centre.longitude };
    const reachDeg = (radiusM / EARTH_RADIUS_M) * (180 / Math.PI);
    const cosine = Math.cos(centre.latitude * (Math.PI / 180));
    const spreadDeg = cosine > 1e-9 ? Math.min(reachDeg / cosine, 180) : 180;
    const bounds = {
      minLatitude: Math.max(centre.latitude - reachDeg, -90),
      maxLatitude: Math.min(centre.latitude + reachDeg, 90),
      minLongitude: Math.max(centre.longitude - spreadDeg, -180),
      maxLongitude: Math.min(centre.longitude + spreadDeg, 180),
    };
    this.#add(id, bounds, (point) => haversineM(centrePoint, point) <= radiusM);
  }

  /** The ids of the fences holding `point`, in the order the fences were added. */
  containing(point) {
    const cell = this.#cells.get(this.#key(this.#column(point.longitude), this.#row(point.latitude))) ?? [];
    const found = [];
    for (const fence of [...cell, ...this.#large]) {
      const inBox =
        point.latitude >= fence.bounds.minLatitude &&
        point.latitude <= fence.bounds.maxLatitude &&
        point.longitude >= fence.bounds.minLongitude &&
        point.longitude <= fence.bounds.maxLongitude;
      if (inBox && fence.contains(point)) {
        found.push(fence);
      }
    }
    return found.sort((a, b) => a.order - b.order).map((fence) => fence.id);
  }

  #add(id, bounds, contains) {
    const fence = { id, order: this.#count, bounds, contains };
    this.#count += 1;
    const [west, east] = [this.#column(bounds.minLongitude), this.#column(bounds.maxLongitude)];
    const [south, north] = [this.#row(bounds.minLatitude), this.#row(bounds.maxLatitude)];
    if ((east - west + 1) * (north - south + 1) > MAX_CELLS_PER_FENCE) {
      this.#large.push(fence);
      return;
    }
    for (let column = west; column <= east; column += 1) {
      for (let row = south; row <= north; row += 1) {
        const key = this.#key(column, row);
        const cell = this.#cells.get(key);
        if (cell) {
          cell.push(fence);
        } else {
          this.#cells.set(key, [fence]);
        }
      }
    }
  }

  #column(longitude) {
    return Math.floor(longitude / this.#cellDeg);
  }

  #row(latitude) {
    return Math.floor(latitude / this.#cellDeg);
  }

  #key(column, row) {
    return `${column}:${row}`;
  }
}
