//! [`HeldSeats`]: counts the seats a bot saw become held — players whose connection was lost and
//! whose seat the server keeps for a resume (the `held` flag of `PlayerState`, PROTOCOL.md
//! "Held seats"). Play feeds it each snapshot's held count; the report sums it over bots.

/// Counts rises of the number of held seats from one snapshot to the next. A seat that stays
/// held is counted once; one that is released and held again later counts again. (A seat
/// released in the very tick another becomes held is missed: counts only, no ids, so that a
/// snapshot is read without allocating.)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeldSeats {
    now: u32,
    seen: u64,
}

impl HeldSeats {
    /// A snapshot arrived with `held` held seats.
    pub fn see(&mut self, held: u32) {
        self.seen += u64::from(held.saturating_sub(self.now));
        self.now = held;
    }

    /// Seats seen becoming held so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_held_for_many_snapshots_counts_once() {
        let mut h = HeldSeats::default();
        for held in [0, 1, 1, 1, 1] {
            h.see(held);
        }
        assert_eq!(h.seen(), 1);
    }

    #[test]
    fn a_seat_held_again_after_a_resume_counts_again() {
        let mut h = HeldSeats::default();
        for held in [1, 0, 1, 2, 1, 0] {
            h.see(held);
        }
        assert_eq!(h.seen(), 3);
    }
}
