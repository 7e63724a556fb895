//! Distance, bearing and destination on the sphere: the haversine formula and
//! its companions.
//!
//! The arithmetic is that of the `geo` crate's `Haversine` (0.33) step for
//! step, so a plugin that moved from it onto these functions computes the very
//! same numbers, bit for bit.

use crate::Point;

/// The Earth's mean radius in metres (IUGG's, from GRS80): the radius of the
/// sphere every distance in [`geo`](crate::geo) is measured on.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The great-circle distance between `a` and `b` in metres, on a sphere of
/// radius [`EARTH_RADIUS_M`] (the haversine formula, well conditioned for
/// short distances as well as long ones). Symmetric: `haversine_m(a, b)` and
/// `haversine_m(b, a)` are the same number.
pub fn haversine_m(a: Point, b: Point) -> f64 {
    let theta1 = a.latitude.to_radians();
    let theta2 = b.latitude.to_radians();
    let delta_theta = (b.latitude - a.latitude).to_radians();
    let delta_lambda = (b.longitude - a.longitude).to_radians();
    let h = (delta_theta / 2.0).sin().powi(2) + theta1.cos() * theta2.cos() * (delta_lambda / 2.0).sin().powi(2);
    // Rounding can lift `h` a hair above 1 for antipodal points: asin would
    // give NaN.
    EARTH_RADIUS_M * (2.0 * h.sqrt().min(1.0).asin())
}

/// The initial bearing of the great circle from `from` to `to`: degrees
/// clockwise from north, in [0, 360) (90 is due east). Along a great circle
/// the bearing changes as one goes; this is the one to set off on. 0 when the
/// points coincide.
pub fn bearing_deg(from: Point, to: Point) -> f64 {
    let (lng_a, lat_a) = (from.longitude.to_radians(), from.latitude.to_radians());
    let (lng_b, lat_b) = (to.longitude.to_radians(), to.latitude.to_radians());
    let delta_lng = lng_b - lng_a;
    let s = lat_b.cos() * delta_lng.sin();
    let c = lat_a.cos() * lat_b.sin() - lat_a.sin() * lat_b.cos() * delta_lng.cos();
    let degrees = s.atan2(c).to_degrees();
    // `%` is exact: -0.0, and a bearing a hair below 0 that rounds to 360,
    // both land on 0.
    (degrees + 360.0) % 360.0
}

