//! Floating-point numbers as text, the way `f64`'s `Display` writes them,
//! faster.
//!
//! Plugins format every driver's coordinates, speed and distance on every
//! batch, a visible share of their CPU (docs/perf-log.md, "After: floats
//! formatted by Żmij"). core's shortest-digits algorithm multiplies 128-bit
//! numbers, a library call on wasm32; Żmij (the `zmij` crate, dtolnay's port
//! of Victor Zverovich's algorithm, already what `serde_json` formats floats
//! with) finds the same shortest digits several times faster, in wasm and
//! natively.
//! Its text differs from `Display`'s in two ways, both undone here: an
//! integral number ends in `.0` (`Display`: `45`), and very large or very
//! small numbers use an exponent (`Display` never does; those fall back to
//! it). One difference is kept: where two shortest texts are equally near
//! the number (a number of 16 or 17 digits whose exact value ends in a 5
//! just past them, such as 994236187939.28125), `Display` rounds the last
//! digit up and Żmij to even (`…9.2812`, not `…9.2813`). Both read back as
//! the same `f64`, which is all that stored values and messages rely on;
//! coordinates and short measurements never meet such a tie.

use std::fmt::{self, Display};

/// An `f64` whose `Display` writes what `f64`'s does (the shortest text that
/// reads back as the same number, never an exponent), faster; ties between
/// two shortest texts go to the even last digit (see the module's docs).
///
/// ```
/// use fleethost_record::Decimal;
/// assert_eq!(Decimal(12.971599).to_string(), 12.971599_f64.to_string());
/// assert_eq!(Decimal(45.0).to_string(), "45");
/// assert_eq!(Decimal(1e21).to_string(), "1000000000000000000000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Decimal(pub f64);

impl Display for Decimal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Width, precision or a `+` flag ask for core's own formatting.
        let plain = formatter.width().is_none() && formatter.precision().is_none() && !formatter.sign_plus();
        let mut buffer = zmij::Buffer::new();
        match shortest(self.0, &mut buffer) {
            Some(text) if plain => formatter.write_str(text),
            _ => Display::fmt(&self.0, formatter),
        }
    }
}

/// Appends `value` to `text` as [`Decimal`] writes it, without going
/// through `fmt` (live-location and the JSON writer call it per driver).
pub fn push_decimal(text: &mut String, value: f64) {
    let mut buffer = zmij::Buffer::new();
    match shortest(value, &mut buffer) {
        Some(shortest) => text.push_str(shortest),
        None => {
            use std::fmt::Write;
            write!(text, "{value}").expect("writing to a String cannot fail");
        }
    }
}

/// Żmij's text of `value` as `Display` writes it, or `None` where only
/// `Display` writes it: NaN and the infinities (Żmij formats finite numbers
/// only) and numbers Żmij would write with an exponent.
fn shortest(value: f64, buffer: &mut zmij::Buffer) -> Option<&str> {
    if !value.is_finite() {
        return None;
    }
    let text = buffer.format_finite(value);
    if text.as_bytes().contains(&b'e') {
        return None;
    }
    Some(text.strip_suffix(".0").unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of 64-bit words (xorshift), so that a failure
    /// names a value that the next run meets again.
    fn words(mut state: u64) -> impl Iterator<Item = u64> {
        std::iter::repeat_with(move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
    }

    /// What [`push_decimal`] appends, which must be [`Decimal`]'s text.
    fn pushed(value: f64) -> String {
        let mut text = String::new();
        push_decimal(&mut text, value);
        assert_eq!(text, Decimal(value).to_string(), "bits {:#x}", value.to_bits());
        text
    }

    fn assert_as_display(value: f64) {
        pushed(value);
        assert_eq!(
            Decimal(value).to_string(),
            value.to_string(),
            "bits {:#x}",
            value.to_bits()
        );
    }

    /// `Display`'s text, or at a tie its neighbour: the same length, the same
    /// digits but the last, which is even here and one more in `Display`'s.
    fn assert_as_display_or_even_at_a_tie(value: f64) -> bool {
        let ours = pushed(value);
        let core = value.to_string();
        if ours == core {
            return false;
        }
        let (ours_last, core_last) = (ours.as_bytes()[ours.len() - 1], core.as_bytes()[core.len() - 1]);
        let tie = ours.len() == core.len()
            && ours[..ours.len() - 1] == core[..core.len() - 1]
            && ours_last % 2 == 0
            && core_last == ours_last + 1
            && ours.parse::<f64>() == Ok(value);
        assert!(tie, "bits {:#x}: {ours} where Display writes {core}", value.to_bits());
        true
    }

    #[test]
    fn any_bit_pattern_is_written_as_display_writes_it_but_ties_to_even() {
        let mut ties = 0;
        for bits in words(0x9e37_79b9_7f4a_7c15).take(1_000_000) {
            ties += usize::from(assert_as_display_or_even_at_a_tie(f64::from_bits(bits)));
        }
        // The tie of the module's docs (exactly 994236187939.28125), so that
        // the rule above is exercised whatever the stream holds.
        assert!(assert_as_display_or_even_at_a_tie(f64::from_bits(
            0x426c_efa3_08a4_6900
        )));
        assert!(ties < 1_000, "{ties} ties");
    }

    #[test]
    fn coordinates_and_measurements_are_written_as_display_writes_them() {
        for word in words(42).take(300_000) {
            let fraction = (word % 1_000_000_000) as f64 / 1e9;
            assert_as_display(12.0 + fraction); // a latitude of 9 decimals
            assert_as_display(-77.0 - ((word >> 20) % 1_000_000) as f64 / 1e6);
            assert_as_display(((word >> 30) % 100_000) as f64 / 10.0); // metres, one decimal
            assert_as_display((word >> 40) as f64); // integral
        }
    }

    #[test]
    fn edges_are_written_as_display_writes_them() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-5,
            1e-7,
            1e15,
            1e16,
            1.5e16,
            9_007_199_254_740_993.0,
            1e21,
            1e22,
            1e300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for value in edges {
            assert_as_display(value);
        }
    }

    #[test]
    fn formatting_flags_are_core_s() {
        assert_eq!(format!("{:.2}", Decimal(1.005)), format!("{:.2}", 1.005));
        assert_eq!(format!("{:>8}", Decimal(2.5)), "     2.5");
        assert_eq!(format!("{:+}", Decimal(2.5)), "+2.5");
    }

    #[test]
    fn push_decimal_appends() {
        let mut text = String::from("lat=");
        push_decimal(&mut text, 12.5);
        assert_eq!(text, "lat=12.5");
    }
}
