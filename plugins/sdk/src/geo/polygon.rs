//! Polygons on the map: whether a point is inside, on the boundary or
//! outside, and how far it is from the boundary.
//!
//! Two models, each the usual one for its question (and what the geofence
//! plugin did with the `geo` crate before):
//! - inside or outside is decided on the plane of longitude (x) and latitude
//!   (y), edges being straight lines in degrees, by the even-odd rule (a ray
//!   cast east from the point crosses the boundary an odd number of times).
//!   The orientation tests are exact (`robust`'s adaptive predicates), so a
//!   point exactly on an edge or at a vertex is [`Location::Boundary`]
//!   whatever the edge's slope, never inside by the rounding of one test and
//!   outside by another;
//! - distances are great-circle distances in metres to the boundary, whose
//!   edges are then great-circle arcs between the vertices.
//!
//! The two edges, straight and arc, part by about L² tan(latitude) / 8R for
//! an east-west edge of length L: 2 cm for a 1 km edge at 45°, 2 m for a
//! 10 km one. Meant for city-scale fences that do not cross the antimeridian
//! (no edge spans more than 180° of longitude); larger ones work, with that
//! difference between the two models.

use robust::{Coord, orient2d};

use super::distance::{EARTH_RADIUS_M, haversine_m};
use super::sphere::{self, Vector};
use crate::Point;

/// Where a point lies with respect to a polygon or a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// Strictly inside: in the exterior ring and in none of the holes.
    Inside,
    /// Exactly on an edge or at a vertex, of the exterior ring or of a hole.
    Boundary,
    /// Outside the exterior ring, or strictly inside a hole.
    Outside,
}

/// A box of latitudes and longitudes in degrees, edges included: a cheap
/// first test before an exact one, and the envelope
/// [`FenceIndex`](crate::geo::FenceIndex) indexes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// The southernmost latitude.
    pub min_latitude: f64,
    /// The northernmost latitude.
    pub max_latitude: f64,
    /// The westernmost longitude.
    pub min_longitude: f64,
    /// The easternmost longitude.
    pub max_longitude: f64,
}

impl Bounds {
    /// Whether `point` lies in the box or on its edge.
    pub fn contains(&self, point: Point) -> bool {
        (self.min_latitude..=self.max_latitude).contains(&point.latitude)
            && (self.min_longitude..=self.max_longitude).contains(&point.longitude)
    }

    fn around(point: Point) -> Self {
        Self {
            min_latitude: point.latitude,
            max_latitude: point.latitude,
            min_longitude: point.longitude,
            max_longitude: point.longitude,
        }
    }

    fn union(self, other: Bounds) -> Self {
        Self {
            min_latitude: self.min_latitude.min(other.min_latitude),
            max_latitude: self.max_latitude.max(other.max_latitude),
            min_longitude: self.min_longitude.min(other.min_longitude),
            max_longitude: self.max_longitude.max(other.max_longitude),
        }
    }
}

/// Why a ring cannot make (or be a hole of) a [`Polygon`].
#[derive(Debug, Clone, PartialEq)]
pub enum PolygonError {
    /// Fewer than 3 distinct vertices (after dropping repeats): the count.
    TooFewVertices(usize),
    /// A vertex that is not a position: a latitude outside [-90, 90], a
    /// longitude outside [-180, 180], or not a finite number.
    InvalidVertex(Point),
    /// The vertices all lie on one line: the ring encloses no area.
    NoArea,
}

impl std::fmt::Display for PolygonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooFewVertices(count) => write!(f, "a ring needs at least 3 distinct vertices, got {count}"),
            Self::InvalidVertex(point) => write!(
                f,
                "vertex ({}, {}) is not a latitude in [-90, 90] and a longitude in [-180, 180]",
                point.latitude, point.longitude
            ),
            Self::NoArea => write!(f, "the ring encloses no area (its vertices lie on one line)"),
        }
    }
}

impl std::error::Error for PolygonError {}

/// An area on the map: an exterior ring of vertices, optionally with holes.
/// Built once (from a plugin's config, say) and then asked many times: it
/// keeps its bounding box and its vertices as unit vectors so that each
/// question costs only the arithmetic of the answer.
///
/// Rings are given as open or closed lists of vertices (a last vertex equal to
/// the first is dropped, and so are repeated consecutive ones); either winding
/// order. Holes should lie inside the exterior ring and not cross it or each
/// other: a point strictly inside a hole is outside the polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    exterior: Ring,
    holes: Vec<Ring>,
    bounds: Bounds,
}

