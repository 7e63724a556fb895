//! The text format of the `fences` config key: the static fences in one string.
//!
//! Fences are separated by `;`, each written `id:kind:params`:
//!
//! - `hub-1:circle:12.97,77.59,200` — a circle: centre latitude, longitude
//!   (degrees) and radius in metres;
//! - `rest-7:polygon:12.9,77.5 12.9,77.6 13.0,77.6` — a polygon: at least three
//!   `latitude,longitude` vertices separated by spaces; the ring closes itself.
//!
//! Whitespace around entries and parts is ignored, and so are empty entries (a
//! trailing `;`). An id is unique and holds none of `,` `:` `;` or whitespace
//! (the plugin stores the fences a driver is inside as a `,`-separated list).
//! Every error names the fence (or the entry's position when it has no id) and
//! what is wrong with it.

use fleethost_plugin_sdk::Point;
use fleethost_plugin_sdk::geo::PolygonError;

use crate::fence::{Fence, Shape};

/// Parses the fences of the `fences` config value.
pub fn parse_fences(text: &str) -> Result<Vec<Fence>, String> {
    let mut fences: Vec<Fence> = Vec::new();
    for (position, entry) in text.split(';').map(str::trim).enumerate() {
        if entry.is_empty() {
            continue;
        }
        let fence = parse_fence(entry).map_err(|error| match error {
            FenceError::NoId => format!("fence entry {} (`{entry}`) is not `id:kind:params`", position + 1),
            FenceError::Named(id, what) => format!("fence `{id}`: {what}"),
        })?;
        if fences.iter().any(|known| known.id == fence.id) {
            return Err(format!("fence `{}`: the id is used twice", fence.id));
        }
        fences.push(fence);
    }
    Ok(fences)
}

/// Why one entry could not be parsed.
enum FenceError {
    /// The entry does not even have an id.
    NoId,
    /// The fence with this id is malformed, for the reason given.
    Named(String, String),
}

fn parse_fence(entry: &str) -> Result<Fence, FenceError> {
    let mut parts = entry.splitn(3, ':').map(str::trim);
    let id = parts.next().filter(|id| !id.is_empty()).ok_or(FenceError::NoId)?;
    let named = |what: String| FenceError::Named(id.to_string(), what);
    if let Some(bad) = id.chars().find(|c| matches!(c, ',' | ':' | ';') || c.is_whitespace()) {
        return Err(named(format!("the id holds `{bad}`, which ids may not contain")));
    }
    let (Some(kind), Some(params)) = (parts.next(), parts.next()) else {
        return Err(named(
            "expected `id:circle:lat,lng,radius_m` or `id:polygon:lat,lng lat,lng ...`".into(),
        ));
    };
    let shape = match kind {
        "circle" => parse_circle(params),
        "polygon" => parse_polygon(params),
        other => Err(format!("unknown kind `{other}` (expected `circle` or `polygon`)")),
    }
    .map_err(named)?;
    Ok(Fence {
        id: id.to_string(),
        shape,
    })
}

fn parse_circle(params: &str) -> Result<Shape, String> {
    let numbers: Vec<&str> = params.split(',').map(str::trim).collect();
    let [latitude, longitude, radius] = numbers.as_slice() else {
        return Err(format!(
            "circle `{params}` is not `lat,lng,radius_m` (three numbers separated by commas)"
        ));
    };
    let centre = point(latitude, longitude)?;
    let radius_m = number(radius, "radius")?;
    if radius_m <= 0.0 {
        return Err(format!("radius `{radius}` is not a positive number of metres"));
    }
    Ok(Shape::Circle { centre, radius_m })
}

