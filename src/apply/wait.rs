//! Polling that backs off with jitter, from half a second up to two. Real stacks take minutes: a
//! short cap sees an operation end within two seconds (so that each wave starts close to when
//! the one before it ends), at one DescribeStacks per stack in progress every two seconds, which
//! CloudFormation's read quota carries for the stacks a bounded apply has in flight; the quick
//! first polls see a short operation (an update that changes one policy) end within a second.

use std::time::Duration;

/// Delays between polls: `initial`, growing by `factor` up to `max`, each drawn uniformly from
/// its top fifth so that many waiters do not poll in step.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The delay before the first poll.
    pub(crate) initial: Duration,
    /// How much each delay grows over the one before.
    pub(crate) factor: f64,
    /// The longest delay.
    pub(crate) max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            factor: 1.5,
            max: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay before poll `attempt` (from 0).
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let grown = self.initial.as_secs_f64()
            * self
                .factor
                .powi(i32::try_from(attempt.min(64)).unwrap_or(64));
        Duration::from_secs_f64(grown.min(self.max.as_secs_f64()))
    }

    /// The jittered delay before poll `attempt`: in `[0.8 × ceiling, ceiling]`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt).as_secs_f64();
        Duration::from_secs_f64(ceiling * (0.8 + fastrand::f64() * 0.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_in_the_top_fifth() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert_eq!(b.ceiling(1), Duration::from_millis(750));
        assert_eq!(b.ceiling(20), Duration::from_secs(2));
        fastrand::seed(7);
        for attempt in 0..30 {
            let d = b.delay(attempt);
            assert!(
                d >= b.ceiling(attempt).mul_f64(0.8) && d <= b.ceiling(attempt),
                "{attempt}: {d:?}"
            );
        }
    }
}
