// Numbers as text, written the way Rust and Python write them, so that a
// JavaScript plugin's output is byte for byte a Rust or Python plugin's.
//
// JavaScript's own `toFixed` rounds an exact tie up (0.25 → "0.3") where Rust's
// `format!("{:.1}")` and Python's `f"{x:.1f}"` round it to even ("0.2"); it
// drops the sign of -0 and switches to exponents from 1e21 on. `fixed` and
// `shortest` do neither.

const view = new DataView(new ArrayBuffer(8));

/** A finite, non-negative double as mantissa · 2^exponent, exactly. */
function binaryParts(x) {
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  if (biased === 0) {
    return { mantissa: fraction, exponent: -1074 };
  }
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

function nonFinite(x) {
  if (Number.isNaN(x)) {
    return "NaN";
  }
  return x > 0 ? "inf" : "-inf";
}

/**
 * `x` with exactly `digits` decimals (0 to 100), rounded half to even on the
 * double's exact value: Rust's `format!("{x:.digits$}")`, Python's
 * `f"{x:.{digits}f}"`.
 */
export function fixed(x, digits) {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) {
    throw new RangeError(`fixed: digits must be an integer from 0 to 100, got ${digits}`);
  }
  if (!Number.isFinite(x)) {
    return nonFinite(x);
  }
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const { mantissa, exponent } = binaryParts(Math.abs(x));
  const scale = 10n ** BigInt(digits);
  let scaled;
  if (exponent >= 0) {
    scaled = (mantissa << BigInt(exponent)) * scale;
  } else {
    const numerator = mantissa * scale;
    const denominator = 1n << BigInt(-exponent);
    scaled = numerator / denominator;
    const twice = 2n * (numerator % denominator);
    if (twice > denominator || (twice === denominator && (scaled & 1n) === 1n)) {
      scaled += 1n;
    }
  }
  const text = scaled.toString().padStart(digits + 1, "0");
  if (digits === 0) {
    return sign + text;
  }
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/**
 * The shortest text that reads back as `x`, never with an exponent: Rust's
 * `format!("{x}")` (1 → "1", 1e21 → "1000000000000000000000", 1e-7 →
 * "0.0000001").
 */
export function shortest(x) {
  if (!Number.isFinite(x)) {
    return nonFinite(x);
  }
  if (Object.is(x, -0)) {
    return "-0";
  }
  const sign = x < 0 ? "-" : "";
  const text = String(Math.abs(x));
  const e = text.indexOf("e");
  if (e < 0) {
    return sign + text;
  }
  // d.ddde±n: the digits, and where the point falls among them.
  const digits = text.slice(0, e).replace(".", "");
  const point = 1 + Number(text.slice(e + 1));
  if (point >= digits.length) {
    return sign + digits + "0".repeat(point - digits.length);
  }
  if (point <= 0) {
    return `${sign}0.${"0".repeat(-point)}${digits}`;
  }
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
