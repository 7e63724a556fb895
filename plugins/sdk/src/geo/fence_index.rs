//! Many polygon fences, indexed by their bounding boxes so that a question
//! about one point looks at the few fences near it, not at all of them.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::distance::EARTH_RADIUS_M;
use super::polygon::{Bounds, Polygon};
use crate::Point;

/// A fence's box in the tree (x = longitude, y = latitude), with the fence's
/// position in [`FenceIndex::fences`].
type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Fences (polygons, each with the caller's id) that answer "which fences
/// contain this point" and "which fences are within D metres of it" in about
/// O(log n + answers) per question instead of testing every fence.
///
/// The fences' bounding boxes ([`Polygon::bounds`], which hold the
/// great-circle arcs too) go into an R-tree, the `rstar` crate's: a question
/// takes the boxes that can hold an answer from the tree, then tests those
/// fences exactly. `rstar` rather than a grid because it is small, pure Rust
/// (builds for `wasm32-wasip2` as it is), kept up by the georust project (it
/// is the R-tree under the `geo` crate), built in one O(n log n) bulk load,
/// and has no cell size to choose: a grid fits one size of fence, and a
/// fleet's fences range from a 50 m restaurant to a 20 km district.
///
/// Answers come in the order the fences were given, so a plugin iterating
/// them emits notifications in a stable order.
#[derive(Debug, Clone)]
pub struct FenceIndex<K> {
    fences: Vec<(K, Polygon)>,
    tree: RTree<Entry>,
}

impl<K> FenceIndex<K> {
    /// The index of `fences`, each an id (whatever the plugin names a fence
    /// by: a `String`, a number) and its polygon.
    pub fn new(fences: impl IntoIterator<Item = (K, Polygon)>) -> Self {
        let fences: Vec<(K, Polygon)> = fences.into_iter().collect();
        let entries = fences
            .iter()
            .enumerate()
            .map(|(position, (_, polygon))| {
                let bounds = polygon.bounds();
                let rectangle = Rectangle::from_corners(
                    [bounds.min_longitude, bounds.min_latitude],
                    [bounds.max_longitude, bounds.max_latitude],
                );
                GeomWithData::new(rectangle, position)
            })
            .collect();
        Self {
            fences,
            tree: RTree::bulk_load(entries),
        }
    }

    /// The number of fences.
    pub fn len(&self) -> usize {
        self.fences.len()
    }

    /// Whether there are no fences.
    pub fn is_empty(&self) -> bool {
        self.fences.is_empty()
    }

    /// The fences, in the order they were given.
    pub fn fences(&self) -> &[(K, Polygon)] {
        &self.fences
    }

    /// The ids of the fences that contain `point` strictly
    /// ([`Polygon::contains`]: a point on a fence's boundary is not in it).
    pub fn containing(&self, point: Point) -> Vec<&K> {
        let mut positions: Vec<usize> = self
            .tree
            .locate_all_at_point(&[point.longitude, point.latitude])
            .map(|entry| entry.data)
            .filter(|&position| self.fences[position].1.contains(point))
            .collect();
        positions.sort_unstable();
        positions.into_iter().map(|position| &self.fences[position].0).collect()
    }

    /// The fences within `metres` of `point`, with the distance of each
    /// ([`Polygon::distance_m`]: 0 inside or on the boundary, else the
    /// great-circle distance to the boundary). No fence for a negative or NaN
    /// `metres`.
    pub fn within_m(&self, point: Point, metres: f64) -> Vec<(&K, f64)> {
        let mut found: Vec<(usize, f64)> = self
            .candidates(point, metres)
            .into_iter()
            .filter_map(|position| {
                let distance = self.fences[position].1.distance_m(point);
                (distance <= metres).then_some((position, distance))
            })
            .collect();
        found.sort_unstable_by_key(|&(position, _)| position);
        found
            .into_iter()
            .map(|(position, distance)| (&self.fences[position].0, distance))
            .collect()
    }

    /// The positions of the fences whose boxes meet the box of every point
    /// within `metres` of `point`, each once.
    fn candidates(&self, point: Point, metres: f64) -> Vec<usize> {
        let mut positions: Vec<usize> = Vec::new();
        if metres.is_nan() || metres < 0.0 {
            return positions;
        }
        for window in search_windows(point, metres) {
            let envelope = AABB::from_corners(
                [window.min_longitude, window.min_latitude],
                [window.max_longitude, window.max_latitude],
            );
            positions.extend(
                self.tree
                    .locate_in_envelope_intersecting(&envelope)
                    .map(|entry| entry.data),
            );
        }
        positions.sort_unstable();
        positions.dedup();
        positions
    }
}

/// A margin, in degrees (about 0.1 mm), against rounding in the boxes.
const MARGIN_DEG: f64 = 1e-9;

/// Boxes that together hold every point within `metres` of `point` (one, or
/// two when the circle crosses the antimeridian).
///
/// Latitudes within an angle δ = metres / R of the point's φ lie in φ ± δ;
/// when that reaches a pole every longitude does, otherwise longitudes lie
/// within asin(sin δ / cos φ) of the point's (the bound of the circle's
/// widest parallel).
fn search_windows(point: Point, metres: f64) -> Vec<Bounds> {
    let angle = metres / EARTH_RADIUS_M;
    let reach_deg = angle.to_degrees() + MARGIN_DEG;
    let min_latitude = point.latitude - reach_deg;
    let max_latitude = point.latitude + reach_deg;
    if max_latitude >= 90.0 || min_latitude <= -90.0 || angle >= std::f64::consts::FRAC_PI_2 {
        return vec![Bounds {
            min_latitude: min_latitude.max(-90.0),
            max_latitude: max_latitude.min(90.0),
            min_longitude: -180.0,
            max_longitude: 180.0,
        }];
    }
    let sine = (angle.sin() / point.latitude.to_radians().cos()).min(1.0);
    let spread_deg = sine.asin().to_degrees() + MARGIN_DEG;
    let (west, east) = (point.longitude - spread_deg, point.longitude + spread_deg);
    let window = |min_longitude: f64, max_longitude: f64| Bounds {
        min_latitude,
        max_latitude,
        min_longitude,
        max_longitude,
    };
    if spread_deg >= 180.0 {
        vec![window(-180.0, 180.0)]
    } else if west < -180.0 {
        vec![window(-180.0, east), window(west + 360.0, 180.0)]
    } else if east > 180.0 {
        vec![window(west, 180.0), window(-180.0, east - 360.0)]
    } else {
        vec![window(west, east)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{destination, haversine_m};

    fn at(latitude: f64, longitude: f64) -> Point {
        Point { latitude, longitude }
    }

    /// SplitMix64: a fixed-seed source of test data without a dependency.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [low, high).
        fn uniform(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A star-shaped polygon of 3 to 8 vertices around `centre`, at most
    /// `radius_m` from it.
    fn random_fence(random: &mut Random, centre: Point, radius_m: f64) -> Polygon {
        let vertices = 3 + (random.next() % 6) as usize;
        let mut bearings: Vec<f64> = (0..vertices).map(|_| random.uniform(0.0, 360.0)).collect();
        bearings.sort_by(f64::total_cmp);
        let ring = bearings
            .into_iter()
            .map(|bearing| destination(centre, bearing, random.uniform(0.2, 1.0) * radius_m))
            .collect();
        Polygon::new(ring).expect("random vertices at distinct bearings enclose an area")
    }

    #[test]
    fn ten_thousand_fences_answer_as_brute_force_does() {
        let mut random = Random(0x5EED_F0F0_2024);
        // A 45 km square over Bengaluru, fences of 30 m to 2 km.
        let fences: Vec<(usize, Polygon)> = (0..10_000)
            .map(|id| {
                let centre = at(random.uniform(12.8, 13.2), random.uniform(77.4, 77.8));
                let radius_m = random.uniform(30.0, 2_000.0);
                (id, random_fence(&mut random, centre, radius_m))
            })
            .collect();
        let index = FenceIndex::new(fences.clone());
        assert_eq!(index.len(), 10_000);
        let (mut contained, mut near) = (0, 0);
        for _ in 0..150 {
            let point = at(random.uniform(12.78, 13.22), random.uniform(77.38, 77.82));
            let distances: Vec<f64> = fences.iter().map(|(_, fence)| fence.distance_m(point)).collect();
            let inside: Vec<&usize> = fences
                .iter()
                .filter(|(_, fence)| fence.contains(point))
                .map(|(id, _)| id)
                .collect();
            assert_eq!(index.containing(point), inside, "containing {point:?}");
            contained += inside.len();
            for metres in [0.0, 25.0, 400.0, 2_500.0] {
                let expected: Vec<(&usize, f64)> = fences
                    .iter()
                    .zip(&distances)
                    .filter(|&(_, &distance)| distance <= metres)
                    .map(|((id, _), &distance)| (id, distance))
                    .collect();
                assert_eq!(
                    index.within_m(point, metres),
                    expected,
                    "within {metres} m of {point:?}"
                );
                near += expected.len();
            }
            // Sublinear: a small radius looks at a small share of the fences.
            assert!(index.candidates(point, 25.0).len() < 200, "{point:?}");
        }
        // The test means something: points do fall in and near fences.
        assert!(contained > 100 && near > 10_000, "{contained} {near}");
    }

    #[test]
    fn fences_across_the_antimeridian_and_at_a_pole_are_found() {
        let random = &mut Random(7);
        let fences = vec![
            ("fiji", random_fence(random, at(-17.0, 179.995), 300.0)),
            ("pole", random_fence(random, at(89.99, 30.0), 500.0)),
            ("far", random_fence(random, at(0.0, 0.0), 300.0)),
        ];
        let index = FenceIndex::new(fences.clone());
        let across = at(-17.0, -179.998);
        let fiji_distance = fences[0].1.distance_m(across);
        assert!(fiji_distance < 2_000.0, "{fiji_distance}");
        assert_eq!(index.within_m(across, 2_000.0), [(&"fiji", fiji_distance)]);
        let other_side_of_the_pole = at(89.995, -150.0);
        let pole_distance = fences[1].1.distance_m(other_side_of_the_pole);
        assert!(pole_distance < 2_000.0, "{pole_distance}");
        assert_eq!(
            index.within_m(other_side_of_the_pole, 2_000.0),
            [(&"pole", pole_distance)]
        );
        assert_eq!(index.within_m(across, -1.0), []);
        assert_eq!(index.within_m(across, f64::NAN), []);
        assert_eq!(index.within_m(across, f64::INFINITY).len(), 3);
    }

    #[test]
    fn a_fence_is_found_by_its_arc_beyond_its_vertices_box() {
        // The northern edge along 60°N from 0° to 40°E bows up to about
        // 61.5°N; a point at 61.6°N, 20°E is a few km from it but more than
        // 150 km from the vertices' box's top.
        let band = Polygon::new(vec![at(50.0, 0.0), at(60.0, 0.0), at(60.0, 40.0), at(50.0, 40.0)]).expect("a band");
        let point = at(61.6, 20.0);
        let distance = band.distance_m(point);
        assert!(
            distance < 10_000.0 && haversine_m(point, at(60.0, 20.0)) > 150_000.0,
            "{distance}"
        );
        let index = FenceIndex::new([("band", band)]);
        assert_eq!(index.within_m(point, 10_000.0), [(&"band", distance)]);
    }

    #[test]
    fn answers_keep_the_order_the_fences_were_given_in() {
        let square = |size: f64| {
            Polygon::new(vec![at(-size, -size), at(-size, size), at(size, size), at(size, -size)]).expect("a square")
        };
        let index = FenceIndex::new([("c", square(3.0)), ("a", square(1.0)), ("b", square(2.0))]);
        assert_eq!(index.containing(at(0.0, 0.0)), [&"c", &"a", &"b"]);
        assert_eq!(index.containing(at(1.5, 0.0)), [&"c", &"b"]);
        assert_eq!(index.containing(at(1.0, 0.0)), [&"c", &"b"], "on a's edge, not in it");
        let near: Vec<&&str> = index
            .within_m(at(1.0, 0.0), 0.0)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(near, [&"c", &"a", &"b"]);
        assert!(FenceIndex::<u8>::new([]).is_empty());
        assert_eq!(index.fences()[1].0, "a");
    }
}
