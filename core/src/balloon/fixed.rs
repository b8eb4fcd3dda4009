//! Fixed-point decimals in thousandths, and the byte parsers sysfs writes go through.
//!
//! The kernel build has no floating point, so Φ, W, C and the thresholds are kept in thousandths
//! (`0.5` is `Milli(500)`). The parsers take the raw bytes of a sysfs write (a trailing newline
//! is allowed) and reject anything else with [`Error::Invalid`], which the glue turns into
//! `-EINVAL`.

use crate::gm::Error;
use core::fmt;

/// A non-negative decimal in thousandths (`Milli(1500)` is 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Milli(pub u32);

impl Milli {
    /// One, as thousandths.
    pub const ONE: Milli = Milli(1000);

    /// Parses `"1"`, `"0.5"`, `"1.25\n"`: digits, an optional point and at most three decimals.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let s = crate::parse::trim(bytes);
        let (int, frac) = match s.iter().position(|&b| b == b'.') {
            Some(dot) => (&s[..dot], &s[dot + 1..]),
            None => (s, &[][..]),
        };
        if int.is_empty() || frac.len() > 3 || (s.len() > int.len() && frac.is_empty()) {
            return Err(Error::Invalid);
        }
        let mut v = digits(int)?.checked_mul(1000).ok_or(Error::Invalid)?;
        let mut scale = 100;
        for &b in frac {
            if !b.is_ascii_digit() {
                return Err(Error::Invalid);
            }
            v = v
                .checked_add(u32::from(b - b'0') * scale)
                .ok_or(Error::Invalid)?;
            scale /= 10;
        }
        Ok(Milli(v))
    }

    /// Returns `num / den` in thousandths, clamped to 1.0 (0 when `den` is 0).
    pub fn ratio(num: u64, den: u64) -> Milli {
        if den == 0 {
            return Milli(0);
        }
        if num >= den {
            return Milli::ONE;
        }
        // Scale both down so that `num * 1000` cannot overflow; the ratio keeps its precision.
        let (mut n, mut d) = (num, den);
        while n > u64::MAX / 1000 {
            n >>= 1;
            d >>= 1;
        }
        // `n < d`, so the quotient is below 1000.
        Milli((n * 1000 / d.max(1)) as u32)
    }
}

impl fmt::Display for Milli {
    /// Prints `0.5`, `1.0`, `1.25`: at least one decimal, no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, mut frac, mut width) = (self.0 / 1000, self.0 % 1000, 3);
        while width > 1 && frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{int}.{frac:0width$}")
    }
}

fn digits(s: &[u8]) -> Result<u32, Error> {
    let v = crate::parse::parse_u64(s).map_err(|_| Error::Invalid)?;
    u32::try_from(v).map_err(|_| Error::Invalid)
}

/// Parses a decimal `u32` such as `"500\n"`.
pub(crate) fn parse_u32(bytes: &[u8]) -> Result<u32, Error> {
    digits(bytes)
}

/// Parses a boolean the way `kstrtobool` does (see [`crate::parse::parse_bool`]).
pub(crate) fn parse_bool(bytes: &[u8]) -> Result<bool, Error> {
    crate::parse::parse_bool(bytes).map_err(|_| Error::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn parses_decimals() {
        for (s, v) in [
            (&b"0.5"[..], 500),
            (b"1", 1000),
            (b"1.0\n", 1000),
            (b" 0.25 ", 250),
            (b"2.000", 2000),
            (b"0.001", 1),
            (b"0", 0),
            (b"4294967.295", u32::MAX),
        ] {
            assert_eq!(Milli::parse(s), Ok(Milli(v)), "{s:?}");
        }
        for s in [
            &b""[..],
            b".5",
            b"1.",
            b"0.0001",
            b"-1",
            b"1e3",
            b"0.5x",
            b"4294968",
            b"4294967.999",
            b"1..0",
            b"\n",
        ] {
            assert_eq!(Milli::parse(s), Err(Error::Invalid), "{s:?}");
        }
    }

    #[test]
    fn formats_decimals() {
        for (v, s) in [
            (500, "0.5"),
            (1000, "1.0"),
            (1250, "1.25"),
            (7, "0.007"),
            (0, "0.0"),
        ] {
            assert_eq!(Milli(v).to_string(), s);
            assert_eq!(Milli::parse(s.as_bytes()), Ok(Milli(v)));
        }
    }

    #[test]
    fn ratios_and_ints() {
        assert_eq!(Milli::ratio(1, 2), Milli(500));
        assert_eq!(Milli::ratio(3, 2), Milli::ONE);
        assert_eq!(Milli::ratio(1, 0), Milli(0));
        assert_eq!(Milli::ratio(u64::MAX / 2, u64::MAX), Milli(499));
        assert_eq!(parse_u32(b"500\n"), Ok(500));
        assert_eq!(parse_u32(b"4294967296"), Err(Error::Invalid));
        assert_eq!(parse_bool(b"on\n"), Ok(true));
        assert_eq!(parse_bool(b"N"), Ok(false));
        assert_eq!(parse_bool(b"2"), Err(Error::Invalid));
    }
}