/// The point `metres` from `from` along the great circle that sets off at
/// `bearing_deg` (degrees clockwise from north): the inverse of
/// [`haversine_m`] and [`bearing_deg`], for placing test fixes or a point
/// ahead of a driver. The longitude comes back in [-180, 180).
pub fn destination(from: Point, bearing_deg: f64, metres: f64) -> Point {
    let centre_lng = from.longitude.to_radians();
    let centre_lat = from.latitude.to_radians();
    let bearing = bearing_deg.to_radians();
    let angle = metres / EARTH_RADIUS_M;
    let lat = (centre_lat.sin() * angle.cos() + centre_lat.cos() * angle.sin() * bearing.cos()).asin();
    let lng =
        (bearing.sin() * angle.sin() * centre_lat.cos()).atan2(angle.cos() - centre_lat.sin() * lat.sin()) + centre_lng;
    Point {
        latitude: lat.to_degrees(),
        longitude: ((lng.to_degrees() + 540.0) % 360.0) - 180.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64) -> Point {
        Point { latitude, longitude }
    }

    #[test]
    fn nashville_to_los_angeles_matches_the_reference_central_angle() {
        // Rosetta Code's "Haversine formula" task: BNA (36.12, -86.67) to LAX
        // (33.94, -118.40) is 2886.44444283798329974715782394574671655 km on a
        // sphere of 6371.0 km; the central angle is the same on ours.
        let distance = haversine_m(at(36.12, -86.67), at(33.94, -118.40));
        let on_6371_km = distance / EARTH_RADIUS_M * 6_371_000.0;
        assert!((on_6371_km - 2_886_444.442_837_983).abs() < 1e-6, "{on_6371_km}");
    }

    #[test]
    fn new_york_to_london_matches_the_geo_crates_reference() {
        // geo 0.33's own doc test of `Haversine::distance`, same radius.
        let distance = haversine_m(at(40.7128, -74.006), at(51.5074, -0.1278));
        assert_eq!(distance.round(), 5_570_230.0);
    }

    #[test]
    fn paris_to_london_is_343_6_km() {
        // The usual city-centre coordinates; the distance is the one quoted
        // for them (about 344 km), and to the millimetre the one of an
        // independent formula on the same sphere: atan2 of the cross and dot
        // products of the two unit vectors (343 556.535 m, also what Python's
        // math module gives for the haversine formula).
        let paris = at(48.8566, 2.3522);
        let london = at(51.5074, -0.1278);
        let distance = haversine_m(paris, london);
        let (a, b) = (unit(paris), unit(london));
        let cross = [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ];
        let cross_norm = (cross[0].powi(2) + cross[1].powi(2) + cross[2].powi(2)).sqrt();
        let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let reference = EARTH_RADIUS_M * cross_norm.atan2(dot);
        assert!((distance - reference).abs() < 1e-6, "{distance} vs {reference}");
        assert!((distance - 343_556.535).abs() < 1e-3, "{distance}");
        assert_eq!(haversine_m(london, paris), distance);
    }

    fn unit(p: Point) -> [f64; 3] {
        let (lat, lng) = (p.latitude.to_radians(), p.longitude.to_radians());
        [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
    }

    #[test]
    fn a_point_is_no_distance_from_itself_and_antipodes_are_half_round() {
        let here = at(12.97, 77.59);
        assert_eq!(haversine_m(here, here), 0.0);
        let half_round = std::f64::consts::PI * EARTH_RADIUS_M;
        let antipode = haversine_m(at(0.0, 0.0), at(0.0, 180.0));
        assert!((antipode - half_round).abs() < 1e-6, "{antipode}");
        assert!(!haversine_m(at(45.0, 10.0), at(-45.0, -170.0)).is_nan());
    }

    #[test]
    fn bearings_of_the_cardinal_directions() {
        let origin = at(0.0, 0.0);
        assert_eq!(bearing_deg(origin, at(0.0, 1.0)), 90.0);
        assert_eq!(bearing_deg(origin, at(1.0, 0.0)), 0.0);
        assert_eq!(bearing_deg(origin, at(0.0, -1.0)), 270.0);
        assert_eq!(bearing_deg(origin, at(-1.0, 0.0)), 180.0);
        assert_eq!(bearing_deg(origin, origin), 0.0);
        // Due east along a parallel away from the equator sets off a little
        // north of east (the great circle bows towards the pole).
        let east = bearing_deg(at(50.0, 0.0), at(50.0, 10.0));
        assert!(east > 80.0 && east < 90.0, "{east}");
        for to in [at(10.0, -170.0), at(-60.0, 179.0), at(0.0, -1e-12)] {
            let bearing = bearing_deg(origin, to);
            assert!((0.0..360.0).contains(&bearing), "{bearing}");
        }
    }

    #[test]
    fn destination_inverts_distance_and_bearing() {
        let from = at(12.9, 77.6);
        for (bearing, metres) in [(0.0, 100.0), (90.0, 2_500.0), (225.0, 40_000.0), (359.0, 7.0)] {
            let to = destination(from, bearing, metres);
            assert!((haversine_m(from, to) - metres).abs() < 1e-6, "{bearing} {metres}");
            let back = bearing_deg(from, to);
            assert!((back - bearing).abs() < 1e-6, "{bearing} came back as {back}");
        }
        // Across the antimeridian the longitude wraps.
        let across = destination(at(0.0, 179.9), 90.0, 50_000.0);
        assert!(across.longitude < -179.0, "{across:?}");
    }
}
