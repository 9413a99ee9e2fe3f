//! Health gates: what must be true of green before more traffic goes to it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::aws::elbv2::Elbv2Api;
use crate::legacy::{target_group_health, HealthCounts};
use crate::probe::{self, ProbeUrl};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthGate {
    /// Each must have at least `min_healthy_targets` healthy targets.
    pub target_group_arns: Vec<String>,
    pub min_healthy_targets: u32,
    pub http_check: Option<HttpCheck>,
}

/// Green checked through its own path (its own ALB hostname), before users
/// reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub url: ProbeUrl,
    /// As written, for messages.
    pub url_text: String,
    pub host_header: Option<String>,
    pub expect_status: Vec<u16>,
    pub insecure_tls: bool,
    pub timeout: Duration,
}

/// Which gate failed and what was seen, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFailure {
    /// The configuration that failed, e.g. `health_gate.min_healthy_targets`.
    pub gate: String,
    pub observation: String,
}

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.gate, self.observation)
    }
}

/// What a gate looks at, behind a trait so tests can script it.
#[async_trait]
pub trait GateProbe: Send + Sync {
    async fn target_health(&self, target_group_arn: &str) -> Result<HealthCounts, String>;
    async fn http_status(&self, check: &HttpCheck) -> Result<u16, String>;
}

/// The real probe: ELBv2 target health and an HTTP GET.
pub struct AwsGateProbe {
    pub elbv2: Arc<dyn Elbv2Api>,
}

#[async_trait]
impl GateProbe for AwsGateProbe {
    async fn target_health(&self, arn: &str) -> Result<HealthCounts, String> {
        target_group_health(self.elbv2.as_ref(), arn).await.map_err(|e| e.to_string())
    }

    async fn http_status(&self, c: &HttpCheck) -> Result<u16, String> {
        probe::http_status(&c.url, c.host_header.as_deref(), c.insecure_tls, c.timeout).await
    }
}

impl HealthGate {
    /// Checks every condition; the first failure is returned. A check that
    /// cannot be made (AWS error, no answer) fails the gate: more traffic
    /// goes to green only on evidence that it is healthy.
    pub async fn evaluate(&self, probe: &dyn GateProbe) -> Result<Vec<String>, GateFailure> {
        let mut seen = Vec::new();
        for arn in &self.target_group_arns {
            let name = short_tg_name(arn);
            match probe.target_health(arn).await {
                Ok(c) if c.healthy >= self.min_healthy_targets => {
                    seen.push(format!("target group {name}: {} of {} targets healthy", c.healthy, c.total));
                }
                Ok(c) => {
                    let seen = if c.total == 0 {
                        "has no registered targets".to_string()
                    } else {
                        format!("has {} healthy target(s) of {} registered{}", c.healthy, c.total, describe_states(&c))
                    };
                    return Err(GateFailure {
                        gate: "health_gate.min_healthy_targets".into(),
                        observation: format!("target group {name} {seen}; at least {} healthy required", self.min_healthy_targets),
                    });
                }
                Err(e) => {
                    return Err(GateFailure {
                        gate: "health_gate.target_group_arns".into(),
                        observation: format!("could not read the health of target group {name}: {e}"),
                    })
                }
            }
        }
        if let Some(check) = &self.http_check {
            let host = check.host_header.as_deref().map(|h| format!(" (Host: {h})")).unwrap_or_default();
            match probe.http_status(check).await {
                Ok(code) if check.expect_status.contains(&code) => seen.push(format!("GET {}{host} answered {code}", check.url_text)),
                Ok(code) => {
                    return Err(GateFailure {
                        gate: "health_gate.http_check".into(),
                        observation: format!("GET {}{host} answered {code}; expected {}", check.url_text, list(&check.expect_status)),
                    })
                }
                Err(e) => {
                    return Err(GateFailure {
                        gate: "health_gate.http_check".into(),
                        observation: format!("GET {}{host} failed: {e}", check.url_text),
                    })
                }
            }
        }
        Ok(seen)
    }
}

fn list(codes: &[u16]) -> String {
    codes.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
}

fn describe_states(c: &HealthCounts) -> String {
    if c.by_state.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = c.by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!(" ({})", parts.join(", "))
}

/// `targetgroup/<name>/<id>` → `<name>`, for readable messages.
pub fn short_tg_name(arn: &str) -> &str {
    arn.split(":targetgroup/").nth(1).and_then(|r| r.split('/').next()).unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Scripted {
        health: HashMap<String, Result<HealthCounts, String>>,
        http: Result<u16, String>,
    }

    #[async_trait]
    impl GateProbe for Scripted {
        async fn target_health(&self, arn: &str) -> Result<HealthCounts, String> {
            self.health.get(arn).cloned().unwrap_or_else(|| Err("no such target group".into()))
        }
        async fn http_status(&self, _c: &HttpCheck) -> Result<u16, String> {
            self.http.clone()
        }
    }

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ecs/0123456789abcdef";

    fn gate(http: bool) -> HealthGate {
        HealthGate {
            target_group_arns: vec![TG.into()],
            min_healthy_targets: 1,
            http_check: http.then(|| HttpCheck {
                url: ProbeUrl::parse("https://new-alb/healthz").unwrap(),
                url_text: "https://new-alb/healthz".into(),
                host_header: Some("api.example.com".into()),
                expect_status: vec![200],
                insecure_tls: true,
                timeout: Duration::from_secs(5),
            }),
        }
    }

    fn probe(healthy: &[&str], http: Result<u16, String>) -> Scripted {
        Scripted { health: [(TG.to_string(), Ok(HealthCounts::from_states(healthy.iter().copied())))].into(), http }
    }

    #[tokio::test]
    async fn passes_with_healthy_targets_and_expected_status() {
        let seen = gate(true).evaluate(&probe(&["healthy", "healthy"], Ok(200))).await.unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].contains("ecs: 2 of 2 targets healthy"), "{seen:?}");
    }

    #[tokio::test]
    async fn empty_target_group_fails_naming_the_gate() {
        let f = gate(false).evaluate(&probe(&[], Ok(200))).await.unwrap_err();
        assert_eq!(f.gate, "health_gate.min_healthy_targets");
        assert_eq!(f.observation, "target group ecs has no registered targets; at least 1 healthy required");
    }

    #[tokio::test]
    async fn unhealthy_states_are_listed() {
        let f = gate(false).evaluate(&probe(&["unhealthy", "initial"], Ok(200))).await.unwrap_err();
        assert_eq!(
            f.observation,
            "target group ecs has 0 healthy target(s) of 2 registered (1 initial, 1 unhealthy); at least 1 healthy required"
        );
    }

    #[tokio::test]
    async fn wrong_status_fails_the_http_check() {
        let f = gate(true).evaluate(&probe(&["healthy"], Ok(503))).await.unwrap_err();
        assert_eq!(f.gate, "health_gate.http_check");
        assert_eq!(f.observation, "GET https://new-alb/healthz (Host: api.example.com) answered 503; expected 200");
    }

    #[tokio::test]
    async fn an_unreadable_gate_fails_closed() {
        let p = Scripted { health: HashMap::new(), http: Ok(200) };
        let f = gate(false).evaluate(&p).await.unwrap_err();
        assert_eq!(f.gate, "health_gate.target_group_arns");
        let f = gate(true).evaluate(&probe(&["healthy"], Err("connection refused".into()))).await.unwrap_err();
        assert!(f.observation.contains("failed: connection refused"));
    }
}