fn parse_polygon(params: &str) -> Result<Shape, String> {
    let mut ring: Vec<Point> = Vec::new();
    for vertex in params.split_whitespace() {
        let Some((latitude, longitude)) = vertex.split_once(',') else {
            return Err(format!("vertex `{vertex}` is not `lat,lng`"));
        };
        let vertex = point(latitude, longitude)?;
        // A repeated vertex (also the first one repeated to close the ring)
        // adds nothing.
        if ring.last() != Some(&vertex) {
            ring.push(vertex);
        }
    }
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return Err(format!(
            "a polygon needs at least 3 distinct `lat,lng` vertices separated by spaces, got {}",
            ring.len()
        ));
    }
    Shape::polygon(ring).map_err(|error| match error {
        PolygonError::NoArea => "the polygon encloses no area (its vertices lie on one line)".to_string(),
        other => other.to_string(),
    })
}

/// A point from latitude and longitude text.
fn point(latitude: &str, longitude: &str) -> Result<Point, String> {
    let lat = number(latitude.trim(), "latitude")?;
    let lng = number(longitude.trim(), "longitude")?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!("latitude `{latitude}` is outside [-90, 90]"));
    }
    if !(-180.0..=180.0).contains(&lng) {
        return Err(format!("longitude `{longitude}` is outside [-180, 180]"));
    }
    Ok(Point {
        latitude: lat,
        longitude: lng,
    })
}

fn number(text: &str, what: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .ok_or_else(|| format!("{what} `{text}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match parse_fences(text) {
            Ok(fences) => panic!("`{text}` should not parse, got {fences:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn circles_and_polygons_parse() {
        let fences =
            parse_fences(" hub-1:circle:12.97,77.59,200 ; rest-7:polygon:12.9,77.5 12.9,77.6  13.0,77.6 12.9,77.5;")
                .expect("valid fences");
        assert_eq!(fences.len(), 2);
        assert_eq!(fences[0].id, "hub-1");
        assert_eq!(
            fences[0].shape,
            Shape::Circle {
                centre: Point {
                    latitude: 12.97,
                    longitude: 77.59
                },
                radius_m: 200.0
            }
        );
        assert_eq!(fences[1].id, "rest-7");
        let Shape::Polygon { area, .. } = &fences[1].shape else {
            panic!("rest-7 should be a polygon");
        };
        // Three vertices: the repeated first one closing the ring is dropped.
        assert_eq!(area.exterior().len(), 3);
        assert_eq!(parse_fences("").expect("no fences"), Vec::new());
    }

    #[test]
    fn errors_name_the_fence_and_the_fault() {
        let cases = [
            (
                "a:circle:12.97,77.59,200;hub-2:circle:12.97,77.59",
                "fence `hub-2`",
                "lat,lng,radius_m",
            ),
            (
                "hub-3:circle:12.97,x,200",
                "fence `hub-3`",
                "longitude `x` is not a number",
            ),
            ("hub-4:circle:97,77.59,200", "fence `hub-4`", "latitude `97` is outside"),
            ("hub-5:circle:12.97,77.59,-3", "fence `hub-5`", "radius `-3`"),
            ("rest-1:polygon:12.9,77.5 12.9,77.6", "fence `rest-1`", "at least 3"),
            (
                "rest-2:polygon:12.9,77.5 12.9;77.6",
                "fence `rest-2`",
                "vertex `12.9` is not `lat,lng`",
            ),
            ("rest-5:polygon:1,1 2,2 3,3", "fence `rest-5`", "encloses no area"),
            ("rest-3:square:1,2,3", "fence `rest-3`", "unknown kind `square`"),
            ("rest-4", "fence `rest-4`", "expected `id:circle"),
            ("a:circle:1,2,3;a:circle:1,2,4", "fence `a`", "used twice"),
            ("a b:circle:1,2,3", "fence `a b`", "ids may not contain"),
            ("a:circle:1,2,3; :circle:1,2,3", "fence entry 2", "not `id:kind:params`"),
        ];
        for (text, names, fault) in cases {
            let error = error_of(text);
            assert!(
                error.contains(names) && error.contains(fault),
                "error for `{text}` should name {names} and say {fault}: {error}"
            );
        }
    }
}
