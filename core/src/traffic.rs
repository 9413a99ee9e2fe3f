//! How traffic is split between blue (legacy) and green (new).

use std::fmt;

/// Percent of traffic that goes to green, 0–100. Blue gets the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrafficSplit(u8);

impl TrafficSplit {
    /// No traffic to green: blue answers everything.
    pub const ALL_BLUE: TrafficSplit = TrafficSplit(0);
    /// All traffic to green.
    pub const ALL_GREEN: TrafficSplit = TrafficSplit(100);

    /// `None` outside 0–100.
    pub fn green_percent(p: u8) -> Option<Self> {
        (p <= 100).then_some(Self(p))
    }

    /// The percentage of traffic that goes to green, 0–100.
    pub fn green(self) -> u8 {
        self.0
    }

    /// The percentage of traffic that stays on blue: 100 minus [`TrafficSplit::green`].
    pub fn blue(self) -> u8 {
        100 - self.0
    }

    /// Weights for a weighted record pair or a weighted forward action:
    /// blue = 100 − t, green = t. They always sum to 100, so the all-zero
    /// case (which Route 53 treats as an equal split) never arises.
    pub fn weights(self) -> Weights {
        Weights { blue: u32::from(self.blue()), green: u32::from(self.green()) }
    }

    /// Which side answers: all blue, all green, or both.
    pub fn active(self) -> Active {
        match self.0 {
            0 => Active::Blue,
            100 => Active::Green,
            _ => Active::Split,
        }
    }
}

impl fmt::Display for TrafficSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}% green", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The weights of a weighted pair (Route 53 records or an ALB forward action), as AWS stores them.
pub struct Weights {
    /// Blue's weight; Route 53 allows 0–255, an ALB target group 0–999.
    pub blue: u32,
    /// Green's weight, on the same scale as `blue`.
    pub green: u32,
}

impl Weights {
    /// The share of green as a whole percent, rounded half up:
    /// round(100 · green / (blue + green)). Both zero means Route 53's equal
    /// split, i.e. 50. `None` only if a weight is absent (the caller decides).
    pub fn split(self) -> TrafficSplit {
        let total = u64::from(self.blue) + u64::from(self.green);
        if total == 0 {
            return TrafficSplit(50);
        }
        let pct = (200 * u64::from(self.green) + total) / (2 * total);
        TrafficSplit(u8::try_from(pct.min(100)).unwrap_or(100))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Which side receives traffic.
pub enum Active {
    /// Only blue (green at 0 %).
    Blue,
    /// Only green (green at 100 %).
    Green,
    /// Both sides (green strictly between 0 and 100 %).
    Split,
}

impl Active {
    /// `"blue"`, `"green"` or `"split"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Active::Blue => "blue",
            Active::Green => "green",
            Active::Split => "split",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_100_and_never_both_zero() {
        for p in 0..=100 {
            let w = TrafficSplit::green_percent(p).unwrap().weights();
            assert_eq!(w.blue + w.green, 100);
            assert_eq!(w.split().green(), p, "round trip {p}");
        }
        assert!(TrafficSplit::green_percent(101).is_none());
    }

    #[test]
    fn split_from_foreign_weights_rounds() {
        assert_eq!(Weights { blue: 3, green: 1 }.split().green(), 25);
        assert_eq!(Weights { blue: 2, green: 1 }.split().green(), 33);
        assert_eq!(Weights { blue: 1, green: 2 }.split().green(), 67);
        assert_eq!(Weights { blue: 1, green: 1 }.split().green(), 50);
        assert_eq!(Weights { blue: 0, green: 0 }.split().green(), 50, "all-zero is an equal split");
        assert_eq!(Weights { blue: 0, green: 255 }.split().green(), 100);
        assert_eq!(Weights { blue: 199, green: 1 }.split().green(), 1, "0.5 rounds up");
    }

    #[test]
    fn active_side() {
        assert_eq!(TrafficSplit::ALL_BLUE.active(), Active::Blue);
        assert_eq!(TrafficSplit::ALL_GREEN.active(), Active::Green);
        assert_eq!(TrafficSplit::green_percent(10).unwrap().active(), Active::Split);
    }
}
