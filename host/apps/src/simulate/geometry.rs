//! Just enough spherical geometry for the simulator: haversine distance,
//! initial bearing and destination point, and the city's bounding box.
//!
//! Hand-written rather than taken from the `geo` crate: the simulator needs
//! three textbook formulas, and the host would otherwise compile `geo` and its
//! dependencies for them. The Earth radius is the one of geo's `Haversine`,
//! which the eta, fare and geofence plugins measure with, so a distance the
//! simulator plans is the distance the plugins see.

use rand::Rng;

/// Mean Earth radius in metres (geo's `Haversine` radius).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A point on the Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

impl Point {
    /// A point from its latitude and longitude in degrees.
    pub fn new(latitude: f64, longitude: f64) -> Self {
        Self { latitude, longitude }
    }

    /// Great-circle (haversine) distance to `other`, in metres.
    pub fn distance_m(self, other: Point) -> f64 {
        let (from_latitude, to_latitude) = (self.latitude.to_radians(), other.latitude.to_radians());
        let latitude_delta = to_latitude - from_latitude;
        let longitude_delta = (other.longitude - self.longitude).to_radians();
        let half_chord = (latitude_delta / 2.0).sin().powi(2)
            + from_latitude.cos() * to_latitude.cos() * (longitude_delta / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * half_chord.sqrt().min(1.0).asin()
    }

    /// Initial bearing of the great circle toward `other`, in degrees
    /// clockwise from north, in [0, 360).
    pub fn bearing_deg(self, other: Point) -> f64 {
        let (from_latitude, to_latitude) = (self.latitude.to_radians(), other.latitude.to_radians());
        let longitude_delta = (other.longitude - self.longitude).to_radians();
        let east = longitude_delta.sin() * to_latitude.cos();
        let north =
            from_latitude.cos() * to_latitude.sin() - from_latitude.sin() * to_latitude.cos() * longitude_delta.cos();
        normalised_bearing(east.atan2(north).to_degrees())
    }

    /// The point `distance_m` metres away along the great circle that leaves
    /// this point at `bearing_deg`.
    pub fn destination(self, bearing_deg: f64, distance_m: f64) -> Point {
        let angular_distance = distance_m / EARTH_RADIUS_M;
        let bearing = bearing_deg.to_radians();
        let from_latitude = self.latitude.to_radians();
        let latitude = (from_latitude.sin() * angular_distance.cos()
            + from_latitude.cos() * angular_distance.sin() * bearing.cos())
        .clamp(-1.0, 1.0)
        .asin();
        let longitude_delta = (bearing.sin() * angular_distance.sin() * from_latitude.cos())
            .atan2(angular_distance.cos() - from_latitude.sin() * latitude.sin());
        Point {
            latitude: latitude.to_degrees(),
            longitude: (self.longitude + longitude_delta.to_degrees() + 540.0).rem_euclid(360.0) - 180.0,
        }
    }
}

/// A bearing in [0, 360), also when rounding would make it 360.
fn normalised_bearing(degrees: f64) -> f64 {
    let bearing = degrees.rem_euclid(360.0);
    if bearing >= 360.0 { 0.0 } else { bearing }
}

/// A rectangular city area in degrees: where the simulated fleet drives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CityArea {
    pub south: f64,
    pub north: f64,
    pub west: f64,
    pub east: f64,
}

impl CityArea {
    /// Whether `point` is inside the area (edges included).
    pub fn contains(&self, point: Point) -> bool {
        (self.south..=self.north).contains(&point.latitude) && (self.west..=self.east).contains(&point.longitude)
    }

    /// The centre of the box.
    pub fn centre(&self) -> Point {
        Point::new((self.south + self.north) / 2.0, (self.west + self.east) / 2.0)
    }

    /// The area `margin_m` metres inside every edge; a side shorter than two
    /// margins collapses to its centre line.
    pub fn shrunk_by(&self, margin_m: f64) -> CityArea {
        let centre = self.centre();
        let latitude_margin = (margin_m / EARTH_RADIUS_M).to_degrees();
        let longitude_margin = latitude_margin / centre.latitude.to_radians().cos().max(1e-6);
        let (south, north) = if self.north - self.south > 2.0 * latitude_margin {
            (self.south + latitude_margin, self.north - latitude_margin)
        } else {
            (centre.latitude, centre.latitude)
        };
        let (west, east) = if self.east - self.west > 2.0 * longitude_margin {
            (self.west + longitude_margin, self.east - longitude_margin)
        } else {
            (centre.longitude, centre.longitude)
        };
        CityArea {
            south,
            north,
            west,
            east,
        }
    }

    /// The nearest point of the area to `point`.
    pub fn clamp(&self, point: Point) -> Point {
        Point::new(
            point.latitude.clamp(self.south, self.north),
            point.longitude.clamp(self.west, self.east),
        )
    }

    /// A point drawn uniformly in degrees over the box.
    pub fn random_point(&self, rng: &mut impl Rng) -> Point {
        Point::new(
            rng.random_range(self.south..=self.north),
            rng.random_range(self.west..=self.east),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_and_distance_agree() {
        let start = Point::new(12.97, 77.59);
        for bearing in [0.0, 45.0, 90.0, 181.0, 300.0] {
            for distance in [1.0, 30.0, 2_500.0, 5_000.0] {
                let end = start.destination(bearing, distance);
                assert!(
                    (start.distance_m(end) - distance).abs() < 1e-6,
                    "{bearing}° {distance} m"
                );
                if distance > 10.0 {
                    assert!(
                        (start.bearing_deg(end) - bearing).abs() < 1e-6,
                        "{bearing}° {distance} m"
                    );
                }
            }
        }
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let distance = Point::new(12.0, 77.0).distance_m(Point::new(13.0, 77.0));
        assert!((distance - 111_195.0).abs() < 1.0, "{distance}");
    }

    #[test]
    fn a_shrunk_area_keeps_its_margin() {
        let city = CityArea {
            south: 12.85,
            north: 13.10,
            west: 77.45,
            east: 77.75,
        };
        let inner = city.shrunk_by(100.0);
        let south_west = Point::new(city.south, city.west);
        let inner_south_west = Point::new(inner.south, inner.west);
        assert!((south_west.distance_m(Point::new(inner.south, city.west)) - 100.0).abs() < 1e-6);
        assert!((Point::new(inner.south, city.west).distance_m(inner_south_west) - 100.0).abs() < 0.1);
        assert_eq!(city.shrunk_by(1e6).centre(), city.centre());
    }
}
