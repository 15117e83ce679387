//! Polling that backs off with jitter. Real stacks take minutes; thousands of fixed one-second
//! polls across accounts get an account throttled.

use std::time::Duration;

/// Delays between polls: `initial`, growing by `factor` up to `max`, each drawn uniformly from
/// its upper half so that many waiters do not poll in step.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: f64,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            factor: 1.5,
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay before poll `attempt` (from 0).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let grown = self.initial.as_secs_f64()
            * self
                .factor
                .powi(i32::try_from(attempt.min(64)).unwrap_or(64));
        Duration::from_secs_f64(grown.min(self.max.as_secs_f64()))
    }

    /// The jittered delay before poll `attempt`: in `[ceiling/2, ceiling]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt).as_secs_f64();
        Duration::from_secs_f64(ceiling * (0.5 + fastrand::f64() * 0.5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_in_the_upper_half() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), Duration::from_secs(2));
        assert_eq!(b.ceiling(1), Duration::from_secs(3));
        assert_eq!(b.ceiling(20), Duration::from_secs(30));
        for attempt in 0..30 {
            let d = b.delay(attempt);
            assert!(
                d >= b.ceiling(attempt) / 2 && d <= b.ceiling(attempt),
                "{attempt}: {d:?}"
            );
        }
    }
}
