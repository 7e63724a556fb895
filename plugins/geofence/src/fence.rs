//! Static fences (restaurants, hubs): named circles and polygons, and how far a
//! position lies from one.
//!
//! Distances are great-circle distances in metres (the SDK's
//! [`haversine_m`]). A circle is a centre and a radius; a polygon is the SDK's
//! [`Polygon`] of one ring of vertices, small enough (city scale, not crossing
//! the antimeridian) that testing "inside" on plain latitude/longitude is
//! exact enough. The distance from a polygon is the distance to the nearest
//! point of its boundary (great-circle arcs between the vertices), 0 inside.

use fleethost_plugin_sdk::Point;
use fleethost_plugin_sdk::geo::{Polygon, PolygonError, haversine_m};

/// A static fence from the plugin's config.
#[derive(Debug, Clone, PartialEq)]
pub struct Fence {
    /// The fence's name, reported as `geofence_id`.
    pub id: String,
    /// Where the fence lies.
    pub shape: Shape,
}

/// The area a fence covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Everything within `radius_m` metres of `centre`.
    Circle { centre: Point, radius_m: f64 },
    /// The inside of a polygon ring (which keeps its bounding box to skip
    /// far-away positions cheaply).
    Polygon { area: Polygon },
}

impl Shape {
    /// A polygon shape from its ring of vertices (closed automatically);
    /// [`PolygonError::NoArea`] when the ring encloses no area (all vertices
    /// on one line).
    pub fn polygon(ring: Vec<Point>) -> Result<Shape, PolygonError> {
        Ok(Shape::Polygon {
            area: Polygon::new(ring)?,
        })
    }
}

impl Fence {
    /// Whether `position` is inside the fence: within the radius of a circle,
    /// strictly inside a polygon (a point on the boundary counts as outside).
    pub fn contains(&self, position: Point) -> bool {
        match &self.shape {
            Shape::Circle { centre, radius_m } => haversine_m(*centre, position) <= *radius_m,
            Shape::Polygon { area } => area.contains(position),
        }
    }

    /// How far `position` lies beyond the fence's edge, in metres: the
    /// distance past a circle's radius (negative inside), the distance to a
    /// polygon's boundary (0 inside). A driver leaves a fence once this exceeds
    /// the hysteresis.
    pub fn beyond_edge_m(&self, position: Point) -> f64 {
        match &self.shape {
            Shape::Circle { centre, radius_m } => haversine_m(*centre, position) - radius_m,
            Shape::Polygon { .. } => self.reported_distance_m(position),
        }
    }

    /// The `distance_m` a notification reports: the distance to a circle's
    /// centre, or to a polygon's boundary (0 inside or on it).
    pub fn reported_distance_m(&self, position: Point) -> f64 {
        match &self.shape {
            Shape::Circle { centre, .. } => haversine_m(*centre, position),
            Shape::Polygon { area } => area.distance_m(position),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::geo::destination;

    fn at(latitude: f64, longitude: f64) -> Point {
        Point { latitude, longitude }
    }

    fn square() -> Fence {
        // About 1.1 km a side around (12.95, 77.55).
        let ring = vec![
            at(12.945, 77.545),
            at(12.945, 77.555),
            at(12.955, 77.555),
            at(12.955, 77.545),
        ];
        Fence {
            id: "square".into(),
            shape: Shape::polygon(ring).expect("a square has bounds"),
        }
    }

    #[test]
    fn circle_distances_are_measured_from_the_centre() {
        let centre = at(12.97, 77.59);
        let fence = Fence {
            id: "hub".into(),
            shape: Shape::Circle {
                centre,
                radius_m: 200.0,
            },
        };
        let inside = destination(centre, 90.0, 150.0);
        let outside = destination(centre, 90.0, 260.0);
        assert!(fence.contains(inside));
        assert!(!fence.contains(outside));
        assert!((fence.beyond_edge_m(outside) - 60.0).abs() < 0.01);
        assert!((fence.reported_distance_m(inside) - 150.0).abs() < 0.01);
    }

    #[test]
    fn polygon_distance_is_to_the_boundary_and_zero_inside() {
        let fence = square();
        let centre = at(12.95, 77.55);
        assert!(fence.contains(centre));
        assert_eq!(fence.reported_distance_m(centre), 0.0);
        // 100 m east of the eastern edge, level with the middle of it.
        let east_edge_middle = at(12.95, 77.555);
        let outside = destination(east_edge_middle, 90.0, 100.0);
        assert!(!fence.contains(outside));
        let distance = fence.beyond_edge_m(outside);
        assert!((distance - 100.0).abs() < 1.0, "distance to the edge was {distance}");
        // Beyond a corner the nearest boundary point is the corner itself.
        let corner = at(12.955, 77.555);
        let off_corner = destination(corner, 45.0, 80.0);
        let distance = fence.reported_distance_m(off_corner);
        assert!((distance - 80.0).abs() < 1.0, "distance to the corner was {distance}");
    }
}