impl Polygon {
    /// A polygon without holes from its exterior ring.
    pub fn new(exterior: Vec<Point>) -> Result<Self, PolygonError> {
        let exterior = Ring::new(exterior)?;
        let bounds = exterior.bounds();
        Ok(Self {
            exterior,
            holes: Vec::new(),
            bounds,
        })
    }

    /// The same polygon with one more hole.
    pub fn with_hole(mut self, hole: Vec<Point>) -> Result<Self, PolygonError> {
        let hole = Ring::new(hole)?;
        self.bounds = self.bounds.union(hole.bounds());
        self.holes.push(hole);
        Ok(self)
    }

    /// The exterior ring's vertices, open (the first is not repeated).
    pub fn exterior(&self) -> &[Point] {
        &self.exterior.points
    }

    /// The holes' rings, open, in the order they were added.
    pub fn holes(&self) -> impl ExactSizeIterator<Item = &[Point]> {
        self.holes.iter().map(|hole| hole.points.as_slice())
    }

    /// A box holding the whole polygon: its vertices and the great-circle
    /// arcs between them (an arc bows towards the pole, beyond its ends'
    /// latitudes). Longitudes span all of [-180, 180] when an edge crosses
    /// the antimeridian.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// Whether `point` is inside, on the boundary of or outside the polygon
    /// (see the module doc for the exact rule).
    pub fn locate(&self, point: Point) -> Location {
        if !self.bounds.contains(point) {
            return Location::Outside;
        }
        match locate_in_ring(&self.exterior.points, point) {
            Location::Inside => {}
            other => return other,
        }
        for hole in &self.holes {
            match locate_in_ring(&hole.points, point) {
                Location::Outside => {}
                Location::Inside => return Location::Outside,
                Location::Boundary => return Location::Boundary,
            }
        }
        Location::Inside
    }

    /// Whether `point` is strictly inside: a point on the boundary is not
    /// (`locate(point) != Location::Outside` counts it in).
    pub fn contains(&self, point: Point) -> bool {
        self.locate(point) == Location::Inside
    }

    /// The great-circle distance in metres from `point` to the nearest point
    /// of the boundary (the exterior ring or a hole's), inside or out.
    pub fn distance_to_boundary_m(&self, point: Point) -> f64 {
        let target = sphere::unit_vector(point);
        std::iter::once(&self.exterior)
            .chain(&self.holes)
            .map(|ring| ring_distance_m(ring.edges(), point, target))
            .fold(f64::INFINITY, f64::min)
    }

    /// How far `point` is from the polygon, in metres: 0 inside or on the
    /// boundary, the distance to the boundary outside (also in a hole).
    pub fn distance_m(&self, point: Point) -> f64 {
        match self.locate(point) {
            Location::Outside => self.distance_to_boundary_m(point),
            Location::Inside | Location::Boundary => 0.0,
        }
    }
}

/// Where `point` lies with respect to the area a ring of vertices encloses
/// (open or closed, either winding), by the even-odd rule on the plane of
/// longitude and latitude: exactly on an edge or at a vertex is
/// [`Location::Boundary`]. An empty ring has nothing inside.
pub fn locate_in_ring(ring: &[Point], point: Point) -> Location {
    let Some(&last) = ring.last() else {
        return Location::Outside;
    };
    let at = coord(point);
    let mut inside = false;
    let mut start = last;
    for &end in ring {
        let (a, b) = (coord(start), coord(end));
        let side = orient2d(a, b, at);
        if side == 0.0 && between(at.x, a.x, b.x) && between(at.y, a.y, b.y) {
            return Location::Boundary;
        }
        // The edge crosses the horizontal line through the point (its lower
        // end counted, its upper end not, so a vertex on the line counts
        // once): it crosses the ray east of the point when the point lies to
        // the left of the edge taken upwards.
        if (a.y > at.y) != (b.y > at.y) {
            let upward_side = if b.y > a.y { side } else { -side };
            if upward_side > 0.0 {
                inside = !inside;
            }
        }
        start = end;
    }
    if inside { Location::Inside } else { Location::Outside }
}

/// The great-circle distance in metres from `point` to the closed ring through
/// `ring`'s vertices (open or closed), its edges being great-circle arcs; 0 on
/// an edge, `f64::INFINITY` for an empty ring. Whether the point is inside
/// plays no part: see [`Polygon::distance_m`] for "0 inside".
pub fn distance_to_ring_m(ring: &[Point], point: Point) -> f64 {
    let Some(&last) = ring.last() else {
        return f64::INFINITY;
    };
    let mut previous = (last, sphere::unit_vector(last));
    let edges = ring.iter().map(|&vertex| {
        let current = (vertex, sphere::unit_vector(vertex));
        (std::mem::replace(&mut previous, current), current)
    });
    ring_distance_m(edges, point, sphere::unit_vector(point))
}

