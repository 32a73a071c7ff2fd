//! Deadlines are passed down, never invented locally: one `Deadline` for the whole run, from
//! which every step takes what is left.

use std::time::{Duration, Instant};

/// The instant by which the run must have produced its verdict.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    end: Instant,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            end: Instant::now() + budget,
        }
    }

    /// Time left, or `None` once it has passed (or less than a millisecond is left).
    pub fn remaining(&self) -> Option<Duration> {
        self.end
            .checked_duration_since(Instant::now())
            .filter(|d| *d >= Duration::from_millis(1))
    }

    /// Time left after keeping `reserve` back for a later step (e.g. cleaning up what was
    /// written); `None` when nothing is left beyond the reserve.
    pub fn remaining_reserving(&self, reserve: Duration) -> Option<Duration> {
        self.remaining()
            .and_then(|d| d.checked_sub(reserve))
            .filter(|d| *d >= Duration::from_millis(1))
    }

    /// `cap`, or what is left if that is less.
    pub fn cap(&self, cap: Duration) -> Option<Duration> {
        self.remaining().map(|d| d.min(cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_shrinks_and_ends() {
        let d = Deadline::after(Duration::from_millis(50));
        let r = d.remaining().expect("time left");
        assert!(r <= Duration::from_millis(50));
        assert!(d.remaining_reserving(Duration::from_secs(1)).is_none());
        assert_eq!(
            d.cap(Duration::from_millis(5)),
            Some(Duration::from_millis(5))
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(d.remaining().is_none());
        assert!(d.cap(Duration::from_secs(1)).is_none());
    }
}
