//! A string that must never reach a log line.

use std::fmt;

/// Wraps credentials and other secrets: `Debug` and `Display` print a fixed
/// placeholder, so a stray `{:?}` in a tracing call cannot leak the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`; `Debug` and `Display` show it redacted.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call this only where the value is handed to AWS.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("AKIAVERYSECRET");
        assert!(!format!("{s:?}").contains("VERYSECRET"));
        assert!(!format!("{s}").contains("VERYSECRET"));
        assert_eq!(s.expose(), "AKIAVERYSECRET");
    }
}
