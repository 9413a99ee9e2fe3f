//! `http://` and `https://` URLs from the configuration (endpoint overrides, health-check URLs),
//! parsed by the `url` crate. What is wrong comes back as a [`UrlFault`]; each caller words it
//! for its own diagnostic.

use url::{ParseError, Url};

/// Why a text is not a usable `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlFault {
    /// White space or a control character anywhere (the `url` crate would drop some silently).
    WhiteSpace,
    /// Not `http://` or `https://` (lower case, as written).
    NotHttp,
    /// No host name after the scheme.
    NoHost,
    /// The port as written, not a number from 0 to 65535.
    BadPort(String),
    /// Anything else the `url` crate refuses, in its words.
    Invalid(String),
    /// A user name or password before the host (`https://user:pass@host`):
    /// a secret in the configuration, never echoed (see [`redact`]).
    UserInfo,
}

/// The text with any userinfo (`user:pass@`) of its authority replaced by
/// `***@`, for quoting a URL in a message or a log line. Works on text that is
/// not a valid URL too.
pub fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &text[..scheme_end], &rest[at + 1..]),
        None => text.to_string(),
    }
}

/// Parses an absolute `http://` or `https://` URL.
pub fn parse(text: &str) -> Result<Url, UrlFault> {
    if redact(text) != text {
        return Err(UrlFault::UserInfo);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlFault::WhiteSpace);
    }
    let Some(rest) = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")) else {
        return Err(UrlFault::NotHttp);
    };
    // The URL standard skips extra slashes (`https:///x` is host `x`); a missing host is a mistake.
    if rest.starts_with(['/', '\\']) {
        return Err(UrlFault::NoHost);
    }
    match Url::parse(text) {
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Err(UrlFault::NoHost),
        Ok(url) => Ok(url),
        Err(ParseError::EmptyHost) => Err(UrlFault::NoHost),
        Err(ParseError::InvalidPort) => {
            // Only to quote it: the text after the authority's last colon.
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let port = authority.rsplit_once(':').map_or(authority, |(_, p)| p);
            Err(UrlFault::BadPort(port.to_string()))
        }
        Err(e) => Err(UrlFault::Invalid(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults() {
        assert_eq!(parse("http://127.0.0.1:4566").map(|u| u.port()), Ok(Some(4566)));
        assert_eq!(parse("https://[::1]:81/a?b#c").map(|u| u.port()), Ok(Some(81)));
        assert_eq!(parse("http://a b/"), Err(UrlFault::WhiteSpace));
        assert_eq!(parse("http://a\u{7f}b/"), Err(UrlFault::WhiteSpace));
        for not_http in ["ftp://x", "localhost:4566", "HTTP://x", "example.com/healthz", ""] {
            assert_eq!(parse(not_http), Err(UrlFault::NotHttp), "{not_http}");
        }
        assert_eq!(parse("http://"), Err(UrlFault::NoHost));
        assert_eq!(parse("https:///path"), Err(UrlFault::NoHost));
        assert_eq!(parse("http://host:99999"), Err(UrlFault::BadPort("99999".into())));
        assert_eq!(parse("http://host:abc/x"), Err(UrlFault::BadPort("abc".into())));
        assert_eq!(parse("http://[::1]:70000"), Err(UrlFault::BadPort("70000".into())));
        assert!(matches!(parse("http://[::1/"), Err(UrlFault::Invalid(_))));
        assert!(matches!(parse("http://a<b/"), Err(UrlFault::Invalid(_))));
        for with_userinfo in
            ["https://user:s3cret@host/", "http://user@host", "https://:s3cret@host:8443/x", "https://u:p@a b/", "ftp://u:p@h/"]
        {
            assert_eq!(parse(with_userinfo), Err(UrlFault::UserInfo), "{with_userinfo}");
        }
        assert!(parse("https://host/path@x").is_ok(), "an @ after the authority is no userinfo");
    }

    #[test]
    fn redact_hides_userinfo_only() {
        assert_eq!(redact("https://user:s3cret@host:8443/p?q=1"), "https://***@host:8443/p?q=1");
        assert_eq!(redact("http://a:b@c@host/"), "http://***@host/");
        assert_eq!(redact("https://u:p@a b/"), "https://***@a b/");
        assert_eq!(redact("https://host/a@b"), "https://host/a@b");
        assert_eq!(redact("no url at all"), "no url at all");
    }
}
