//! What the resources of one plan claim, so two of them cannot silently
//! manage the same thing.
//!
//! Terraform plans every resource of a configuration through one provider
//! process, one `PlanResourceChange` at a time or concurrently. Two switches on
//! one record set (`api.example.com` and `API.example.com.` are one name to
//! Route 53), or two canaries on one listener priority, would each "succeed"
//! and then undo each other on every apply. Each plan registers what it will
//! own here; the second claimant of a key gets an error naming the first.
//!
//! A claim is told apart from the same resource planned again (Terraform plans
//! a replacement twice, the second time without prior state) by a
//! fingerprint of the claimant's configuration: the same configuration is the
//! same resource. Two resources with byte-identical configurations are
//! therefore not caught here; their creates race at apply, where the loser's
//! write is refused by AWS and reported (see `core::readback`).

use std::collections::HashMap;
use std::sync::Mutex;

/// One thing a resource manages, in a spelling-independent form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClaimKey {
    /// A Route 53 name and type in a zone (bare zone id, canonical name).
    RecordSet { zone: String, name: String, record_type: String },
    /// A rule priority on an ALB listener.
    Priority { listener: String, priority: i64 },
}

/// Who claimed a key: a fingerprint of its configuration and how the user
/// spelled the thing (for the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    pub fingerprint: String,
    pub spelling: String,
}

/// The claims of this provider process.
#[derive(Debug, Default)]
pub struct Claims {
    held: Mutex<HashMap<ClaimKey, Claimant>>,
}

impl Claims {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `by` for `key`. Returns the other claimant when a different
    /// configuration holds the key already; the first claim stays.
    pub fn claim(&self, key: ClaimKey, by: Claimant) -> Option<Claimant> {
        let mut held = self.held.lock().expect("claims lock");
        match held.get(&key) {
            Some(other) if other.fingerprint != by.fingerprint => Some(other.clone()),
            Some(_) => None,
            None => {
                held.insert(key, by);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs() -> ClaimKey {
        ClaimKey::RecordSet { zone: "Z1".into(), name: "api.example.com.".into(), record_type: "A".into() }
    }

    fn by(f: &str, s: &str) -> Claimant {
        Claimant { fingerprint: f.into(), spelling: s.into() }
    }

    #[test]
    fn a_second_configuration_on_a_key_is_named_the_same_one_is_not() {
        let c = Claims::new();
        assert_eq!(c.claim(rs(), by("a", "api.example.com")), None);
        assert_eq!(c.claim(rs(), by("a", "api.example.com")), None, "the same resource planned again");
        assert_eq!(c.claim(rs(), by("b", "API.example.com.")), Some(by("a", "api.example.com")));
        let p = |n| ClaimKey::Priority { listener: "l".into(), priority: n };
        assert_eq!(c.claim(p(10), by("x", "10")), None);
        assert_eq!(c.claim(p(11), by("y", "11")), None);
        assert_eq!(c.claim(p(10), by("y", "10")), Some(by("x", "10")));
    }
}
