//! Planning one apply's walk from the current split to the target.

use std::time::Duration;

use crate::traffic::TrafficSplit;

/// How an apply moves green traffic up: through `steps`, waiting `bake`
/// after each while gates are re-checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollout {
    /// Intermediate green percentages, strictly increasing, each in 1–99.
    pub steps: Vec<u8>,
    /// How long each intermediate step holds, with the gate re-checked, before the next.
    pub bake: Duration,
}

impl Rollout {
    /// Checks the steps; returns (index, problem) for the first bad one.
    pub fn check_steps(steps: &[i64]) -> Result<(), (usize, String)> {
        for (i, &s) in steps.iter().enumerate() {
            if !(1..=99).contains(&s) {
                return Err((i, format!("step {s} is not an intermediate percentage; steps must lie strictly between 0 and 100")));
            }
            if i > 0 {
                let prev = steps[i - 1];
                if s == prev {
                    return Err((i, format!("step {s} appears twice")));
                }
                if s < prev {
                    return Err((
                        i,
                        format!("step {s} comes after {prev}; list steps in increasing order (the order green traffic travels)"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One stop on the way to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutStep {
    /// The split this stop writes.
    pub split: TrafficSplit,
    /// Whether to bake after this stop (not after the final target).
    pub bake: bool,
}

/// The stops one apply makes. Increasing green traffic walks the configured
/// steps that lie strictly between `from` and `to`; decreasing it (a
/// rollback) goes straight to the target, because a rollback must be quick
/// and must never depend on the rollout settings.
pub fn plan_path(from: TrafficSplit, to: TrafficSplit, rollout: Option<&Rollout>) -> Vec<RolloutStep> {
    if from == to {
        return Vec::new();
    }
    let mut path: Vec<RolloutStep> = Vec::new();
    if to > from {
        if let Some(r) = rollout {
            let mut steps: Vec<u8> = r.steps.iter().copied().filter(|s| *s > from.green() && *s < to.green()).collect();
            steps.sort_unstable();
            steps.dedup();
            path.extend(steps.into_iter().filter_map(TrafficSplit::green_percent).map(|split| RolloutStep { split, bake: true }));
        }
    }
    path.push(RolloutStep { split: to, bake: false });
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: u8) -> TrafficSplit {
        TrafficSplit::green_percent(p).unwrap()
    }

    fn greens(path: &[RolloutStep]) -> Vec<u8> {
        path.iter().map(|s| s.split.green()).collect()
    }

    #[test]
    fn increasing_walks_steps_strictly_between() {
        let r = Rollout { steps: vec![10, 50], bake: Duration::from_secs(60) };
        assert_eq!(greens(&plan_path(t(0), t(100), Some(&r))), [10, 50, 100]);
        assert_eq!(greens(&plan_path(t(10), t(100), Some(&r))), [50, 100], "a step already reached is not repeated");
        assert_eq!(greens(&plan_path(t(0), t(50), Some(&r))), [10, 50], "the target itself is not a step");
        assert_eq!(greens(&plan_path(t(60), t(100), Some(&r))), [100]);
        let p = plan_path(t(0), t(100), Some(&r));
        assert!(p[0].bake && p[1].bake && !p[2].bake);
    }

    #[test]
    fn decreasing_goes_straight_to_the_target() {
        let r = Rollout { steps: vec![10, 50], bake: Duration::from_secs(60) };
        assert_eq!(greens(&plan_path(t(100), t(0), Some(&r))), [0]);
        assert_eq!(greens(&plan_path(t(50), t(10), None)), [10]);
    }

    #[test]
    fn no_change_no_path() {
        assert!(plan_path(t(30), t(30), None).is_empty());
    }

    #[test]
    fn step_checks() {
        assert!(Rollout::check_steps(&[5, 25, 50]).is_ok());
        assert_eq!(Rollout::check_steps(&[0, 50]).unwrap_err().0, 0);
        assert_eq!(Rollout::check_steps(&[10, 100]).unwrap_err().0, 1);
        assert_eq!(Rollout::check_steps(&[10, 10]).unwrap_err().0, 1);
        assert!(Rollout::check_steps(&[10, 10]).unwrap_err().1.contains("twice"));
        assert!(Rollout::check_steps(&[50, 10]).unwrap_err().1.contains("increasing"));
    }
}
