//! Parsing of the values user space writes to rgvt's sysfs files.
//!
//! Every tunable goes through here so that the same input is accepted or
//! refused the same way everywhere, and the rules are tested on the host.
//! Input is the raw bytes of a `write(2)`; `echo` adds a newline, so trailing
//! white space is ignored.

/// The input is not a valid value for the file it was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError;

/// Returns `input` without leading and trailing ASCII white space.
pub fn trim(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    input.get(start..end).unwrap_or(&[])
}

/// Parses a decimal `u64` (no sign, no base prefix, at most `u64::MAX`).
pub fn parse_u64(input: &[u8]) -> Result<u64, ParseError> {
    let digits = trim(input);
    if digits.is_empty() {
        return Err(ParseError);
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(ParseError);
        }
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError)
    })
}

/// Parses a decimal `u64` and checks that it lies in `min..=max`.
pub fn parse_u64_in(input: &[u8], min: u64, max: u64) -> Result<u64, ParseError> {
    let v = parse_u64(input)?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ParseError)
    }
}

/// Parses a boolean the way the kernel's `kstrtobool` does for whole words:
/// `1`, `y`, `yes`, `on` and `0`, `n`, `no`, `off`, in any case.
pub fn parse_bool(input: &[u8]) -> Result<bool, ParseError> {
    let word = trim(input);
    const TRUE: [&[u8]; 4] = [b"1", b"y", b"yes", b"on"];
    const FALSE: [&[u8]; 4] = [b"0", b"n", b"no", b"off"];
    if TRUE.iter().any(|t| word.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else if FALSE.iter().any(|f| word.eq_ignore_ascii_case(f)) {
        Ok(false)
    } else {
        Err(ParseError)
    }
}

/// Returns the index of the name in `names` that `input` spells exactly.
pub fn parse_choice(input: &[u8], names: &[&str]) -> Result<usize, ParseError> {
    let word = trim(input);
    names
        .iter()
        .position(|n| n.as_bytes() == word)
        .ok_or(ParseError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_echo_newline_and_spaces() {
        assert_eq!(trim(b"  42\n"), b"42");
        assert_eq!(trim(b"\n"), b"");
        assert_eq!(trim(b""), b"");
    }

    #[test]
    fn u64_accepts_only_plain_decimal() {
        assert_eq!(parse_u64(b"0\n"), Ok(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"\n",
            b"-1",
            b"+1",
            b"0x10",
            b"1 2",
            b"12a",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_u64(bad), Err(ParseError), "{bad:?}");
        }
    }

    #[test]
    fn range_is_inclusive() {
        assert_eq!(parse_u64_in(b"1", 1, 64), Ok(1));
        assert_eq!(parse_u64_in(b"64", 1, 64), Ok(64));
        assert_eq!(parse_u64_in(b"0", 1, 64), Err(ParseError));
        assert_eq!(parse_u64_in(b"65", 1, 64), Err(ParseError));
    }

    #[test]
    fn bool_words() {
        assert_eq!(parse_bool(b"Y\n"), Ok(true));
        assert_eq!(parse_bool(b"off"), Ok(false));
        assert_eq!(parse_bool(b"2"), Err(ParseError));
        assert_eq!(parse_bool(b"yess"), Err(ParseError));
    }

    #[test]
    fn choice_is_exact() {
        let names = ["strict", "full"];
        assert_eq!(parse_choice(b"full\n", &names), Ok(1));
        assert_eq!(parse_choice(b"Full", &names), Err(ParseError));
        assert_eq!(parse_choice(b"stric", &names), Err(ParseError));
    }
}
