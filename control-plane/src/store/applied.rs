//! Which of an agent's `seq`s are applied, exactly and without a window: every seq at or below
//! a floor, plus an exact set above it kept as ranges. The floor moves up only over a
//! contiguous prefix, so a message that arrives late, however late, is still found missing and
//! applied; gaps that never fill (messages the agent merged before sending) cost one range each.

/// The applied seqs of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppliedSet {
    floor: u64,
    /// Disjoint, non-adjacent `(lo, hi)` ranges above `floor + 1`, sorted.
    ranges: Vec<(u64, u64)>,
}

impl AppliedSet {
    /// The set with everything up to `floor` applied and the given `(lo, hi)` ranges (in any
    /// order, possibly overlapping or adjacent) above it.
    pub fn new(floor: u64, ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut set = AppliedSet {
            floor,
            ranges: Vec::new(),
        };
        let mut all: Vec<(u64, u64)> = ranges.into_iter().filter(|(lo, hi)| lo <= hi).collect();
        all.sort_unstable();
        for (lo, hi) in all {
            set.insert_range(lo, hi);
        }
        set
    }

    /// Every seq at or below this is applied.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// The ranges above the floor, as stored.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Whether `seq` is applied.
    pub fn contains(&self, seq: u64) -> bool {
        if seq <= self.floor {
            return true;
        }
        let i = self.ranges.partition_point(|&(_, hi)| hi < seq);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= seq)
    }

    /// Mark `seq` applied; false if it already was.
    pub fn insert(&mut self, seq: u64) -> bool {
        if self.contains(seq) {
            return false;
        }
        self.insert_range(seq, seq);
        true
    }

    /// Every seq below `low` is settled: applied, or superseded by the agent before it was
    /// ever sent (what an agent's `outbox_low_seq` says). Moves the floor over gaps that would
    /// otherwise never fill.
    pub fn settle_below(&mut self, low: u64) {
        let new_floor = low.saturating_sub(1);
        if new_floor <= self.floor {
            return;
        }
        self.floor = new_floor;
        self.ranges.retain(|&(_, hi)| hi > new_floor);
        if let Some(first) = self.ranges.first_mut() {
            first.0 = first.0.max(new_floor.saturating_add(1));
        }
        if let Some(&(l, h)) = self.ranges.first() {
            if l <= self.floor.saturating_add(1) {
                self.floor = h;
                self.ranges.remove(0);
            }
        }
    }

    fn insert_range(&mut self, lo: u64, hi: u64) {
        if hi <= self.floor {
            return;
        }
        let lo = lo.max(self.floor.saturating_add(1));
        // Merge with every range that overlaps or touches [lo, hi].
        let start = self
            .ranges
            .partition_point(|&(_, h)| h.saturating_add(1) < lo);
        let mut end = start;
        let (mut new_lo, mut new_hi) = (lo, hi);
        while let Some(&(l, h)) = self.ranges.get(end) {
            if l > new_hi.saturating_add(1) {
                break;
            }
            new_lo = new_lo.min(l);
            new_hi = new_hi.max(h);
            end += 1;
        }
        self.ranges.splice(start..end, [(new_lo, new_hi)]);
        // A range that starts right above the floor is a contiguous prefix: fold it in.
        if let Some(&(l, h)) = self.ranges.first() {
            if l <= self.floor.saturating_add(1) {
                self.floor = self.floor.max(h);
                self.ranges.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contiguous_prefix_folds_into_the_floor() {
        let mut s = AppliedSet::default();
        assert!(!s.contains(1));
        assert!(s.insert(2));
        assert!(s.insert(3));
        assert_eq!((s.floor(), s.ranges()), (0, &[(2, 3)][..]));
        assert!(s.insert(1));
        assert_eq!((s.floor(), s.ranges()), (3, &[][..]));
        assert!(!s.insert(2), "already applied");
    }

    #[test]
    fn a_seq_any_distance_below_the_highest_is_still_missing_until_applied() {
        let mut s = AppliedSet::default();
        for seq in 2..=100_000 {
            s.insert(seq);
        }
        assert_eq!(s.ranges(), &[(2, 100_000)], "one range, however many seqs");
        assert!(
            !s.contains(1),
            "a message stranded 100,000 seqs back is not applied"
        );
        assert!(s.insert(1));
        assert_eq!((s.floor(), s.ranges().len()), (100_000, 0));
    }

    #[test]
    fn gaps_that_never_fill_cost_one_range_each() {
        let mut s = AppliedSet::new(10, []);
        for seq in (12..40).filter(|q| q % 10 != 0) {
            s.insert(seq);
        }
        assert_eq!(s.floor(), 10);
        assert_eq!(s.ranges(), &[(12, 19), (21, 29), (31, 39)]);
        assert!(!s.contains(11) && !s.contains(20) && !s.contains(30));
        assert!(s.contains(25));
        s.insert(20);
        assert_eq!(s.ranges(), &[(12, 29), (31, 39)]);
        s.insert(11);
        assert_eq!((s.floor(), s.ranges()), (29, &[(31, 39)][..]));
    }

    #[test]
    fn the_agents_lowest_outbox_seq_settles_gaps_below_it() {
        let mut s = AppliedSet::default();
        for seq in [2, 3, 5, 6, 9] {
            s.insert(seq);
        }
        assert_eq!(s.ranges(), &[(2, 3), (5, 6), (9, 9)]);
        s.settle_below(5);
        assert_eq!((s.floor(), s.ranges()), (6, &[(9, 9)][..]));
        s.settle_below(3);
        assert_eq!(s.floor(), 6, "never moves down");
        assert!(!s.contains(7) && !s.contains(8));
        s.settle_below(8);
        assert_eq!((s.floor(), s.ranges()), (7, &[(9, 9)][..]));
        s.insert(8);
        assert_eq!((s.floor(), s.ranges()), (9, &[][..]));
    }

    #[test]
    fn stored_ranges_are_normalised() {
        let s = AppliedSet::new(5, [(9, 9), (3, 4), (7, 8), (6, 6), (20, 25), (22, 30)]);
        assert_eq!((s.floor(), s.ranges()), (9, &[(20, 30)][..]));
    }
}
