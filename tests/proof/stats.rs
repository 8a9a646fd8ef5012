//! Percentiles of measured durations (nearest rank), for the figures the tests print.

use std::time::Duration;

/// n, p50, p99 and max of a sample.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// The nearest-rank percentile `p` (0–100) of a sorted, non-empty sample.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summary(mut v: Vec<Duration>) -> Option<Summary> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(Summary {
        n: v.len(),
        p50: percentile(&v, 50.0),
        p99: percentile(&v, 99.0),
        max: v[v.len() - 1],
    })
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} p50={} p99={} max={}",
            self.n,
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}
