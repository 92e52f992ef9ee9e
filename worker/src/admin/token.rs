//! `ADMIN_TOKEN`: the secret that opens the operator page. Never printed, compared in
//! constant time.

use std::fmt;

use subtle::ConstantTimeEq;

/// Shortest token accepted: shorter ones are too easy to guess.
pub const MIN_LEN: usize = 16;

/// The operator page's token. Its `Debug` shows no part of it.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// Checks the length; the caller names the variable in its error.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.len() < MIN_LEN {
            return Err(format!("must be at least {MIN_LEN} characters"));
        }
        Ok(Self(value.to_owned()))
    }

    /// Whether `candidate` is the token. The time taken does not depend on where the
    /// two first differ.
    pub fn verify(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.trim().as_bytes())
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken([redacted])")
    }
}

/// Compares two byte strings in constant time (for strings of equal length; a
/// different length is a mismatch at once, which tells only the length).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_refused() {
        assert!(AdminToken::parse("short").is_err());
        assert!(AdminToken::parse("                    ").is_err());
    }

    #[test]
    fn only_the_exact_token_verifies() {
        let t = AdminToken::parse("0123456789abcdef-secret").expect("long enough");
        assert!(t.verify("0123456789abcdef-secret"));
        assert!(!t.verify("0123456789abcdef-secreT"));
        assert!(!t.verify("0123456789abcdef-secret-and-more"));
        assert!(!t.verify(""));
    }

    #[test]
    fn debug_shows_no_part_of_the_token() {
        let t = AdminToken::parse("0123456789abcdef-secret").expect("long enough");
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("0123"),
            "{shown}"
        );
    }
}
