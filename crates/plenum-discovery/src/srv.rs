//! SRV records and their RFC 2782 order: ascending priority, then a weighted random order
//! within one priority, with the random draws as an input so the order is exact in tests.

/// One SRV record of `_pexapp._tcp.<domain>`, as the DNS answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Within one priority, a higher weight is drawn first more often.
    pub weight: u16,
    /// The port to connect to on the target.
    pub port: u16,
    /// The target host name without the final dot; empty for the root name `.`.
    pub target: String,
}

impl SrvRecord {
    /// A record; `target` may be given with or without its final dot.
    pub fn new(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.trim_end_matches('.').to_owned(),
        }
    }

    /// Whether the target is the root name `.` ("service decidedly not offered").
    pub fn is_root(&self) -> bool {
        self.target.is_empty()
    }
}

/// What the SRV records of a domain say once classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrvAnswer {
    /// A single record with target `.`: the domain says it offers no such service
    /// (RFC 2782), so a client must not fall back to the domain's own address.
    NotOffered,
    /// The usable records, in RFC 2782 order.
    Ordered(Vec<SrvRecord>),
}

/// Classifies and orders SRV records. A single record whose target is `.` means the
/// service is not offered; among several records, ones with target `.` are meaningless
/// and left out. `draw(sum)` must return a uniform random number in `0..=sum`; a larger
/// value is reduced modulo `sum + 1`.
pub fn classify(records: Vec<SrvRecord>, draw: impl FnMut(u32) -> u32) -> SrvAnswer {
    if records.len() == 1 && records[0].is_root() {
        return SrvAnswer::NotOffered;
    }
    let usable: Vec<SrvRecord> = records.into_iter().filter(|r| !r.is_root()).collect();
    SrvAnswer::Ordered(order(usable, draw))
}

/// Orders SRV records as RFC 2782 says: ascending priority; within one priority, the
/// records with weight 0 are put first, then repeatedly a number is drawn in
/// `0..=sum of the remaining weights` and the first record whose running weight sum is
/// at least that number is taken next. Before that the records are put in a canonical
/// order (priority, target, port, weight), which RFC 2782 allows ("in any order"), so the
/// result depends only on the set of records and the draws, not on the order the DNS
/// server answered in. `draw(sum)` is called once per record taken from a priority group
/// while two or more of its records are left.
pub fn order(mut records: Vec<SrvRecord>, mut draw: impl FnMut(u32) -> u32) -> Vec<SrvRecord> {
    records.sort_by(|a, b| {
        (a.priority, &a.target, a.port, a.weight).cmp(&(b.priority, &b.target, b.port, b.weight))
    });
    let mut ordered = Vec::with_capacity(records.len());
    let mut rest = records.as_slice();
    while let Some(first) = rest.first() {
        let same = rest
            .iter()
            .take_while(|r| r.priority == first.priority)
            .count();
        let (group, tail) = rest.split_at(same);
        order_group(group, &mut draw, &mut ordered);
        rest = tail;
    }
    ordered
}

