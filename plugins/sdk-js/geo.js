// Distances, bearings and polygons on the map. Positions are objects with
// `latitude` and `longitude` in WGS84 degrees: a batch's events and the
// WIT `point` record are such objects already.
//
// The Earth is a sphere of the mean radius; the formulas are those of the
// Rust SDK's `geo` module, step for step, so the two give the same distances
// (to the last bit or two of the platform's sine and cosine).

/** The Earth's mean radius in metres (IUGG), the sphere every distance is measured on. */
export const EARTH_RADIUS_M = 6_371_008.8;

const toRadians = (degrees) => degrees * (Math.PI / 180);
const toDegrees = (radians) => radians * (180 / Math.PI);

/** The great-circle distance between `a` and `b` in metres (the haversine formula). */
export function haversineM(a, b) {
  const theta1 = toRadians(a.latitude);
  const theta2 = toRadians(b.latitude);
  const deltaTheta = toRadians(b.latitude - a.latitude);
  const deltaLambda = toRadians(b.longitude - a.longitude);
  const sinTheta = Math.sin(deltaTheta / 2);
  const sinLambda = Math.sin(deltaLambda / 2);
  const h = sinTheta * sinTheta + Math.cos(theta1) * Math.cos(theta2) * sinLambda * sinLambda;
  // Rounding can lift h a hair above 1 for antipodal points: asin would give NaN.
  return EARTH_RADIUS_M * (2 * Math.asin(Math.min(Math.sqrt(h), 1)));
}

/**
 * The initial bearing of the great circle from `from` to `to`, in degrees
 * clockwise from north, in [0, 360) (90 is due east); 0 when they coincide.
 */
export function bearingDeg(from, to) {
  const latA = toRadians(from.latitude);
  const latB = toRadians(to.latitude);
  const deltaLng = toRadians(to.longitude) - toRadians(from.longitude);
  const s = Math.cos(latB) * Math.sin(deltaLng);
  const c = Math.cos(latA) * Math.sin(latB) - Math.sin(latA) * Math.cos(latB) * Math.cos(deltaLng);
  const degrees = toDegrees(Math.atan2(s, c));
  // -0 and a bearing a hair below 0 that rounds to 360 both land on 0.
  return (degrees + 360) % 360;
}

/**
 * The point `metres` from `from` along the great circle that sets off at
 * `bearing` degrees: the inverse of haversineM and bearingDeg. The longitude
 * comes back in [-180, 180).
 */
export function destination(from, bearing, metres) {
  const lat0 = toRadians(from.latitude);
  const lng0 = toRadians(from.longitude);
  const theta = toRadians(bearing);
  const angle = metres / EARTH_RADIUS_M;
  const lat = Math.asin(Math.sin(lat0) * Math.cos(angle) + Math.cos(lat0) * Math.sin(angle) * Math.cos(theta));
  const lng =
    Math.atan2(Math.sin(theta) * Math.sin(angle) * Math.cos(lat0), Math.cos(angle) - Math.sin(lat0) * Math.sin(lat)) + lng0;
  return { latitude: toDegrees(lat), longitude: ((toDegrees(lng) + 540) % 360) - 180 };
}

/** The box of latitudes and longitudes holding every point of `points`. */
export function boundsOf(points) {
  const bounds = { minLatitude: Infinity, maxLatitude: -Infinity, minLongitude: Infinity, maxLongitude: -Infinity };
  for (const { latitude, longitude } of points) {
    bounds.minLatitude = Math.min(bounds.minLatitude, latitude);
    bounds.maxLatitude = Math.max(bounds.maxLatitude, latitude);
    bounds.minLongitude = Math.min(bounds.minLongitude, longitude);
    bounds.maxLongitude = Math.max(bounds.maxLongitude, longitude);
  }
  return bounds;
}

/**
 * Whether `point` lies inside the polygon whose vertices are `ring` (in
 * either order, the first not repeated at the end or repeated: both work),
 * by the even-odd rule on the plane of longitude and latitude: edges are
 * straight lines in degrees, as in the Rust SDK's Polygon. A point exactly
 * on an edge may count as inside or outside. For city-scale fences that do
 * not cross the antimeridian.
 */
export function pointInPolygon(point, ring) {
  const x = point.longitude;
  const y = point.latitude;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i].longitude;
    const yi = ring[i].latitude;
    const xj = ring[j].longitude;
    const yj = ring[j].latitude;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}
