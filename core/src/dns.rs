//! Spelling rules for Route 53 names and ids, so that `API.Example.com` and
//! `api.example.com.` are recognised as the same record everywhere.

/// Canonical form of a DNS name as Route 53 returns it: lower case, with one
/// trailing dot. Route 53 escapes `*` in returned names as `\052`; we turn it
/// back so comparisons with configuration work.
pub fn canonical_name(name: &str) -> String {
    let mut n = name.trim().replace("\\052", "*").to_ascii_lowercase();
    while n.ends_with("..") {
        n.pop();
    }
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

/// The name without its trailing dot, as users usually write it.
pub fn display_name(name: &str) -> String {
    canonical_name(name).trim_end_matches('.').to_string()
}

/// Route 53 hands out ids as `/hostedzone/Z123` or `/change/C123`; users and
/// other providers use the bare id. Accept both and return the bare id.
pub fn bare_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// Whether `name` is `zone` itself or a name inside it.
pub fn is_within_zone(name: &str, zone: &str) -> bool {
    let name = canonical_name(name);
    let zone = canonical_name(zone);
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Checks a DNS name the way Route 53 will, so that mistakes surface at plan
/// time. Returns a sentence describing the first problem.
pub fn check_name(name: &str) -> Result<(), String> {
    let trimmed = name.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 255 {
        return Err(format!("the name is {} characters long; DNS allows at most 255", name.len()));
    }
    for (i, label) in trimmed.split('.').enumerate() {
        if label.is_empty() {
            return Err(format!("label {} is empty (two dots in a row?)", i + 1));
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is {} characters long; DNS allows at most 63", label.len()));
        }
        if label == "*" && i == 0 {
            continue;
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(format!("label {label:?} contains {c:?}; use letters, digits, '-' and '_' (or a leading '*.')"));
        }
    }
    Ok(())
}

/// Checks a hosted zone id (`Z…`, optionally prefixed `/hostedzone/`).
pub fn check_zone_id(id: &str) -> Result<(), String> {
    let bare = id.strip_prefix("/hostedzone/").unwrap_or(id);
    if bare.is_empty() || bare.len() > 32 || !bare.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return Err(format!("{id:?} is not a hosted zone id; expected upper-case letters and digits such as \"Z0123456789ABCDEFGHIJ\""));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_name_ignores_case_and_trailing_dot() {
        assert_eq!(canonical_name("API.Example.com"), "api.example.com.");
        assert_eq!(canonical_name("api.example.com."), "api.example.com.");
        assert_eq!(canonical_name("\\052.example.com."), "*.example.com.");
        assert_eq!(display_name("api.example.com."), "api.example.com");
    }

    #[test]
    fn bare_id_strips_the_path() {
        assert_eq!(bare_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_id("Z123"), "Z123");
        assert_eq!(bare_id("/change/C9"), "C9");
    }

    #[test]
    fn zone_membership() {
        assert!(is_within_zone("api.example.com", "example.com."));
        assert!(is_within_zone("example.com", "example.com"));
        assert!(!is_within_zone("badexample.com", "example.com"));
    }

    #[test]
    fn name_checks() {
        assert!(check_name("api.example.com").is_ok());
        assert!(check_name("*.example.com").is_ok());
        assert!(check_name("a..b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("sp ace.example.com").is_err());
        assert!(check_name(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn zone_id_checks() {
        assert!(check_zone_id("Z0123456789ABCDEFGHIJ").is_ok());
        assert!(check_zone_id("/hostedzone/Z01234").is_ok());
        assert!(check_zone_id("z-lower").is_err());
        assert!(check_zone_id("").is_err());
    }
}
