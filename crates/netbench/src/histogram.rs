//! A fixed-size latency histogram: constant memory per connection however long the run.
//!
//! Values are nanoseconds. Below 64 ns every value has its own bucket; above, each power of
//! two is split into 32 buckets, so a reported percentile is within about 3 % of the true
//! value. Storing every sample instead would cost gigabytes on a long run at a million
//! round trips per second.

use std::time::Duration;

const EXACT: usize = 64;
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Powers of two from 2^6 ns to 2^40 ns (about 18 minutes, longer than any run may last).
const BUCKETS: usize = EXACT + (41 - 6) * SUB;

/// Counts of round-trip times, plus the exact maximum.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_ns: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_ns: 0,
        }
    }
}

fn index(ns: u64) -> usize {
    if ns < EXACT as u64 {
        return ns as usize;
    }
    let exponent = 63 - ns.leading_zeros();
    let sub = ((ns >> (exponent - SUB_BITS)) as usize) & (SUB - 1);
    (EXACT + (exponent as usize - 6) * SUB + sub).min(BUCKETS - 1)
}

/// The middle of bucket `i`, in nanoseconds.
fn value(i: usize) -> u64 {
    if i < EXACT {
        return i as u64;
    }
    let exponent = ((i - EXACT) / SUB + 6) as u32;
    let sub = ((i - EXACT) % SUB) as u64;
    let width = 1u64 << (exponent - SUB_BITS);
    (1u64 << exponent) + sub * width + width / 2
}

impl Histogram {
    /// Records one round trip.
    pub fn record(&mut self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.counts[index(ns)] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    /// Adds another histogram's counts to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// How many round trips were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The round trip that `quantile` (0.0–1.0) of all recorded ones did not exceed, in µs.
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((quantile * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return value(i).min(self.max_ns) as f64 / 1000.0;
            }
        }
        self.max_us()
    }

    /// The longest round trip, in µs.
    pub fn max_us(&self) -> f64 {
        self.max_ns as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for ns in [
            0u64,
            1,
            63,
            64,
            65,
            100,
            1_000,
            12_345,
            50_000,
            1 << 30,
            1 << 39,
        ] {
            let i = index(ns);
            assert!(i >= last, "{ns}");
            last = i;
            let error = (value(i) as f64 - ns as f64).abs() / (ns.max(1) as f64);
            assert!(error <= 0.035, "{ns} -> {} ({error})", value(i));
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut h = Histogram::default();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 100);
        assert!((h.quantile_us(0.5) - 50.0).abs() < 2.0);
        assert!((h.quantile_us(0.99) - 99.0).abs() < 3.5);
        assert_eq!(h.max_us(), 100.0);
        let mut other = Histogram::default();
        other.record(Duration::from_millis(5));
        h.merge(&other);
        assert_eq!(h.count(), 101);
        assert_eq!(h.max_us(), 5000.0);
        assert_eq!(Histogram::default().quantile_us(0.5), 0.0);
    }
}
