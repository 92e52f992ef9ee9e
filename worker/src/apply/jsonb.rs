//! What Postgres `jsonb` refuses in JSON that parses: a number outside the range of
//! `numeric`, or nesting deeper than we let reach Postgres. A user's `data` is bound
//! as the text received (see `Envelope::parse_for_apply`), so serde's own reading of
//! a number (`1e-20000` reads as 0.0) says nothing about what Postgres will do with
//! it; this scan finds such a value before the transaction, and names where it is.
//!
//! The limits, from Postgres's `numeric` (checked on PostgreSQL 15): at most 16383
//! digits after the decimal point (`1e-16383` is accepted, `1e-16384` and
//! `0e-20000` are not: "value overflows numeric format") and at most 131072 before
//! it (`1e131071` is accepted, `1e131072` is not). Nesting: `jsonb` has no fixed
//! limit, it fails with "stack depth limit exceeded" (54001) at a depth set by
//! `max_stack_depth` (between 6000 and 20000 at the default 2 MB); we refuse more
//! than [`MAX_DEPTH`], serde_json's own limit, so a user's `data` is held to the
//! same bound as every other value we parse.

/// Digits after the decimal point `numeric` holds at most (`NUMERIC_DSCALE_MAX`).
const MAX_FRACTION_DIGITS: i64 = 16_383;
/// Digits before the decimal point `numeric` holds at most.
const MAX_INTEGER_DIGITS: i64 = 131_072;
/// Nesting (arrays and objects) allowed at most: serde_json's recursion limit.
pub const MAX_DEPTH: usize = 128;

/// Where the scan is inside the document.
enum Frame<'a> {
    Object { key: Option<&'a str> },
    Array { index: usize },
}

/// Checks `text` (valid JSON, found at `root`, e.g. `data`) for what `jsonb`
/// refuses. The error names the value's path: `data.public_metadata.x: number
/// 1e-20000 is outside what Postgres jsonb accepts`.
pub fn check(text: &str, root: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "{}: nesting deeper than {MAX_DEPTH} levels, which clerk-sync does not pass to Postgres jsonb",
                        path(root, &stack)
                    ));
                }
                stack.push(if bytes[i] == b'{' {
                    expect_key = true;
                    Frame::Object { key: None }
                } else {
                    Frame::Array { index: 0 }
                });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Array { index }) => *index += 1,
                    Some(Frame::Object { key }) => {
                        *key = None;
                        expect_key = true;
                    }
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let end = string_end(bytes, i + 1);
                if expect_key {
                    if let Some(Frame::Object { key }) = stack.last_mut() {
                        *key = text.get(i + 1..end);
                    }
                    expect_key = false;
                }
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .map_or(bytes.len(), |n| i + n);
                let number = text.get(i..end).unwrap_or_default();
                if !numeric_accepts(number) {
                    return Err(format!(
                        "{}: number {} is outside what Postgres jsonb accepts",
                        path(root, &stack),
                        shorten(number)
                    ));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The index of the `"` that ends the string starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn path(root: &str, stack: &[Frame]) -> String {
    let mut out = root.to_owned();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(key) } => {
                out.push('.');
                out.push_str(key);
            }
            Frame::Object { key: None } => {}
            Frame::Array { index } => out.push_str(&format!("[{index}]")),
        }
        if out.len() > 200 {
            out.push_str("...");
            break;
        }
    }
    out
}

fn shorten(number: &str) -> String {
    match number.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &number[..at]),
        None => number.to_owned(),
    }
}

/// Whether Postgres's `numeric` input accepts the JSON number `n`.
fn numeric_accepts(n: &str) -> bool {
    let n = n.strip_prefix('-').unwrap_or(n);
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(at) => (&n[..at], &n[at + 1..]),
        None => (n, "0"),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // A huge exponent saturates; Postgres refuses those at once.
    let exponent: i64 = match exponent.parse::<i64>() {
        Ok(e) if e.unsigned_abs() < i64::from(i32::MAX / 2) as u64 => e,
        _ => return false,
    };
    let fraction_len = i64::try_from(fraction.len()).unwrap_or(i64::MAX);
    if fraction_len.saturating_sub(exponent) > MAX_FRACTION_DIGITS {
        return false;
    }
    let digits = integer.bytes().chain(fraction.bytes());
    let Some(first_nonzero) = digits.clone().position(|b| b != b'0') else {
        return true; // zero
    };
    let integer_len = i64::try_from(integer.len()).unwrap_or(i64::MAX);
    let first = i64::try_from(first_nonzero).unwrap_or(i64::MAX);
    // The power of ten of the first significant digit.
    let magnitude = integer_len - 1 - first + exponent;
    magnitude < MAX_INTEGER_DIGITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_by_postgres_numeric_limits() {
        for ok in [
            "0",
            "-0",
            "1",
            "1.5",
            "1e-16383",
            "1e131071",
            "12e131070",
            "0.5e-16382",
            "1e300",
            "5e-324",
            "-123.456e7",
            "0.000",
        ] {
            assert!(numeric_accepts(ok), "{ok}");
        }
        for bad in [
            "1e-16384",
            "0.1e-16383",
            "0e-20000",
            "1e-20000",
            "1e131072",
            "10e131071",
            "1e9999999999",
        ] {
            assert!(!numeric_accepts(bad), "{bad}");
        }
    }

    #[test]
    fn the_reason_names_the_field() {
        assert_eq!(
            check(
                r#"{"a":"1e-20000","public_metadata":{"y":[1,2],"x":1e-20000}}"#,
                "data"
            ),
            Err(
                "data.public_metadata.x: number 1e-20000 is outside what Postgres jsonb accepts"
                    .into()
            )
        );
        assert_eq!(
            check(r#"{"k\"q":[0, {"z": [3, 1e131072]}]}"#, "data"),
            Err(
                r#"data.k\"q[1].z[1]: number 1e131072 is outside what Postgres jsonb accepts"#
                    .into()
            )
        );
        assert!(check(r#"{"a":"[[[[1e-20000","b":[1e-16383]}"#, "data").is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(check(&at_limit, "data").is_ok());
        let deeper = format!(
            r#"{{"m":{}{}}}"#,
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let err = check(&deeper, "data").expect_err("too deep");
        assert!(err.starts_with("data.m[0][0]"), "{err}");
        assert!(err.contains("nesting deeper than 128"), "{err}");
    }
}
