//! H3 cells (Uber's hexagonal grid) through the `h3o` crate, a pure-Rust
//! port of the reference C library that builds for `wasm32-wasip2` as it is.
//!
//! Cells come and go as their canonical text, 15 lowercase hex digits
//! (`87283472bffffff`): what the other H3 libraries, databases and tools
//! print, and a plugin can use it as a kv key or a field value directly.

use h3o::{CellIndex, LatLng, Resolution};

use crate::Point;

/// Why an H3 function gave no cell.
#[derive(Debug, Clone, PartialEq)]
pub enum H3Error {
    /// The resolution is not one of H3's 0 (coarsest) to 15 (finest).
    Resolution(u8),
    /// The point's latitude or longitude is not a finite number.
    Point(Point),
    /// The text is not a valid H3 cell index.
    Cell(String),
}

impl std::fmt::Display for H3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Resolution(resolution) => write!(f, "H3 resolution {resolution} is not in 0..=15"),
            Self::Point(point) => write!(
                f,
                "({}, {}) is not a finite latitude and longitude",
                point.latitude, point.longitude
            ),
            Self::Cell(text) => write!(f, "`{text}` is not an H3 cell index"),
        }
    }
}

impl std::error::Error for H3Error {}

/// The H3 cell of `resolution` (0 to 15: from about 1,100 km across down to
/// about 1 m) that holds `point`, as its hex text: a key that groups nearby
/// positions (drivers per area, demand per hexagon) without any geometry at
/// read time.
pub fn h3_cell(point: Point, resolution: u8) -> Result<String, H3Error> {
    let resolution = Resolution::try_from(resolution).map_err(|_| H3Error::Resolution(resolution))?;
    let position = LatLng::new(point.latitude, point.longitude).map_err(|_| H3Error::Point(point))?;
    Ok(position.to_cell(resolution).to_string())
}

/// The cells within `k` steps of `cell` (given and returned as hex text): the
/// cell itself for `k = 0`, it and its 6 neighbours for `k = 1`, 3k(k+1)+1
/// cells in all (a few fewer next to one of H3's 12 pentagons). Sorted by
/// index, so the same disk always comes out in the same order: for looking up
/// the keys of the areas around a position. The count grows with k², so keep
/// `k` small.
pub fn h3_grid_disk(cell: &str, k: u32) -> Result<Vec<String>, H3Error> {
    let centre: CellIndex = cell.parse().map_err(|_| H3Error::Cell(cell.to_string()))?;
    let mut cells: Vec<CellIndex> = centre.grid_disk(k);
    cells.sort_unstable();
    Ok(cells.into_iter().map(|cell| cell.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64) -> Point {
        Point { latitude, longitude }
    }

    #[test]
    fn known_points_fall_in_their_reference_cells() {
        // The example of h3-js's README (H3's JavaScript binding).
        assert_eq!(
            h3_cell(at(37.361_559_3, -122.055_323_8), 7).as_deref(),
            Ok("87283472bffffff")
        );
        // Snowflake's H3_LATLNG_TO_CELL example: the Brandenburg Gate at
        // resolution 8 is 613036919424548863, 0x881f1d4887fffff.
        assert_eq!(h3_cell(at(52.516_262, 13.377_704), 8).as_deref(), Ok("881f1d4887fffff"));
        assert_eq!(u64::from_str_radix("881f1d4887fffff", 16), Ok(613_036_919_424_548_863));
    }

    #[test]
    fn a_disk_holds_the_cell_and_its_neighbours_in_index_order() {
        let cell = "87283472bffffff";
        assert_eq!(h3_grid_disk(cell, 0), Ok(vec![cell.to_string()]));
        let disk = h3_grid_disk(cell, 1).expect("a disk");
        assert_eq!(disk.len(), 7);
        // h3-js's README: the disk of that cell holds 87283472affffff.
        assert!(disk.iter().any(|neighbour| neighbour == "87283472affffff"), "{disk:?}");
        assert!(disk.iter().any(|neighbour| neighbour == cell));
        assert!(disk.windows(2).all(|pair| pair[0] < pair[1]), "{disk:?}");
        assert_eq!(h3_grid_disk(cell, 2).expect("a disk").len(), 19);
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(h3_cell(at(0.0, 0.0), 16), Err(H3Error::Resolution(16)));
        assert!(matches!(h3_cell(at(f64::NAN, 0.0), 5), Err(H3Error::Point(_))));
        assert_eq!(h3_grid_disk("hello", 1), Err(H3Error::Cell("hello".into())));
        assert_eq!(h3_grid_disk("0", 1), Err(H3Error::Cell("0".into())));
        assert!(H3Error::Resolution(16).to_string().contains("0..=15"));
    }
}
