//! Geospatial helpers the plugins share instead of each carrying its own:
//! distances and bearings ([`haversine_m`], [`bearing_deg`], [`destination`]),
//! polygons ([`Polygon`]: inside, on the edge or outside, and how far from the
//! boundary), an index of many polygon fences ([`FenceIndex`]) and H3 cells
//! ([`h3_cell`], [`h3_grid_disk`]).
//!
//! Positions are the SDK's [`Point`](crate::Point), the WIT `point` record
//! (WGS84 latitude and longitude in degrees) that order events already carry,
//! so nothing is converted between a batch and these functions: write one as
//! `Point { latitude, longitude }`, latitude first, as everywhere in the SDK.
//!
//! The Earth is a sphere of radius [`EARTH_RADIUS_M`]: distances are
//! great-circle distances in metres (within about 0.5% of the ellipsoid's,
//! plenty for fences, ETAs and fares), bearings degrees clockwise from north.
//! [`haversine_m`], [`bearing_deg`] and [`destination`] are the `geo` crate's
//! `Haversine` step for step (the same bits), which the plugins used before.
//! A polygon's distance is measured to the exact great-circle arc, where
//! `geo`'s closest point was approximate: within a millimetre for city
//! fences, metres apart for 50 km ones.

mod distance;
mod fence_index;
mod h3;
mod polygon;
mod sphere;

pub use distance::{EARTH_RADIUS_M, bearing_deg, destination, haversine_m};
pub use fence_index::FenceIndex;
pub use h3::{H3Error, h3_cell, h3_grid_disk};
pub use polygon::{Bounds, Location, Polygon, PolygonError, distance_to_ring_m, locate_in_ring};