/// One ring: its vertices, and the same as unit vectors for distances.
#[derive(Debug, Clone, PartialEq)]
struct Ring {
    points: Vec<Point>,
    vectors: Vec<Vector>,
}

impl Ring {
    fn new(mut points: Vec<Point>) -> Result<Self, PolygonError> {
        if let Some(&invalid) = points.iter().find(|point| !valid(**point)) {
            return Err(PolygonError::InvalidVertex(invalid));
        }
        points.dedup();
        if points.len() > 1 && points.first() == points.last() {
            points.pop();
        }
        if points.len() < 3 {
            return Err(PolygonError::TooFewVertices(points.len()));
        }
        if twice_signed_area(&points) == 0.0 {
            return Err(PolygonError::NoArea);
        }
        let vectors = points.iter().copied().map(sphere::unit_vector).collect();
        Ok(Self { points, vectors })
    }

    /// Each edge as its two ends, closing edge last.
    fn edges(&self) -> impl Iterator<Item = ((Point, Vector), (Point, Vector))> + '_ {
        let ends = self.points.iter().copied().zip(self.vectors.iter().copied());
        let starts = ends.clone().cycle().skip(self.points.len() - 1);
        starts.zip(ends)
    }

    /// The box of the vertices and of the arcs between them.
    fn bounds(&self) -> Bounds {
        let mut bounds = Bounds::around(self.points[0]);
        for ((a, a_vector), (b, b_vector)) in self.edges() {
            bounds = bounds.union(Bounds::around(b));
            if (b.longitude - a.longitude).abs() >= 180.0 {
                // The arc crosses the antimeridian (or a pole).
                bounds.min_longitude = -180.0;
                bounds.max_longitude = 180.0;
            }
            let normal = sphere::cross(a_vector, b_vector);
            let length = sphere::norm(normal);
            if length < MIN_ARC_SINE {
                continue;
            }
            let [x, y, z] = normal.map(|component| component / length);
            // The great circle's northernmost point (none: it is the equator).
            let north = [-z * x, -z * y, 1.0 - z * z];
            if sphere::norm(north) < MIN_ARC_SINE {
                continue;
            }
            if sphere::projects_onto_arc(a_vector, b_vector, normal, north) {
                bounds.max_latitude = bounds.max_latitude.max(sphere::latitude_deg(north));
            }
            let south = north.map(|component| -component);
            if sphere::projects_onto_arc(a_vector, b_vector, normal, south) {
                bounds.min_latitude = bounds.min_latitude.min(sphere::latitude_deg(south));
            }
        }
        bounds
    }
}

/// Below this sine of the angle between an edge's ends (about 6 mm on the
/// ground) the edge is taken for a point: its great circle is not defined
/// well enough to measure across.
const MIN_ARC_SINE: f64 = 1e-9;

/// The smallest distance from `point` (`target` its unit vector) to the
/// edges, each a great-circle arc.
fn ring_distance_m(
    edges: impl Iterator<Item = ((Point, Vector), (Point, Vector))>,
    point: Point,
    target: Vector,
) -> f64 {
    let mut nearest = f64::INFINITY;
    for ((a, a_vector), (b, b_vector)) in edges {
        let normal = sphere::cross(a_vector, b_vector);
        let length = sphere::norm(normal);
        let distance = if length >= MIN_ARC_SINE && sphere::projects_onto_arc(a_vector, b_vector, normal, target) {
            // The point's angle from the arc's great circle.
            let sine = (sphere::dot(target, normal) / length).abs().min(1.0);
            EARTH_RADIUS_M * sine.asin()
        } else {
            haversine_m(a, point).min(haversine_m(b, point))
        };
        nearest = nearest.min(distance);
    }
    nearest
}

fn coord(point: Point) -> Coord<f64> {
    Coord {
        x: point.longitude,
        y: point.latitude,
    }
}

fn between(value: f64, one_end: f64, other_end: f64) -> bool {
    one_end.min(other_end) <= value && value <= one_end.max(other_end)
}

fn valid(point: Point) -> bool {
    (-90.0..=90.0).contains(&point.latitude) && (-180.0..=180.0).contains(&point.longitude)
}

