//! Jittered exponential backoff, so a fleet of agents does not reconnect in lockstep.

use std::time::Duration;

use rand::Rng;

/// Delays growing from `min` to `max`, each drawn between half and all of the current step.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// A backoff starting at `min`, never above `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            step: min,
        }
    }

    /// The next delay to wait.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms.max(1)))
    }

    /// Back to `min` after a success.
    pub fn reset(&mut self) {
        self.step = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let d: Vec<u128> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert!((50..=100).contains(&d[0]));
        assert!((200..=400).contains(&d[2]));
        assert!(d[5] <= 800 && d[5] >= 400);
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
