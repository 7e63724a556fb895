//! Points as unit vectors from the Earth's centre: the form in which great
//! circles are planes through the centre, so distances to an arc and an arc's
//! extremes need only cross and dot products (no trigonometry per test, and no
//! loss of precision at short range).

use crate::Point;

/// A point as a unit vector (x towards 0°N 0°E, z towards the north pole).
pub(super) type Vector = [f64; 3];

/// The unit vector of a position.
pub(super) fn unit_vector(point: Point) -> Vector {
    let (lat, lng) = (point.latitude.to_radians(), point.longitude.to_radians());
    [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
}

pub(super) fn cross(a: Vector, b: Vector) -> Vector {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(super) fn dot(a: Vector, b: Vector) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(super) fn norm(a: Vector) -> f64 {
    dot(a, a).sqrt()
}

/// The latitude, in degrees, of a vector's direction (any length but zero).
pub(super) fn latitude_deg(a: Vector) -> f64 {
    a[2].atan2(a[0].hypot(a[1])).to_degrees()
}

/// Whether `p`, projected onto the great circle through `a` and `b` (normal
/// `normal = a × b`), falls on the shorter arc from `a` to `b`, ends included.
pub(super) fn projects_onto_arc(a: Vector, b: Vector, normal: Vector, p: Vector) -> bool {
    dot(cross(a, p), normal) >= 0.0 && dot(cross(p, b), normal) >= 0.0
}
