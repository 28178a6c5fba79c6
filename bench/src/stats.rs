//! Small statistics over samples.

use serde_json::{json, Value};

/// The value at quantile `q` (0..=1) of sorted samples (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub fn median(samples: &[f64]) -> Option<f64> {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    quantile(&s, 0.5)
}

/// p50 / p99 / max of a latency distribution.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spread {
    pub n: usize,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Spread {
    pub fn of(samples: &[f64]) -> Spread {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        Spread { n: s.len(), p50: quantile(&s, 0.5), p99: quantile(&s, 0.99), max: s.last().copied() }
    }

    pub fn json(&self) -> Value {
        json!({"n": self.n, "p50": self.p50, "p99": self.p99, "max": self.max})
    }
}

/// Consecutive differences of increasing stamps (ns), in µs.
pub fn gaps_us(stamps: &[u64]) -> Vec<f64> {
    stamps.windows(2).map(|w| w[1].saturating_sub(w[0]) as f64 / 1000.0).collect()
}

/// Least-squares line through `ys` taken at x = 0, 1, 2, …: its slope per step and the slope's
/// standard error (`None` with fewer than three points).
pub fn slope(ys: &[f64]) -> Option<(f64, f64)> {
    let n = ys.len();
    if n < 3 {
        return None;
    }
    let xm = (n - 1) as f64 / 2.0;
    let ym = ys.iter().sum::<f64>() / n as f64;
    let sxx: f64 = (0..n).map(|i| (i as f64 - xm).powi(2)).sum();
    let sxy: f64 = ys.iter().enumerate().map(|(i, y)| (i as f64 - xm) * (y - ym)).sum();
    let b = sxy / sxx;
    let a = ym - b * xm;
    let resid: f64 = ys.iter().enumerate().map(|(i, y)| (y - a - b * i as f64).powi(2)).sum();
    Some((b, (resid / (n - 2) as f64 / sxx).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&s, 0.5), Some(50.0));
        assert_eq!(quantile(&s, 0.99), Some(99.0));
        assert_eq!(quantile(&s, 1.0), Some(100.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        let sp = Spread::of(&[5.0, 1.0, 3.0]);
        assert_eq!((sp.n, sp.p50, sp.max), (3, Some(3.0), Some(5.0)));
        assert_eq!(gaps_us(&[1_000, 3_000, 3_500]), vec![2.0, 0.5]);
        let (b, se) = slope(&[1.0, 3.0, 5.0, 7.0]).expect("a line");
        assert!((b - 2.0).abs() < 1e-12 && se.abs() < 1e-12);
        let (b, se) = slope(&[0.0, 2.0, 0.0, 2.0]).expect("a line");
        assert!((b - 0.4).abs() < 1e-12 && se > 0.3);
        assert_eq!(slope(&[1.0, 2.0]), None);
    }
}
