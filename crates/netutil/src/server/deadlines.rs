//! The deadlines of a readiness loop: the only way such a loop wakes up on time is the
//! timeout of its `poll`, so it needs the nearest of many deadlines at hand.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// One deadline per key (a client's token, say), sorted so that the nearest is at hand.
///
/// Why not look at every client before each `poll`? With 10,000 idle clients and thousands
/// of wake-ups a second, that scan would cost more than serving them. A sorted set finds the
/// nearest deadline, and changes one, in O(log n). (tokio uses a timer wheel: faster still for
/// millions of timers, and more code.)
///
/// ```
/// use std::time::{Duration, Instant};
/// use netutil::server::Deadlines;
///
/// let now = Instant::now();
/// let mut deadlines = Deadlines::new();
/// deadlines.set("slow", now + Duration::from_secs(30));
/// deadlines.set("idle", now + Duration::from_secs(60));
/// deadlines.set("idle", now + Duration::from_secs(10)); // replaces the earlier one
/// assert_eq!(deadlines.timeout(now), Some(Duration::from_secs(10)));
/// assert_eq!(deadlines.get("idle"), Some(now + Duration::from_secs(10)));
/// assert_eq!(deadlines.pop_expired(now + Duration::from_secs(40)), Some("idle"));
/// assert_eq!(deadlines.pop_expired(now + Duration::from_secs(40)), Some("slow"));
/// assert_eq!(deadlines.pop_expired(now + Duration::from_secs(40)), None);
/// assert_eq!(deadlines.timeout(now), None); // nothing to wait for: poll may sleep
/// ```
#[derive(Debug)]
pub struct Deadlines<K> {
    sorted: BTreeSet<(Instant, K)>,
    by_key: HashMap<K, Instant>,
}

impl<K: Copy + Ord + Hash> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            sorted: BTreeSet::new(),
            by_key: HashMap::new(),
        }
    }
}

impl<K: Copy + Ord + Hash> Deadlines<K> {
    /// No deadlines yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `key`'s deadline is `at` from now on (replacing the one it had).
    pub fn set(&mut self, key: K, at: Instant) {
        if let Some(old) = self.by_key.insert(key, at) {
            if old == at {
                return;
            }
            self.sorted.remove(&(old, key));
        }
        self.sorted.insert((at, key));
    }

    /// `key` has no deadline any more.
    pub fn remove(&mut self, key: K) {
        if let Some(at) = self.by_key.remove(&key) {
            self.sorted.remove(&(at, key));
        }
    }

    /// `key`'s deadline, if it has one.
    pub fn get(&self, key: K) -> Option<Instant> {
        self.by_key.get(&key).copied()
    }

    /// How long `poll` may wait at `now`: until the nearest deadline, or forever (`None`).
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        let &(nearest, _) = self.sorted.first()?;
        Some(nearest.saturating_duration_since(now))
    }

    /// A key whose deadline is `now` or earlier, removed; `None` when no deadline has passed.
    pub fn pop_expired(&mut self, now: Instant) -> Option<K> {
        let &(at, key) = self.sorted.first()?;
        if at > now {
            return None;
        }
        self.remove(key);
        Some(key)
    }
}