/// Twice the ring's signed area on the plane of longitude and latitude (the
/// shoelace formula, from the first vertex for precision, as `geo` computes
/// it): exactly 0 for vertices on one line.
fn twice_signed_area(points: &[Point]) -> f64 {
    let origin = points[0];
    let shifted = |point: &Point| (point.longitude - origin.longitude, point.latitude - origin.latitude);
    let ends = points.iter().map(shifted);
    let starts = ends.clone().cycle().skip(points.len() - 1);
    starts.zip(ends).map(|((x1, y1), (x2, y2))| x1 * y2 - y1 * x2).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::destination;

    fn at(latitude: f64, longitude: f64) -> Point {
        Point { latitude, longitude }
    }

    /// A 10° square with a 4° square hole in its middle.
    fn square_with_hole() -> Polygon {
        Polygon::new(vec![at(0.0, 0.0), at(0.0, 10.0), at(10.0, 10.0), at(10.0, 0.0)])
            .and_then(|square| square.with_hole(vec![at(3.0, 3.0), at(7.0, 3.0), at(7.0, 7.0), at(3.0, 7.0)]))
            .expect("a valid polygon")
    }

    #[test]
    fn a_square_with_a_hole_locates_every_kind_of_point() {
        let polygon = square_with_hole();
        assert_eq!(polygon.locate(at(1.0, 1.0)), Location::Inside);
        assert_eq!(polygon.locate(at(5.0, 8.5)), Location::Inside);
        assert_eq!(polygon.locate(at(5.0, 5.0)), Location::Outside, "in the hole");
        assert_eq!(polygon.locate(at(11.0, 5.0)), Location::Outside);
        assert_eq!(polygon.locate(at(-0.5, 5.0)), Location::Outside);
        // On the edges and at the vertices of both rings.
        for point in [
            at(0.0, 5.0),
            at(10.0, 10.0),
            at(0.0, 0.0),
            at(4.0, 10.0),
            at(3.0, 5.0),
            at(7.0, 7.0),
            at(5.0, 3.0),
        ] {
            assert_eq!(polygon.locate(point), Location::Boundary, "{point:?}");
            assert!(!polygon.contains(point), "the boundary is not inside: {point:?}");
            assert_eq!(polygon.distance_m(point), 0.0);
        }
        assert!(polygon.contains(at(1.0, 1.0)));
        assert!(!polygon.contains(at(5.0, 5.0)));
        assert_eq!(polygon.holes().len(), 1);
    }

    #[test]
    fn a_point_on_a_sloping_edge_is_on_the_boundary() {
        // The hypotenuse runs from (0, 3) to (3, 0): lat + lng = 3, exact in
        // binary at (1.5, 1.5) and (0.75, 2.25).
        let triangle = Polygon::new(vec![at(0.0, 0.0), at(0.0, 3.0), at(3.0, 0.0)]).expect("a triangle");
        assert_eq!(triangle.locate(at(1.5, 1.5)), Location::Boundary);
        assert_eq!(triangle.locate(at(0.75, 2.25)), Location::Boundary);
        assert_eq!(triangle.locate(at(1.5, 1.499_999_999_999)), Location::Inside);
        assert_eq!(triangle.locate(at(1.5, 1.500_000_000_001)), Location::Outside);
    }

    #[test]
    fn a_ray_through_vertices_counts_each_crossing_once() {
        // A diamond whose left and right vertices lie on the latitude of the
        // test points: a ray east passes through them.
        let diamond = [at(0.0, 1.0), at(1.0, 2.0), at(2.0, 1.0), at(1.0, 0.0)];
        assert_eq!(locate_in_ring(&diamond, at(1.0, 1.0)), Location::Inside);
        assert_eq!(locate_in_ring(&diamond, at(1.0, -1.0)), Location::Outside);
        assert_eq!(locate_in_ring(&diamond, at(1.0, 3.0)), Location::Outside);
        assert_eq!(locate_in_ring(&diamond, at(1.0, 2.0)), Location::Boundary);
        // A U: the notch between the arms is outside, the arms inside.
        let u = [
            at(0.0, 0.0),
            at(0.0, 3.0),
            at(3.0, 3.0),
            at(3.0, 2.0),
            at(1.0, 2.0),
            at(1.0, 1.0),
            at(3.0, 1.0),
            at(3.0, 0.0),
        ];
        assert_eq!(locate_in_ring(&u, at(2.0, 1.5)), Location::Outside);
        assert_eq!(locate_in_ring(&u, at(2.0, 0.5)), Location::Inside);
        assert_eq!(locate_in_ring(&u, at(2.0, 2.5)), Location::Inside);
        assert_eq!(locate_in_ring(&u, at(1.0, 1.5)), Location::Boundary);
        assert_eq!(locate_in_ring(&[], at(0.0, 0.0)), Location::Outside);
    }

    /// About 1.1 km a side around (12.95, 77.55), as the geofence plugin's tests use.
    fn block() -> Polygon {
        Polygon::new(vec![
            at(12.945, 77.545),
            at(12.945, 77.555),
            at(12.955, 77.555),
            at(12.955, 77.545),
        ])
        .expect("a square")
    }

    #[test]
    fn distances_are_to_the_nearest_edge_or_corner() {
        let block = block();
        let centre = at(12.95, 77.55);
        assert_eq!(block.distance_m(centre), 0.0);
        // From the centre to the nearest edge: 0.005° of longitude, shorter
        // than 0.005° of latitude away from the equator.
        let half_side = haversine_m(centre, at(12.95, 77.555));
        assert!(half_side < haversine_m(centre, at(12.955, 77.55)));
        assert!((block.distance_to_boundary_m(centre) - half_side).abs() < 1.0);
        let beyond_east_edge = destination(at(12.95, 77.555), 90.0, 100.0);
        assert!((block.distance_m(beyond_east_edge) - 100.0).abs() < 1e-3);
        let beyond_corner = destination(at(12.955, 77.555), 45.0, 80.0);
        assert!((block.distance_m(beyond_corner) - 80.0).abs() < 1e-6);
        assert_eq!(
            distance_to_ring_m(block.exterior(), beyond_corner),
            block.distance_m(beyond_corner)
        );
        assert_eq!(distance_to_ring_m(&[], centre), f64::INFINITY);
    }

    #[test]
    fn in_a_hole_the_distance_is_to_the_holes_edge() {
        let polygon = square_with_hole();
        let in_hole = at(5.0, 5.0);
        let to_hole_edge = haversine_m(in_hole, at(5.0, 3.0)).min(haversine_m(in_hole, at(7.0, 5.0)));
        let distance = polygon.distance_m(in_hole);
        assert!(distance > 0.0 && distance <= to_hole_edge, "{distance}");
        assert!(
            (distance - to_hole_edge).abs() / to_hole_edge < 0.01,
            "{distance} vs {to_hole_edge}"
        );
    }

    #[test]
    fn the_arc_between_two_vertices_bows_towards_the_pole() {
        // An edge along the parallel 60°N from 0° to 40°E: its great circle
        // peaks halfway, at latitude atan(tan 60° / cos 20°).
        let band = Polygon::new(vec![at(50.0, 0.0), at(60.0, 0.0), at(60.0, 40.0), at(50.0, 40.0)]).expect("a band");
        let peak = (60f64.to_radians().tan() / 20f64.to_radians().cos())
            .atan()
            .to_degrees();
        assert!((band.bounds().max_latitude - peak).abs() < 1e-9, "{:?}", band.bounds());
        // The southern edge bows north too, inside the box.
        assert_eq!(band.bounds().min_latitude, 50.0);
        // The arc's top is nearer than the straight edge's midpoint suggests.
        let above = at(61.0, 20.0);
        let to_arc = band.distance_m(above);
        assert!(to_arc < haversine_m(above, at(60.0, 20.0)), "{to_arc}");
        assert!((to_arc - haversine_m(above, at(peak, 20.0))).abs() < 1e-3, "{to_arc}");
    }

    #[test]
    fn rings_are_checked_and_tidied() {
        let open = Polygon::new(vec![at(0.0, 0.0), at(0.0, 1.0), at(1.0, 1.0)]).expect("a triangle");
        let closed = Polygon::new(vec![
            at(0.0, 0.0),
            at(0.0, 1.0),
            at(0.0, 1.0),
            at(1.0, 1.0),
            at(0.0, 0.0),
        ])
        .expect("the same triangle");
        assert_eq!(open, closed);
        assert_eq!(closed.exterior().len(), 3);
        assert_eq!(
            Polygon::new(vec![at(0.0, 0.0), at(0.0, 1.0), at(0.0, 0.0)]),
            Err(PolygonError::TooFewVertices(2))
        );
        assert_eq!(
            Polygon::new(vec![at(1.0, 1.0), at(2.0, 2.0), at(3.0, 3.0)]),
            Err(PolygonError::NoArea)
        );
        assert_eq!(
            Polygon::new(vec![at(0.0, 0.0), at(91.0, 1.0), at(1.0, 1.0)]),
            Err(PolygonError::InvalidVertex(at(91.0, 1.0)))
        );
        let nan = Polygon::new(vec![at(0.0, 0.0), at(f64::NAN, 1.0), at(1.0, 1.0)]);
        assert!(matches!(nan, Err(PolygonError::InvalidVertex(_))));
        assert_eq!(open.with_hole(vec![at(0.1, 0.1)]), Err(PolygonError::TooFewVertices(1)));
        assert!(PolygonError::NoArea.to_string().contains("no area"));
    }
}
