//! Spherical geometry for the tests' oracles, written independently of the
//! plugins (which use the `geo` crate): the same sphere (radius 6,371,008.8 m,
//! geo's `Haversine`), so distances agree to rounding.

/// Mean Earth radius in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A point in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLng {
    pub lat: f64,
    pub lng: f64,
}

/// The point at `lat`, `lng`.
pub const fn at(lat: f64, lng: f64) -> LatLng {
    LatLng { lat, lng }
}

/// Great-circle distance in metres.
pub fn haversine_m(a: LatLng, b: LatLng) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let d_phi = (b.lat - a.lat).to_radians();
    let d_lambda = (b.lng - a.lng).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// The point `distance_m` from `from` on the initial bearing `bearing_deg`:
/// points at several distances on one bearing lie on one great circle, so
/// consecutive ones are exactly their difference apart.
pub fn destination(from: LatLng, bearing_deg: f64, distance_m: f64) -> LatLng {
    let delta = distance_m / EARTH_RADIUS_M;
    let theta = bearing_deg.to_radians();
    let (phi1, lambda1) = (from.lat.to_radians(), from.lng.to_radians());
    let phi2 = (phi1.sin() * delta.cos() + phi1.cos() * delta.sin() * theta.cos()).asin();
    let lambda2 = lambda1 + (theta.sin() * delta.sin() * phi1.cos()).atan2(delta.cos() - phi1.sin() * phi2.sin());
    at(phi2.to_degrees(), lambda2.to_degrees())
}