/// The weighted random order of one priority group, appended to `out`.
fn order_group(group: &[SrvRecord], draw: &mut impl FnMut(u32) -> u32, out: &mut Vec<SrvRecord>) {
    let mut unordered: Vec<&SrvRecord> = group.iter().filter(|r| r.weight == 0).collect();
    unordered.extend(group.iter().filter(|r| r.weight != 0));
    while !unordered.is_empty() {
        if unordered.len() == 1 {
            out.push(unordered.remove(0).clone());
            break;
        }
        let sum: u32 = unordered.iter().map(|r| u32::from(r.weight)).sum();
        let number = draw(sum) % (sum + 1);
        let mut running = 0u32;
        let index = unordered
            .iter()
            .position(|r| {
                running += u32::from(r.weight);
                running >= number
            })
            .expect("the running sum reaches `sum`, and `number` is at most `sum`");
        out.push(unordered.remove(index).clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(records: &[SrvRecord]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    /// Draws from a fixed list and records the sums asked for.
    fn draws(
        values: &[u32],
    ) -> (
        impl FnMut(u32) -> u32,
        std::rc::Rc<std::cell::RefCell<Vec<u32>>>,
    ) {
        let asked = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let seen = asked.clone();
        let mut values = values.iter().copied();
        (
            move |sum| {
                seen.borrow_mut().push(sum);
                values.next().expect("the test gave enough draws")
            },
            asked,
        )
    }

    #[test]
    fn lower_priority_comes_first_whatever_the_weights() {
        let records = vec![
            SrvRecord::new(20, 100, 443, "b.example.com."),
            SrvRecord::new(10, 1, 443, "a.example.com."),
            SrvRecord::new(30, 0, 443, "c.example.com."),
        ];
        let (draw, asked) = draws(&[]);
        assert_eq!(
            targets(&order(records, draw)),
            ["a.example.com", "b.example.com", "c.example.com"]
        );
        assert!(
            asked.borrow().is_empty(),
            "single-record groups draw nothing"
        );
    }

    #[test]
    fn a_draw_picks_the_first_record_whose_running_sum_reaches_it() {
        // weights 10, 20, 30: running sums 10, 30, 60
        let group = || {
            vec![
                SrvRecord::new(1, 10, 443, "a"),
                SrvRecord::new(1, 20, 443, "b"),
                SrvRecord::new(1, 30, 443, "c"),
            ]
        };
        fn check(group: Vec<SrvRecord>, values: &[u32], expected: &[&str], sums: &[u32]) {
            let (draw, asked) = draws(values);
            assert_eq!(targets(&order(group, draw)), expected, "draws {values:?}");
            assert_eq!(*asked.borrow(), sums, "draws {values:?}");
        }
        // each case: the draws, the order they give, and the sums they were drawn from
        check(group(), &[0, 0], &["a", "b", "c"], &[60, 50]);
        check(group(), &[10, 21], &["a", "c", "b"], &[60, 50]);
        check(group(), &[11, 0], &["b", "a", "c"], &[60, 40]);
        check(group(), &[30, 40], &["b", "c", "a"], &[60, 40]);
        check(group(), &[31, 10], &["c", "a", "b"], &[60, 30]);
        check(group(), &[60, 11], &["c", "b", "a"], &[60, 30]);
        // out-of-range draws wrap modulo sum + 1: 61 → 0
        check(group(), &[61, 0], &["a", "b", "c"], &[60, 50]);
    }

    #[test]
    fn weight_zero_records_are_put_first_and_only_win_a_zero_draw() {
        let group = || {
            vec![
                SrvRecord::new(5, 50, 443, "heavy"),
                SrvRecord::new(5, 0, 443, "zero"),
            ]
        };
        let (draw, _) = draws(&[0]);
        assert_eq!(targets(&order(group(), draw)), ["zero", "heavy"]);
        let (draw, _) = draws(&[1]);
        assert_eq!(targets(&order(group(), draw)), ["heavy", "zero"]);
        // all weights zero: the sum is 0, every draw is 0, answer order is kept
        let (draw, asked) = draws(&[7, 7]);
        let all_zero = vec![
            SrvRecord::new(5, 0, 443, "x"),
            SrvRecord::new(5, 0, 443, "y"),
            SrvRecord::new(5, 0, 443, "z"),
        ];
        assert_eq!(targets(&order(all_zero, draw)), ["x", "y", "z"]);
        assert_eq!(*asked.borrow(), [0, 0]);
    }

    #[test]
    fn priorities_are_ordered_separately_with_their_own_draws() {
        let records = vec![
            SrvRecord::new(20, 1, 443, "p20-a"),
            SrvRecord::new(10, 1, 443, "p10-a"),
            SrvRecord::new(20, 3, 443, "p20-b"),
            SrvRecord::new(10, 1, 443, "p10-b"),
        ];
        let (draw, asked) = draws(&[2, 2]);
        assert_eq!(
            targets(&order(records, draw)),
            ["p10-b", "p10-a", "p20-b", "p20-a"]
        );
        assert_eq!(*asked.borrow(), [2, 4]);
    }

    #[test]
    fn a_single_dot_target_means_not_offered() {
        let (draw, _) = draws(&[]);
        assert_eq!(
            classify(vec![SrvRecord::new(0, 0, 0, ".")], draw),
            SrvAnswer::NotOffered
        );
        let (draw, _) = draws(&[]);
        assert_eq!(
            classify(
                vec![
                    SrvRecord::new(0, 0, 0, "."),
                    SrvRecord::new(1, 0, 443, "node.example.com.")
                ],
                draw
            ),
            SrvAnswer::Ordered(vec![SrvRecord::new(1, 0, 443, "node.example.com")])
        );
    }
}
